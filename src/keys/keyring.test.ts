import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { DIALECTS } from '../../test/support/dialects.js';
import { PROVIDERS, keysFixture, type KeysFixture } from '../../test/support/keys.js';
import { SQLITE_FILE } from '../db/index.js';
import { PalisadeError } from '../errors/index.js';
import { bufferSource } from './segment-open.js';
import type { KeysTables } from './tables.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof PalisadeError, `expected a PalisadeError, got ${String(err)}`);
    return err.code;
  }
  return 'SUCCEEDED';
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of it) out.push(b);
  return Buffer.concat(out);
}

/** Seals `plain` as a recorder would (async iterable in, sealed pieces out) and returns the bytes. */
async function sealObject(
  f: KeysFixture,
  objectId: string,
  plain: Buffer,
  kekId = 'zone-a',
  cameraId = 'cam-1',
) {
  const sealer = await f.keyring.createSealer({ objectId, cameraId, kekId });
  async function* pieces() {
    for (let o = 0; o < plain.length; o += 3000) yield plain.subarray(o, o + 3000);
  }
  const sealed = await collect(sealer.seal(pieces()));
  return { sealed, record: sealer.record() };
}

async function openObject(
  f: KeysFixture,
  objectId: string,
  sealed: Buffer,
  cameraId?: string,
): Promise<Buffer> {
  const reader = await f.keyring.openObject({ objectId, cameraId, source: bufferSource(sealed) });
  return reader.read(0, reader.size);
}

