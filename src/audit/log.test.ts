import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import {
  dropAppendOnlyTriggers,
  openTestAuditLog,
  sampleEvent,
  TEST_ORIGIN,
} from '../../test/support/audit.js';
import { DIALECTS, type TestDatabase } from '../../test/support/dialects.js';
import { openDatabase } from '../db/index.js';
import { PalisadeError } from '../errors/index.js';
import type { AuditEvent, AuditEventInput } from './event.js';
import type { AuditLog } from './log.js';
import { leafHash } from './merkle.js';
import { verifyConsistency, verifyInclusion } from './proof.js';
import { APPEND_ONLY_TABLES, type TlogTables } from './schema.js';
import { CHECKPOINT_KEY_FILE, openFileSigner } from './signer.js';
import { openTransparencyLog } from './tlog.js';

const BASE = Date.UTC(2026, 10, 27, 8, 0, 0);

const N = 120;

/**
 * One populated log per dialect, shared by the tests of a suite. Created at module level, not in a
 * before() hook: the temporary directory helper registers its cleanup with after(), which inside a hook
 * would run as soon as the hook returns.
 */
async function populated(dialect: (typeof DIALECTS)[number]): Promise<{ t: TestDatabase; log: AuditLog }> {
  const t = await dialect.create();
  const log = await openTestAuditLog(t.database, t.dataDir);
  // Concurrent callers: every receipt names a distinct index and the indices are contiguous.
  const receipts = await Promise.all(Array.from({ length: N }, (_, i) => log.append(sampleEvent(i))));
  assert.deepEqual(
    receipts.map((r) => r.index).sort((a, b) => a - b),
    Array.from({ length: N }, (_, i) => i),
  );
  return { t, log };
}

