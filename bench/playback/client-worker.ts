// Client side of bench:playback, in a worker thread so that the server (main thread) has its own event
// loop. Mode `latency`: sequential playback starts and seeks, timing each step. Mode `load`: N players
// that each fetch a playback and then its GOPs at real-time pace, counting the ones that arrive late.
import https from 'node:https';
import { parentPort, workerData } from 'node:worker_threads';

export interface Sample {
  camera: string;
  startMs: number;
  endMs: number;
}

export interface WorkerInput {
  mode: 'latency' | 'load';
  port: number;
  baselinePort: number;
  ca: string;
  cookies: string[];
  samples: Sample[];
  iterations: number;
  clients: number;
  seconds: number;
}

const input = workerData as WorkerInput;

interface Response {
  status: number;
  ttfb: number;
  total: number;
  body: Buffer;
}

function get(
  agent: https.Agent,
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ttfb = 0;
    const req = https.request(
      { host: '127.0.0.1', port, path, headers, agent, servername: 'localhost', ca: input.ca },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          if (ttfb === 0) ttfb = performance.now() - t0;
          chunks.push(c);
        });
        res.on('end', () => {
          const total = performance.now() - t0;
          resolve({ status: res.statusCode ?? 0, ttfb: ttfb || total, total, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const iso = (ms: number) => new Date(ms).toISOString();
const pick = <T>(a: T[]): T => a[Math.floor(Math.random() * a.length)]!;

interface Gop {
  url: string;
  offset: number;
  length: number;
  duration: number;
}

function firstSegment(m3u8: string): { init: Gop; gops: Gop[] } {
  const lines = m3u8.split('\n');
  const map = /#EXT-X-MAP:URI="([^"]+)",BYTERANGE="(\d+)@(\d+)"/.exec(m3u8)!;
  const init = { url: map[1]!, length: Number(map[2]), offset: Number(map[3]), duration: 0 };
  const gops: Gop[] = [];
  for (let i = 0; i < lines.length; i++) {
    const inf = /^#EXTINF:([0-9.]+),/.exec(lines[i]!);
    if (!inf) continue;
    const br = /^#EXT-X-BYTERANGE:(\d+)@(\d+)/.exec(lines[i + 1]!)!;
    const url = lines[i + 2]!;
    if (url !== init.url) break;
    gops.push({ url, length: Number(br[1]), offset: Number(br[2]), duration: Number(inf[1]) });
  }
  return { init, gops };
}

const rangeHeader = (g: Gop) => `bytes=${g.offset}-${g.offset + g.length - 1}`;

async function latency(): Promise<void> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const baseAgent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const cookie = input.cookies[0]!;
  const rows: Record<string, number[]> = {
    playlist: [],
    firstMedia: [],
    seekFirstByte: [],
    seek: [],
    baselineMedia: [],
  };
  for (let i = 0; i < input.iterations; i++) {
    const s = pick(input.samples);
    const at = s.startMs + Math.floor(Math.random() * (s.endMs - s.startMs - 1000));
    const t0 = performance.now();
    const pl = await get(
      agent,
      input.port,
      `/api/cameras/${s.camera}/playback.m3u8?from=${iso(at)}&to=${iso(at + 60_000)}`,
      { cookie },
    );
    if (pl.status !== 200) throw new Error(`playlist ${pl.status}: ${pl.body.toString().slice(0, 200)}`);
    const { gops } = firstSegment(pl.body.toString());
    const gop = gops[0]!;
    const mediaAt = performance.now() - t0;
    const media = await get(agent, input.port, gop.url, { cookie, range: rangeHeader(gop) });
    if (media.status !== 206)
      throw new Error(`media ${media.status}: ${media.body.toString().slice(0, 200)}`);
    const seek = performance.now() - t0;
    // The same GOP bytes read from a plaintext file by a bare HTTPS server on the same machine.
    const base = await get(baseAgent, input.baselinePort, '/plain.mp4', { range: rangeHeader(gop) });
    if (base.status !== 206) throw new Error(`baseline ${base.status}`);
    if (i < 5) continue; // warm-up
    rows.playlist!.push(pl.ttfb);
    rows.firstMedia!.push(media.ttfb);
    rows.seekFirstByte!.push(mediaAt + media.ttfb);
    rows.seek!.push(seek);
    rows.baselineMedia!.push(base.ttfb);
  }
  agent.destroy();
  baseAgent.destroy();
  parentPort!.postMessage({ mode: 'latency', rows });
}

async function load(): Promise<void> {
  const stop = performance.now() + input.seconds * 1000;
  const stats = {
    requests: 0,
    errors: 0,
    late: 0,
    gops: 0,
    bytes: 0,
    playbacks: 0,
    errorSamples: [] as string[],
  };
  const mediaTimes: number[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
  const player = async (n: number) => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const cookie = input.cookies[n % input.cookies.length]!;
    // Spread the starts over the first seconds, as viewers do not all press play at once.
    await sleep(Math.random() * 5000);
    try {
      while (performance.now() < stop) {
        const s = pick(input.samples);
        const pl = await get(
          agent,
          input.port,
          `/api/cameras/${s.camera}/playback.m3u8?from=${iso(s.startMs)}&to=${iso(s.endMs)}`,
          { cookie },
        );
        stats.requests++;
        if (pl.status !== 200) {
          stats.errors++;
          if (stats.errorSamples.length < 5)
            stats.errorSamples.push(`playlist ${pl.status} ${pl.body.toString().slice(0, 120)}`);
          await sleep(1000);
          continue;
        }
        stats.playbacks++;
        const { init, gops } = firstSegment(pl.body.toString());
        const i0 = await get(agent, input.port, init.url, { cookie, range: rangeHeader(init) });
        stats.requests++;
        if (i0.status !== 206) stats.errors++;
        // Real-time pace: GOP k must be in before the player reaches it (one GOP of start-up buffer).
        const started = performance.now();
        let due = gops[0]?.duration ?? 0;
        for (const g of gops) {
          if (performance.now() >= stop) break;
          const r = await get(agent, input.port, g.url, { cookie, range: rangeHeader(g) });
          stats.requests++;
          stats.gops++;
          mediaTimes.push(r.total);
          if (r.status !== 206 || r.body.length !== g.length) {
            stats.errors++;
            if (stats.errorSamples.length < 5)
              stats.errorSamples.push(`media ${r.status} ${r.body.toString().slice(0, 120)}`);
          }
          stats.bytes += r.body.length;
          if (performance.now() - started > due * 1000) stats.late++;
          // Wait until the player has played up to this GOP before fetching the next one.
          await sleep(started + (due - g.duration) * 1000 - performance.now());
          due += g.duration;
        }
      }
    } catch (err) {
      stats.errors++;
      if (stats.errorSamples.length < 5) stats.errorSamples.push(String(err));
    } finally {
      agent.destroy();
    }
  };
  await Promise.all(Array.from({ length: input.clients }, (_, n) => player(n)));
  parentPort!.postMessage({ mode: 'load', stats, mediaTimes });
}

await (input.mode === 'latency' ? latency() : load());
