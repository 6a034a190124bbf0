// bench:media — RTP-to-fMP4 throughput of one core, and live recording cost per stream against
// `ffmpeg -c copy` remuxing the same simulator streams in the same run. Prints a table.
// Env: BENCH_STREAMS (default 8), BENCH_SECONDS (default 20), BENCH_THROUGHPUT_SECONDS (default 5).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_LIMITS,
  Fmp4Fragmenter,
  ParameterSetTracker,
  RtpSequencer,
  RtspSession,
  TimestampExtender,
  createDepacketizer,
  parseRtp,
  writeRtpHeader,
  type AccessUnit,
} from '../../src/media/index.js';
import { CameraSimulator, loadClip } from '../../src/sim/index.js';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const THROUGHPUT_SECONDS = Number(process.env.BENCH_THROUGHPUT_SECONDS ?? 5);
const SIM_STREAMS = Number(process.env.BENCH_SIM_STREAMS ?? 200);
const WORKER = fileURLToPath(new URL('./recorder-worker.js', import.meta.url));
const PALISADE = fileURLToPath(new URL('../../../bin/palisade.js', import.meta.url));
const TICKS = 100; // /proc clock ticks per second on Linux

/** Part 1: the pipeline alone on one core, fed pre-built RTP packets of the 1080p clip. */
function throughput(): { mbps: number; aus: number } {
  const clip = loadClip('h264-1080p');
  const packets: Buffer[] = [];
  let seq = 0;
  for (const f of clip.frames) {
    f.payloads.forEach((p, i) => {
      const b = Buffer.allocUnsafe(12 + p.length);
      writeRtpHeader(b, 0, {
        payloadType: 96,
        marker: i === f.payloads.length - 1,
        sequence: seq++,
        timestamp: f.pts,
        ssrc: 1,
      });
      p.copy(b, 12);
      packets.push(b);
    });
  }
  const loopBytes = packets.reduce((n, p) => n + p.length, 0);
  const sequencer = new RtpSequencer(0);
  const extender = new TimestampExtender(10 * 90_000, 3600);
  const tracker = new ParameterSetTracker('h264', DEFAULT_LIMITS, clip.video.parameterSets);
  const fragmenter = new Fmp4Fragmenter();
  let aus = 0;
  let offset = 0;
  let out = 0;
  const depacketizer = createDepacketizer('h264', DEFAULT_LIMITS, (raw) => {
    const frame = tracker.classify(raw.nalus);
    const { info } = tracker.current();
    const au: AccessUnit = {
      codec: 'h264',
      nalus: frame.nalus,
      byteLength: frame.bytes,
      key: frame.key,
      timestamp: extender.extend(raw.rtpTimestamp).timestamp,
      rtpTimestamp: raw.rtpTimestamp,
      wallClock: undefined,
      discontinuity: false,
      video: info!,
      videoChanged: aus === 0,
    };
    aus++;
    for (const o of fragmenter.push(au)) out += o.data.length;
  });
  const start = process.hrtime.bigint();
  let bytes = 0;
  let elapsed = 0;
  while (elapsed < THROUGHPUT_SECONDS) {
    for (const p of packets) {
      const pkt = parseRtp(p);
      // Continue the timeline across loops as a live camera would.
      pkt.timestamp = (pkt.timestamp + offset) >>> 0;
      pkt.sequence = seq++ & 0xffff;
      sequencer.push(pkt, (p, lostBefore) => depacketizer.push(p, lostBefore));
    }
    offset += clip.duration;
    bytes += loopBytes;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  if (out === 0) throw new Error('no output');
  return { mbps: (bytes * 8) / elapsed / 1e6, aus: aus / elapsed };
}

function procStat(pid: number): { cpuSeconds: number; rss: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuSeconds, rss: rssKb * 1024 };
}

