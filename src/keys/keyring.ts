import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import type { Database } from '../db/index.js';
import { keyError, type KeyErrorCode } from './errors.js';
import {
  activeKek,
  assertKekId,
  createDataKey,
  ensureKek,
  isUniqueViolation,
  kekLabel,
  now,
  openDataKey,
  rowToKek,
  type KekVersion,
  type KeysContext,
} from './data-keys.js';
import type { ActionContext, KeyAuditSink } from './events.js';
import type { Ed25519Signer, KekProtection, KeyProvider, ProviderInfo } from './provider.js';
import { rowToJob, runRewrap, type RewrapJob, type RewrapOptions, type RewrapResult } from './rewrap.js';
import { SecretStore } from './secrets.js';
import {
  SealedObjectReader,
  SegmentOpener,
  type OpenExpectations,
  type SealedSource,
} from './segment-open.js';
import { SealStream, SegmentSealer, emptyFinalRecord, type SealStats } from './segment-seal.js';
import {
  DEFAULT_CHUNK_SIZE,
  MAX_HEADER_BYTES,
  RECORD_OVERHEAD,
  deriveSegmentKeys,
  headerLength,
  parseHeader,
  verifyHeader,
} from './segment-format.js';
import type { KeysTables } from './tables.js';

export interface KeyringOptions {
  database: Database;
  /** The configured provider: new KEKs and new KEK versions are created here. */
  provider: KeyProvider;
  /**
   * Providers that still hold older KEK versions, e.g. the local key file after moving to an HSM:
   * rotating then re-wraps every data key onto the HSM, after which the old provider can go.
   */
  formerProviders?: readonly KeyProvider[];
  /** Receives every security-relevant action before it is acknowledged (see events.ts). */
  audit: KeyAuditSink;
  /** Chunk size of newly sealed objects (power of two, 4 KiB - 4 MiB); default 256 KiB. */
  chunkSize?: number;
}

/** What the recorder stores beside an object in its own index (the keys tables stay the truth). */
export interface SealedObjectRecord {
  format: 'palisade-segment/1';
  objectId: string;
  cameraId: string;
  kekId: string;
  /** The KEK version at sealing time; rotation moves the data key to newer versions later. */
  kekVersion: number;
  chunkSize: number;
  plaintextBytes: number;
  sealedBytes: number;
  chunks: number;
  sealedAt: string;
}

/** Seals one object: use exactly one of `seal()`, `stream()` or `update()`/`final()`. */
export class ObjectSealer {
  readonly #sealer: SegmentSealer;
  readonly #info: { objectId: string; cameraId: string; kekId: string; kekVersion: number };

  constructor(
    sealer: SegmentSealer,
    info: { objectId: string; cameraId: string; kekId: string; kekVersion: number },
  ) {
    this.#sealer = sealer;
    this.#info = info;
  }

  /** Plaintext pieces in, sealed pieces out, never the whole object in memory. */
  async *seal(plaintext: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
    for await (const piece of plaintext) yield* this.#sealer.update(piece);
    yield* this.#sealer.final();
  }

