import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import {
  dropAppendOnlyTriggers,
  openTestAuditLog,
  sampleEvent,
  TEST_ORIGIN,
} from '../../test/support/audit.js';
import { DIALECTS, type TestDatabase } from '../../test/support/dialects.js';
import { tempDir } from '../../test/support/tmp.js';
import { canonicalBytes } from './canonical.js';
import { FILES, verifyExport } from './export.js';
import { signCheckpoint, type Checkpoint } from './checkpoint.js';
import { CompactRange, leafHash } from './merkle.js';
import { verifierKeyOf } from './note.js';
import { openFileSigner } from './signer.js';
import { buildEvent } from './validate.js';
import type { AuditLog } from './log.js';
import type { TlogTables } from './schema.js';
import { TreeVerifier, type VerifyReport } from './verify.js';

const SIZE = 40;

/**
 * A log of 40 events with checkpoints signed at sizes 10, 25 and 40. `variant` changes event 5, for a
 * second history signed by the same key (`keyDir`).
 */
async function signedLog(t: TestDatabase, keyDir = t.dataDir, variant = false): Promise<AuditLog> {
  const log = await openTestAuditLog(t.database, keyDir);
  for (let i = 0; i < SIZE; i++) {
    await log.append(variant && i === 5 ? { ...sampleEvent(i), reason: 'another history' } : sampleEvent(i));
    if (i + 1 === 10 || i + 1 === 25) await log.signCheckpoint();
  }
  await log.signCheckpoint();
  return log;
}

function entries(t: TestDatabase) {
  return t.database.kysely.withTables<TlogTables>();
}

async function dataOf(t: TestDatabase, index: number): Promise<Buffer> {
  const row = await entries(t)
    .selectFrom('tlog_entry')
    .select('data')
    .where('idx', '=', index)
    .executeTakeFirstOrThrow();
  return Buffer.from(row.data);
}

/** Both ways an auditor can check: the log in the database, and an export of it. */
async function verifyBothWays(t: TestDatabase, log: AuditLog): Promise<[VerifyReport, VerifyReport]> {
  const stored = await log.verify();
  const dir = path.join(tempDir(), 'export');
  await log.exportTo(dir);
  return [stored, await verifyExport(dir)];
}

function assertFirstBad(reports: VerifyReport[], index: number, reason: RegExp): void {
  for (const report of reports) {
    assert.equal(report.ok, false, 'the tampering is detected');
    assert.equal(report.failure?.index, index, report.failure?.reason);
    assert.match(report.failure.reason, reason);
  }
}

