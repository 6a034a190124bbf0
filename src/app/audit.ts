import path from 'node:path';
import {
  CHECKPOINT_KEY_FILE,
  openAuditLog,
  openFileSigner,
  type AuditActor,
  type AuditLog,
} from '../audit/index.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/index.js';
import type { Logger } from '../log/index.js';

/** The audit log's origin: configured, or derived from the installation's permanent identity. */
export function auditOrigin(config: Config, instanceId: string): string {
  return config.audit.origin ?? `palisade/${instanceId}/audit`;
}

/**
 * Opens the audit log with the embedded file signer (the key lives in `<dataDir>/keys/`). The server
 * signs checkpoints periodically; a CLI command signs only what it needs.
 */
export async function openAudit(
  config: Config,
  database: Database,
  instanceId: string,
  logger: Logger,
  options: { periodicCheckpoints: boolean },
): Promise<AuditLog> {
  const origin = auditOrigin(config, instanceId);
  const signer = openFileSigner({
    file: path.join(path.resolve(config.dataDir), CHECKPOINT_KEY_FILE),
    name: origin,
  });
  return openAuditLog({
    database,
    signer,
    origin,
    logger,
    checkpointIntervalMs: options.periodicCheckpoints ? config.audit.checkpointIntervalSeconds * 1000 : 0,
  });
}

/** The server itself, as the actor of the events it records on its own behalf. */
export const SYSTEM_ACTOR: AuditActor = { type: 'system', id: 'palisade', auth: 'none' };
