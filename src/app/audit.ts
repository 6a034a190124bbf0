import path from 'node:path';
import { openAuditLog, type AuditActor, type AuditLog, type CheckpointSigner } from '../audit/index.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/index.js';
import { PalisadeError } from '../errors/index.js';
import { Keyring, openKeyProvider, type KeyProvider } from '../keys/index.js';
import type { Logger } from '../log/index.js';

/** The audit log's origin: configured, or derived from the installation's permanent identity. */
export function auditOrigin(config: Config, instanceId: string): string {
  return config.audit.origin ?? `palisade/${instanceId}/audit`;
}

/** The server itself, as the actor of the events it records on its own behalf. */
export const SYSTEM_ACTOR: AuditActor = { type: 'system', id: 'palisade', auth: 'none' };

export interface KeysAndAudit {
  provider: KeyProvider;
  keyring: Keyring;
  audit: AuditLog;
  close(): Promise<void>;
}

/**
 * Opens the key provider, the keyring and the audit log together, because each needs the other: the
 * audit log's checkpoints are signed by a key the provider holds, and every key operation is recorded
 * in the audit log. The keyring's events wait for the log (none is emitted before it is open).
 */
export async function openKeysAndAudit(
  config: Config,
  database: Database,
  instanceId: string,
  logger: Logger,
  options: { periodicCheckpoints: boolean },
): Promise<KeysAndAudit> {
  const provider = await openKeyProvider(config.keys, { dataDir: path.resolve(config.dataDir) });
  let audit: AuditLog | undefined;
  try {
    const keyring = new Keyring({
      database,
      provider,
      chunkSize: config.keys.chunkSize,
      audit: async (event) => {
        if (!audit) throw new PalisadeError('AUDIT_UNAVAILABLE', 'the audit log is not open yet');
        await audit.append({ ...event, actor: event.actor ?? SYSTEM_ACTOR });
      },
    });
    const origin = auditOrigin(config, instanceId);
    const key = await keyring.signer('audit-checkpoint');
    // C2SP notes name the key after the log's origin.
    const signer: CheckpointSigner = {
      name: origin,
      publicKey: key.publicKey,
      sign: (message) => key.sign(message),
    };
    audit = await openAuditLog({
      database,
      signer,
      origin,
      logger,
      checkpointIntervalMs: options.periodicCheckpoints ? config.audit.checkpointIntervalSeconds * 1000 : 0,
    });
    const log = audit;
    return {
      provider,
      keyring,
      audit: log,
      async close() {
        await log.close();
        await provider.close();
      },
    };
  } catch (err) {
    await audit?.close();
    await provider.close();
    throw err;
  }
}
