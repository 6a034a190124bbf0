import type { Command } from 'commander';
import { openServices } from '../app/index.js';
import { ensureTlsMaterial } from '../http/index.js';
import { addStateFlags, loggerFor, resolveConfig, type StateFlags } from './context.js';
import { firstAdministratorText } from './users.js';

export function registerInit(program: Command): void {
  addStateFlags(
    program
      .command('init')
      .description(
        'create the data dir, the database schema, the TLS certificate and the first administrator; safe to run again',
      ),
    false,
  ).action(async (flags: StateFlags) => {
    const config = resolveConfig(flags);
    const services = await openServices(config, loggerFor(config), { periodicCheckpoints: false });
    try {
      const tls = await ensureTlsMaterial({
        dataDir: services.dataDir,
        certFile: config.http.tls.certFile,
        keyFile: config.http.tls.keyFile,
        hostnames: [config.http.host],
      });
      process.stdout.write(
        [
          `Data dir: ${services.dataDir}`,
          `Instance: ${services.instanceId}`,
          `Database: ${services.database.dialect} (${services.database.location}), schema up to date`,
          `TLS certificate SHA-256 fingerprint: ${tls.fingerprint256}`,
          ...firstAdministratorText(services.firstAdministrator),
          '',
        ].join('\n'),
      );
    } finally {
      await services.close();
    }
  });
}
