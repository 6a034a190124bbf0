import type { JsonValue } from './event.js';
import { statfs } from 'node:fs/promises';
import { sql } from 'kysely';
import type { Database } from '../db/index.js';
import type { AuditLog } from './log.js';
import { APPEND_ONLY_TABLES } from './schema.js';

/** Which append-only tables still have their triggers, asked of the database itself. */
export async function appendOnlyTriggersPresent(database: Database): Promise<boolean> {
  const names =
    database.dialect === 'postgres'
      ? (
          await sql<{ name: string }>`select tgname as name from pg_trigger where not tgisinternal`.execute(
            database.kysely,
          )
        ).rows
      : (
          await sql<{ name: string }>`select name from sqlite_master where type = 'trigger'`.execute(
            database.kysely,
          )
        ).rows;
  const present = new Set(names.map((r) => r.name));
  return APPEND_ONLY_TABLES.every((t) =>
    database.dialect === 'postgres'
      ? present.has(`${t}_append_only`) && present.has(`${t}_no_truncate`)
      : present.has(`${t}_no_update`) && present.has(`${t}_no_delete`),
  );
}

/**
 * What the audit log reports to the compliance engine (structurally a compliance `FactSource`):
 * observed from the database (triggers), the log (checkpoints) and the file system (headroom).
 */
export function auditFactSource(o: {
  log: AuditLog;
  database: Database;
  dataDir: string;
  /** Free share below which a capacity warning covers the audit log's storage, if something raises one. */
  warningThresholdRatio: () => number | null;
}) {
  return {
    name: 'audit',
    namespace: 'audit',
    async collect(): Promise<{ key: string; value: JsonValue; observedAt: Date }[]> {
      const at = new Date();
      const checkpoint = await o.log.latestCheckpoint();
      const size = await o.log.size();
      const fs = await statfs(o.dataDir);
      return [
        { key: 'audit.log.enabled', value: true, observedAt: at },
        // The log answered, and the newest checkpoint (when there is one) is within the log.
        {
          key: 'audit.log.healthy',
          value: checkpoint === undefined || checkpoint.size <= size,
          observedAt: at,
        },
        { key: 'audit.log.appendOnly', value: await appendOnlyTriggersPresent(o.database), observedAt: at },
        { key: 'audit.log.systemWide', value: true, observedAt: at },
        { key: 'audit.events.actorAttributed', value: true, observedAt: at },
        { key: 'audit.timestamps.utc', value: true, observedAt: at },
        { key: 'audit.checkpoint.signed', value: checkpoint !== undefined, observedAt: at },
        ...(checkpoint
          ? [
              {
                key: 'audit.checkpoint.ageSeconds',
                value: Math.max(
                  0,
                  Math.round((at.getTime() - Date.parse(checkpoint.signedAt ?? at.toISOString())) / 1000),
                ),
                observedAt: at,
              },
            ]
          : []),
        {
          key: 'audit.storage.headroomRatio',
          value: fs.blocks === 0 ? 0 : fs.bavail / fs.blocks,
          observedAt: at,
        },
        { key: 'audit.storage.warningThresholdRatio', value: o.warningThresholdRatio(), observedAt: at },
        { key: 'audit.storage.writeOnce', value: false, observedAt: at },
        // append() is awaited before an action is acknowledged: when it fails, the action fails.
        { key: 'audit.failure.mode', value: 'block', observedAt: at },
        { key: 'audit.access.restricted', value: true, observedAt: at },
        { key: 'audit.query.available', value: true, observedAt: at },
        { key: 'audit.export.programmatic', value: true, observedAt: at },
        // Verification failures are reported to whoever runs it, not raised as alerts (yet).
        { key: 'audit.integrity.alerts', value: false, observedAt: at },
      ];
    },
  };
}
