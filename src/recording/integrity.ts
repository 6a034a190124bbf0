import {
  canonicalJson,
  openTransparencyLog,
  type AppendedEntry,
  type CheckpointSigner,
  type InclusionProof,
  type TlogDb,
  type TransparencyLog,
} from '../audit/index.js';
import type { Database } from '../db/index.js';
import type { Logger } from '../log/index.js';
import type { RecordingTables } from './tables.js';

/** The registry name of the video integrity log (one per installation, beside the audit log). */
export const VIDEO_LOG_NAME = 'video-integrity';

/** What one leaf of the video integrity log says about a finalized segment. */
export interface IntegrityLeaf {
  v: 1;
  camera: string;
  segment: string;
  /** ISO 8601 UTC, recorder clock. */
  start: string;
  end: string;
  /** Hex SHA-256 of the sealed bytes as stored. */
  sha256: string;
  /** Sealed bytes. */
  size: number;
}

/** The index row update that commits together with the leaf. */
export interface IntegrityRow {
  segmentId: string;
  update: Partial<RecordingTables['recording_segment']>;
}

export function leafBytes(leaf: IntegrityLeaf): Buffer {
  return Buffer.from(canonicalJson(leaf), 'utf8');
}

/**
 * The video integrity log: a transparency log (audit/'s tree code, its own log name and origin) with
 * one leaf per finalized segment. The segment's index row is completed in the same transaction as its
 * leaf, so the index never lists a segment the log does not prove, nor the reverse.
 */
export class VideoIntegrityLog {
  private constructor(readonly log: TransparencyLog<IntegrityRow>) {}

  static async open(options: {
    database: Database;
    origin: string;
    signer: CheckpointSigner;
    logger?: Logger;
  }): Promise<VideoIntegrityLog> {
    const log = await openTransparencyLog<IntegrityRow>({
      database: options.database,
      name: VIDEO_LOG_NAME,
      origin: options.origin,
      signer: options.signer,
      ...(options.logger ? { logger: options.logger } : {}),
      onAppend: async (db: TlogDb, entries: AppendedEntry<IntegrityRow>[]) => {
        const rdb = db.withTables<RecordingTables>();
        for (const e of entries) {
          await rdb
            .updateTable('recording_segment')
            .set({ ...e.row.update, integrity_index: e.index })
            .where('id', '=', e.row.segmentId)
            .execute();
        }
      },
    });
    return new VideoIntegrityLog(log);
  }

  /** Appends the leaf and commits the index row with it; resolves with the leaf index. */
  async append(leaf: IntegrityLeaf, row: IntegrityRow): Promise<number> {
    const receipt = await this.log.append(leafBytes(leaf), row);
    return receipt.index;
  }

  inclusionProof(index: number, treeSize?: number): Promise<InclusionProof> {
    return this.log.inclusionProof(index, treeSize);
  }

  size(): Promise<number> {
    return this.log.size();
  }

  signCheckpoint() {
    return this.log.signCheckpoint();
  }

  latestCheckpoint() {
    return this.log.latestCheckpoint();
  }

  entries(start: number, end: number) {
    return this.log.entries(start, end);
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
