import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { tablesOf, type Database } from '../db/index.js';
import type { RecordingTables, SegmentState } from './tables.js';

/** A segment as the index holds it (what playback needs to find and open it). */
export interface Segment {
  id: string;
  cameraId: string;
  zoneId: string;
  state: SegmentState;
  blobKey: string;
  /** Recorder wall clock, ms since the epoch. */
  startMs: number;
  endMs: number | null;
  /** 90 kHz media time of the first sample (the fMP4 `tfdt`) and the end of the last one. */
  mediaStart: number;
  mediaEnd: number | null;
  frames: number | null;
  fragments: number | null;
  /** `[mediaOffset90k, byteOffset]` of each fragment that starts with a key frame (plaintext offsets). */
  keyFrames: [number, number][];
  codec: string;
  width: number;
  height: number;
  plaintextBytes: number | null;
  sealedBytes: number | null;
  sha256: string | null;
  kekId: string;
  kekVersion: number;
  chunkSize: number;
  integrityIndex: number | null;
  recovered: boolean;
  createdAt: string;
  finalizedAt: string | null;
  deletedAt: string | null;
  deletedReason: string | null;
}

export interface Gap {
  id: string;
  cameraId: string;
  startMs: number;
  endMs: number | null;
  reason: string;
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

export function toSegment(r: Selectable<RecordingTables['recording_segment']>): Segment {
  return {
    id: r.id,
    cameraId: r.camera_id,
    zoneId: r.zone_id,
    state: r.state,
    blobKey: r.blob_key,
    startMs: Number(r.start_ms),
    endMs: num(r.end_ms),
    mediaStart: Number(r.media_start),
    mediaEnd: num(r.media_end),
    frames: r.frames,
    fragments: r.fragments,
    keyFrames: r.key_frames === null ? [] : (JSON.parse(r.key_frames) as [number, number][]),
    codec: r.codec,
    width: r.width,
    height: r.height,
    plaintextBytes: num(r.plaintext_bytes),
    sealedBytes: num(r.sealed_bytes),
    sha256: r.sha256,
    kekId: r.kek_id,
    kekVersion: r.kek_version,
    chunkSize: r.chunk_size,
    integrityIndex: num(r.integrity_index),
    recovered: r.recovered === 1,
    createdAt: r.created_at,
    finalizedAt: r.finalized_at,
    deletedAt: r.deleted_at,
    deletedReason: r.deleted_reason,
  };
}

/** Reads and writes the segment index and the gap list. */
export class SegmentIndex {
  readonly db: Kysely<RecordingTables>;

  constructor(database: Database) {
    this.db = tablesOf<RecordingTables>(database);
  }

  async insertOpen(row: RecordingTables['recording_segment']): Promise<void> {
    await this.db.insertInto('recording_segment').values(row).execute();
  }

  async get(id: string): Promise<Segment | undefined> {
    const r = await this.db
      .selectFrom('recording_segment')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? toSegment(r) : undefined;
  }

  async byState(state: SegmentState): Promise<Segment[]> {
    const rows = await this.db
      .selectFrom('recording_segment')
      .selectAll()
      .where('state', '=', state)
      .orderBy('start_ms')
      .execute();
    return rows.map(toSegment);
  }

  /**
   * Complete segments of a camera that overlap [fromMs, toMs), oldest first, at most `limit`. Uses the
   * (camera, start) index: a segment that overlaps `fromMs` starts at most one segment length earlier,
   * so the scan starts `maxSegmentMs` before it.
   */
  async find(
    cameraId: string,
    fromMs: number,
    toMs: number,
    options: { limit?: number; maxSegmentMs?: number } = {},
  ): Promise<Segment[]> {
    const lookBack = options.maxSegmentMs ?? 2 * 3600_000;
    const rows = await this.db
      .selectFrom('recording_segment')
      .selectAll()
      .where('camera_id', '=', cameraId)
      .where('state', '=', 'complete')
      .where('start_ms', '>=', fromMs - lookBack)
      .where('start_ms', '<', toMs)
      .orderBy('start_ms')
      .limit(options.limit ?? 10_000)
      .execute();
    return rows.map(toSegment).filter((s) => (s.endMs ?? s.startMs) > fromMs);
  }

  /** The complete segment holding instant `ms`, or undefined when the camera has no video then. */
  async at(cameraId: string, ms: number, maxSegmentMs?: number): Promise<Segment | undefined> {
    const found = await this.find(cameraId, ms, ms + 1, {
      limit: 50,
      ...(maxSegmentMs ? { maxSegmentMs } : {}),
    });
    return found.find((s) => s.startMs <= ms && (s.endMs ?? 0) > ms);
  }

  async lastComplete(cameraId: string): Promise<Segment | undefined> {
    const r = await this.db
      .selectFrom('recording_segment')
      .selectAll()
      .where('camera_id', '=', cameraId)
      .where('state', '=', 'complete')
      .orderBy('start_ms', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r ? toSegment(r) : undefined;
  }

  async markRemoved(ids: readonly string[], state: 'deleted' | 'discarded', reason: string): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('recording_segment')
      .set({ state, deleted_at: new Date().toISOString(), deleted_reason: reason })
      .where('id', 'in', ids)
      .execute();
  }

  /** Bytes and segment counts of complete segments, per camera. */
  async usage(): Promise<Map<string, { bytes: number; segments: number; oldestMs: number }>> {
    const rows = await this.db
      .selectFrom('recording_segment')
      .select((eb) => [
        'camera_id',
        eb.fn.sum<number | string>('sealed_bytes').as('bytes'),
        eb.fn.countAll<number | string>().as('n'),
        eb.fn.min<number | string>('start_ms').as('oldest'),
      ])
      .where('state', '=', 'complete')
      .groupBy('camera_id')
      .execute();
    return new Map(
      rows.map((r) => [
        r.camera_id,
        { bytes: Number(r.bytes), segments: Number(r.n), oldestMs: Number(r.oldest) },
      ]),
    );
  }

  // ---- gaps

  async openGap(cameraId: string, startMs: number, reason: string): Promise<void> {
    const open = await this.db
      .selectFrom('recording_gap')
      .select('id')
      .where('camera_id', '=', cameraId)
      .where('end_ms', 'is', null)
      .executeTakeFirst();
    if (open) return;
    await this.db
      .insertInto('recording_gap')
      .values({
        id: randomUUID(),
        camera_id: cameraId,
        start_ms: Math.round(startMs),
        end_ms: null,
        reason: reason.slice(0, 200),
        created_at: new Date().toISOString(),
      })
      .execute();
  }

  async closeGap(cameraId: string, endMs: number): Promise<void> {
    await this.db
      .updateTable('recording_gap')
      .set({ end_ms: Math.round(endMs) })
      .where('camera_id', '=', cameraId)
      .where('end_ms', 'is', null)
      .execute();
  }

  async gaps(cameraId: string, fromMs: number, toMs: number): Promise<Gap[]> {
    const rows = await this.db
      .selectFrom('recording_gap')
      .selectAll()
      .where('camera_id', '=', cameraId)
      .where('start_ms', '<', toMs)
      .where((eb) => eb.or([eb('end_ms', 'is', null), eb('end_ms', '>', fromMs)]))
      .orderBy('start_ms')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      cameraId: r.camera_id,
      startMs: Number(r.start_ms),
      endMs: num(r.end_ms),
      reason: r.reason,
    }));
  }
}