for (const dialect of DIALECTS) {
  describe(`tampering in the ${dialect.name} database, around the triggers`, { skip: dialect.skip }, () => {
    const scenario = (name: string, fn: (t: TestDatabase, log: AuditLog) => Promise<void>) =>
      it(name, async () => {
        const t = await dialect.create();
        const log = await signedLog(t);
        try {
          await dropAppendOnlyTriggers(t.database);
          await fn(t, log);
        } finally {
          await log.close();
          await t.drop();
        }
      });

    scenario('an untouched log verifies both ways', async (t, log) => {
      const [stored, exported] = await verifyBothWays(t, log);
      for (const r of [stored, exported]) {
        assert.equal(r.ok, true, JSON.stringify(r.failure));
        assert.equal(r.entries, SIZE);
        assert.equal(r.checkpoints, 3);
      }
    });

    scenario('a modified event is named by its index', async (t, log) => {
      const event = JSON.parse((await dataOf(t, 17)).toString()) as Record<string, unknown>;
      event.outcome = event.outcome === 'success' ? 'denied' : 'success';
      await entries(t)
        .updateTable('tlog_entry')
        .set({ data: canonicalBytes(event) })
        .where('idx', '=', 17)
        .execute();
      assertFirstBad(await verifyBothWays(t, log), 17, /entry 17 was altered/);
    });

    scenario('a deleted event is named by its index', async (t, log) => {
      await entries(t).deleteFrom('tlog_entry').where('idx', '=', 12).execute();
      assertFirstBad(await verifyBothWays(t, log), 12, /entry 12 is missing/);
    });

    scenario('two reordered events: the first of them is named', async (t, log) => {
      const [a, b] = [await dataOf(t, 20), await dataOf(t, 21)];
      await entries(t).updateTable('tlog_entry').set({ data: b }).where('idx', '=', 20).execute();
      await entries(t).updateTable('tlog_entry').set({ data: a }).where('idx', '=', 21).execute();
      assertFirstBad(await verifyBothWays(t, log), 20, /entry 20 was altered/);
    });

    scenario(
      'an event inserted in the middle (later ones renumbered) is named by its index',
      async (t, log) => {
        // Move entries 30.. up by one, last first (the primary key forbids overlaps), then slip one in.
        for (let i = SIZE - 1; i >= 30; i--) {
          await sql`update tlog_entry set idx = idx + 1 where log_id = ${log.tree.id} and idx = ${i}`.execute(
            t.database.kysely,
          );
        }
        const forged = canonicalBytes({
          ...(JSON.parse((await dataOf(t, 29)).toString()) as object),
          reason: 'forged',
        });
        await entries(t)
          .insertInto('tlog_entry')
          .values({ log_id: log.tree.id, idx: 30, data: forged })
          .execute();
        assertFirstBad(await verifyBothWays(t, log), 30, /entry 30 was altered/);
      },
    );

    scenario('entries removed from the end are named by the first missing index', async (t, log) => {
      await entries(t).deleteFrom('tlog_entry').where('idx', '>=', 36).execute();
      assertFirstBad(await verifyBothWays(t, log), 36, /entries 36\.\.39 were removed/);
    });

    scenario(
      'rewriting the recorded leaf hash too narrows it to the range between two checkpoints',
      async (t, log) => {
        const forged = canonicalBytes({
          ...(JSON.parse((await dataOf(t, 17)).toString()) as object),
          reason: 'forged',
        });
        await entries(t).updateTable('tlog_entry').set({ data: forged }).where('idx', '=', 17).execute();
        await entries(t)
          .updateTable('tlog_node')
          .set({ hash: leafHash(forged) })
          .where('level', '=', 0)
          .where('idx', '=', 17)
          .execute();
        assertFirstBad(
          [await log.verify()],
          10,
          /entries 10\.\.24 do not reproduce the root signed in the checkpoint of size 25/,
        );
      },
    );
  });
}

