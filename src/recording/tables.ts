import type { Kysely } from 'kysely';
import type { Migration } from '../db/index.js';

export type SegmentState = 'open' | 'complete' | 'deleted' | 'discarded';

/**
 * The tables `recording/` owns. Times are milliseconds since the epoch (recorder clock) in `bigint`
 * columns (PostgreSQL returns them as strings: read them through `Number()`); media times are 90 kHz.
 */
export type RecordingTables = {
  /** The camera inventory (onboarding through ONVIF arrives with devices/). Soft-deleted: video outlives it. */
  camera: {
    id: string;
    name: string;
    zone_id: string;
    stream_url: string;
    transport: 'tcp' | 'udp';
    username: string | null;
    /** The sealed password (keys/ secret store); never returned by the API. */
    credential_secret_id: string | null;
    /** SHA-256 fingerprint pinned for RTSPS, when the camera's certificate is self-signed. */
    tls_fingerprint: string | null;
    recording_mode: 'continuous' | 'off';
    retention_max_age_days: number | null;
    retention_max_bytes: number | string | null;
    created_at: string;
    updated_at: string;
    deleted_at: string | null;
  };
  /** Retention policy of a zone, for its cameras that have none of their own. */
  recording_zone_policy: {
    zone_id: string;
    max_age_days: number | null;
    max_bytes: number | string | null;
    updated_at: string;
  };
  /** The segment index: one row per sealed segment, `open` while it is being written. */
  recording_segment: {
    id: string;
    camera_id: string;
    zone_id: string;
    state: SegmentState;
    blob_key: string;
    start_ms: number | string;
    end_ms: number | string | null;
    media_start: number | string;
    media_end: number | string | null;
    frames: number | null;
    fragments: number | null;
    /** JSON `[[mediaOffset90k, byteOffset], ...]`: where each key-frame fragment starts in the plaintext. */
    key_frames: string | null;
    codec: string;
    width: number;
    height: number;
    plaintext_bytes: number | string | null;
    sealed_bytes: number | string | null;
    /** Hex SHA-256 of the sealed bytes as stored. */
    sha256: string | null;
    kek_id: string;
    kek_version: number;
    chunk_size: number;
    /** Index of this segment's leaf in the video integrity log. */
    integrity_index: number | string | null;
    /** Set when startup recovery ended the segment (the process had stopped mid-segment). */
    recovered: number;
    created_at: string;
    finalized_at: string | null;
    deleted_at: string | null;
    /** Why it was deleted or discarded: `retention`, `user`, `empty`, ... */
    deleted_reason: string | null;
  };
  /** Spans of time a camera that should record did not: outages, stalls, restarts, full disk. */
  recording_gap: {
    id: string;
    camera_id: string;
    start_ms: number | string;
    end_ms: number | string | null;
    reason: string;
    created_at: string;
  };
};

export function recordingMigration(version: number): Migration {
  return {
    version,
    name: 'recording: cameras, segment index, gaps, zone retention',
    async up(db: Kysely<unknown>) {
      const s = db.schema;
      await s
        .createTable('camera')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('zone_id', 'text', (c) => c.notNull())
        .addColumn('stream_url', 'text', (c) => c.notNull())
        .addColumn('transport', 'text', (c) => c.notNull())
        .addColumn('username', 'text')
        .addColumn('credential_secret_id', 'text')
        .addColumn('tls_fingerprint', 'text')
        .addColumn('recording_mode', 'text', (c) => c.notNull())
        .addColumn('retention_max_age_days', 'real')
        .addColumn('retention_max_bytes', 'bigint')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .execute();
      await s
        .createTable('recording_zone_policy')
        .addColumn('zone_id', 'text', (c) => c.primaryKey())
        .addColumn('max_age_days', 'real')
        .addColumn('max_bytes', 'bigint')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await s
        .createTable('recording_segment')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('camera_id', 'text', (c) => c.notNull())
        .addColumn('zone_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('blob_key', 'text', (c) => c.notNull())
        .addColumn('start_ms', 'bigint', (c) => c.notNull())
        .addColumn('end_ms', 'bigint')
        .addColumn('media_start', 'bigint', (c) => c.notNull())
        .addColumn('media_end', 'bigint')
        .addColumn('frames', 'integer')
        .addColumn('fragments', 'integer')
        .addColumn('key_frames', 'text')
        .addColumn('codec', 'text', (c) => c.notNull())
        .addColumn('width', 'integer', (c) => c.notNull())
        .addColumn('height', 'integer', (c) => c.notNull())
        .addColumn('plaintext_bytes', 'bigint')
        .addColumn('sealed_bytes', 'bigint')
        .addColumn('sha256', 'text')
        .addColumn('kek_id', 'text', (c) => c.notNull())
        .addColumn('kek_version', 'integer', (c) => c.notNull())
        .addColumn('chunk_size', 'integer', (c) => c.notNull())
        .addColumn('integrity_index', 'bigint')
        .addColumn('recovered', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('finalized_at', 'text')
        .addColumn('deleted_at', 'text')
        .addColumn('deleted_reason', 'text')
        .execute();
      // Finding an instant: the segments of a camera around a time.
      await s
        .createIndex('recording_segment_camera_time')
        .on('recording_segment')
        .columns(['camera_id', 'start_ms'])
        .execute();
      await s.createIndex('recording_segment_state').on('recording_segment').columns(['state']).execute();
      await s
        .createTable('recording_gap')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('camera_id', 'text', (c) => c.notNull())
        .addColumn('start_ms', 'bigint', (c) => c.notNull())
        .addColumn('end_ms', 'bigint')
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await s
        .createIndex('recording_gap_camera_time')
        .on('recording_gap')
        .columns(['camera_id', 'start_ms'])
        .execute();
    },
  };
}
