// bench:recording — cameras recorded per core by Palisade's recorder (RTSP -> fMP4 -> sealed segments
// on disk -> index + integrity log) against one `ffmpeg -c copy` process per camera writing segments,
// on the same simulated 4 Mbit/s 1080p streams in the same run, and against two floors (a bare process
// that only reads them, and one that reads, seals, hashes, writes and syncs them). Prints a table.
// Env: BENCH_STREAMS (default 20), BENCH_SECONDS (default 30), BENCH_WARMUP_SECONDS (default 5); more in
// docs/benchmarks.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SegmentSealer } from '../../src/keys/index.js';
import { paddingFor } from '../../src/recording/index.js';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5) * 1000;
const WORKER = fileURLToPath(new URL('./recorder-worker.js', import.meta.url));
const FLOOR_WORKER = fileURLToPath(new URL('./floor-worker.js', import.meta.url));
const PALISADE = fileURLToPath(new URL('../../../bin/palisade.js', import.meta.url));
const TICKS = 100;
const CHUNK_SIZE = Number(process.env.BENCH_CHUNK_SIZE ?? 16384);
/** Cameras over RTSPS (TLS 1.3), for both recorders. */
const TLS = process.env.BENCH_TLS === '1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function procStat(pid: number): { cpuSeconds: number; systemSeconds: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const systemSeconds = Number(fields[12]) / TICKS;
  const cpuSeconds = Number(fields[11]) / TICKS + systemSeconds;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuSeconds, systemSeconds, rss: rssKb * 1024 };
}

function waitFor(child: ChildProcess, pattern: RegExp): Promise<string> {
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = pattern.exec(out);
      if (m) resolve(out);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

/** Bytes in the files under `dir` (what a recorder has written so far, open segments included). */
function treeBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += statSync(path.join(e.parentPath, e.name)).size;
  }
  return n;
}

/**
 * CPU over the window, and RSS sampled every second of it: a garbage-collected process's RSS rises
 * and falls with its collection cycle, so one sample at the end would be luck. Mean and peak.
 */
async function measure(pids: number[], outDir: string) {
  await sleep(WARMUP_MS);
  const before = pids.map(procStat);
  const bytesBefore = treeBytes(outDir);
  const rssSamples: number[] = [];
  for (let s = 0; s < SECONDS; s++) {
    await sleep(1000);
    rssSamples.push(pids.reduce((n, pid) => n + procStat(pid).rss, 0));
  }
  const after = pids.map(procStat);
  return {
    bytesWritten: treeBytes(outDir) - bytesBefore,
    cpuSeconds: after.reduce((n, s, i) => n + s.cpuSeconds - before[i]!.cpuSeconds, 0),
    systemSeconds: after.reduce((n, s, i) => n + s.systemSeconds - before[i]!.systemSeconds, 0),
    rss: rssSamples.reduce((a, b) => a + b, 0) / rssSamples.length,
    peakRss: Math.max(...rssSamples),
  };
}

const password = `bench-${process.pid}`;
const simProc = spawn(
  process.execPath,
  [
    PALISADE,
    'sim',
    '--cameras',
    String(STREAMS),
    '--port',
    '0',
    '--clip',
    'h264-1080p',
    '--user',
    'bench',
    '--password',
    password,
    ...(TLS ? ['--tls'] : []),
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const simOut = await new Promise<string>((resolve) => {
  let out = '';
  simProc.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    if ((out.match(/^rtsps?:\/\/\S+/gm) ?? []).length === STREAMS) resolve(out);
  });
});
const urls = simOut.match(/^rtsps?:\/\/\S+/gm) ?? [];
const fingerprint = /fingerprint: (\S+)/.exec(simOut)?.[1] ?? '';

