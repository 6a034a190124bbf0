import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { DIALECTS } from '../../test/support/dialects.js';
import { PROVIDERS, keysFixture } from '../../test/support/keys.js';
import { softHsmToken } from '../../test/support/softhsm.js';
import { createDataKeys, type KeysContext } from './data-keys.js';
import type { RewrapProgress, RewrapResult } from './rewrap.js';
import { bufferSource } from './segment-open.js';
import { SegmentSealer } from './segment-seal.js';
import type { KeysTables } from './tables.js';

/**
 * The acceptance number, a KEK wrapping 100,000 data keys, runs on SQLite. PostgreSQL runs the same
 * path with 20,000 to keep CI short (set PALISADE_TEST_PG_REWRAP_KEYS=100000 for the full size).
 */
function dataKeysFor(dialect: string): number {
  return dialect === 'sqlite' ? 100_000 : Number(process.env.PALISADE_TEST_PG_REWRAP_KEYS ?? 20_000);
}
const BATCH = 500;
const WORKER = fileURLToPath(new URL('../../test/support/keys-rewrap-worker.js', import.meta.url));
const hsm = PROVIDERS.find((p) => p.name === 'pkcs11')!;

interface WorkerRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  progress: RewrapProgress[];
  result?: RewrapResult;
  events: string[];
  stderr: string;
}

/** Runs the re-wrap in a child process; `killAt` SIGKILLs it once that many keys are committed. */
async function runWorker(env: Record<string, string>, killAt?: number): Promise<WorkerRun> {
  const child = spawn(process.execPath, [WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: WorkerRun = { code: null, signal: null, progress: [], events: [], stderr: '' };
  child.stderr.on('data', (c: Buffer) => (run.stderr += c.toString()));
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    const msg = JSON.parse(line) as { progress?: RewrapProgress; result?: RewrapResult; event?: string };
    if (msg.progress) {
      run.progress.push(msg.progress);
      if (killAt !== undefined && msg.progress.done >= killAt && child.exitCode === null)
        child.kill('SIGKILL');
    }
    if (msg.result) run.result = msg.result;
    if (msg.event) run.events.push(msg.event);
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  run.code = code;
  run.signal = signal;
  return run;
}

for (const dialect of DIALECTS) {
  const DATA_KEYS = dataKeysFor(dialect.name);
  describe(
    `rotation of a KEK wrapping ${DATA_KEYS} data keys on ${dialect.name} (SoftHSM2)`,
    { skip: dialect.skip ?? hsm.skip },
    () => {
      it(
        'survives SIGKILL mid-way, resumes, and every object still opens',
        { timeout: 600_000 },
        async () => {
          const f = await keysFixture(dialect, hsm);
          try {
            const token = softHsmToken();
            const ctx: KeysContext = {
              db: f.db.database.kysely.withTables<KeysTables>(),
              dialect: dialect.name,
              provider: f.provider,
              providerFor: () => f.provider,
              audit: async () => undefined,
              rewrapping: new Set(),
            };
            // 100,000 objects, each sealed under its own data key wrapped by zone-a v1.
            const sealed: Buffer[] = new Array<Buffer>(DATA_KEYS);
            for (let start = 0; start < DATA_KEYS; start += 5000) {
              const ids = Array.from({ length: Math.min(5000, DATA_KEYS - start) }, (_, i) =>
                objectId(start + i),
              );
              const deks = await createDataKeys(ctx, ids, 'zone-a');
              deks.forEach((dek, i) => {
                const sealer = new SegmentSealer(dek, {
                  objectId: ids[i]!,
                  cameraId: 'cam-1',
                  chunkSize: 4096,
                });
                sealed[start + i] = Buffer.concat([
                  ...sealer.update(Buffer.from(`payload ${start + i}`)),
                  ...sealer.final(),
                ]);
                dek.fill(0);
              });
            }
            const { job } = await f.keyring.rotateKek('zone-a');
            assert.equal(job.total, DATA_KEYS);

            const env = {
              PALISADE_TEST_REWRAP: JSON.stringify({
                dbUrl: f.db.url,
                dataDir: f.db.dataDir,
                token,
                kekId: 'zone-a',
                batchSize: BATCH,
              }),
              SOFTHSM2_CONF: token.conf,
            };
            const killed = await runWorker(env, DATA_KEYS / 4);
            assert.equal(killed.signal, 'SIGKILL', `the worker was killed, not finished: ${killed.stderr}`);
            assert.equal(killed.result, undefined);
            const db = ctx.db;
            const mid = (await f.keyring.rewrapJobs({ state: 'running' }))[0]!;
            assert.ok(mid.done >= DATA_KEYS / 4 && mid.done < DATA_KEYS, `killed mid-way at ${mid.done}`);
            const atNew = await db
              .selectFrom('key_data_key')
              .select((eb) => eb.fn.countAll<number | string>().as('n'))
              .where('kek_version', '=', 2)
              .executeTakeFirstOrThrow();
            assert.equal(Number(atNew.n), mid.done, 'progress and re-wrapped keys were committed together');

            const resumed = await runWorker(env);
            assert.equal(resumed.code, 0, resumed.stderr);
            assert.equal(resumed.result?.outcome, 'completed');
            assert.equal(resumed.result.job?.done, DATA_KEYS);
            assert.equal(resumed.result.job.failed, 0);
            assert.ok(
              resumed.progress[0]!.done > mid.done,
              'the second run continued, it did not start over',
            );
            assert.deepEqual(resumed.events, ['keys.rewrap.started', 'keys.rewrap.completed']);

            const left = await db
              .selectFrom('key_data_key')
              .select((eb) => eb.fn.countAll<number | string>().as('n'))
              .where('kek_version', '<>', 2)
              .executeTakeFirstOrThrow();
            assert.equal(Number(left.n), 0);
            // Nothing needs version 1 any more: destroy it, then open every object.
            await f.keyring.destroyKekVersion('zone-a', 1);
            for (let start = 0; start < DATA_KEYS; start += 200) {
              await Promise.all(
                Array.from({ length: Math.min(200, DATA_KEYS - start) }, async (_, k) => {
                  const i = start + k;
                  const reader = await f.keyring.openObject({
                    objectId: objectId(i),
                    cameraId: 'cam-1',
                    source: bufferSource(sealed[i]!),
                  });
                  const plain = await reader.read(0, reader.size);
                  if (plain.toString() !== `payload ${i}`)
                    assert.fail(`object ${i} opened to the wrong bytes`);
                }),
              );
            }
          } finally {
            await f.close();
          }
        },
      );
    },
  );
}

function objectId(i: number): string {
  return `seg-${String(i).padStart(6, '0')}`;
}
