import { openKeysAndAudit, openState, type KeysAndAudit } from '../app/index.js';
import type { Config } from '../config/index.js';
import { loggerFor, resolveConfig, type StateFlags } from './context.js';

/**
 * Runs a command against the key provider, the keyring and the audit log of a data dir (without the
 * rest of the server), and closes them whatever happens.
 */
export async function withCustody<T>(
  flags: StateFlags,
  work: (custody: KeysAndAudit, config: Config) => Promise<T>,
): Promise<T> {
  const config = resolveConfig(flags);
  const logger = loggerFor(config);
  const { database, instanceId } = await openState(config, logger);
  try {
    const custody = await openKeysAndAudit(config, database, instanceId, logger, {
      periodicCheckpoints: false,
    });
    try {
      return await work(custody, config);
    } finally {
      await custody.close();
    }
  } finally {
    await database.close();
  }
}
