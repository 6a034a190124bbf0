import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { startPalisade, VERSION, SYSTEM_ACTOR, type RunningPalisade } from '../app/index.js';
import { CameraSimulator } from '../sim/index.js';
import { firstAdministratorText } from './users.js';
import { addStateFlags, loggerFor, resolveConfig, type StateFlags } from './context.js';

export function registerServe(program: Command): void {
  addStateFlags(
    program.command('serve').description('run the Palisade server (HTTPS, TLS 1.3 only)'),
    true,
  ).action((flags: StateFlags) => run('serve', flags));

  addStateFlags(
    program
      .command('demo')
      .description('run the server with embedded defaults: SQLite and local storage in the data dir'),
    true,
  ).action((flags: StateFlags) => run('demo', flags));
}

async function run(mode: 'serve' | 'demo', flags: StateFlags): Promise<void> {
  const config = resolveConfig(flags);
  const logger = loggerFor(config);
  const palisade = await startPalisade(config, logger);
  const sim = mode === 'demo' ? await startDemoCameras(palisade) : undefined;
  // One write, so that a supervisor reading the first line also has the rest (pipes keep it whole).
  process.stdout.write(
    [
      `Palisade ${VERSION} (${mode}) listening on ${palisade.url}`,
      palisade.tls.generated
        ? `TLS: generated a self-signed certificate at ${palisade.tls.certFile}`
        : `TLS: using ${palisade.tls.certFile}`,
      `TLS certificate SHA-256 fingerprint: ${palisade.tls.fingerprint256}`,
      `Database: ${palisade.database.dialect} (${palisade.database.location})`,
      ...firstAdministratorText(palisade.firstAdministrator),
      ...(sim ? ['Simulated cameras (recorded, credentials sealed):', ...sim.urls.map((u) => `  ${u}`)] : []),
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    palisade
      .stop()
      .then(() => sim?.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/**
 * `palisade demo`: four simulated cameras in process, with fresh Digest credentials each start
 * (sealed through keys/ like any camera's), recorded continuously.
 */
async function startDemoCameras(
  palisade: RunningPalisade,
): Promise<{ urls: string[]; close(): Promise<void> }> {
  const username = 'demo';
  const password = randomBytes(12).toString('base64url');
  const clips = ['h264-1080p', 'h264-720p', 'h265-1080p', 'h264-720p'];
  const sim = await CameraSimulator.start({
    host: '127.0.0.1',
    port: 0,
    cameras: clips.map((clip, i) => ({ path: `/cam${i + 1}`, clip, username, password })),
  });
  const urls: string[] = [];
  for (const [i, c] of sim.cameraList().entries()) {
    const id = `demo-cam${i + 1}`;
    const existing = await palisade.recorder.cameras.get(id);
    if (existing) {
      await palisade.recorder.updateCamera(id, { streamUrl: c.url, username, password }, SYSTEM_ACTOR);
      if (existing.recordingMode !== 'continuous') await palisade.recorder.startRecording(id, SYSTEM_ACTOR);
    } else {
      await palisade.recorder.createCamera(
        {
          id,
          name: `Demo camera ${i + 1} (${c.clip.video.width}x${c.clip.video.height})`,
          zoneId: 'default',
          streamUrl: c.url,
          username,
          password,
        },
        SYSTEM_ACTOR,
      );
    }
    urls.push(`${id}: ${c.url}`);
  }
  return { urls, close: () => sim.close() };
}