describe('tampering with an export folder', () => {
  const setup = async (keyDir?: string, variant = false) => {
    const t = await DIALECTS[0]!.create();
    const log = await signedLog(t, keyDir ?? t.dataDir, variant);
    const dir = path.join(tempDir(), 'export');
    await log.exportTo(dir);
    const earlier = (await log.inclusionProof(3, 25)).checkpoint!;
    await log.close();
    await t.drop();
    return { dir, earlier, keyDir: keyDir ?? t.dataDir };
  };
  const lines = (dir: string) => readFileSync(path.join(dir, FILES.entries), 'utf8').split('\n');
  const rewrite = (dir: string, ls: string[]) => writeFileSync(path.join(dir, FILES.entries), ls.join('\n'));

  it('one flipped byte in an event is named by its index', async () => {
    const { dir } = await setup();
    const bytes = readFileSync(path.join(dir, FILES.entries));
    const at = bytes.indexOf('"seq":23') + 7;
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(path.join(dir, FILES.entries), bytes);
    const report = await verifyExport(dir);
    assert.equal(report.failure?.index, 23, report.failure?.reason);
    assert.match(report.failure.reason, /entry 23 was altered/);
  });

  it('a changed recorded leaf hash, a dropped line and a truncated file are each named', async () => {
    const { dir } = await setup();
    const original = lines(dir);
    const hashed = [...original];
    hashed[5] = hashed[5]!.replace(
      /"leafHash":"(.)/,
      (_m, c: string) => `"leafHash":"${c === 'a' ? 'b' : 'a'}`,
    );
    rewrite(dir, hashed);
    let report = await verifyExport(dir);
    assert.equal(report.failure?.index, 5);
    assert.match(report.failure.reason, /recorded leaf hash of entry 5 .* was altered/);

    rewrite(
      dir,
      original.filter((_l, i) => i !== 8),
    );
    report = await verifyExport(dir);
    assert.equal(report.failure?.index, 8);
    assert.match(report.failure.reason, /entry 8 is missing: the next entry present is 9/);

    rewrite(dir, [...original.slice(0, 33), original[33]!.slice(0, 40)]);
    report = await verifyExport(dir);
    assert.equal(report.failure?.index, 33);
    assert.match(report.failure.reason, /truncated/);
  });

  it('a checkpoint with a broken signature, or signed by another key, is refused', async () => {
    const { dir } = await setup();
    const file = path.join(dir, FILES.checkpoints);
    const original = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      original.replace(
        /\\n\\n— (\S+) (.)/,
        (_m, name: string, c: string) => `\\n\\n— ${name} ${c === 'A' ? 'B' : 'A'}`,
      ),
    );
    let report = await verifyExport(dir);
    assert.equal(report.ok, false);
    assert.equal(report.failure?.index, null);
    assert.match(report.failure.reason, /checkpoints\.jsonl line 1 \(size 10\): .*(signature|base64)/);

    writeFileSync(file, original);
    report = await verifyExport(dir, {
      keys: ['PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    });
    assert.equal(report.ok, false);
    assert.match(report.failure?.reason ?? '', /no signature by a trusted key/);
  });

  it('--against: proves the export extends an earlier checkpoint, and refuses a rewritten history', async () => {
    const { dir, earlier, keyDir } = await setup();
    const ok = await verifyExport(dir, { against: earlier.note });
    assert.equal(ok.ok, true, JSON.stringify(ok.failure));
    assert.equal(ok.against?.size, 25);

    // The same key signed a different history (say the log was rebuilt from a doctored backup).
    const rewritten = await setup(keyDir, true);
    const report = await verifyExport(rewritten.dir, { against: earlier.note });
    assert.equal(report.ok, false);
    assert.match(report.failure?.reason ?? '', /two checkpoints of size 25 carry different roots/);

    // A log under another key does not even accept the earlier checkpoint's signature.
    const stranger = await setup();
    const foreign = await verifyExport(stranger.dir, { against: earlier.note });
    assert.match(foreign.failure!.reason, /--against checkpoint.*no signature by a trusted key/);
  });

  it('never crashes on arbitrary damage: it either verifies or names a failure', async () => {
    const { dir } = await setup();
    const file = path.join(dir, FILES.entries);
    const pristine = readFileSync(file);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: pristine.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        async (edits) => {
          const damaged = Buffer.from(pristine);
          for (const [at, byte] of edits) damaged[at] = byte;
          writeFileSync(file, damaged);
          const report = await verifyExport(dir);
          if (damaged.equals(pristine)) {
            assert.equal(report.ok, true);
            return;
          }
          // Every byte of the file matters, and the blame never lands after the first damaged line.
          assert.equal(report.ok, false, 'damage is always detected');
          const firstChanged = damaged.findIndex((b, i) => b !== pristine[i]);
          const line = pristine.subarray(0, firstChanged).toString().split('\n').length - 1;
          assert.notEqual(report.failure?.index, null);
          assert.ok(
            report.failure!.index! <= line,
            `blamed ${report.failure!.index} (${report.failure!.reason}), first damage on line ${line}`,
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('a large export, verified by worker threads', () => {
  const ENTRIES = 50_000;
  /** Writes an export the way `exportLog` does, without a database, to keep the test quick. */
  const write = (dir: string) => {
    mkdirSync(dir);
    const signer = openFileSigner({ file: path.join(tempDir(), 'k.pem'), name: TEST_ORIGIN });
    const tree = new CompactRange();
    const lines: string[] = [];
    const notes: Promise<Checkpoint>[] = [];
    for (let i = 0; i < ENTRIES; i++) {
      const { bytes } = buildEvent(sampleEvent(i), 0);
      const h = leafHash(bytes);
      tree.append(h);
      lines.push(`{"index":${i},"leafHash":"${h.toString('hex')}","leaf":${bytes.toString()}}`);
      if ((i + 1) % 7000 === 0 || i + 1 === ENTRIES)
        notes.push(signCheckpoint(signer, TEST_ORIGIN, i + 1, tree.root()));
    }
    return Promise.all(notes).then((checkpoints) => {
      writeFileSync(path.join(dir, FILES.entries), `${lines.join('\n')}\n`);
      writeFileSync(
        path.join(dir, FILES.checkpoints),
        checkpoints.map((c) => `${JSON.stringify({ size: c.size, note: c.note })}\n`).join(''),
      );
      writeFileSync(path.join(dir, FILES.checkpoint), checkpoints.at(-1)!.note);
      writeFileSync(
        path.join(dir, FILES.manifest),
        JSON.stringify({
          format: 'palisade-tlog-export',
          version: 1,
          log: 'audit',
          origin: TEST_ORIGIN,
          verifierKeys: [verifierKeyOf(signer.name, signer.publicKey).text],
          treeSize: ENTRIES,
          exportedAt: new Date().toISOString(),
        }),
      );
      return lines;
    });
  };

  it('takes the parallel path when all is well, and still names the first bad entry when not', async (t) => {
    const dir = path.join(tempDir(), 'big');
    const lines = await write(dir);
    assert.ok(statSync(path.join(dir, FILES.entries)).size > 16 * 1024 * 1024, 'large enough for workers');
    const ranges = t.mock.method(TreeVerifier.prototype, 'addVerifiedRange');
    const singles = t.mock.method(TreeVerifier.prototype, 'add');
    const ok = await verifyExport(dir);
    assert.equal(ok.ok, true, JSON.stringify(ok.failure));
    assert.equal(ok.entries, ENTRIES);
    assert.ok(ranges.mock.callCount() > 1, 'chunks were verified by workers');
    assert.equal(singles.mock.callCount(), 0, 'no entry needed the careful path');

    const damage = async (edit: (ls: string[]) => string[]) => {
      writeFileSync(path.join(dir, FILES.entries), `${edit([...lines]).join('\n')}\n`);
      return verifyExport(dir);
    };
    let report = await damage((ls) => {
      ls[31_234] = ls[31_234]!.replace('"seq":31234', '"seq":31235');
      return ls;
    });
    assert.equal(report.failure?.index, 31_234, report.failure?.reason);
    assert.match(report.failure.reason, /entry 31234 was altered/);

    report = await damage((ls) => ls.filter((_l, i) => i !== 20_000));
    assert.equal(report.failure?.index, 20_000, report.failure?.reason);
    assert.match(report.failure.reason, /entry 20000 is missing/);

    report = await damage((ls) => {
      ls[45_001] = ls[45_001]!.replace(
        /"leafHash":"(.)/,
        (_m, c: string) => `"leafHash":"${c === '0' ? '1' : '0'}`,
      );
      return ls;
    });
    assert.equal(report.failure?.index, 45_001, report.failure?.reason);
    assert.match(report.failure.reason, /recorded leaf hash of entry 45001/);

    report = await damage((ls) => {
      ls[12_000] = 'not an entry';
      return ls;
    });
    assert.equal(report.failure?.index, 12_000);
    assert.match(report.failure.reason, /entries\.jsonl line 12001 is malformed/);
  });
});