for (const dialect of DIALECTS) {
  for (const pc of PROVIDERS) {
    const skip = dialect.skip ?? pc.skip;
    describe(`keyring on ${dialect.name} with the ${pc.name} provider`, { skip }, () => {
      it('seals an object under a fresh data key wrapped by the zone KEK, and opens it', async () => {
        const f = await keysFixture(dialect, pc);
        try {
          const plain = randomBytes(20_000);
          const { sealed, record } = await sealObject(f, 'seg-1', plain);
          assert.deepEqual(record, {
            format: 'palisade-segment/1',
            objectId: 'seg-1',
            cameraId: 'cam-1',
            kekId: 'zone-a',
            kekVersion: 1,
            chunkSize: 4096,
            plaintextBytes: 20_000,
            sealedBytes: sealed.length,
            chunks: 5,
            sealedAt: record.sealedAt,
          });
          assert.deepEqual(await openObject(f, 'seg-1', sealed, 'cam-1'), plain);
          assert.deepEqual(await collect(f.keyring.openObjectStream({ objectId: 'seg-1' }, [sealed])), plain);
          // The zone KEK was created on first use, once, and audited.
          assert.deepEqual(
            f.events.map((e) => [e.action, e.target.id, e.details?.version]),
            [['keys.kek.created', 'zone-a', 1]],
          );
          const row = await f.db.database.kysely
            .withTables<KeysTables>()
            .selectFrom('key_data_key')
            .selectAll()
            .executeTakeFirstOrThrow();
          assert.equal(row.kek_id, 'zone-a');
          assert.equal(row.kek_version, 1);
          assert.equal(Buffer.from(row.wrapped!).length, 62);
        } finally {
          await f.close();
        }
      });

      it('refuses to reuse an object id and names unknown ones', async () => {
        const f = await keysFixture(dialect, pc);
        try {
          await sealObject(f, 'seg-1', randomBytes(10));
          assert.equal(
            await codeOf(f.keyring.createSealer({ objectId: 'seg-1', kekId: 'zone-a' })),
            'DEK_EXISTS',
          );
          assert.equal(await codeOf(openObject(f, 'seg-404', Buffer.alloc(100))), 'DEK_NOT_FOUND');
          assert.equal(
            await codeOf(f.keyring.createSealer({ objectId: 'seg-2', kekId: 'bad zone!' })),
            'KEY_NAME_INVALID',
          );
        } finally {
          await f.close();
        }
      });

      it('a wrapped key moved onto another object, or the wrong KEK version, is DEK_UNWRAP_FAILED', async () => {
        const f = await keysFixture(dialect, pc);
        try {
          const a = await sealObject(f, 'seg-a', randomBytes(100));
          await sealObject(f, 'seg-b', randomBytes(100));
          const db = f.db.database.kysely.withTables<KeysTables>();
          const rowA = await db
            .selectFrom('key_data_key')
            .select('wrapped')
            .where('object_id', '=', 'seg-a')
            .executeTakeFirstOrThrow();
          await db
            .updateTable('key_data_key')
            .set({ wrapped: rowA.wrapped })
            .where('object_id', '=', 'seg-b')
            .execute();
          assert.equal(await codeOf(openObject(f, 'seg-b', a.sealed)), 'DEK_UNWRAP_FAILED');
          // Rotate, then point seg-a's row at the new version without re-wrapping: wrong KEK.
          await f.keyring.rotateKek('zone-a');
          await db
            .updateTable('key_data_key')
            .set({ kek_version: 2 })
            .where('object_id', '=', 'seg-a')
            .execute();
          assert.equal(await codeOf(openObject(f, 'seg-a', a.sealed)), 'DEK_UNWRAP_FAILED');
        } finally {
          await f.close();
        }
      });

      it('the sealed object of one id presented as another: SEGMENT_WRONG_OBJECT; wrong camera: SEGMENT_WRONG_CAMERA', async () => {
        const f = await keysFixture(dialect, pc);
        try {
          const a = await sealObject(f, 'seg-a', randomBytes(100));
          await sealObject(f, 'seg-b', randomBytes(100));
          assert.equal(await codeOf(openObject(f, 'seg-b', a.sealed)), 'SEGMENT_WRONG_OBJECT');
          assert.equal(await codeOf(openObject(f, 'seg-a', a.sealed, 'cam-9')), 'SEGMENT_WRONG_CAMERA');
        } finally {
          await f.close();
        }
      });

      it('rotation: a new version seals new objects; re-wrap moves every old key; nothing is lost', async () => {
        const f = await keysFixture(dialect, pc);
        try {
          const objects = new Map<string, { plain: Buffer; sealed: Buffer }>();
          for (let i = 0; i < 25; i++) {
            const plain = randomBytes(500 + i);
            objects.set(`seg-${i}`, { plain, ...(await sealObject(f, `seg-${i}`, plain)) });
          }
          const { previous, current, job } = await f.keyring.rotateKek('zone-a', {
            actor: { type: 'user', id: 'u-1' },
          });
          assert.equal(previous.version, 1);
          assert.equal(previous.state, 'retired');
          assert.equal(current.version, 2);
          assert.equal(job.total, 25);
          assert.notEqual(current.providerRef, previous.providerRef);
          // Before the re-wrap, old objects open through the retired version.
          assert.deepEqual(
            await openObject(f, 'seg-3', objects.get('seg-3')!.sealed),
            objects.get('seg-3')!.plain,
          );
          const fresh = await sealObject(f, 'seg-new', randomBytes(10));
          assert.equal(fresh.record.kekVersion, 2);
          assert.equal(await codeOf(f.keyring.destroyKekVersion('zone-a', 1)), 'KEK_IN_USE');
          assert.equal(await codeOf(f.keyring.destroyKekVersion('zone-a', 2)), 'KEK_ACTIVE');

          const progress: number[] = [];
          const result = await f.keyring.rewrap('zone-a', {
            batchSize: 10,
            onProgress: (p) => progress.push(p.done),
          });
          assert.equal(result.outcome, 'completed');
          assert.deepEqual(progress, [10, 20, 25]);
          assert.equal(result.job?.done, 25);
          assert.equal(result.job.failed, 0);
          const status = await f.keyring.status();
          assert.deepEqual(
            status.keks.map((k) => [k.version, k.state, k.liveDataKeys]),
            [
              [1, 'retired', 0],
              [2, 'active', 26],
            ],
          );
          // The old version can now go; every object still opens.
          await f.keyring.destroyKekVersion('zone-a', 1);
          for (const [id, o] of objects) assert.deepEqual(await openObject(f, id, o.sealed), o.plain, id);
          assert.deepEqual(
            f.events.map((e) => e.action),
            [
              'keys.kek.created',
              'keys.kek.rotated',
              'keys.rewrap.started',
              'keys.rewrap.completed',
              'keys.kek.destroyed',
            ],
          );
          assert.deepEqual(f.events[1]!.actor, { type: 'user', id: 'u-1' });
          assert.equal(f.events[3]!.details?.done, 25);
          assert.equal((await f.keyring.rewrap('zone-a')).outcome, 'none', 'nothing left to do');
        } finally {
          await f.close();
        }
      });

      it('re-wrap stops at a signal and resumes where it stopped', async () => {
        const f = await keysFixture(dialect, pc);
        try {
          const sealed = new Map<string, Buffer>();
          for (let i = 0; i < 30; i++)
            sealed.set(`s-${i}`, (await sealObject(f, `s-${i}`, Buffer.from(`object ${i}`))).sealed);
          await f.keyring.rotateKek('zone-a');
          const stop = new AbortController();
          const paused = await f.keyring.rewrap('zone-a', {
            batchSize: 7,
            signal: stop.signal,
            onProgress: (p) => p.done >= 14 && stop.abort(),
          });
          assert.equal(paused.outcome, 'paused');
          assert.equal((await f.keyring.rewrapJobs({ state: 'running' }))[0]?.done, 14);
          const resumed = await f.keyring.rewrap('zone-a', { batchSize: 7 });
          assert.equal(resumed.outcome, 'completed');
          assert.equal(resumed.job?.done, 30);
          for (const [id, s] of sealed)
            assert.equal((await openObject(f, id, s)).toString(), `object ${id.slice(2)}`);
          const started = f.events.filter((e) => e.action === 'keys.rewrap.started');
          assert.deepEqual(
            started.map((e) => e.details?.resumed),
            [false, true],
          );
        } finally {
          await f.close();
        }
      });

      it('two rotations in a row: the newer job supersedes the older and covers every key', async () => {
        const f = await keysFixture(dialect, pc);
        try {
          const sealed = new Map<string, Buffer>();
          for (let i = 0; i < 8; i++)
            sealed.set(`s-${i}`, (await sealObject(f, `s-${i}`, Buffer.from(`o${i}`))).sealed);
          const first = await f.keyring.rotateKek('zone-a');
          await sealObject(f, 's-v2', Buffer.from('made under v2'));
          const second = await f.keyring.rotateKek('zone-a');
          assert.equal(second.job.total, 9, 'eight keys at v1 and one at v2');
          const jobs = await f.keyring.rewrapJobs({ kekId: 'zone-a' });
          assert.deepEqual(
            jobs.map((j) => [j.jobId, j.state]).sort(),
            [
              [first.job.jobId, 'superseded'],
              [second.job.jobId, 'running'],
            ].sort(),
          );
          assert.equal((await f.keyring.rewrap('zone-a')).job?.done, 9);
          await f.keyring.destroyKekVersion('zone-a', 1);
          await f.keyring.destroyKekVersion('zone-a', 2);
          for (const [id, s] of sealed)
            assert.equal((await openObject(f, id, s)).toString(), `o${id.slice(2)}`);
        } finally {
          await f.close();
        }
      });

      it('two processes running the same re-wrap job finish it without double counting', async () => {
        const f = await keysFixture(dialect, pc);
        try {
          const sealed = new Map<string, Buffer>();
          for (let i = 0; i < 40; i++)
            sealed.set(`s-${i}`, (await sealObject(f, `s-${i}`, Buffer.from(`o${i}`))).sealed);
          await f.keyring.rotateKek('zone-a');
          const { Keyring } = await import('./keyring.js');
          const other = new Keyring({
            database: f.db.database,
            provider: f.provider,
            audit: async () => undefined,
          });
          const [a, b] = await Promise.all([
            f.keyring.rewrap('zone-a', { batchSize: 5 }),
            other.rewrap('zone-a', { batchSize: 5 }),
          ]);
          const finished = [a, b].filter((r) => r.outcome === 'completed');
          assert.ok(finished.length >= 1);
          const [job] = await f.keyring.rewrapJobs({ kekId: 'zone-a' });
          assert.equal(job?.state, 'completed');
          assert.equal(job.done, 40, 'each key counted once');
          for (const [id, s] of sealed)
            assert.equal((await openObject(f, id, s)).toString(), `o${id.slice(2)}`);
        } finally {
          await f.close();
        }
      });

      it('a data key that cannot be opened is marked and skipped, not retried forever', async () => {
        const f = await keysFixture(dialect, pc);
        try {
          for (let i = 0; i < 5; i++) await sealObject(f, `s-${i}`, Buffer.from('x'));
          const db = f.db.database.kysely.withTables<KeysTables>();
          await db
            .updateTable('key_data_key')
            .set({ wrapped: Buffer.alloc(62, 1) })
            .where('object_id', '=', 's-2')
            .execute();
          await f.keyring.rotateKek('zone-a');
          const r = await f.keyring.rewrap('zone-a');
          assert.equal(r.outcome, 'completed');
          assert.equal(r.job?.done, 4);
          assert.equal(r.job.failed, 1);
          assert.equal((await f.keyring.dataKeyInfo('s-2')).rewrapError, 'DEK_UNWRAP_FAILED');
          assert.equal(f.events.at(-1)?.outcome, 'failure');
          assert.equal(await codeOf(f.keyring.destroyKekVersion('zone-a', 1)), 'KEK_IN_USE');
        } finally {
          await f.close();
        }
      });

      it('crypto-shredding a data key (retention): the object is unrecoverable, DEK_DESTROYED', async () => {
        const f = await keysFixture(dialect, pc);
        try {
          const a = await sealObject(f, 'seg-a', randomBytes(100));
          const b = await sealObject(f, 'seg-b', randomBytes(100));
          const r = await f.keyring.destroyDataKeys(['seg-a', 'seg-x'], {
            actor: { type: 'system', id: 'retention' },
          });
          assert.deepEqual(r, { destroyed: ['seg-a'], notFound: ['seg-x'], alreadyDestroyed: [] });
          assert.equal(await codeOf(openObject(f, 'seg-a', a.sealed)), 'DEK_DESTROYED');
          assert.ok(await openObject(f, 'seg-b', b.sealed), 'other objects are untouched');
          const db = f.db.database.kysely.withTables<KeysTables>();
          const row = await db
            .selectFrom('key_data_key')
            .selectAll()
            .where('object_id', '=', 'seg-a')
            .executeTakeFirstOrThrow();
          assert.equal(row.wrapped, null, 'the wrapped key is gone from the database');
          assert.ok(row.destroyed_at);
          const event = f.events.at(-1)!;
          assert.equal(event.action, 'keys.dek.destroyed');
          assert.deepEqual(event.details, { objects: ['seg-a'], count: 1 });
          assert.deepEqual((await f.keyring.destroyDataKeys(['seg-a'])).alreadyDestroyed, ['seg-a']);
          // Rotation leaves destroyed keys destroyed.
          await f.keyring.rotateKek('zone-a');
          assert.equal((await f.keyring.rewrap('zone-a')).job?.done, 1);
          assert.equal(await codeOf(openObject(f, 'seg-a', a.sealed)), 'DEK_DESTROYED');
        } finally {
          await f.close();
        }
      });

      it('crypto-shredding a zone: every KEK version destroyed in the provider, KEK_DESTROYED', async () => {
        const f = await keysFixture(dialect, pc);
        try {
          const a = await sealObject(f, 'seg-a', randomBytes(100));
          await f.keyring.rotateKek('zone-a');
          const b = await sealObject(f, 'seg-b', randomBytes(100));
          const other = await sealObject(f, 'seg-c', randomBytes(100), 'zone-b');
          const refs = (await f.keyring.listKeks('zone-a')).map((k) => k.providerRef);
          const r = await f.keyring.destroyKek('zone-a', { actor: { type: 'user', id: 'u-2' } });
          assert.deepEqual(r, { versions: [1, 2], dataKeys: 2 });
          for (const ref of refs) assert.equal(await f.provider.hasKek(ref), false, 'gone from the provider');
          assert.equal(await codeOf(openObject(f, 'seg-a', a.sealed)), 'KEK_DESTROYED');
          assert.equal(await codeOf(openObject(f, 'seg-b', b.sealed)), 'KEK_DESTROYED');
          assert.ok(await openObject(f, 'seg-c', other.sealed), 'another zone is untouched');
          assert.equal(
            await codeOf(f.keyring.createSealer({ objectId: 'seg-d', kekId: 'zone-a' })),
            'KEK_DESTROYED',
          );
          assert.equal(await codeOf(f.keyring.destroyKek('zone-a')), 'KEK_DESTROYED');
          assert.equal((await f.keyring.rewrapJobs({ kekId: 'zone-a' }))[0]?.state, 'cancelled');
          const event = f.events.findLast((e) => e.action === 'keys.kek.destroyed')!;
          assert.equal(event.outcome, 'success');
          assert.deepEqual(event.details?.versions, [1, 2]);
          assert.equal(event.details.dataKeysShredded, 2);
        } finally {
          await f.close();
        }
      });

      it('an audit sink that fails makes the operation fail (nothing is acknowledged unaudited)', async () => {
        const f = await keysFixture(dialect, pc);
        try {
          await sealObject(f, 'seg-a', randomBytes(10));
          const { Keyring } = await import('./keyring.js');
          const strict = new Keyring({
            database: f.db.database,
            provider: f.provider,
            audit: async () => {
              throw new PalisadeError('AUDIT_UNAVAILABLE', 'the audit log is down');
            },
          });
          assert.equal(await codeOf(strict.rotateKek('zone-a')), 'AUDIT_UNAVAILABLE');
        } finally {
          await f.close();
        }
      });

      it('signing keys are recorded with their public key; status reports provider, KEKs and counts', async () => {
        const f = await keysFixture(dialect, pc);
        try {
          const name = `evidence-${randomBytes(3).toString('hex')}`;
          const signer = await f.keyring.signer(name);
          await sealObject(f, 'seg-a', randomBytes(10));
          await sealObject(f, 'seg-b', randomBytes(10));
          await f.keyring.destroyDataKeys(['seg-b']);
          await f.keyring.secrets.create({ name: 'cam/1', kind: 'camera-credential', value: 'pw' });
          const status = await f.keyring.status(new Date(Date.now() + 3 * 86_400_000));
          assert.equal(status.provider.kind, pc.name);
          assert.equal(status.provider.hardwareBacked, false);
          assert.deepEqual(
            status.keks.map((k) => [k.kekId, k.version, k.state, k.ageDays, k.liveDataKeys]),
            [
              ['system', 1, 'active', 3, 1],
              ['zone-a', 1, 'active', 3, 1],
            ],
          );
          assert.deepEqual(status.dataKeys, { live: 2, destroyed: 1, rewrapErrors: 0 });
          assert.equal(status.secrets, 1);
          assert.deepEqual(
            status.signingKeys.map((s) => [s.name, s.algorithm, s.publicKey]),
            [[name, 'Ed25519', Buffer.from(signer.publicKey).toString('hex')]],
          );
        } finally {
          await f.close();
        }
      });
    });
  }
}

