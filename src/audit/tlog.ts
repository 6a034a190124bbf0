import { sql, type Kysely } from 'kysely';
import type { Database, FoundationTables } from '../db/index.js';
import { PalisadeError, describeError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { insertRows } from './bulk-insert.js';
import { openCheckpoint, signCheckpoint, checkOrigin, type Checkpoint } from './checkpoint.js';
import { CompactRange, edgeNodes, foldRange, leafHash, perfectSubtrees, type NodeId } from './merkle.js';
import { parseVerifierKey, verifierKeyOf, type VerifierKey } from './note.js';
import {
  consistencyRanges,
  inclusionRanges,
  verifyConsistency,
  verifyInclusion,
  type LeafRange,
} from './proof.js';
import type { TlogTables } from './schema.js';
import type { CheckpointSigner } from './signer.js';

/**
 * A transparency log stored in the database: leaves, every complete tree node, and signed checkpoints.
 * It knows nothing about what a leaf means; the audit log and the video integrity log are both built on
 * it. Appends from concurrent callers are grouped into one transaction (group commit) and each caller's
 * promise resolves only after that transaction has committed.
 */

export interface AppendedEntry<Row> {
  index: number;
  leaf: Buffer;
  leafHash: Buffer;
  row: Row;
}

export interface TransparencyLogOptions<Row> {
  database: Database;
  /** Registry name of the log (`audit`, `video-integrity`); fixed for the life of the installation. */
  name: string;
  /** Checkpoint origin line; fixed when the log is created (a different one later is refused). */
  origin: string;
  signer: CheckpointSigner;
  /** Verifier keys (`name+id+key`) of earlier signing keys whose checkpoints stay trusted. */
  previousKeys?: readonly string[];
  /**
   * Writes the caller's own rows for a batch of new entries inside the append transaction, so that they
   * commit (or fail) together with the leaves.
   */
  onAppend?: (db: TlogDb, entries: AppendedEntry<Row>[]) => Promise<void>;
  logger?: Logger;
  /** Largest number of entries committed in one transaction. */
  maxBatch?: number;
}

export interface AppendReceipt {
  index: number;
  leafHash: Buffer;
}

export interface InclusionProof {
  index: number;
  treeSize: number;
  leafHash: Buffer;
  rootHash: Buffer;
  proof: Buffer[];
  /** The signed checkpoint of this tree size, when there is one. */
  checkpoint?: Checkpoint;
}

export interface ConsistencyProof {
  size1: number;
  size2: number;
  root1: Buffer;
  root2: Buffer;
  proof: Buffer[];
  checkpoint1?: Checkpoint;
  checkpoint2?: Checkpoint;
}

export interface StoredEntry {
  index: number;
  data: Buffer;
  /** The leaf hash recorded in the tree for this index, or null if the tree has none. */
  recordedHash: Buffer | null;
}

export interface TransparencyLog<Row> {
  readonly id: number;
  readonly name: string;
  readonly origin: string;
  /** The key checkpoints are signed with. */
  readonly verifierKey: VerifierKey;
  /** Keys whose checkpoints this log trusts: the current one first. */
  readonly trustedKeys: readonly VerifierKey[];
  /** Appends one leaf; resolves once it is committed. */
  append(leaf: Buffer, row: Row): Promise<AppendReceipt>;
  size(): Promise<number>;
  rootAt(size: number): Promise<Buffer>;
  latestCheckpoint(): Promise<Checkpoint | undefined>;
  /** Signs a checkpoint of the current tree (or returns the existing one if nothing was appended since). */
  signCheckpoint(): Promise<Checkpoint>;
  /** Signed checkpoints with size in [from, to], oldest first. */
  checkpoints(from: number, to: number): AsyncIterable<Checkpoint>;
  inclusionProof(index: number, treeSize?: number): Promise<InclusionProof>;
  consistencyProof(size1: number, size2: number): Promise<ConsistencyProof>;
  /** Entries with index in [start, end) in index order, with the leaf hash the tree recorded for each. */
  entries(start: number, end: number): AsyncIterable<StoredEntry>;
  /** Waits for pending appends, then refuses new ones. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BATCH = 512;
/** Largest leaf; an export line must stay under the verifier's 4 MiB line limit. */
export const MAX_LEAF_BYTES = 1024 * 1024;
const PAGE_SIZE = 5000;

interface Pending<Row> {
  leaf: Buffer;
  row: Row;
  resolve(receipt: AppendReceipt): void;
  reject(err: unknown): void;
}

/** The database as the log sees it (what `onAppend` receives, inside the append transaction). */
export type TlogDb = Kysely<FoundationTables & TlogTables>;

export async function openTransparencyLog<Row>(
  options: TransparencyLogOptions<Row>,
): Promise<TransparencyLog<Row>> {
  checkOrigin(options.origin);
  const db = options.database.kysely.withTables<TlogTables>();
  const id = await register(db, options.name, options.origin);
  return new StoredLog<Row>(options, db, id);
}

async function register(db: TlogDb, name: string, origin: string): Promise<number> {
  await db
    .insertInto('tlog_log')
    .values({ name, origin, created_at: new Date().toISOString() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db
    .selectFrom('tlog_log')
    .select(['id', 'origin'])
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  if (row.origin !== origin) {
    throw new PalisadeError(
      'AUDIT_ORIGIN_MISMATCH',
      `log ${name} was created with origin ${JSON.stringify(row.origin)}; it cannot change to ${JSON.stringify(origin)} ` +
        '(checkpoints already signed name the old one)',
    );
  }
  return row.id;
}

function corrupt(message: string): PalisadeError {
  return new PalisadeError('AUDIT_TREE_CORRUPT', message);
}

class StoredLog<Row> implements TransparencyLog<Row> {
  readonly id: number;
  readonly name: string;
  readonly origin: string;
  readonly verifierKey: VerifierKey;
  readonly trustedKeys: readonly VerifierKey[];
  readonly #database: Database;
  readonly #db: TlogDb;
  readonly #signer: CheckpointSigner;
  readonly #onAppend: TransparencyLogOptions<Row>['onAppend'];
  readonly #maxBatch: number;
  readonly #logger: Logger | undefined;
  #queue: Pending<Row>[] = [];
  #scheduled = false;
  #writing: Promise<void> | undefined;
  #closed = false;
  /** The right edge of the tree as of our last commit; revalidated against the database every batch. */
  #edge: CompactRange | undefined;
  /** Serialises checkpoint signing within this process. */
  #signing: Promise<unknown> = Promise.resolve();
  /** The last checkpoint this process signed: a reference that cannot be edited in the database. */
  #lastSigned: Checkpoint | undefined;

  constructor(options: TransparencyLogOptions<Row>, db: TlogDb, id: number) {
    this.id = id;
    this.name = options.name;
    this.origin = options.origin;
    this.#database = options.database;
    this.#db = db;
    this.#signer = options.signer;
    this.#onAppend = options.onAppend;
    this.#maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.#logger = options.logger;
    this.verifierKey = verifierKeyOf(options.signer.name, options.signer.publicKey);
    this.trustedKeys = [this.verifierKey, ...(options.previousKeys ?? []).map(parseVerifierKey)];
  }

  append(leaf: Buffer, row: Row): Promise<AppendReceipt> {
    if (this.#closed) {
      return Promise.reject(new PalisadeError('AUDIT_LOG_CLOSED', `log ${this.name} is closed`));
    }
    // An export writes each leaf verbatim on one line (docs/audit-log.md), so a leaf is one line.
    if (leaf.length === 0 || leaf.length > MAX_LEAF_BYTES || leaf.includes(0x0a)) {
      return Promise.reject(
        new PalisadeError(
          'TLOG_LEAF_INVALID',
          `a leaf must be 1..${MAX_LEAF_BYTES} bytes without a newline (canonical JSON is)`,
          { status: 400 },
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ leaf, row, resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Starts a batch on the next turn of the event loop rather than now, so that every append issued in
   * the meantime (typically all the callers woken by the previous commit) joins the same transaction.
   */
  #schedule(): void {
    if (this.#scheduled || this.#writing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const batch = this.#queue.splice(0, this.#maxBatch);
      if (batch.length === 0) return;
      this.#writing = this.#write(batch).finally(() => {
        this.#writing = undefined;
        if (this.#queue.length > 0) this.#schedule();
      });
    });
  }

  async #write(batch: Pending<Row>[]): Promise<void> {
    try {
      const { edge, receipts } = await this.#inWriteTransaction((db) => this.#appendBatch(db, batch));
      this.#edge = edge;
      batch.forEach((p, i) => p.resolve(receipts[i]!));
    } catch (err) {
      this.#edge = undefined;
      const error =
        err instanceof PalisadeError
          ? err
          : new PalisadeError(
              'AUDIT_APPEND_FAILED',
              `cannot append to log ${this.name}: ${describeError(err)}`,
              {
                cause: err,
              },
            );
      this.#logger?.error({ err, log: this.name, entries: batch.length }, 'append failed');
      for (const p of batch) p.reject(error);
    }
  }

  async #appendBatch(db: TlogDb, batch: Pending<Row>[]) {
    const size = await this.#sizeIn(db);
    // Another process may have appended since our last commit; then the cached edge is stale.
    const edge = this.#edge?.size === size ? this.#edge.clone() : await this.#loadEdge(db, size);
    const nodes: [number, number, number, Buffer][] = [];
    const appended: AppendedEntry<Row>[] = [];
    for (const p of batch) {
      const index = edge.size;
      const hash = leafHash(p.leaf);
      edge.append(hash, (level, idx, h) => nodes.push([this.id, level, idx, h]));
      appended.push({ index, leaf: p.leaf, leafHash: hash, row: p.row });
    }
    const dialect = this.#database.dialect;
    const raw = db as unknown as Kysely<unknown>;
    await insertRows(
      raw,
      dialect,
      'tlog_entry',
      ['log_id', 'idx', 'data'],
      appended.map((e) => [this.id, e.index, e.leaf]),
    );
    await insertRows(raw, dialect, 'tlog_node', ['log_id', 'level', 'idx', 'hash'], nodes);
    if (this.#onAppend) await this.#onAppend(db, appended);
    return { edge, receipts: appended.map((e) => ({ index: e.index, leafHash: e.leafHash })) };
  }

  /**
   * One writer at a time per log, across processes and nodes: SQLite takes the write lock up front
   * (BEGIN IMMEDIATE), PostgreSQL locks the log's registry row. The tree size is read under that lock.
   */
  async #inWriteTransaction<T>(fn: (db: TlogDb) => Promise<T>): Promise<T> {
    if (this.#database.dialect === 'postgres') {
      return this.#db.transaction().execute(async (trx) => {
        await trx.selectFrom('tlog_log').select('id').where('id', '=', this.id).forUpdate().execute();
        return fn(trx);
      });
    }
    return this.#db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw err;
      }
    });
  }

  async #sizeIn(db: TlogDb): Promise<number> {
    const row = await db
      .selectFrom('tlog_node')
      .select((eb) => eb.fn.max<number | string | null>('idx').as('last'))
      .where('log_id', '=', this.id)
      .where('level', '=', 0)
      .executeTakeFirst();
    return row?.last === null || row?.last === undefined ? 0 : Number(row.last) + 1;
  }

  async #loadEdge(db: TlogDb, size: number): Promise<CompactRange> {
    const ids = edgeNodes(size);
    const found = await this.#nodes(db, ids);
    return new CompactRange(
      size,
      ids.map((n) => need(found, n)),
    );
  }

  async #nodes(db: TlogDb, ids: readonly NodeId[]): Promise<Map<string, Buffer>> {
    const found = new Map<string, Buffer>();
    if (ids.length === 0) return found;
    const byLevel = new Map<number, number[]>();
    for (const n of ids) byLevel.set(n.level, [...(byLevel.get(n.level) ?? []), n.index]);
    // One indexed lookup per level, glued with UNION ALL: an OR across levels makes SQLite scan the log.
    const perLevel = [...byLevel].map(([level, idxs]) =>
      db
        .selectFrom('tlog_node')
        .select(['level', 'idx', 'hash'])
        .where('log_id', '=', this.id)
        .where('level', '=', level)
        .where('idx', 'in', idxs),
    );
    const rows = await perLevel
      .slice(1)
      .reduce((q, next) => q.unionAll(next), perLevel[0]!)
      .execute();
    for (const r of rows) found.set(key({ level: r.level, index: Number(r.idx) }), Buffer.from(r.hash));
    return found;
  }

  async #rangeHashes(ranges: readonly LeafRange[], extra: readonly NodeId[] = []) {
    const plans = ranges.map(([start, end]) => perfectSubtrees(start, end));
    const found = await this.#nodes(this.#db, [...plans.flat(), ...extra]);
    return { hashes: plans.map((plan) => foldRange(plan.map((n) => need(found, n)))), found };
  }

  async size(): Promise<number> {
    return this.#sizeIn(this.#db);
  }

  async rootAt(size: number): Promise<Buffer> {
    const current = await this.size();
    if (!Number.isSafeInteger(size) || size < 0 || size > current) {
      throw new PalisadeError('MERKLE_PROOF_UNAVAILABLE', `tree size ${size} is not in 0..${current}`, {
        status: 400,
      });
    }
    const { hashes } = await this.#rangeHashes([[0, size]]);
    return hashes[0]!;
  }

  async latestCheckpoint(): Promise<Checkpoint | undefined> {
    const row = await this.#db
      .selectFrom('tlog_checkpoint')
      .select(['note', 'signed_at'])
      .where('log_id', '=', this.id)
      .orderBy('size', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? { ...this.#open(row.note), signedAt: row.signed_at } : undefined;
  }

  async #checkpointAt(size: number): Promise<Checkpoint | undefined> {
    const row = await this.#db
      .selectFrom('tlog_checkpoint')
      .select('note')
      .where('log_id', '=', this.id)
      .where('size', '=', size)
      .executeTakeFirst();
    return row ? this.#open(row.note) : undefined;
  }

  #open(note: string): Checkpoint {
    try {
      return openCheckpoint(note, this.trustedKeys, this.origin);
    } catch (err) {
      throw corrupt(`a stored checkpoint of log ${this.name} does not verify: ${describeError(err)}`);
    }
  }

  async *checkpoints(from: number, to: number): AsyncIterable<Checkpoint> {
    let next = from;
    for (;;) {
      const rows = await this.#db
        .selectFrom('tlog_checkpoint')
        .select(['size', 'note'])
        .where('log_id', '=', this.id)
        .where('size', '>=', next)
        .where('size', '<=', to)
        .orderBy('size')
        .limit(PAGE_SIZE)
        .execute();
      for (const r of rows) yield this.#open(r.note);
      if (rows.length < PAGE_SIZE) return;
      next = Number(rows.at(-1)!.size) + 1;
    }
  }

  signCheckpoint(): Promise<Checkpoint> {
    const run = this.#signing.then(() => this.#signNow());
    this.#signing = run.catch(() => undefined);
    return run;
  }

  /**
   * A log must never sign a checkpoint inconsistent with one it signed before (C2SP tlog-checkpoint).
   * Before signing size n, the previous checkpoint (the latest stored one, and the last one this process
   * signed) must be provably contained in the tree as it is now.
   */
  async #signNow(): Promise<Checkpoint> {
    const size = await this.size();
    const root = await this.rootAt(size);
    const references = [await this.latestCheckpoint(), this.#lastSigned].filter(
      (c): c is Checkpoint => c !== undefined,
    );
    let existing: Checkpoint | undefined;
    for (const previous of references) {
      if (previous.size > size) {
        throw refused(`the log has ${size} entries but a checkpoint of ${previous.size} was signed before`);
      }
      if (previous.size === size) {
        if (!previous.rootHash.equals(root)) {
          throw refused(`the tree of size ${size} no longer has the root signed earlier`);
        }
        existing = previous;
        continue;
      }
      if (previous.size === 0) continue;
      const proof = await this.consistencyProof(previous.size, size, false);
      try {
        verifyConsistency(previous.size, size, previous.rootHash, root, proof.proof);
      } catch (err) {
        throw refused(
          `the tree of size ${size} is not an extension of the checkpoint of size ${previous.size}: ${describeError(err)}`,
        );
      }
    }
    if (existing) return existing;
    const checkpoint = await signCheckpoint(this.#signer, this.origin, size, root);
    await this.#db
      .insertInto('tlog_checkpoint')
      .values({
        log_id: this.id,
        size,
        root,
        note: checkpoint.note,
        signed_at: new Date().toISOString(),
      })
      .onConflict((oc) => oc.columns(['log_id', 'size']).doNothing())
      .execute();
    // Another process may have signed this size first; what is stored is what counts, and it must agree.
    const stored = await this.#checkpointAt(size);
    if (!stored?.rootHash.equals(root)) throw refused(`a different root is stored for size ${size}`);
    this.#lastSigned = stored;
    return stored;
  }

  async inclusionProof(index: number, treeSize?: number): Promise<InclusionProof> {
    let checkpoint: Checkpoint | undefined;
    let size = treeSize;
    if (size === undefined) {
      // Prove against a signed tree head: the latest checkpoint if it covers the entry, else a new one.
      checkpoint = await this.latestCheckpoint();
      if (!checkpoint || checkpoint.size <= index) checkpoint = await this.signCheckpoint();
      size = checkpoint.size;
    } else {
      const current = await this.size();
      if (!Number.isSafeInteger(size) || size > current) {
        throw new PalisadeError('MERKLE_PROOF_UNAVAILABLE', `tree size ${size} is not in 1..${current}`, {
          status: 400,
        });
      }
      checkpoint = await this.#checkpointAt(size);
    }
    const ranges = inclusionRanges(index, size);
    const leafId = { level: 0, index };
    const { hashes, found } = await this.#rangeHashes([...ranges, [0, size]], [leafId]);
    const proof = hashes.slice(0, -1);
    const rootHash = hashes.at(-1)!;
    const leaf = need(found, leafId);
    // Never serve a proof that does not verify: stored nodes may have been damaged.
    try {
      verifyInclusion(index, size, leaf, proof, checkpoint?.rootHash ?? rootHash);
    } catch (err) {
      throw corrupt(`the stored tree does not prove entry ${index} at size ${size}: ${describeError(err)}`);
    }
    return { index, treeSize: size, leafHash: leaf, rootHash, proof, ...(checkpoint ? { checkpoint } : {}) };
  }

  async consistencyProof(size1: number, size2: number, withCheckpoints = true): Promise<ConsistencyProof> {
    const current = await this.size();
    if (!Number.isSafeInteger(size2) || size2 > current) {
      throw new PalisadeError('MERKLE_PROOF_UNAVAILABLE', `tree size ${size2} is not in 1..${current}`, {
        status: 400,
      });
    }
    const ranges = consistencyRanges(size1, size2);
    const { hashes } = await this.#rangeHashes([...ranges, [0, size1], [0, size2]]);
    const proof = hashes.slice(0, -2);
    const root1 = hashes.at(-2)!;
    const root2 = hashes.at(-1)!;
    const result: ConsistencyProof = { size1, size2, root1, root2, proof };
    if (withCheckpoints) {
      const [c1, c2] = [await this.#checkpointAt(size1), await this.#checkpointAt(size2)];
      if (c1) result.checkpoint1 = c1;
      if (c2) result.checkpoint2 = c2;
    }
    return result;
  }

  async *entries(start: number, end: number): AsyncIterable<StoredEntry> {
    let next = start;
    while (next < end) {
      const rows = await this.#db
        .selectFrom('tlog_entry as e')
        .leftJoin('tlog_node as n', (join) =>
          join.onRef('n.log_id', '=', 'e.log_id').on('n.level', '=', 0).onRef('n.idx', '=', 'e.idx'),
        )
        .select(['e.idx', 'e.data', 'n.hash'])
        .where('e.log_id', '=', this.id)
        .where('e.idx', '>=', next)
        .where('e.idx', '<', end)
        .orderBy('e.idx')
        .limit(PAGE_SIZE)
        .execute();
      for (const r of rows) {
        yield {
          index: Number(r.idx),
          data: Buffer.from(r.data),
          recordedHash: r.hash === null ? null : Buffer.from(r.hash),
        };
      }
      if (rows.length < PAGE_SIZE) return;
      next = Number(rows.at(-1)!.idx) + 1;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#writing || this.#scheduled || this.#queue.length > 0) {
      await (this.#writing ?? new Promise((resolve) => setImmediate(resolve)));
    }
    await this.#signing;
  }
}

function refused(message: string): PalisadeError {
  return new PalisadeError('AUDIT_CHECKPOINT_REFUSED', `refusing to sign a checkpoint: ${message}`, {
    status: 409,
  });
}

function key(n: NodeId): string {
  return `${n.level}/${n.index}`;
}

function need(found: Map<string, Buffer>, n: NodeId): Buffer {
  const h = found.get(key(n));
  if (!h) throw corrupt(`tree node level ${n.level} index ${n.index} is missing`);
  return h;
}