  /** A Transform stream for `pipeline(source, sealer.stream(), destination)`. */
  stream(): SealStream {
    return new SealStream(this.#sealer);
  }

  update(plaintext: Uint8Array): Buffer[] {
    return this.#sealer.update(plaintext);
  }

  /** `update` appending the sealed pieces to `out`. */
  updateInto(plaintext: Uint8Array, out: Buffer[]): void {
    this.#sealer.updateInto(plaintext, out);
  }

  final(): Buffer[] {
    return this.#sealer.final();
  }

  get stats(): Readonly<SealStats> {
    return this.#sealer.stats;
  }

  /** The metadata record, once sealing has finished. */
  record(): SealedObjectRecord {
    if (!this.#sealer.finished) throw new Error('the object is not sealed yet: finish the stream first');
    return {
      format: 'palisade-segment/1',
      ...this.#info,
      chunkSize: this.#sealer.chunkSize,
      ...this.#sealer.stats,
      sealedAt: now(),
    };
  }
}

export interface KekStatus extends KekVersion {
  ageDays: number;
  /** Live (not destroyed) data keys wrapped by this version. */
  liveDataKeys: number;
}

export interface KeysStatus {
  provider: ProviderInfo;
  keks: KekStatus[];
  dataKeys: { live: number; destroyed: number; rewrapErrors: number };
  rewrapJobs: RewrapJob[];
  secrets: number;
  signingKeys: { name: string; provider: string; algorithm: string; publicKey: string; createdAt: string }[];
}

/**
 * The keys module's one entry point: KEK versions per zone in the configured provider, a fresh data
 * key per sealed object, rotation with re-wrap, crypto-shredding, signing keys and secrets at rest.
 * It never holds a KEK: only providers do, and they hand out wrapped and unwrapped data keys.
 */
export class Keyring {
  readonly secrets: SecretStore;
  readonly #ctx: KeysContext;
  readonly #providers: Map<string, KeyProvider>;
  readonly #chunkSize: number;

  constructor(options: KeyringOptions) {
    this.#providers = new Map<string, KeyProvider>();
    for (const p of options.formerProviders ?? []) this.#providers.set(p.info.kind, p);
    this.#providers.set(options.provider.info.kind, options.provider);
    this.#chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const providers = this.#providers;
    this.#ctx = {
      db: options.database.kysely.withTables<KeysTables>(),
      dialect: options.database.dialect,
      provider: options.provider,
      providerFor(kind: string): KeyProvider {
        const p = providers.get(kind);
        if (!p) {
          throw keyError(
            'KEY_PROVIDER_MISMATCH',
            `a key version is held by the ${kind} provider, which is not configured`,
          );
        }
        return p;
      },
      audit: options.audit,
      rewrapping: new Set(),
    };
    this.secrets = new SecretStore(this.#ctx);
  }

  get provider(): ProviderInfo {
    return this.#ctx.provider.info;
  }

  // ---- key-encryption keys ------------------------------------------------------------------------

  /** The active version of a zone's KEK, created (version 1) if the zone has none yet. */
  ensureKek(kekId: string, action: ActionContext = {}): Promise<KekVersion> {
    return ensureKek(this.#ctx, kekId, action);
  }

  async activeKek(kekId: string): Promise<KekVersion | undefined> {
    return activeKek(this.#ctx, kekId);
  }

  async listKeks(kekId?: string): Promise<KekVersion[]> {
    let q = this.#ctx.db.selectFrom('key_kek').selectAll();
    if (kekId !== undefined) q = q.where('kek_id', '=', kekId);
    const rows = await q.orderBy('kek_id').orderBy('version').execute();
    return rows.map(rowToKek);
  }

  /** How the provider protects a KEK version (sensitive, never extractable …), read from the provider. */
  async kekProtection(kekId: string, version?: number): Promise<KekProtection> {
    const kek = await this.#kekVersion(kekId, version);
    if (kek.state === 'destroyed') throw keyError('KEK_DESTROYED', `"${kekId}" v${kek.version} is destroyed`);
    return this.#ctx.providerFor(kek.provider).kekProtection(kek.providerRef);
  }

  /**
   * Creates the next KEK version in the provider, makes it active (the previous one is retired but
   * still opens what it wrapped) and records a re-wrap job; run it with `rewrap()`.
   */
  async rotateKek(
    kekId: string,
    action: ActionContext = {},
  ): Promise<{ previous: KekVersion; current: KekVersion; job: RewrapJob }> {
    assertKekId(kekId);
    const previous = await activeKek(this.#ctx, kekId);
    if (!previous) throw keyError('KEK_NOT_FOUND', `no active key-encryption key "${kekId}" to rotate`);
    const version = previous.version + 1;
    const label = kekLabel(kekId, version);
    const provider = this.#ctx.provider;
    const ref = await provider.createKek(label);
    const stamp = now();
    let job: RewrapJob;
    try {
      job = await this.#ctx.db.transaction().execute(async (trx) => {
        const retired = await trx
          .updateTable('key_kek')
          .set({ state: 'retired', retired_at: stamp })
          .where('kek_id', '=', kekId)
          .where('version', '=', previous.version)
          .where('state', '=', 'active')
          .executeTakeFirst();
        if (Number(retired.numUpdatedRows) !== 1)
          throw keyError('KEK_CONFLICT', `"${kekId}" was rotated by someone else`);
        await trx
          .insertInto('key_kek')
          .values({
            kek_id: kekId,
            version,
            provider: provider.info.kind,
            provider_ref: ref,
            label,
            state: 'active',
            created_at: stamp,
            retired_at: null,
            destroyed_at: null,
          })
          .execute();
        // The new job covers everything below the new version, including what an older job left.
        await trx
          .updateTable('key_rewrap_job')
          .set({ state: 'superseded', updated_at: stamp })
          .where('kek_id', '=', kekId)
          .where('state', '=', 'running')
          .execute();
        const pending = await trx
          .selectFrom('key_data_key')
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where('kek_id', '=', kekId)
          .where('kek_version', '<', version)
          .where('destroyed_at', 'is', null)
          .where('rewrap_error', 'is', null)
          .executeTakeFirstOrThrow();
        const row = {
          job_id: randomUUID(),
          kek_id: kekId,
          target_version: version,
          state: 'running' as const,
          total: Number(pending.n),
          done: 0,
          failed: 0,
          started_at: stamp,
          updated_at: stamp,
          completed_at: null,
        };
        await trx.insertInto('key_rewrap_job').values(row).execute();
        return rowToJob(row);
      });
    } catch (err) {
      await provider.destroyKek(ref).catch(() => false);
      if (isUniqueViolation(err))
        throw keyError('KEK_CONFLICT', `"${kekId}" was rotated by someone else at the same moment`);
      throw err;
    }
    const current = rowToKek({
      kek_id: kekId,
      version,
      provider: provider.info.kind,
      provider_ref: ref,
      label,
      state: 'active',
      created_at: stamp,
      retired_at: null,
      destroyed_at: null,
    });
    await this.#ctx.audit({
      action: 'keys.kek.rotated',
      outcome: 'success',
      ...action,
      target: { type: 'kek', id: kekId, zone: kekId },
      details: {
        fromVersion: previous.version,
        toVersion: version,
        provider: current.provider,
        label,
        dataKeysToRewrap: job.total,
        jobId: job.jobId,
      },
    });
    return { previous: { ...previous, state: 'retired', retiredAt: stamp }, current, job };
  }

  /**
   * Runs (or resumes) the re-wrap job of a KEK to completion, in batches, reporting progress. Safe to
   * call after a crash: it continues from what the database holds.
   */
  rewrap(kekId: string, options: RewrapOptions = {}): Promise<RewrapResult> {
    return runRewrap(this.#ctx, kekId, options);
  }

  /** Re-wrap jobs, newest first; `running` ones are what a restarted server should resume. */
  async rewrapJobs(filter: { kekId?: string; state?: RewrapJob['state'] } = {}): Promise<RewrapJob[]> {
    let q = this.#ctx.db.selectFrom('key_rewrap_job').selectAll();
    if (filter.kekId !== undefined) q = q.where('kek_id', '=', filter.kekId);
    if (filter.state !== undefined) q = q.where('state', '=', filter.state);
    return (await q.orderBy('started_at', 'desc').execute()).map(rowToJob);
  }

  /**
   * Crypto-shreds a zone: destroys every version of the KEK in the provider (PKCS#11 C_DestroyObject),
   * then marks them destroyed. Every object whose data key they wrapped is unrecoverable from then on
   * (KEK_DESTROYED). Irreversible: the caller gates it (dual approval) before calling.
   */
  async destroyKek(
    kekId: string,
    action: ActionContext = {},
  ): Promise<{ versions: number[]; dataKeys: number }> {
    const versions = (await this.listKeks(kekId)).filter((k) => k.state !== 'destroyed');
    if (versions.length === 0) {
      const any = await this.listKeks(kekId);
      throw any.length > 0
        ? keyError('KEK_DESTROYED', `key-encryption key "${kekId}" is already destroyed`)
        : keyError('KEK_NOT_FOUND', `no key-encryption key "${kekId}"`);
    }
    const live = await this.#liveDataKeys(kekId);
    await this.#destroyVersions(kekId, versions, action, { dataKeys: live, scope: 'all versions' });
    await this.#ctx.db
      .updateTable('key_rewrap_job')
      .set({ state: 'cancelled', updated_at: now() })
      .where('kek_id', '=', kekId)
      .where('state', '=', 'running')
      .execute();
    return { versions: versions.map((v) => v.version), dataKeys: live };
  }

  /**
   * Destroys one retired KEK version once the re-wrap has moved every live data key off it, so old
   * wrapped copies (backups, free database pages) stop mattering. Refuses the active version
   * (KEK_ACTIVE) and a version still in use (KEK_IN_USE).
   */
  async destroyKekVersion(kekId: string, version: number, action: ActionContext = {}): Promise<void> {
    const kek = await this.#kekVersion(kekId, version);
    if (kek.state === 'destroyed')
      throw keyError('KEK_DESTROYED', `"${kekId}" v${version} is already destroyed`);
    if (kek.state === 'active') {
      throw keyError(
        'KEK_ACTIVE',
        `"${kekId}" v${version} is the active version; rotate first, or destroy the whole KEK`,
      );
    }
    const inUse = await this.#liveDataKeys(kekId, version);
    if (inUse > 0) {
      throw keyError(
        'KEK_IN_USE',
        `"${kekId}" v${version} still wraps ${inUse} live data keys; finish the re-wrap first`,
        {
          details: { dataKeys: inUse },
        },
      );
    }
    await this.#destroyVersions(kekId, [kek], action, { dataKeys: 0, scope: `version ${version}` });
  }

  // ---- data keys and sealed objects ---------------------------------------------------------------

  /**
   * Starts sealing one object: a fresh data key is generated, wrapped by the zone's active KEK and
   * stored under `objectId` before any byte is sealed. Object ids are unique forever (DEK_EXISTS).
   */
  async createSealer(options: {
    objectId: string;
    cameraId?: string;
    /** The zone whose KEK wraps the data key. */
    kekId: string;
    chunkSize?: number;
  }): Promise<ObjectSealer> {
    if (options.objectId.startsWith('secret:')) {
      throw keyError('KEY_NAME_INVALID', 'object ids starting with "secret:" belong to the secret store');
    }
    const { dek, kek } = await createDataKey(this.#ctx, options.objectId, options.kekId);
    try {
      const sealer = new SegmentSealer(dek, {
        objectId: options.objectId,
        cameraId: options.cameraId ?? '',
        chunkSize: options.chunkSize ?? this.#chunkSize,
      });
      return new ObjectSealer(sealer, {
        objectId: options.objectId,
        cameraId: options.cameraId ?? '',
        kekId: kek.kekId,
        kekVersion: kek.version,
      });
    } finally {
      dek.fill(0);
    }
  }

  /** Opens a sealed object for random access (reads the header and final chunk now, ranges later). */
  async openObject(options: OpenExpectations & { source: SealedSource }): Promise<SealedObjectReader> {
    const dek = await openDataKey(this.#ctx, options.objectId);
    try {
      return await SealedObjectReader.open(options.source, dek, options);
    } finally {
      dek.fill(0);
    }
  }

  /** Opens a sealed byte stream front to back, yielding authenticated plaintext. */
  async *openObjectStream(
    expected: OpenExpectations,
    sealed: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ): AsyncGenerator<Buffer> {
    const dek = await openDataKey(this.#ctx, expected.objectId);
    const opener = new SegmentOpener(dek, expected);
    dek.fill(0);
    for await (const piece of sealed) yield* opener.update(piece);
    opener.final();
  }

  /**
   * Crash recovery: how to end an object whose sealing stopped before its final record (the process
   * was killed while writing). The caller keeps the first `fullChunks` full records it has checked
   * (e.g. with `openObjectStream`), cuts the object at `keepBytes` and appends `finalRecord`; the
   * result is a complete object of `fullChunks * chunkSize` plaintext bytes. The header is
   * authenticated with the object's data key first, so a wrong or modified object is refused.
   */
  async endInterruptedObject(
    options: OpenExpectations & { source: SealedSource; fullChunks: number },
  ): Promise<{ keepBytes: number; finalRecord: Buffer; chunkSize: number }> {
    const { source } = options;
    const first = Buffer.from(await source.read(0, Math.min(source.size, MAX_HEADER_BYTES)));
    const length = headerLength(first.subarray(0, 8), source.size);
    if (first.length < length)
      throw keyError('SEGMENT_TRUNCATED', 'the sealed object ends inside its header');
    const header = parseHeader(first.subarray(0, length));
    const dek = await openDataKey(this.#ctx, options.objectId);
    let keys;
    try {
      keys = deriveSegmentKeys(dek);
    } finally {
      dek.fill(0);
    }
    verifyHeader(header, keys, options);
    const keepBytes = length + options.fullChunks * (header.chunkSize + RECORD_OVERHEAD);
    if (keepBytes > source.size) {
      throw keyError('SEGMENT_TRUNCATED', `the object holds fewer than ${options.fullChunks} full records`);
    }
    return {
      keepBytes,
      finalRecord: emptyFinalRecord(header, keys, options.fullChunks),
      chunkSize: header.chunkSize,
    };
  }

  /**
   * Discloses the data keys of objects, for an evidence export: a package carries the sealed segments
   * as stored together with their data keys, so anyone holding it can check that the video came from
   * exactly those bytes (and can open those objects, and nothing else). Audited as
   * `keys.dek.disclosed` with the objects and the reason; the caller owns the returned buffers and
   * should zero them once written.
   */
  async discloseDataKeys(
    objectIds: readonly string[],
    reason: string,
    action: ActionContext = {},
  ): Promise<Map<string, Buffer>> {
    if (objectIds.length > 10_000)
      throw keyError('KEY_NAME_INVALID', 'disclose at most 10,000 data keys per call');
    if (objectIds.some((id) => id.startsWith('secret:')))
      throw keyError('KEY_NAME_INVALID', 'the data keys of secrets are never disclosed');
    const keys = new Map<string, Buffer>();
    try {
      for (const id of objectIds) keys.set(id, await openDataKey(this.#ctx, id));
    } catch (err) {
      for (const k of keys.values()) k.fill(0);
      throw err;
    }
    await this.#ctx.audit({
      action: 'keys.dek.disclosed',
      outcome: 'success',
      ...action,
      target: {
        type: 'data-key',
        id: objectIds.length === 1 ? objectIds[0]! : `${objectIds.length} objects`,
      },
      reason,
      details: { objects: objectIds.slice(0, 1000), count: objectIds.length },
    });
    return keys;
  }

  /** Where an object's data key stands (for `palisade check` and the playback error path). */
  async dataKeyInfo(objectId: string): Promise<{
    kekId: string;
    kekVersion: number;
    createdAt: string;
    destroyedAt: string | null;
    rewrapError: string | null;
  }> {
    const row = await this.#ctx.db
      .selectFrom('key_data_key')
      .select(['kek_id', 'kek_version', 'created_at', 'destroyed_at', 'rewrap_error'])
      .where('object_id', '=', objectId)
      .executeTakeFirst();
    if (!row) throw keyError('DEK_NOT_FOUND', `no data key is stored for object "${objectId}"`);
    return {
      kekId: row.kek_id,
      kekVersion: row.kek_version,
      createdAt: row.created_at,
      destroyedAt: row.destroyed_at,
      rewrapError: row.rewrap_error,
    };
  }

  /**
   * Crypto-shreds objects (retention): their wrapped data keys are erased and the rows marked
   * destroyed, after which the objects open only as DEK_DESTROYED. One audit event per call, listing
   * the objects (at most 1000 per call). Unknown or already destroyed ids are reported, not errors.
   */
  async destroyDataKeys(
    objectIds: readonly string[],
    action: ActionContext = {},
  ): Promise<{ destroyed: string[]; notFound: string[]; alreadyDestroyed: string[] }> {
    if (objectIds.length > 1000)
      throw keyError('KEY_NAME_INVALID', 'destroy at most 1000 data keys per call');
    if (objectIds.some((id) => id.startsWith('secret:'))) {
      throw keyError('KEY_NAME_INVALID', 'secrets are destroyed through the secret store');
    }
    if (objectIds.length === 0) return { destroyed: [], notFound: [], alreadyDestroyed: [] };
    const stamp = now();
    const result = await this.#ctx.db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('key_data_key')
        .select(['object_id', 'destroyed_at', 'kek_id'])
        .where('object_id', 'in', objectIds)
        .execute();
      const found = new Map(rows.map((r) => [r.object_id, r]));
      const destroyed = rows.filter((r) => r.destroyed_at === null).map((r) => r.object_id);
      if (destroyed.length > 0) {
        await trx
          .updateTable('key_data_key')
          .set({ wrapped: null, destroyed_at: stamp })
          .where('object_id', 'in', destroyed)
          .where('destroyed_at', 'is', null)
          .execute();
      }
      return {
        destroyed,
        notFound: objectIds.filter((id) => !found.has(id)),
        alreadyDestroyed: rows.filter((r) => r.destroyed_at !== null).map((r) => r.object_id),
        zones: [...new Set(rows.map((r) => r.kek_id))],
      };
    });
    if (result.destroyed.length > 0) {
      await this.#ctx.audit({
        action: 'keys.dek.destroyed',
        outcome: 'success',
        ...action,
        target: {
          type: 'data-key',
          id: result.destroyed.length === 1 ? result.destroyed[0]! : `${result.destroyed.length} objects`,
          ...(result.zones.length === 1 ? { zone: result.zones[0]! } : {}),
        },
        details: { objects: result.destroyed, count: result.destroyed.length },
      });
    }
    return {
      destroyed: result.destroyed,
      notFound: result.notFound,
      alreadyDestroyed: result.alreadyDestroyed,
    };
  }

  // ---- signing keys -------------------------------------------------------------------------------

  /**
   * A signing key held by the provider (created there on first use unless `create` is false): the
   * audit checkpoint key and the evidence-pack key. Its public key is recorded in the database.
   */
  async signer(name: string, options: { create?: boolean } = {}): Promise<Ed25519Signer> {
    const signer = await this.#ctx.provider.signer(name, options);
    const publicKey = Buffer.from(signer.publicKey);
    const known = await this.#ctx.db
      .selectFrom('key_signing_key')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    if (!known) {
      await this.#ctx.db
        .insertInto('key_signing_key')
        .values({
          name,
          provider: this.#ctx.provider.info.kind,
          algorithm: signer.algorithm,
          public_key: publicKey,
          created_at: now(),
        })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
    } else if (
      !Buffer.from(known.public_key).equals(publicKey) ||
      known.provider !== this.#ctx.provider.info.kind
    ) {
      // The token was replaced or re-initialised: a new key now signs under this name.
      await this.#ctx.db
        .updateTable('key_signing_key')
        .set({ provider: this.#ctx.provider.info.kind, public_key: publicKey, created_at: now() })
        .where('name', '=', name)
        .execute();
    }
    return signer;
  }

  // ---- status -------------------------------------------------------------------------------------

  /** Facts for `palisade keys status` and the compliance view. */
  async status(at: Date = new Date()): Promise<KeysStatus> {
    const db = this.#ctx.db;
    const keks = await this.listKeks();
    const counts = await db
      .selectFrom('key_data_key')
      .select((eb) => ['kek_id', 'kek_version', eb.fn.countAll<number | string>().as('n')])
      .where('destroyed_at', 'is', null)
      .groupBy(['kek_id', 'kek_version'])
      .execute();
    const liveBy = new Map(counts.map((c) => [`${c.kek_id}\u0000${c.kek_version}`, Number(c.n)]));
    const totals = await db
      .selectFrom('key_data_key')
      .select((eb) => [
        eb.fn.countAll<number | string>().as('all'),
        eb.fn.count<number | string>('destroyed_at').as('destroyed'),
        eb.fn.count<number | string>('rewrap_error').as('errors'),
      ])
      .executeTakeFirstOrThrow();
    const secrets = await db
      .selectFrom('key_secret')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    const signing = await db.selectFrom('key_signing_key').selectAll().orderBy('name').execute();
    return {
      provider: this.#ctx.provider.info,
      keks: keks.map((k) => ({
        ...k,
        ageDays: Math.floor((at.getTime() - Date.parse(k.createdAt)) / 86_400_000),
        liveDataKeys: liveBy.get(`${k.kekId}\u0000${k.version}`) ?? 0,
      })),
      dataKeys: {
        live: Number(totals.all) - Number(totals.destroyed),
        destroyed: Number(totals.destroyed),
        rewrapErrors: Number(totals.errors),
      },
      rewrapJobs: await this.rewrapJobs(),
      secrets: Number(secrets.n),
      signingKeys: signing.map((s) => ({
        name: s.name,
        provider: s.provider,
        algorithm: s.algorithm,
        publicKey: Buffer.from(s.public_key).toString('hex'),
        createdAt: s.created_at,
      })),
    };
  }

  [inspect.custom](): string {
    return `Keyring { provider: ${this.#ctx.provider.info.description} }`;
  }

  toJSON(): { provider: ProviderInfo } {
    return { provider: this.#ctx.provider.info };
  }

  // ---- internals ----------------------------------------------------------------------------------

  async #kekVersion(kekId: string, version?: number): Promise<KekVersion> {
    let q = this.#ctx.db.selectFrom('key_kek').selectAll().where('kek_id', '=', kekId);
    q = version === undefined ? q.where('state', '=', 'active') : q.where('version', '=', version);
    const row = await q.executeTakeFirst();
    if (!row)
      throw keyError(
        'KEK_NOT_FOUND',
        `no key-encryption key "${kekId}"${version === undefined ? '' : ` v${version}`}`,
      );
    return rowToKek(row);
  }

  async #liveDataKeys(kekId: string, version?: number): Promise<number> {
    let q = this.#ctx.db
      .selectFrom('key_data_key')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('kek_id', '=', kekId)
      .where('destroyed_at', 'is', null);
    if (version !== undefined) q = q.where('kek_version', '=', version);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  /** Destroys in the provider first, then records it: a crash in between leaves "gone but not yet recorded", never the reverse. */
  async #destroyVersions(
    kekId: string,
    versions: KekVersion[],
    action: ActionContext,
    facts: { dataKeys: number; scope: string },
  ): Promise<void> {
    const destroyedInProvider: number[] = [];
    try {
      for (const v of versions) {
        await this.#ctx.providerFor(v.provider).destroyKek(v.providerRef);
        destroyedInProvider.push(v.version);
      }
    } catch (err) {
      const code = (err as { code?: KeyErrorCode }).code ?? 'KEY_PROVIDER_UNAVAILABLE';
      await this.#ctx.audit({
        action: 'keys.kek.destroyed',
        outcome: 'failure',
        ...action,
        target: { type: 'kek', id: kekId, zone: kekId },
        reason: `the provider failed (${code}) after destroying versions [${destroyedInProvider.join(', ')}]`,
        details: { versions: versions.map((v) => v.version), destroyedInProvider },
      });
      throw err;
    }
    const stamp = now();
    await this.#ctx.db
      .updateTable('key_kek')
      .set({ state: 'destroyed', destroyed_at: stamp })
      .where('kek_id', '=', kekId)
      .where(
        'version',
        'in',
        versions.map((v) => v.version),
      )
      .execute();
    await this.#ctx.audit({
      action: 'keys.kek.destroyed',
      outcome: 'success',
      ...action,
      target: { type: 'kek', id: kekId, zone: kekId },
      details: {
        scope: facts.scope,
        versions: versions.map((v) => v.version),
        provider: [...new Set(versions.map((v) => v.provider))].join(','),
        dataKeysShredded: facts.dataKeys,
      },
    });
  }
}
