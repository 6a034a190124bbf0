// bench:playback — recorded playback over a real index: 100 cameras x 24 hours of one-minute segments
// (synthetic index rows; real sealed segments for the sampled ones), served by the real HTTPS server
// (guard, session, access decision, audit, decryption on the fly).
//   1. time to first byte of a playback (HLS playlist), of its first media range, and seek latency
//      (playlist + the whole first GOP), against a baseline in the same run: a bare HTTPS server on
//      the same machine serving the same byte ranges from a plaintext file;
//   2. BENCH_CLIENTS (100) concurrent players for BENCH_LOAD_SECONDS (120), each fetching GOPs at
//      real-time pace: errors, GOPs that arrived after the player needed them, CPU.
// Env: BENCH_CAMERAS (100), BENCH_HOURS (24), BENCH_SAMPLES (40), BENCH_ITERATIONS (300).
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createHash, randomBytes } from 'node:crypto';
import { tablesOf } from '../../src/db/index.js';
import type { RecordingTables } from '../../src/recording/index.js';
import { segmentBlobKey } from '../../src/recording/segment-writer.js';
import { DIALECTS } from '../../test/support/dialects.js';
import { signedInUser, startTestServer } from '../../test/support/server.js';
import { recordSynthetic } from '../../test/support/synthetic-recording.js';
import { tempDir } from '../../test/support/tmp.js';
import type { Sample, WorkerInput } from './client-worker.js';

const CAMERAS = Number(process.env.BENCH_CAMERAS ?? 100);
const HOURS = Number(process.env.BENCH_HOURS ?? 24);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 40);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 300);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 100);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 120);
const ADMIN = { type: 'user' as const, id: 'bench', name: 'bench', auth: 'none' };

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? NaN;
};
const ms = (x: number) => x.toFixed(1);

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

const server = await startTestServer(DIALECTS[0]!, {
  http: { rateLimit: { max: 10_000_000 } },
  recording: { segmentSeconds: 60 },
});
const p = server.palisade;
const t0 = performance.now();
const cameras = Array.from({ length: CAMERAS }, (_, i) => `cam-${String(i).padStart(3, '0')}`);
for (const id of cameras) {
  await p.recorder.createCamera(
    { id, name: id, zoneId: 'default', streamUrl: `rtsp://127.0.0.1:1/${id}`, recordingMode: 'off' },
    ADMIN,
  );
}
// One real one-minute segment (the 720p clip through the recorder's segment writer): the template.
const base = Math.floor(Date.now() / 60_000) * 60_000 - (HOURS + 1) * 3_600_000;
const [made] = await recordSynthetic(p.recorder, p.keyring, {
  cameraId: cameras[0]!,
  zoneId: 'default',
  startMs: base - 3_600_000,
  seconds: 61,
  segmentSeconds: 60,
});
const template = (await p.recorder.index.get(made!.id))!;
const plaintext = await p.playback.plaintext(template);
const duration = template.endMs! - template.startMs;

// The index: every camera, every minute of HOURS hours.
const db = tablesOf<RecordingTables>(p.database);
const perCamera = (HOURS * 3_600_000) / 60_000;
const rows: RecordingTables['recording_segment'][] = [];
const sampleAt = new Set<string>();
while (sampleAt.size < SAMPLES) {
  sampleAt.add(`${Math.floor(Math.random() * CAMERAS)}:${Math.floor(Math.random() * perCamera)}`);
}
const samples: Sample[] = [];
let inserted = 0;
const flush = async () => {
  if (rows.length === 0) return;
  await db.insertInto('recording_segment').values(rows.splice(0)).execute();
};
for (let c = 0; c < CAMERAS; c++) {
  for (let m = 0; m < perCamera; m++) {
    const camera = cameras[c]!;
    const startMs = base + m * 60_000;
    const id = `${camera}_${startMs}_${randomBytes(4).toString('hex')}`;
    const blobKey = segmentBlobKey(camera, id, startMs);
    let sha256 = '0'.repeat(64);
    let sealedBytes = template.sealedBytes!;
    if (sampleAt.has(`${c}:${m}`)) {
      // A real sealed segment under this row's own data key, where the index says it is.
      const sealer = await p.keyring.createSealer({ objectId: id, cameraId: camera, kekId: 'default' });
      const sealed = Buffer.concat([...sealer.update(plaintext), ...sealer.final()]);
      await p.recorder.store.put(blobKey, sealed);
      sha256 = createHash('sha256').update(sealed).digest('hex');
      sealedBytes = sealed.length;
      samples.push({ camera, startMs, endMs: startMs + duration });
    }
    rows.push({
      id,
      camera_id: camera,
      zone_id: 'default',
      state: 'complete',
      blob_key: blobKey,
      start_ms: startMs,
      end_ms: startMs + duration,
      media_start: 0,
      media_end: template.mediaEnd! - template.mediaStart,
      frames: template.frames,
      fragments: template.fragments,
      key_frames: JSON.stringify(template.keyFrames),
      codec: template.codec,
      width: template.width,
      height: template.height,
      plaintext_bytes: template.plaintextBytes,
      sealed_bytes: sealedBytes,
      sha256,
      kek_id: 'default',
      kek_version: template.kekVersion,
      chunk_size: template.chunkSize,
      integrity_index: null,
      recovered: 0,
      created_at: new Date().toISOString(),
      finalized_at: new Date().toISOString(),
      deleted_at: null,
      deleted_reason: null,
    });
    inserted++;
    if (rows.length >= 500) await flush();
  }
}
await flush();
const setupSeconds = (performance.now() - t0) / 1000;

