import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { getHeapSnapshot } from 'node:v8';
import { describe, it } from 'node:test';
import { DIALECTS } from '../../test/support/dialects.js';
import { PROVIDERS, keysFixture, type KeysFixture } from '../../test/support/keys.js';
import { SQLITE_FILE } from '../db/index.js';
import { createLogger } from '../log/index.js';
import { openDataKey, type KeysContext } from './data-keys.js';
import { bufferSource } from './segment-open.js';
import type { KeysTables } from './tables.js';

const SECRET_VALUE = 'camera-password-Zq8!xW3#Lm';

/** Every byte the database holds for Palisade: the SQLite files, or every row of every table. */
async function databaseBytes(f: KeysFixture): Promise<Buffer> {
  if (f.db.database.dialect === 'sqlite') {
    const file = path.join(f.db.dataDir, SQLITE_FILE);
    return Buffer.concat(
      [file, `${file}-wal`, `${file}-shm`].filter((p) => existsSync(p)).map((p) => readFileSync(p)),
    );
  }
  const db = f.db.database.kysely.withTables<KeysTables>();
  const parts: Buffer[] = [];
  for (const table of [
    'key_kek',
    'key_data_key',
    'key_rewrap_job',
    'key_signing_key',
    'key_secret',
  ] as const) {
    for (const row of await db.selectFrom(table).selectAll().execute()) {
      for (const value of Object.values(row)) {
        parts.push(Buffer.isBuffer(value) ? value : Buffer.from(String(value)));
      }
    }
  }
  return Buffer.concat(parts);
}

/** The forms a 32-byte key could take in text or binary. */
function forms(key: Buffer): Buffer[] {
  return [
    key,
    Buffer.from(key.toString('hex')),
    Buffer.from(key.toString('base64')),
    Buffer.from(key.toString('base64url')),
  ];
}

function assertAbsent(haystack: Buffer | string, needles: Buffer[], where: string): void {
  const h = typeof haystack === 'string' ? Buffer.from(haystack) : haystack;
  for (const n of needles) assert.equal(h.indexOf(n), -1, `key material found in ${where}`);
}

for (const dialect of DIALECTS) {
  for (const pc of PROVIDERS) {
    describe(
      `no key material leaks on ${dialect.name} with the ${pc.name} provider`,
      { skip: dialect.skip ?? pc.skip },
      () => {
        it('KEKs, data keys and secret values appear in no log, database byte or inspected object', async () => {
          const f = await keysFixture(dialect, pc);
          try {
            // The lead's wiring, approximately: every audit event and every result goes to the log.
            let logged = '';
            const logger = createLogger(
              'trace',
              new Writable({
                write(chunk: Buffer, _enc, done) {
                  logged += chunk.toString();
                  done();
                },
              }),
            );
            const keyring = f.keyring;
            const sealer = await keyring.createSealer({
              objectId: 'seg-1',
              cameraId: 'cam-1',
              kekId: 'zone-a',
            });
            const sealed = Buffer.concat([...sealer.update(Buffer.alloc(10_000, 7)), ...sealer.final()]);
            logger.info({ record: sealer.record(), sealer }, 'sealed');
            await keyring.rotateKek('zone-a');
            await keyring.rewrap('zone-a', { onProgress: (p) => logger.debug({ p }, 'progress') });
            const secret = await keyring.secrets.create({
              name: 'cam/1',
              kind: 'camera-credential',
              value: SECRET_VALUE,
            });
            logger.info({ secret }, 'secret stored');
            const opened = await keyring.secrets.open('cam/1');
            assert.equal(opened.toString(), SECRET_VALUE);
            opened.fill(0);
            const signer = await keyring.signer('audit');
            logger.info({ signer, provider: f.provider, keyring, status: await keyring.status() }, 'state');
            for (const e of f.events) logger.info({ audit: e }, e.action);
            const reader = await keyring.openObject({ objectId: 'seg-1', source: bufferSource(sealed) });
            logger.info({ reader: reader.header.objectId }, 'opened');

            // What we look for: the data key of seg-1, the secret value and (local provider) every key in the file.
            const ctx: KeysContext = {
              db: f.db.database.kysely.withTables<KeysTables>(),
              dialect: dialect.name,
              provider: f.provider,
              providerFor: () => f.provider,
              audit: async () => undefined,
              rewrapping: new Set(),
            };
            const dek = await openDataKey(ctx, 'seg-1');
            const needles = [...forms(dek), Buffer.from(SECRET_VALUE)];
            if (pc.name === 'local') {
              const file = JSON.parse(readFileSync(path.join(f.dir, 'keys', 'local-keys.json'), 'utf8')) as {
                keks: Record<string, { key: string }>;
                signingKeys: Record<string, { pkcs8: string }>;
              };
              assert.equal(Object.keys(file.keks).length, 3, 'zone-a v1 and v2, system v1');
              for (const k of Object.values(file.keks)) needles.push(...forms(Buffer.from(k.key, 'base64')));
              for (const k of Object.values(file.signingKeys)) {
                const pkcs8 = Buffer.from(k.pkcs8, 'base64');
                needles.push(...forms(pkcs8.subarray(pkcs8.length - 32)));
              }
            }

            assertAbsent(logged, needles, 'the log');
            assert.match(logged, /keys\.kek\.rotated/, 'the log did receive the events');
            assertAbsent(await databaseBytes(f), needles, 'the database');
            const shown = [
              keyring,
              f.provider,
              signer,
              sealer,
              reader,
              await keyring.status(),
              await keyring.listKeks(),
            ]
              .map((o) => inspect(o, { showHidden: true, depth: Infinity }) + JSON.stringify(o))
              .join('\n');
            assertAbsent(shown, needles, 'util.inspect / JSON.stringify output');
            dek.fill(0);
          } finally {
            await f.close();
          }
        });
      },
    );
  }
}

/**
 * The text forms (hex, base64, base64url) of every KEK in the local key file, as Buffers. Built in a
 * function of its own so that no string holding a key outlives it: the heap snapshot below must not
 * find this test's own copies.
 */
function localKekTextForms(keyFile: string): Buffer[] {
  const file = JSON.parse(readFileSync(keyFile, 'utf8')) as { keks: Record<string, { key: string }> };
  return Object.values(file.keks).flatMap((k) => forms(Buffer.from(k.key, 'base64')).slice(1));
}

const local = PROVIDERS.find((p) => p.name === 'local')!;
describe('a heap snapshot of a process using the local provider', () => {
  it('holds no KEK as text: the provider keeps keys only as native KeyObjects', async () => {
    const f = await keysFixture(DIALECTS[0]!, local);
    try {
      const sealer = await f.keyring.createSealer({ objectId: 'seg-1', kekId: 'zone-a' });
      sealer.final();
      await f.keyring.rotateKek('zone-a');
      await f.keyring.rewrap('zone-a');
      const needles = localKekTextForms(path.join(f.dir, 'keys', 'local-keys.json'));
      assert.equal(needles.length, 6, 'two KEK versions, three text forms each');
      // Taking a snapshot collects garbage first: only what something still references is in it.
      const chunks: Buffer[] = [];
      for await (const chunk of getHeapSnapshot()) chunks.push(chunk as Buffer);
      const heap = Buffer.concat(chunks);
      assert.ok(heap.length > 1_000_000, 'a real snapshot');
      assertAbsent(heap, needles, 'the heap snapshot');
      // The provider is still usable afterwards: the keys are there, just not as strings.
      assert.equal((await f.keyring.status()).keks.length, 2);
    } finally {
      await f.close();
    }
  });
});
