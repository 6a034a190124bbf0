import type { Kysely } from 'kysely';
import type { Database } from '../db/index.js';
import { insertRows } from './bulk-insert.js';
import { describeError } from '../errors/index.js';
import { leafHash } from './merkle.js';
import type { Logger } from '../log/index.js';
import type { Checkpoint } from './checkpoint.js';
import type { AuditEvent, AuditEventInput } from './event.js';
import { exportLog, type ExportSummary, type Progress } from './export.js';
import { parseEvent, queryEvents, type AuditPage, type AuditQuery } from './query.js';
import type { AuditTables, TlogTables } from './schema.js';
import type { CheckpointSigner } from './signer.js';
import {
  openTransparencyLog,
  type ConsistencyProof,
  type InclusionProof,
  type TransparencyLog,
} from './tlog.js';
import { buildEvent } from './validate.js';
import { verifyStoredLog, type VerifyReport } from './verify.js';

/** Registry name of the audit log among the transparency logs. */
export const AUDIT_LOG_NAME = 'audit';

export interface AuditLogOptions {
  database: Database;
  signer: CheckpointSigner;
  /** Checkpoint origin; fixed when the log is first created. */
  origin: string;
  logger?: Logger;
  /** Sign a checkpoint this often (ms) when the log has grown; undefined or 0: only on demand. */
  checkpointIntervalMs?: number;
  /** Verifier keys of earlier signing keys whose checkpoints stay trusted. */
  previousKeys?: readonly string[];
}

/** What `append()` returns once the event is durable. */
export interface AuditReceipt {
  index: number;
  /** RFC 6962 leaf hash of the event, hex. */
  leafHash: string;
  /** The event time, ISO 8601 UTC with milliseconds. */
  time: string;
}

export interface AuditLog {
  readonly origin: string;
  /** The checkpoint verifier key, `name+id+base64key`: what an auditor pins. */
  readonly verifierKey: string;
  /** The underlying transparency log (tree, proofs, checkpoints), independent of the event schema. */
  readonly tree: TransparencyLog<AuditRow>;
  /** Records an event; resolves only after it is committed to the database. */
  append(input: AuditEventInput): Promise<AuditReceipt>;
  query(filter?: AuditQuery): Promise<AuditPage>;
  /** One event by index, with its leaf hash. */
  get(index: number): Promise<{ index: number; event: AuditEvent; leafHash: string } | undefined>;
  size(): Promise<number>;
  latestCheckpoint(): Promise<Checkpoint | undefined>;
  signCheckpoint(): Promise<Checkpoint>;
  /** Proof that entry `index` is in the tree of `treeSize` (default: the latest checkpoint covering it). */
  inclusionProof(index: number, treeSize?: number): Promise<InclusionProof>;
  consistencyProof(size1: number, size2: number): Promise<ConsistencyProof>;
  /** Writes an export folder (signing a checkpoint that covers it). */
  exportTo(dir: string, onProgress?: Progress): Promise<ExportSummary>;
  /** Verifies the log as stored: recomputes the tree from every entry against every checkpoint. */
  verify(onProgress?: Progress): Promise<VerifyReport>;
  /** Waits for pending appends, stops periodic checkpoints and refuses new appends. */
  close(): Promise<void>;
}

const AUDIT_ROW_KEYS = [
  'time_ms',
  'action',
  'outcome',
  'actor_type',
  'actor_id',
  'target_type',
  'target_id',
  'zone',
] as const satisfies readonly (keyof AuditRow)[];
const AUDIT_EVENT_COLUMNS = ['idx', ...AUDIT_ROW_KEYS];

/** Query columns written beside each entry (`audit_event`). */
export type AuditRow = {
  time_ms: number;
  action: string;
  outcome: string;
  actor_type: string;
  actor_id: string;
  target_type: string | null;
  target_id: string | null;
  zone: string | null;
};

export async function openAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const tree = await openTransparencyLog<AuditRow>({
    database: options.database,
    name: AUDIT_LOG_NAME,
    origin: options.origin,
    signer: options.signer,
    previousKeys: options.previousKeys ?? [],
    ...(options.logger ? { logger: options.logger } : {}),
    async onAppend(db, entries) {
      await insertRows(
        db as unknown as Kysely<unknown>,
        options.database.dialect,
        'audit_event',
        AUDIT_EVENT_COLUMNS,
        entries.map((e) => [e.index, ...AUDIT_ROW_KEYS.map((k) => e.row[k])]),
      );
    },
  });
  const db = options.database.kysely.withTables<TlogTables & AuditTables>();

  let timer: NodeJS.Timeout | undefined;
  const interval = options.checkpointIntervalMs ?? 0;
  if (interval > 0) {
    let busy = false;
    timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        try {
          const latest = await tree.latestCheckpoint();
          if ((latest?.size ?? -1) < (await tree.size())) await tree.signCheckpoint();
        } catch (err) {
          // A refused checkpoint is a tamper alarm; say so loudly every interval until someone looks.
          options.logger?.error({ reason: describeError(err) }, 'audit checkpoint not signed');
        } finally {
          busy = false;
        }
      })();
    }, interval);
    timer.unref();
  }

  return {
    origin: options.origin,
    verifierKey: tree.verifierKey.text,
    tree,
    async append(input) {
      const { event, bytes } = buildEvent(input, Date.now());
      const receipt = await tree.append(bytes, {
        time_ms: Date.parse(event.time),
        action: event.action,
        outcome: event.outcome,
        actor_type: event.actor.type,
        actor_id: event.actor.id,
        target_type: event.target?.type ?? null,
        target_id: event.target?.id ?? null,
        zone: event.target?.zone ?? null,
      });
      return { index: receipt.index, leafHash: receipt.leafHash.toString('hex'), time: event.time };
    },
    query: (filter = {}) => queryEvents(db, tree.id, filter),
    async get(index) {
      for await (const entry of tree.entries(index, index + 1)) {
        return {
          index,
          event: parseEvent(index, entry.data),
          leafHash: (entry.recordedHash ?? leafHash(entry.data)).toString('hex'),
        };
      }
      return undefined;
    },
    size: () => tree.size(),
    latestCheckpoint: () => tree.latestCheckpoint(),
    signCheckpoint: () => tree.signCheckpoint(),
    inclusionProof: (index, treeSize) => tree.inclusionProof(index, treeSize),
    consistencyProof: (size1, size2) => tree.consistencyProof(size1, size2),
    exportTo: (dir, onProgress) => exportLog(tree, dir, onProgress),
    verify: (onProgress) => verifyStoredLog(tree, onProgress),
    async close() {
      if (timer) clearInterval(timer);
      await tree.close();
    },
  };
}