// Baseline: a bare HTTPS server (TLS 1.3, same certificate) serving byte ranges of the plaintext.
const dir = tempDir('palisade-bench-playback-');
const plainFile = path.join(dir, 'plain.mp4');
await writeFile(plainFile, plaintext);
const baseline = https.createServer(
  { cert: p.tls.certPem, key: p.tls.keyPem, minVersion: 'TLSv1.3' },
  (req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!;
    const [a, b] = [Number(m[1]), Number(m[2])];
    res.writeHead(206, {
      'content-type': 'video/mp4',
      'content-length': b - a + 1,
      'content-range': `bytes ${a}-${b}/${plaintext.length}`,
    });
    createReadStream(plainFile, { start: a, end: b }).pipe(res);
  },
);
await new Promise<void>((r) => baseline.listen(0, '127.0.0.1', r));
const baselinePort = (baseline.address() as { port: number }).port;

const cookies: string[] = [];
for (let i = 0; i < 10; i++) {
  const { client } = await signedInUser(
    server,
    `viewer${i}`,
    [{ role: 'operator', scope: 'all' }],
    `127.0.0.${40 + i}`,
  );
  cookies.push(client.cookie!);
}

function runWorker(mode: WorkerInput['mode']): Promise<unknown> {
  const input: WorkerInput = {
    mode,
    port: p.port,
    baselinePort,
    ca: p.tls.certPem,
    cookies,
    samples,
    iterations: ITERATIONS,
    clients: CLIENTS,
    seconds: LOAD_SECONDS,
  };
  const w = new Worker(new URL('./client-worker.js', import.meta.url), { workerData: input });
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}

const lat = (await runWorker('latency')) as { rows: Record<string, number[]> };
const cpu0 = cpuSeconds();
const wall0 = performance.now();
const load = (await runWorker('load')) as {
  stats: {
    requests: number;
    errors: number;
    late: number;
    gops: number;
    bytes: number;
    playbacks: number;
    errorSamples: string[];
  };
  mediaTimes: number[];
};
const wall = (performance.now() - wall0) / 1000;
const cpu = cpuSeconds() - cpu0;

console.log(
  `\nbench/playback: ${CAMERAS} cameras x ${HOURS} h = ${inserted} indexed segments (${samples.length} real sealed), ` +
    `set up in ${setupSeconds.toFixed(0)} s; Node ${process.version}, ${(await import('node:os')).cpus().length} cores (shared)\n`,
);
console.log('| measurement (loopback, TLS 1.3) | n | p50 ms | p99 ms | max ms |');
console.log('|---|---|---|---|---|');
const line = (name: string, xs: number[]) =>
  console.log(
    `| ${name} | ${xs.length} | ${ms(pct(xs, 50))} | ${ms(pct(xs, 99))} | ${ms(Math.max(...xs))} |`,
  );
line('playback start: HLS playlist, time to first byte', lat.rows.playlist!);
line('first media range (GOP), time to first byte', lat.rows.firstMedia!);
line('seek: playlist + first byte of the first GOP', lat.rows.seekFirstByte!);
line('seek: playlist + the whole first GOP', lat.rows.seek!);
line('baseline: same GOP from a plaintext file, bare HTTPS, first byte', lat.rows.baselineMedia!);
console.log(
  `\n${CLIENTS} concurrent players for ${LOAD_SECONDS} s: ${load.stats.playbacks} playbacks, ${load.stats.gops} GOPs ` +
    `(${(load.stats.bytes / 1e6).toFixed(0)} MB, ${((load.stats.bytes * 8) / 1e6 / wall).toFixed(0)} Mbit/s), ` +
    `${load.stats.requests} requests, ${load.stats.errors} errors, ${load.stats.late} GOPs late; ` +
    `GOP fetch p50 ${ms(pct(load.mediaTimes, 50))} ms, p99 ${ms(pct(load.mediaTimes, 99))} ms; ` +
    `process CPU ${(cpu / wall).toFixed(2)} cores (server and clients)`,
);
if (load.stats.errorSamples.length > 0) console.log(`errors: ${load.stats.errorSamples.join(' | ')}`);

baseline.close();
await server.stop();
process.exit(0);
