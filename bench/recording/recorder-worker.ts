// A full Palisade recorder in its own process (SQLite index, local key file, sealed segments on disk,
// integrity log), recording the given cameras until SIGTERM. Prints "ready <baselineRss>" once the
// cameras are added. Used by bench/recording/run.ts.
// BENCH_CPU_PROFILE=<file>: a V8 CPU profile of the steady state only (from BENCH_PROFILE_AFTER_MS,
// default 5000, after the cameras are added, until SIGTERM), written as a .cpuprofile.
// BENCH_ALLOC_PROFILE=<file>: a sampling allocation profile (.heapprofile) of the same window.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { openFileSigner } from '../../src/audit/index.js';
import { MIGRATIONS } from '../../src/app/index.js';
import { migrate, openDatabase } from '../../src/db/index.js';
import { Keyring, LocalKeyProvider } from '../../src/keys/index.js';
import { ZoneDirectory } from '../../src/network/index.js';
import { Recorder } from '../../src/recording/index.js';
import { LocalBlobStore } from '../../src/storage/index.js';

const [dir = '', urlList = '', user = '', password = '', tlsFingerprint = ''] = process.argv.slice(2);
const database = openDatabase({ url: `sqlite://${dir}/palisade.db`, dataDir: dir });
await migrate(database, MIGRATIONS);
const zones = new ZoneDirectory(database);
await zones.ensureDefaults([2, 2, 2, 2, 2, 2, 2]);
const provider = await LocalKeyProvider.open(path.join(dir, 'keys', 'local-keys.json'));
const actor = { type: 'system' as const, id: 'bench', auth: 'none' };
const audit = { append: async () => ({ index: 0 }) };
const keyring = new Keyring({ database, provider, audit: async () => undefined });
const baselineRss = process.memoryUsage().rss;
const recorder = await Recorder.open({
  database,
  keyring,
  store: await LocalBlobStore.open(path.join(dir, 'video')),
  audit: audit,
  zones,
  settings: {
    segmentSeconds: 60,
    fragmentMs: 1000,
    stallTimeoutMs: 10_000,
    readBatchMs: Number(process.env.BENCH_READ_BATCH_MS ?? 100),
    reconnect: { initialDelayMs: 1000, maxDelayMs: 30_000, failedAfter: 5 },
    chunkSize: Number(process.env.BENCH_CHUNK_SIZE ?? 16384),
    fsyncIntervalMs: Number(process.env.BENCH_FSYNC_MS ?? 1000),
    retention: { maxAgeDays: 30, intervalSeconds: 3600 },
    capacity: { warnFreeRatio: 0, stopFreeRatio: 0, resumeFreeRatio: 0, checkIntervalMs: 60_000 },
  },
  signer: openFileSigner({
    file: path.join(dir, 'keys', 'video.pem'),
    name: 'palisade/bench/video-integrity',
  }),
  origin: 'palisade/bench/video-integrity',
  systemActor: actor,
  checkpointIntervalMs: 0,
});
await recorder.start();
for (const [i, url] of urlList.split(',').entries()) {
  await recorder.createCamera(
    {
      id: `cam${i + 1}`,
      name: `cam${i + 1}`,
      zoneId: 'default',
      streamUrl: url,
      username: user,
      password,
      ...(tlsFingerprint ? { tlsFingerprint } : {}),
    },
    actor,
  );
}
process.stdout.write(`ready ${baselineRss}\n`);
const cpuProfileFile = process.env.BENCH_CPU_PROFILE;
const allocProfileFile = process.env.BENCH_ALLOC_PROFILE;
let profiler: Session | undefined;
if (cpuProfileFile || allocProfileFile) {
  setTimeout(
    () => {
      const session = new Session();
      session.connect();
      void (async () => {
        if (cpuProfileFile) {
          await session.post('Profiler.enable');
          await session.post('Profiler.start');
        }
        if (allocProfileFile) {
          // Every allocation, including what scavenges free; with BENCH_ALLOC_OLD only what lived to
          // a full collection (what fills the old generation).
          await session.post('HeapProfiler.startSampling', {
            samplingInterval: 16384,
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: !process.env.BENCH_ALLOC_OLD,
          } as never);
        }
        profiler = session;
      })();
    },
    Number(process.env.BENCH_PROFILE_AFTER_MS ?? 5000),
  );
}
process.on('SIGTERM', () => {
  void recorder.status().then(async (s) => {
    if (profiler && cpuProfileFile) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(cpuProfileFile, JSON.stringify(profile));
    }
    if (profiler && allocProfileFile) {
      const { profile } = await profiler.post('HeapProfiler.stopSampling');
      writeFileSync(allocProfileFile, JSON.stringify(profile));
    }
    process.stdout.write(
      `status ${JSON.stringify({ recording: s.cameras.recording, failed: s.cameras.failed, memory: process.memoryUsage() })}\n`,
    );
    await recorder.close();
    process.exit(0);
  });
});