// Palisade: one process, every camera.
const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-rec-'));
// The recorder's Node gets the flags `palisade` starts with (bin/palisade.js's `env -S node …` line),
// then BENCH_NODE_FLAGS, e.g. "--trace-gc" (its output goes to BENCH_TRACE_FILE when set).
const palisadeFlags = readFileSync(PALISADE, 'utf8')
  .split('\n', 1)[0]!
  .replace(/^#!\/usr\/bin\/env -S node/, '')
  .split(' ');
const nodeFlags = [...palisadeFlags, ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ')].filter(
  (f) => f !== '',
);
const traceFile = process.env.BENCH_TRACE_FILE;
const worker = spawn(
  process.execPath,
  [...nodeFlags, WORKER, dir, urls.join(','), 'bench', password, fingerprint],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
if (traceFile) worker.stdout.pipe(createWriteStream(traceFile));
const ready = await waitFor(worker, /ready (\d+)/);
const baselineRss = Number(/ready (\d+)/.exec(ready)![1]);
const ours = await measure([worker.pid!], dir);
const statusOut = waitFor(worker, /status (\{.*\})/);
worker.kill('SIGTERM');
const status = JSON.parse(/status (\{.*\})/.exec(await statusOut)![1]!) as {
  recording: number;
  failed: number;
  memory: NodeJS.MemoryUsage;
};
await new Promise((r) => (worker.exitCode !== null ? r(null) : worker.on('exit', r)));
rmSync(dir, { recursive: true, force: true });

// ffmpeg: one process per camera, 60 s segments of fragmented MP4 (unencrypted: it has no equivalent).
const fdir = mkdtempSync(path.join(os.tmpdir(), 'bench-ffmpeg-'));
const ffmpegs = urls.map((url, i) =>
  spawn(
    'ffmpeg',
    [
      '-nostdin',
      '-loglevel',
      'error',
      '-rtsp_transport',
      'tcp',
      '-i',
      url.replace(/^(rtsps?):\/\//, `$1://bench:${password}@`),
      '-c',
      'copy',
      '-f',
      'segment',
      '-segment_time',
      '60',
      '-segment_format',
      'mp4',
      '-segment_format_options',
      'movflags=+frag_keyframe+empty_moov+default_base_moof',
      path.join(fdir, `s${i}-%05d.mp4`),
    ],
    { stdio: 'ignore' },
  ),
);
const theirs = await measure(
  ffmpegs.map((c) => c.pid!),
  fdir,
);
for (const c of ffmpegs) c.kill('SIGINT');
await Promise.all(ffmpegs.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on('exit', r)))));
rmSync(fdir, { recursive: true, force: true });

// The floor under the recorder (floor-worker.ts): the same cameras read by a bare Node process with
// the recorder's flags, first dropping every frame, then sealing, hashing, writing and syncing them
// with nothing else around it. What the recorder costs above `pipeline` is everything else it does.
async function floor(mode: 'receive' | 'pipeline') {
  const floorDir = mkdtempSync(path.join(os.tmpdir(), 'bench-floor-'));
  const child = spawn(
    process.execPath,
    [...nodeFlags, FLOOR_WORKER, floorDir, urls.join(','), 'bench', password, fingerprint, mode],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await waitFor(child, /ready/);
  const m = await measure([child.pid!], floorDir);
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.on('exit', r)));
  rmSync(floorDir, { recursive: true, force: true });
  return m;
}
const receiveFloor = await floor('receive');
const pipelineFloor = await floor('pipeline');
simProc.kill('SIGTERM');

// The work ffmpeg does not do, alone: sealing (AES-256-GCM records of CHUNK_SIZE) and SHA-256 of the
// sealed bytes, on as many bytes as ffmpeg's fMP4 took in the window, in one-second fragments each
// padded to a chunk boundary as the recorder pads them. Fragment sizes spread over a chunk so the
// padding is its mean; sealed / fMP4 bytes is then the storage overhead of sealing at this chunk size.
// Single-threaded, as fast as it goes; CPU from process.cpuUsage: raw Node crypto in this run. The
// least of three passes, since noise only adds (which makes "CPU without it" err on the high side).
const meanFragment = Math.max(CHUNK_SIZE, Math.round(theirs.bytesWritten / SECONDS / STREAMS));
// The largest fragment is meanFragment + CHUNK_SIZE / 2, and its padding under CHUNK_SIZE + 8.
const source = randomBytes(meanFragment + 2 * CHUNK_SIZE);
function sealAlone(): { cpuSeconds: number; sealedOverFmp4: number } {
  const sealers = Array.from(
    { length: STREAMS },
    (_, i) => new SegmentSealer(randomBytes(32), { objectId: `bench-${i}`, chunkSize: CHUNK_SIZE }),
  );
  const hashes = sealers.map(() => createHash('sha256'));
  let fmp4Bytes = 0;
  const before = process.cpuUsage();
  for (let s = 0; s < SECONDS; s++) {
    for (let i = 0; i < STREAMS; i++) {
      const size = meanFragment - CHUNK_SIZE / 2 + (((s * STREAMS + i) * 7919) % CHUNK_SIZE);
      fmp4Bytes += size;
      const sealed: Buffer[] = [];
      sealers[i]!.updateInto(source.subarray(0, size + paddingFor(size, CHUNK_SIZE)), sealed);
      for (const b of sealed) hashes[i]!.update(b);
    }
  }
  const used = process.cpuUsage(before);
  for (const h of hashes) h.digest();
  return {
    cpuSeconds: (used.user + used.system) / 1e6,
    sealedOverFmp4: sealers.reduce((n, x) => n + x.stats.sealedBytes, 0) / fmp4Bytes,
  };
}
const passes = [sealAlone(), sealAlone(), sealAlone()];
const sealedOverFmp4 = passes[0]!.sealedOverFmp4;
const cryptoCorePerStream = Math.min(...passes.map((p) => p.cpuSeconds)) / SECONDS / STREAMS;

