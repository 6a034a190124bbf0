import type { Command } from 'commander';
import { startPalisade, VERSION } from '../app/index.js';
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
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    palisade.stop().then(
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