async function palisadeLive(urls: string[], user: string, password: string) {
  const child = spawn(process.execPath, [WORKER, urls.join(','), user, password, String(SECONDS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((r) => child.on('exit', r));
  return JSON.parse(out) as {
    streams: number;
    elapsed: number;
    cpuSeconds: number;
    rss: number;
    baselineRss: number;
    accessUnits: number;
  };
}

async function ffmpegLive(urls: string[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-ffmpeg-'));
  const children = urls.map((url, i) =>
    spawn(
      'ffmpeg',
      [
        '-nostdin',
        '-loglevel',
        'error',
        '-rtsp_transport',
        'tcp',
        '-i',
        url,
        '-c',
        'copy',
        '-f',
        'segment',
        '-segment_time',
        '2',
        '-segment_format',
        'mp4',
        '-segment_format_options',
        'movflags=+frag_keyframe+empty_moov+default_base_moof',
        path.join(dir, `s${i}-%05d.mp4`),
      ],
      { stdio: 'ignore' },
    ),
  );
  // Measure from when every process is streaming (after its RTSP handshake) to the end of the window.
  await new Promise((r) => setTimeout(r, 2000));
  const before = children.map((c) => procStat(c.pid!));
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const afterStats = children.map((c) => procStat(c.pid!));
  for (const c of children) c.kill('SIGINT');
  await Promise.all(
    children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on('exit', r)))),
  );
  rmSync(dir, { recursive: true, force: true });
  const cpu = afterStats.reduce((n, s, i) => n + s.cpuSeconds - before[i]!.cpuSeconds, 0);
  const rss = afterStats.reduce((n, s) => n + s.rss, 0);
  return { cpuSeconds: cpu, rss, elapsed: SECONDS };
}

/** Part 3: one simulator process serving SIM_STREAMS 720p streams to clients in this process. */
async function simulatorCapacity() {
  const password = `sim-${process.pid}`;
  const child = spawn(
    process.execPath,
    [
      PALISADE,
      'sim',
      '--cameras',
      String(SIM_STREAMS),
      '--port',
      '0',
      '--clip',
      'h264-720p',
      '--user',
      'bench',
      '--password',
      password,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if ((out.match(/^rtsp:\/\/\S+/gm) ?? []).length === SIM_STREAMS) resolve();
    });
  });
  const urls = out.match(/^rtsp:\/\/\S+/gm) ?? [];
  const sessions = urls.map(
    (url) => new RtspSession({ url, username: 'bench', password, stallTimeoutMs: 30_000 }),
  );
  for (let i = 0; i < sessions.length; i += 25)
    await Promise.all(sessions.slice(i, i + 25).map((s) => s.start()));
  let aus = 0;
  const loops = sessions.map(async (s) => {
    for await (const _au of s) aus++;
  });
  await new Promise((r) => setTimeout(r, 2000));
  const before = procStat(child.pid!);
  const aus0 = aus;
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const afterStat = procStat(child.pid!);
  const delivered = aus - aus0;
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.allSettled(loops);
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  return {
    cpuPercent: ((afterStat.cpuSeconds - before.cpuSeconds) / SECONDS) * 100,
    rss: afterStat.rss,
    fpsPerStream: delivered / SECONDS / SIM_STREAMS,
  };
}

const fmt = (n: number, d = 1) => n.toFixed(d);
const t = throughput();
const password = `bench-${process.pid}`;
const sim = await CameraSimulator.start({
  cameras: Array.from({ length: STREAMS }, (_, i) => ({
    path: `/cam${i + 1}`,
    clip: 'h264-1080p',
    username: 'bench',
    password,
  })),
});
const urls = sim.cameraList().map((c) => c.url);
const bitrate = loadClip('h264-1080p').bitrate;
const ours = await palisadeLive(urls, 'bench', password);
const ffmpegUrls = urls.map((u) => u.replace('rtsp://', `rtsp://bench:${password}@`));
const theirs = await ffmpegLive(ffmpegUrls);
await sim.close();
const capacity = await simulatorCapacity();

const streamMinutesOurs = (ours.streams * ours.elapsed) / 60;
const streamMinutesTheirs = (STREAMS * theirs.elapsed) / 60;
const rows = [
  [
    'pipeline, one core (RTP → fMP4, 1080p H.264)',
    `${fmt(t.mbps, 0)} Mbit/s`,
    `${fmt(t.aus, 0)} AU/s`,
    `≈ ${fmt((t.mbps * 1e6) / bitrate, 0)} streams of ${fmt(bitrate / 1e6, 1)} Mbit/s per core`,
  ],
  [
    `Palisade, ${STREAMS} live streams, ${SECONDS} s`,
    `${fmt(ours.cpuSeconds / streamMinutesOurs, 3)} CPU s/stream-min`,
    `${fmt((ours.rss - ours.baselineRss) / STREAMS / 2 ** 20, 2)} MiB/stream over baseline`,
    `process total ${fmt(ours.rss / 2 ** 20)} MiB, ${ours.accessUnits} AUs`,
  ],
  [
    `ffmpeg -c copy, ${STREAMS} processes, ${SECONDS} s`,
    `${fmt(theirs.cpuSeconds / streamMinutesTheirs, 3)} CPU s/stream-min`,
    `${fmt(theirs.rss / STREAMS / 2 ** 20, 1)} MiB/stream`,
    `total ${fmt(theirs.rss / 2 ** 20)} MiB`,
  ],
  [
    `simulator, ${SIM_STREAMS} × 720p streams in one process, ${SECONDS} s`,
    `${fmt(capacity.cpuPercent)}% of a core`,
    `${fmt(capacity.rss / 2 ** 20)} MiB`,
    `${fmt(capacity.fpsPerStream, 2)} fps delivered per stream (clip: 25)`,
  ],
];
console.log(
  '\nbench:media (machine: %s, %d cores, Node %s)',
  os.cpus()[0]?.model ?? '?',
  os.cpus().length,
  process.version,
);
console.log('| measurement | speed / CPU | memory | notes |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
process.exit(0);