describe('crypto-shredding on SQLite', () => {
  it('zeroes destroyed wrapped keys in the database file (secure_delete), not just unlinks them', async () => {
    const f = await keysFixture(DIALECTS[0]!, PROVIDERS[0]!);
    try {
      for (let i = 0; i < 100; i++)
        (await f.keyring.createSealer({ objectId: `seg-${i}`, kekId: 'zone-a' })).final();
      const db = f.db.database.kysely.withTables<KeysTables>();
      const rows = await db
        .selectFrom('key_data_key')
        .select(['object_id', 'wrapped'])
        .orderBy('object_id')
        .execute();
      const doomed = rows.filter((_, i) => i % 2 === 0);
      const kept = rows.filter((_, i) => i % 2 === 1);
      await f.keyring.destroyDataKeys(doomed.map((r) => r.object_id));
      await sql`pragma wal_checkpoint(TRUNCATE)`.execute(f.db.database.kysely);
      const file = readFileSync(path.join(f.db.dataDir, SQLITE_FILE));
      assert.equal(
        kept.filter((r) => file.includes(r.wrapped!)).length,
        50,
        'live wrapped keys are found (the search works)',
      );
      assert.equal(
        doomed.filter((r) => file.includes(r.wrapped!)).length,
        0,
        'no destroyed wrapped key is left in the file',
      );
    } finally {
      await f.close();
    }
  });
});

