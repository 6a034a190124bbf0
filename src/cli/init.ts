import path from 'node:path';
import type { Command } from 'commander';
import { openState } from '../app/index.js';
import { ensureTlsMaterial } from '../http/index.js';
import { addStateFlags, loggerFor, resolveConfig, type StateFlags } from './context.js';

export function registerInit(program: Command): void {
  addStateFlags(
    program
      .command('init')
      .description('create the data dir, the database schema and the TLS certificate; safe to run again'),
    false,
  ).action(async (flags: StateFlags) => {
    const config = resolveConfig(flags);
    const logger = loggerFor(config);
    const { database, instanceId } = await openState(config, logger);
    try {
      const tls = await ensureTlsMaterial({
        dataDir: path.resolve(config.dataDir),
        certFile: config.http.tls.certFile,
        keyFile: config.http.tls.keyFile,
        hostnames: [config.http.host],
      });
      process.stdout.write(`Data dir: ${path.resolve(config.dataDir)}\n`);
      process.stdout.write(`Instance: ${instanceId}\n`);
      process.stdout.write(`Database: ${database.dialect} (${database.location}), schema up to date\n`);
      process.stdout.write(`TLS certificate SHA-256 fingerprint: ${tls.fingerprint256}\n`);
    } finally {
      await database.close();
    }
  });
}