const fmt = (n: number, d = 1) => n.toFixed(d);
const oursCorePerStream = ours.cpuSeconds / SECONDS / STREAMS;
const receiveCorePerStream = receiveFloor.cpuSeconds / SECONDS / STREAMS;
const pipelineCorePerStream = pipelineFloor.cpuSeconds / SECONDS / STREAMS;
const theirsCorePerStream = theirs.cpuSeconds / SECONDS / STREAMS;
const oursRssPerStream = (ours.rss - baselineRss) / STREAMS;
const theirsRssPerStream = theirs.rss / STREAMS;
const oursPeakPerStream = (ours.peakRss - baselineRss) / STREAMS;
const theirsPeakPerStream = theirs.peakRss / STREAMS;
const rows = [
  ['', `Palisade recorder (1 process)`, `ffmpeg -c copy (${STREAMS} processes)`, 'ratio'],
  ['streams recording', `${status.recording}/${STREAMS}`, `${STREAMS}`, ''],
  [
    'CPU per stream (% of a core)',
    fmt(oursCorePerStream * 100, 3),
    fmt(theirsCorePerStream * 100, 3),
    fmt(oursCorePerStream / theirsCorePerStream, 2),
  ],
  [
    '  of which in the kernel (%)',
    fmt((ours.systemSeconds / ours.cpuSeconds) * 100, 0),
    fmt((theirs.systemSeconds / theirs.cpuSeconds) * 100, 0),
    '',
  ],
  [
    'streams per core (CPU-bound estimate)',
    fmt(1 / oursCorePerStream, 0),
    fmt(1 / theirsCorePerStream, 0),
    '',
  ],
  [
    'RSS per stream, mean of the window (MiB)',
    fmt(oursRssPerStream / 2 ** 20, 2),
    fmt(theirsRssPerStream / 2 ** 20, 1),
    fmt(oursRssPerStream / theirsRssPerStream, 3),
  ],
  [
    'RSS per stream, peak (MiB)',
    fmt(oursPeakPerStream / 2 ** 20, 2),
    fmt(theirsPeakPerStream / 2 ** 20, 1),
    fmt(oursPeakPerStream / theirsPeakPerStream, 3),
  ],
  [
    'storage written per stream (MB per minute)',
    fmt((ours.bytesWritten / SECONDS / STREAMS) * 60e-6, 2),
    fmt((theirs.bytesWritten / SECONDS / STREAMS) * 60e-6, 2),
    fmt(ours.bytesWritten / theirs.bytesWritten, 3),
  ],
  ['sealed bytes per fMP4 byte, 1 s fragments (padding, record overhead)', fmt(sealedOverFmp4, 3), '1', ''],
  [
    'sealing + SHA-256 alone, same bytes (% of a core per stream)',
    fmt(cryptoCorePerStream * 100, 3),
    '—',
    fmt(cryptoCorePerStream / theirsCorePerStream, 2),
  ],
  [
    'CPU per stream without it (% of a core)',
    fmt((oursCorePerStream - cryptoCorePerStream) * 100, 3),
    fmt(theirsCorePerStream * 100, 3),
    fmt((oursCorePerStream - cryptoCorePerStream) / theirsCorePerStream, 2),
  ],
  [
    'floor: read and depacketize only, bare process (% of a core per stream)',
    fmt(receiveCorePerStream * 100, 3),
    fmt(theirsCorePerStream * 100, 3),
    fmt(receiveCorePerStream / theirsCorePerStream, 2),
  ],
  [
    'floor: read, seal, SHA-256, write, fdatasync; no fMP4, index or log (% of a core per stream)',
    fmt(pipelineCorePerStream * 100, 3),
    fmt(theirsCorePerStream * 100, 3),
    fmt(pipelineCorePerStream / theirsCorePerStream, 2),
  ],
  [
    'recorder above that floor (% of a core per stream)',
    fmt((oursCorePerStream - pipelineCorePerStream) * 100, 3),
    '',
    '',
  ],
  ['process RSS total, mean (MiB)', fmt(ours.rss / 2 ** 20), fmt(theirs.rss / 2 ** 20), ''],
  // Where Palisade's memory sits at the end: the JS heap, and buffers outside it (video in flight).
  ['JS heap used at the end (MiB)', fmt(status.memory.heapUsed / 2 ** 20), '', ''],
  ['buffers outside the heap at the end (MiB)', fmt(status.memory.arrayBuffers / 2 ** 20), '', ''],
];
process.stdout.write(
  `bench:recording — ${STREAMS} × h264-1080p (≈4.2 Mbit/s${TLS ? ', RTSPS' : ''}) for ${SECONDS} s after ${WARMUP_MS / 1000} s warm-up, ${CHUNK_SIZE / 1024} KiB chunks; ${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}, Node ${process.version}, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n`,
);
for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);
process.exit(0);
