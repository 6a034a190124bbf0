import type { Kysely } from 'kysely';
import type { Migration } from '../db/index.js';

export type ExportState = 'pending-approval' | 'running' | 'ready' | 'failed';

/** The tables `playback/` owns: evidence exports (the packages themselves are sealed blobs). */
export type PlaybackTables = {
  evidence_export: {
    id: string;
    camera_id: string;
    zone_id: string;
    from_ms: number | string;
    to_ms: number | string;
    reason: string;
    case_id: string | null;
    requested_by: string;
    requested_by_name: string | null;
    state: ExportState;
    approval_id: string | null;
    /** Where the sealed package is in the blob store, once ready. */
    blob_key: string | null;
    /** Package size and SHA-256 (of the plaintext ZIP a user downloads). */
    size: number | string | null;
    sha256: string | null;
    error: string | null;
    created_at: string;
    completed_at: string | null;
  };
};

export function playbackMigration(version: number): Migration {
  return {
    version,
    name: 'playback: evidence exports',
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('evidence_export')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('camera_id', 'text', (c) => c.notNull())
        .addColumn('zone_id', 'text', (c) => c.notNull())
        .addColumn('from_ms', 'bigint', (c) => c.notNull())
        .addColumn('to_ms', 'bigint', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('case_id', 'text')
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('requested_by_name', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('approval_id', 'text')
        .addColumn('blob_key', 'text')
        .addColumn('size', 'bigint')
        .addColumn('sha256', 'text')
        .addColumn('error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('completed_at', 'text')
        .execute();
      await db.schema
        .createIndex('evidence_export_camera')
        .on('evidence_export')
        .columns(['camera_id', 'created_at'])
        .execute();
    },
  };
}