describe('moving from the local key file to an HSM', { skip: PROVIDERS[1]!.skip }, () => {
  it('is a rotation: re-wrap moves every data key into the token and the file can go', async () => {
    const f = await keysFixture(DIALECTS[0]!, PROVIDERS[0]!);
    const hsm = await PROVIDERS[1]!.open(f.dir);
    try {
      const objects: [string, Buffer, Buffer][] = [];
      for (let i = 0; i < 12; i++) {
        const plain = randomBytes(300);
        objects.push([`seg-${i}`, plain, (await sealObject(f, `seg-${i}`, plain)).sealed]);
      }
      const { Keyring } = await import('./keyring.js');
      const moved = new Keyring({
        database: f.db.database,
        provider: hsm,
        formerProviders: [f.provider],
        audit: async () => undefined,
      });
      const { current } = await moved.rotateKek('zone-a');
      assert.equal(current.provider, 'pkcs11');
      assert.equal((await moved.rewrap('zone-a')).job?.done, 12);
      await moved.destroyKekVersion('zone-a', 1);
      // Only the HSM is needed now.
      const hsmOnly = new Keyring({ database: f.db.database, provider: hsm, audit: async () => undefined });
      for (const [id, plain, sealed] of objects) {
        const reader = await hsmOnly.openObject({ objectId: id, source: bufferSource(sealed) });
        assert.deepEqual(await reader.read(0, reader.size), plain);
      }
      // Without the former provider, a version it holds is named as such.
      await sealObject(f, 'seg-local', randomBytes(10), 'zone-b');
      assert.equal(
        await codeOf(hsmOnly.openObject({ objectId: 'seg-local', source: bufferSource(Buffer.alloc(0)) })),
        'KEY_PROVIDER_MISMATCH',
      );
    } finally {
      await hsm.close();
      await f.close();
    }
  });
});
