import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTlsMaterial, type TlsMaterial } from '../../src/http/index.js';
import { tempDir } from './tmp.js';

const GST_SCRIPT = fileURLToPath(new URL('../../../test/support/gst-rtsp-server.py', import.meta.url));
export const PYTHON = '/usr/bin/python3';

/** Why the GStreamer peer cannot run here, or undefined when it can. */
export function gstUnavailable(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing (Debian python3)`;
  const r = spawnSync(
    PYTHON,
    ['-c', "import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer"],
    {
      encoding: 'utf8',
    },
  );
  return r.status === 0
    ? undefined
    : `GStreamer RTSP server not importable: install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad (${r.stderr.trim().split('\n').at(-1) ?? ''})`;
}

export function toolUnavailable(tool: string): string | undefined {
  const r = spawnSync(tool, ['-version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${tool} is not installed (apt-get install ffmpeg)`;
}

export interface GstPeer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** Starts gst-rtsp-server on a free loopback port serving `clip` at /stream. */
export async function startGstPeer(options: {
  clip: string;
  codec?: 'h264' | 'h265';
  tls?: TlsMaterial & { keyFile: string };
  user?: string;
  password?: string;
}): Promise<GstPeer> {
  const args = [GST_SCRIPT, '--clip', options.clip, '--codec', options.codec ?? 'h264'];
  if (options.tls) args.push('--tls', options.tls.certFile, options.tls.keyFile);
  if (options.user !== undefined) args.push('--user', options.user, '--password', options.password ?? '');
  const child: ChildProcess = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`gst-rtsp-server did not start: ${err}`)), 15_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gst-rtsp-server exited with ${code}: ${err}`));
    });
  });
  return {
    port,
    url: `${options.tls ? 'rtsps' : 'rtsp'}://127.0.0.1:${port}/stream`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A self-signed certificate for localhost/127.0.0.1 in a fresh temp dir. */
export async function testCertificate(): Promise<TlsMaterial & { keyFile: string }> {
  const dir = tempDir();
  const m = await ensureTlsMaterial({ dataDir: dir });
  return { ...m, keyFile: path.join(dir, 'tls/server.key') };
}

export interface ProbeResult {
  codec: string;
  width: number;
  height: number;
  frames: number;
  /** Presentation times in seconds, in file order. */
  pts: number[];
  keyFrames: number;
}

/**
 * Runs ffprobe on a file or URL and returns what it read. Asynchronous: the simulator it may read
 * from runs in this same process and must keep serving.
 */
export async function ffprobe(input: string, extra: string[] = []): Promise<ProbeResult> {
  const args = [
    '-v',
    'error',
    ...extra,
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=codec_name,width,height:packet=pts_time,flags',
    '-of',
    'json',
    input,
  ];
  const { status, stdout, stderr } = await run('ffprobe', args, 60_000);
  if (status !== 0) throw new Error(`ffprobe ${input} failed: ${stderr}`);
  const j = JSON.parse(stdout) as {
    streams: { codec_name: string; width: number; height: number }[];
    packets: { pts_time: string; flags: string }[];
  };
  const s = j.streams[0]!;
  return {
    codec: s.codec_name,
    width: s.width,
    height: s.height,
    frames: j.packets.length,
    pts: j.packets.map((p) => Number(p.pts_time)),
    keyFrames: j.packets.filter((p) => p.flags.startsWith('K')).length,
  };
}

/** Runs a command to completion without blocking the event loop. */
export function run(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