for (const dialect of DIALECTS) {
  const shared = dialect.skip ? undefined : await populated(dialect);
  describe(`audit log on ${dialect.name}`, { skip: dialect.skip }, () => {
    const { t, log } = shared ?? ({} as { t: TestDatabase; log: AuditLog });
    after(async () => {
      await log.close();
      await t.drop();
    });

    it('append resolves only once the event is committed: another connection already sees it', async () => {
      const other = openDatabase({ url: t.url, dataDir: t.dataDir });
      try {
        const receipt = await log.append(sampleEvent(1000));
        const row = await other.kysely
          .withTables<TlogTables>()
          .selectFrom('tlog_entry')
          .select('data')
          .where('idx', '=', receipt.index)
          .executeTakeFirst();
        assert.ok(row, 'the acknowledged event is visible to a second connection');
        assert.equal(leafHash(row.data).toString('hex'), receipt.leafHash);
        const event = JSON.parse(Buffer.from(row.data).toString()) as AuditEvent;
        assert.equal(event.time, receipt.time);
        assert.equal(event.action, 'auth.login.failed');
      } finally {
        await other.close();
      }
    });

    it('stores the canonical RFC 8785 bytes of the event, UTC time with milliseconds', async () => {
      const receipt = await log.append({
        action: 'video.playback.start',
        outcome: 'success',
        actor: { type: 'user', id: 'u-1', auth: 'oidc', address: '10.0.0.5', name: 'Ada' },
        target: { type: 'camera', id: 'cam-7', zone: 'substation-a' },
        details: { range: { to: 2, from: 1 }, quality: 'high' },
        time: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
      });
      const stored = await log.get(receipt.index);
      assert.equal(stored?.leafHash, receipt.leafHash);
      const expected =
        '{"action":"video.playback.start","actor":{"address":"10.0.0.5","auth":"oidc","id":"u-1","name":"Ada","type":"user"},' +
        '"details":{"quality":"high","range":{"from":1,"to":2}},"outcome":"success",' +
        '"target":{"id":"cam-7","type":"camera","zone":"substation-a"},"time":"2026-01-02T03:04:05.006Z","v":1}';
      assert.equal(receipt.leafHash, leafHash(Buffer.from(expected)).toString('hex'));
    });

    it('refuses malformed events with AUDIT_EVENT_INVALID and writes nothing', async () => {
      const before = await log.size();
      const base = sampleEvent(1);
      const bad: unknown[] = [
        { ...base, action: 'auth.login.maybe' },
        { ...base, outcome: 'perhaps' },
        { ...base, outcome: 'denied', reason: undefined },
        { ...base, actor: { type: 'robot', id: 'x' } },
        { ...base, actor: { type: 'user', id: '' } },
        { ...base, actor: { type: 'user', id: 'u', password: 'hunter2' } },
        { ...base, target: { type: 'camera' } },
        { ...base, details: { n: NaN } },
        { ...base, details: { deep: [[[[[[[[[[1]]]]]]]]]] } },
        { ...base, details: { big: 'x'.repeat(20_000) } },
        { ...base, reason: 'r'.repeat(3000) },
        { ...base, time: -1 },
        { ...base, time: 1.5 },
        { ...base, extra: 1 },
        { ...base, actor: { type: 'user', id: 'bad \ud800 surrogate' } },
      ];
      for (const input of bad) {
        await assert.rejects(
          log.append(input as AuditEventInput),
          { code: 'AUDIT_EVENT_INVALID' },
          JSON.stringify(input).slice(0, 100),
        );
      }
      assert.equal(await log.size(), before);
    });

    it('never crashes on arbitrary input: either appends or refuses with a stable code', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record(
            {
              action: fc.constantFrom('auth.login.failed', 'nope', 'system.started'),
              outcome: fc.constantFrom('success', 'denied', 'x'),
              actor: fc.anything(),
              target: fc.anything(),
              reason: fc.anything(),
              details: fc.anything(),
              time: fc.anything(),
            },
            { requiredKeys: [] },
          ),
          async (input) => {
            try {
              await log.append(input as AuditEventInput);
            } catch (err) {
              assert.ok(err instanceof PalisadeError && err.code === 'AUDIT_EVENT_INVALID', String(err));
            }
          },
        ),
        { numRuns: 150 },
      );
    });

    it('queries by time range, actor, action prefix, target, zone and outcome, page by page', async () => {
      const inRange = await log.query({
        from: new Date(BASE + 10_000).toISOString(),
        to: BASE + 20_000,
        limit: 100,
      });
      assert.deepEqual(
        inRange.events.map((e) => e.event.details?.seq),
        Array.from({ length: 10 }, (_, i) => 10 + i),
      );
      const byActor = await log.query({ actorId: 'user-3', limit: 1000 });
      assert.ok(byActor.events.length > 0);
      assert.ok(byActor.events.every((e) => e.event.actor.id === 'user-3'));
      const logins = await log.query({ actionPrefix: 'auth.login', limit: 1000 });
      assert.ok(logins.events.every((e) => e.event.action.startsWith('auth.login.')));
      assert.equal(
        logins.events.length,
        (await log.query({ actionPrefix: 'auth.', limit: 1000 })).events.length,
      );
      assert.equal((await log.query({ actionPrefix: 'auth.log' })).events.length, 0, 'prefixes end at a dot');
      const rejected = await log.query({ targetType: 'camera', targetId: 'cam-3', outcome: 'failure' });
      assert.ok(rejected.events.length > 0);
      for (const { event } of rejected.events) {
        assert.equal(event.action, 'camera.onboard.rejected');
        assert.equal(event.target?.id, 'cam-3');
        assert.equal(event.reason, 'firmware signature does not verify');
      }
      const zone = await log.query({ zone: 'control-room', limit: 1000 });
      assert.ok(zone.events.length > 0 && zone.events.every((e) => e.event.target?.zone === 'control-room'));

      for (const order of ['asc', 'desc'] as const) {
        const seen: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await log.query({ outcome: 'denied', limit: 7, order, ...(cursor ? { cursor } : {}) });
          assert.ok(page.events.length <= 7);
          seen.push(...page.events.map((e) => e.index));
          cursor = page.nextCursor;
        } while (cursor);
        const all = (await log.query({ outcome: 'denied', limit: 1000 })).events.map((e) => e.index);
        assert.deepEqual(
          seen,
          order === 'asc' ? all : [...all].reverse(),
          `${order} pages cover every match once`,
        );
      }
    });

    it('refuses bad query input with AUDIT_QUERY_INVALID', async () => {
      for (const filter of [
        { limit: 0 },
        { limit: 5000 },
        { from: 'yesterday' },
        { actionPrefix: "auth%' or 1=1 --" },
        { cursor: 'garbage' },
        { cursor: Buffer.from('desc:5').toString('base64url'), order: 'asc' as const },
      ]) {
        await assert.rejects(log.query(filter), { code: 'AUDIT_QUERY_INVALID' }, JSON.stringify(filter));
      }
    });

    it('signs C2SP checkpoints and serves proofs that verify against them', async () => {
      const first = await log.signCheckpoint();
      assert.equal(first.origin, TEST_ORIGIN);
      assert.equal(first.size, await log.size());
      assert.equal(first.note.split('\n')[1], String(first.size));
      assert.deepEqual(await log.signCheckpoint(), first, 'nothing appended: the same checkpoint');
      for (let i = 0; i < 5; i++) await log.append(sampleEvent(2000 + i));
      const second = await log.signCheckpoint();
      assert.equal(second.size, first.size + 5);

      for (const index of [0, 1, 37, first.size - 1, second.size - 1]) {
        const p = await log.inclusionProof(index);
        assert.equal(p.treeSize, second.size, 'default: the latest checkpoint');
        assert.equal(p.checkpoint?.note, second.note);
        verifyInclusion(index, p.treeSize, p.leafHash, p.proof, second.rootHash);
        const stored = await log.get(index);
        assert.equal(p.leafHash.toString('hex'), stored?.leafHash);
      }
      const old = await log.inclusionProof(10, first.size);
      verifyInclusion(10, first.size, old.leafHash, old.proof, first.rootHash);
      const c = await log.consistencyProof(first.size, second.size);
      assert.deepEqual(c.root1, first.rootHash);
      assert.deepEqual(c.root2, second.rootHash);
      verifyConsistency(first.size, second.size, first.rootHash, second.rootHash, c.proof);
      for (let size = 1; size < first.size; size += 13) {
        const p = await log.consistencyProof(size, second.size);
        verifyConsistency(size, second.size, p.root1, second.rootHash, p.proof);
      }
      await assert.rejects(log.inclusionProof(second.size + 100), { code: 'MERKLE_PROOF_UNAVAILABLE' });
      await assert.rejects(log.consistencyProof(0, 5), { code: 'MERKLE_PROOF_UNAVAILABLE' });
      await assert.rejects(log.consistencyProof(5, second.size + 100), { code: 'MERKLE_PROOF_UNAVAILABLE' });
    });

    it('the database itself rejects UPDATE and DELETE on every audit table', async () => {
      await log.signCheckpoint();
      const db = t.database.kysely;
      const column = {
        tlog_log: 'name',
        tlog_entry: 'idx',
        tlog_node: 'idx',
        tlog_checkpoint: 'note',
        audit_event: 'action',
      };
      for (const table of APPEND_ONLY_TABLES) {
        const c = sql.ref(column[table]);
        await assert.rejects(
          sql`update ${sql.table(table)} set ${c} = ${c}`.execute(db),
          /append-only/,
          `update ${table}`,
        );
        await assert.rejects(
          sql`delete from ${sql.table(table)}`.execute(db),
          /append-only/,
          `delete ${table}`,
        );
      }
      if (dialect.name === 'postgres') {
        await assert.rejects(sql`truncate tlog_entry`.execute(db), /append-only/);
      }
      const report = await log.verify();
      assert.equal(report.ok, true, JSON.stringify(report.failure));
    });

    it('several logs share the tables without touching each other (the video integrity log will be one)', async () => {
      const signer = openFileSigner({
        file: path.join(t.dataDir, 'keys', 'other.pem'),
        name: 'palisade.test/video',
      });
      const other = await openTransparencyLog<null>({
        database: t.database,
        name: 'video-integrity',
        origin: 'palisade.test/video',
        signer,
      });
      const auditSize = await log.size();
      const auditRoot = (await log.signCheckpoint()).rootHash;
      const receipts = await Promise.all(
        Array.from({ length: 10 }, (_, i) => other.append(Buffer.from(`{"segment":${i}}`), null)),
      );
      assert.deepEqual(
        receipts.map((r) => r.index),
        Array.from({ length: 10 }, (_, i) => i),
      );
      await assert.rejects(other.append(Buffer.from('two\nlines'), null), { code: 'TLOG_LEAF_INVALID' });
      await assert.rejects(other.append(Buffer.alloc(0), null), { code: 'TLOG_LEAF_INVALID' });
      const cp = await other.signCheckpoint();
      assert.equal(cp.size, 10);
      assert.equal(cp.origin, 'palisade.test/video');
      assert.equal(await log.size(), auditSize);
      assert.deepEqual((await log.signCheckpoint()).rootHash, auditRoot);
      const p = await other.inclusionProof(4);
      verifyInclusion(4, 10, leafHash(Buffer.from('{"segment":4}')), p.proof, cp.rootHash);
      await other.close();
    });

    it('refuses to reopen the log under another origin', async () => {
      const signer = openFileSigner({
        file: path.join(t.dataDir, CHECKPOINT_KEY_FILE),
        name: 'elsewhere/audit',
      });
      await assert.rejects(
        openTransparencyLog({ database: t.database, name: 'audit', origin: 'elsewhere/audit', signer }),
        { code: 'AUDIT_ORIGIN_MISMATCH' },
      );
    });
  });

  describe(`group commit and concurrent writers on ${dialect.name}`, { skip: dialect.skip }, () => {
    it('batches concurrent appends into few transactions, each caller resolving after its commit', async () => {
      const t = await dialect.create();
      await openTestAuditLog(t.database, t.dataDir).then((l) => l.close());
      const signer = openFileSigner({ file: path.join(t.dataDir, 'keys', 'batch.pem'), name: 'batch' });
      const batches: number[] = [];
      const log = await openTransparencyLog<number>({
        database: t.database,
        name: 'batch-test',
        origin: 'batch',
        signer,
        async onAppend(_db, entries) {
          batches.push(entries.length);
        },
      });
      try {
        const receipts = await Promise.all(
          Array.from({ length: 300 }, (_, i) => log.append(Buffer.from(`{"n":${i}}`), i)),
        );
        assert.equal(new Set(receipts.map((r) => r.index)).size, 300);
        assert.equal(
          batches.reduce((a, b) => a + b, 0),
          300,
        );
        assert.ok(batches.length <= 3, `300 concurrent appends took ${batches.length} transactions`);
      } finally {
        await log.close();
        await t.drop();
      }
    });

    it('two processes (two connections) appending to one log get contiguous indices and a log that verifies', async () => {
      const t = await dialect.create();
      const a = await openTestAuditLog(t.database, t.dataDir);
      const second = openDatabase({ url: t.url, dataDir: t.dataDir, poolSize: 5 });
      const b = await openTestAuditLog(second, t.dataDir);
      try {
        const all = await Promise.all(
          Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).append(sampleEvent(i))),
        );
        assert.deepEqual(
          all.map((r) => r.index).sort((x, y) => x - y),
          Array.from({ length: 200 }, (_, i) => i),
        );
        await a.signCheckpoint();
        await b.append(sampleEvent(500));
        await b.signCheckpoint();
        const report = await a.verify();
        assert.equal(report.ok, true, JSON.stringify(report.failure));
        assert.equal(report.entries, 201);
      } finally {
        await b.close();
        await second.close();
        await a.close();
        await t.drop();
      }
    });
  });

  describe(`checkpoint refusal on ${dialect.name}`, { skip: dialect.skip }, () => {
    it('refuses to sign a tree that rewrote history or shrank, and says why', async () => {
      const t = await dialect.create();
      const log = await openTestAuditLog(t.database, t.dataDir);
      try {
        for (let i = 0; i < 20; i++) await log.append(sampleEvent(i));
        await log.signCheckpoint();
        await log.append(sampleEvent(20));
        await dropAppendOnlyTriggers(t.database);
        const db = t.database.kysely.withTables<TlogTables>();
        // Rewrite the node covering entries 0..15, as if someone recomputed the tree over altered entries.
        await db
          .updateTable('tlog_node')
          .set({ hash: Buffer.alloc(32, 1) })
          .where('level', '=', 4)
          .where('idx', '=', 0)
          .execute();
        await assert.rejects(log.signCheckpoint(), (err: unknown) => {
          assert.ok(err instanceof PalisadeError);
          assert.equal(err.code, 'AUDIT_CHECKPOINT_REFUSED');
          assert.match(err.message, /not an extension of the checkpoint of size 20/);
          return true;
        });
        // Proofs through a damaged node are refused, never served wrong.
        await assert.rejects(log.inclusionProof(17, 20), { code: 'AUDIT_TREE_CORRUPT' });
        await db
          .updateTable('tlog_node')
          .set({ hash: Buffer.alloc(32, 2) })
          .where('level', '=', 3)
          .where('idx', '=', 1)
          .execute();
        await assert.rejects(log.inclusionProof(3, 20), { code: 'AUDIT_TREE_CORRUPT' });
      } finally {
        await log.close();
        await t.drop();
      }
    });

    it('refuses a log that lost entries since its last checkpoint', async () => {
      const t = await dialect.create();
      const log = await openTestAuditLog(t.database, t.dataDir);
      try {
        for (let i = 0; i < 10; i++) await log.append(sampleEvent(i));
        await log.signCheckpoint();
        await dropAppendOnlyTriggers(t.database);
        await t.database.kysely
          .withTables<TlogTables>()
          .deleteFrom('tlog_node')
          .where('level', '=', 0)
          .where('idx', '=', 9)
          .execute();
        await assert.rejects(
          log.signCheckpoint(),
          /the log has 9 entries but a checkpoint of 10 was signed before/,
        );
      } finally {
        await log.close();
        await t.drop();
      }
    });
  });
}
