import path from 'node:path';
import { sql } from 'kysely';
import { MIGRATIONS } from '../../src/app/index.js';
import {
  APPEND_ONLY_TABLES,
  CHECKPOINT_KEY_FILE,
  openAuditLog,
  openFileSigner,
  type AuditEventInput,
  type AuditLog,
  type AuditLogOptions,
} from '../../src/audit/index.js';
import { migrate, type Database } from '../../src/db/index.js';

export const TEST_ORIGIN = 'palisade.test/audit';

/** Migrates the database and opens the audit log with a file signer in `dataDir`. */
export async function openTestAuditLog(
  database: Database,
  dataDir: string,
  options: Partial<AuditLogOptions> = {},
): Promise<AuditLog> {
  await migrate(database, MIGRATIONS);
  const signer = openFileSigner({ file: path.join(dataDir, CHECKPOINT_KEY_FILE), name: TEST_ORIGIN });
  return openAuditLog({ database, signer, origin: TEST_ORIGIN, ...options });
}

/** A realistic event; `i` varies actor, action, target and outcome so that queries have something to find. */
export function sampleEvent(i: number, time = Date.UTC(2026, 10, 27, 8, 0, 0) + i * 1000): AuditEventInput {
  const kinds = [
    {
      action: 'auth.login.failed',
      outcome: 'denied',
      reason: 'wrong password',
      target: { type: 'user', id: `user-${i % 7}` },
    },
    { action: 'auth.login.succeeded', outcome: 'success', target: { type: 'user', id: `user-${i % 7}` } },
    {
      action: 'video.playback.start',
      outcome: 'success',
      target: {
        type: 'camera',
        id: `cam-${i % 11}`,
        zone: (i >> 2) % 2 === 0 ? 'substation-a' : 'control-room',
      },
    },
    {
      action: 'camera.onboard.rejected',
      outcome: 'failure',
      reason: 'firmware signature does not verify',
      target: { type: 'camera', id: `cam-${i % 11}`, zone: 'substation-a' },
    },
  ] as const;
  const kind = kinds[i % kinds.length]!;
  return {
    ...kind,
    actor: {
      type: 'user',
      id: `user-${i % 7}`,
      name: `Operator ${i % 7}`,
      auth: 'password+totp',
      address: `10.20.${i % 5}.${(i * 7) % 250}`,
    },
    details: { seq: i, client: 'palisade-web/1.0', note: 'évènement ✓' },
    time,
  };
}

/** Drops the append-only triggers, as an attacker with database access could. */
export async function dropAppendOnlyTriggers(database: Database): Promise<void> {
  for (const table of APPEND_ONLY_TABLES) {
    if (database.dialect === 'postgres') {
      await sql`drop trigger ${sql.raw(`${table}_append_only`)} on ${sql.table(table)}`.execute(
        database.kysely,
      );
    } else {
      for (const op of ['update', 'delete']) {
        await sql`drop trigger ${sql.raw(`${table}_no_${op}`)}`.execute(database.kysely);
      }
    }
  }
}
