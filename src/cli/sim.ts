import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { PalisadeError } from '../errors/index.js';
import { ensureTlsMaterial } from '../http/index.js';
import { CLIP_NAMES, CameraSimulator, type ClipName } from '../sim/index.js';

interface SimFlags {
  cameras: number;
  port?: number;
  host: string;
  tls?: boolean;
  user: string;
  password?: string;
  clip: string;
}

const MAX_CAMERAS = 2000;

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description(
      'run simulated RTSP cameras (Digest authentication, optional RTSPS) for demos, tests and benchmarks',
    )
    .option('-n, --cameras <n>', `number of cameras, 1-${MAX_CAMERAS}`, parseCount, 4)
    .option('-p, --port <n>', 'TCP port; 0 picks a free one (default 8554, or 8322 with --tls)', parsePort)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--tls', 'serve rtsps:// only (TLS 1.3, self-signed certificate; its fingerprint is printed)')
    .option('--user <name>', 'username every camera accepts', 'admin')
    .option('--password <secret>', 'password every camera accepts (default: generated and printed)')
    .option(
      '--clip <name>',
      `clip for every camera: ${CLIP_NAMES.join(', ')}, or "mixed" to rotate them`,
      'mixed',
    )
    .action((flags: SimFlags) => run(flags));
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_CAMERAS)
    throw new Error(`--cameras must be 1-${MAX_CAMERAS}, got ${value}`);
  return n;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be 0-65535, got ${value}`);
  return n;
}

async function run(flags: SimFlags): Promise<void> {
  if (flags.clip !== 'mixed' && !(CLIP_NAMES as readonly string[]).includes(flags.clip)) {
    throw new PalisadeError('SIM_CONFIG_INVALID', `--clip must be one of ${CLIP_NAMES.join(', ')} or mixed`);
  }
  const password = flags.password ?? randomBytes(12).toString('base64url');
  const clipFor = (i: number): ClipName =>
    flags.clip === 'mixed' ? CLIP_NAMES[i % CLIP_NAMES.length]! : (flags.clip as ClipName);
  const tlsDir = flags.tls === true ? mkdtempSync(path.join(os.tmpdir(), 'palisade-sim-')) : undefined;
  const material =
    tlsDir === undefined ? undefined : await ensureTlsMaterial({ dataDir: tlsDir, hostnames: [flags.host] });
  const port = flags.port ?? (flags.tls === true ? 8322 : 8554);
  const sim = await CameraSimulator.start({
    host: flags.host,
    ...(flags.tls === true
      ? { tlsPort: port, tls: { certPem: material!.certPem, keyPem: material!.keyPem } }
      : { port }),
    cameras: Array.from({ length: flags.cameras }, (_, i) => ({
      path: `/cam${i + 1}`,
      clip: clipFor(i),
      username: flags.user,
      password,
      tls: flags.tls === true,
    })),
  });
  const list = sim.cameraList();
  const lines = [
    `Palisade camera simulator: ${list.length} camera${list.length === 1 ? '' : 's'} listening on ${flags.tls === true ? `rtsps://${flags.host}:${sim.tlsPort}` : `rtsp://${flags.host}:${sim.port}`} (Digest authentication)`,
    `Username: ${flags.user}`,
    `Password: ${password}`,
  ];
  if (material !== undefined) lines.push(`TLS certificate SHA-256 fingerprint: ${material.fingerprint256}`);
  for (const c of list) {
    const v = c.clip.video;
    lines.push(
      `${c.url}  ${v.codec.toUpperCase()} ${v.width}x${v.height} ${v.fps ?? '?'} fps ${(c.clip.bitrate / 1e6).toFixed(1)} Mbit/s`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    sim.close().then(
      () => {
        if (tlsDir !== undefined) rmSync(tlsDir, { recursive: true, force: true });
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
