import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { DialectName, FoundationTables } from '../db/index.js';
import { PalisadeError } from '../errors/index.js';
import { keyError } from './errors.js';
import type { ActionContext, KeyAuditSink } from './events.js';
import { KEY_NAME_PATTERN, type KeyProvider, type ProviderKind } from './provider.js';
import { validateId } from './segment-format.js';
import type { KekState, KeysTables } from './tables.js';
import { DEK_BYTES, dekContext } from './wrapped-key.js';

/** One version of a KEK as the registry knows it. */
export interface KekVersion {
  kekId: string;
  version: number;
  provider: ProviderKind;
  providerRef: string;
  label: string;
  state: KekState;
  createdAt: string;
  retiredAt: string | null;
  destroyedAt: string | null;
}

/** What the keyring, the re-wrap job and the secret store share. Internal to `keys/`. */
export interface KeysContext {
  db: Kysely<FoundationTables & KeysTables>;
  dialect: DialectName;
  /** Where new KEK versions are created. */
  provider: KeyProvider;
  /** The provider that holds a KEK version (KEY_PROVIDER_MISMATCH when none is configured for it). */
  providerFor(kind: string): KeyProvider;
  audit: KeyAuditSink;
  /** KEK ids whose re-wrap job runs in this process right now. */
  rewrapping: Set<string>;
}

export const now = (): string => new Date().toISOString();

export function kekLabel(kekId: string, version: number): string {
  return `palisade-kek:${kekId}:v${version}`;
}

export function assertKekId(kekId: string): void {
  if (!KEY_NAME_PATTERN.test(kekId)) {
    throw keyError(
      'KEY_NAME_INVALID',
      `"${kekId}" is not a valid key-encryption key id (letters, digits, . _ : -)`,
    );
  }
}

export function rowToKek(row: Selectable<KeysTables['key_kek']>): KekVersion {
  return {
    kekId: row.kek_id,
    version: row.version,
    provider: row.provider as ProviderKind,
    providerRef: row.provider_ref,
    label: row.label,
    state: row.state,
    createdAt: row.created_at,
    retiredAt: row.retired_at,
    destroyedAt: row.destroyed_at,
  };
}

export async function activeKek(ctx: KeysContext, kekId: string): Promise<KekVersion | undefined> {
  const row = await ctx.db
    .selectFrom('key_kek')
    .selectAll()
    .where('kek_id', '=', kekId)
    .where('state', '=', 'active')
    .executeTakeFirst();
  return row && rowToKek(row);
}

/** The active version of a KEK, creating version 1 in the provider the first time a zone needs one. */
export async function ensureKek(
  ctx: KeysContext,
  kekId: string,
  action: ActionContext = {},
): Promise<KekVersion> {
  assertKekId(kekId);
  const existing = await activeKek(ctx, kekId);
  if (existing) return existing;
  const any = await ctx.db
    .selectFrom('key_kek')
    .select('state')
    .where('kek_id', '=', kekId)
    .executeTakeFirst();
  if (any) {
    // Every version is destroyed: the zone was crypto-shredded and must not quietly get a new key.
    throw keyError(
      'KEK_DESTROYED',
      `key-encryption key "${kekId}" was destroyed; use a new id for a new zone`,
    );
  }
  const ref = await ctx.provider.createKek(kekLabel(kekId, 1));
  const row = {
    kek_id: kekId,
    version: 1,
    provider: ctx.provider.info.kind,
    provider_ref: ref,
    label: kekLabel(kekId, 1),
    state: 'active' as const,
    created_at: now(),
    retired_at: null,
    destroyed_at: null,
  };
  try {
    await ctx.db.insertInto('key_kek').values(row).execute();
  } catch (err) {
    await ctx.provider.destroyKek(ref).catch(() => false);
    if (!isUniqueViolation(err)) throw err;
    // Another process created it at the same moment: use theirs.
    const theirs = await activeKek(ctx, kekId);
    if (theirs) return theirs;
    throw keyError('KEK_CONFLICT', `key-encryption key "${kekId}" changed while it was being created`);
  }
  const kek = rowToKek(row);
  await ctx.audit({
    action: 'keys.kek.created',
    outcome: 'success',
    ...action,
    target: { type: 'kek', id: kekId, zone: kekId },
    details: { version: 1, provider: kek.provider, label: kek.label },
  });
  return kek;
}

/**
 * A fresh data key for `objectId`, wrapped by the active version of `kekId` and stored. The caller
 * gets the plaintext data key to seal with, and wipes it when done.
 */
export async function createDataKey(
  ctx: KeysContext,
  objectId: string,
  kekId: string,
  trx?: Transaction<FoundationTables & KeysTables>,
): Promise<{ dek: Buffer; kek: KekVersion }> {
  validateId(objectId, 'object id');
  const kek = await ensureKek(ctx, kekId);
  const dek = randomBytes(DEK_BYTES);
  try {
    const wrapped = await ctx
      .providerFor(kek.provider)
      .wrapDek(kek.providerRef, dek, dekContext(kek.kekId, kek.version, objectId));
    await insertDataKeys(trx ?? ctx.db, kek, [{ objectId, wrapped }]);
  } catch (err) {
    dek.fill(0);
    throw err;
  }
  return { dek, kek };
}

/** Bulk form for imports and tests: one transaction per call. Returns the data keys in order. */
export async function createDataKeys(
  ctx: KeysContext,
  objectIds: readonly string[],
  kekId: string,
): Promise<Buffer[]> {
  const kek = await ensureKek(ctx, kekId);
  const provider = ctx.providerFor(kek.provider);
  const deks = objectIds.map(() => randomBytes(DEK_BYTES));
  const rows = await Promise.all(
    objectIds.map(async (objectId, i) => {
      validateId(objectId, 'object id');
      return {
        objectId,
        wrapped: await provider.wrapDek(kek.providerRef, deks[i]!, dekContext(kekId, kek.version, objectId)),
      };
    }),
  );
  await ctx.db.transaction().execute((trx) => insertDataKeys(trx, kek, rows));
  return deks;
}

async function insertDataKeys(
  db: Kysely<FoundationTables & KeysTables>,
  kek: KekVersion,
  rows: { objectId: string; wrapped: Buffer }[],
): Promise<void> {
  const created = now();
  try {
    // Chunks keep each statement under SQLite's and PostgreSQL's parameter limits.
    for (let i = 0; i < rows.length; i += 500) {
      await db
        .insertInto('key_data_key')
        .values(
          rows.slice(i, i + 500).map((r) => ({
            object_id: r.objectId,
            kek_id: kek.kekId,
            kek_version: kek.version,
            wrapped: r.wrapped,
            created_at: created,
            rewrapped_at: null,
            destroyed_at: null,
            rewrap_error: null,
          })),
        )
        .execute();
    }
  } catch (err) {
    if (isUniqueViolation(err)) {
      // Reusing an object id would replace the key of data that already exists: never.
      throw keyError(
        'DEK_EXISTS',
        `a data key already exists for ${rows.length === 1 ? `object "${rows[0]!.objectId}"` : 'one of these objects'}`,
      );
    }
    throw err;
  }
}

/** The plaintext data key of an object, or the precise reason it cannot be had. */
export async function openDataKey(ctx: KeysContext, objectId: string): Promise<Buffer> {
  const row = await ctx.db
    .selectFrom('key_data_key as d')
    .innerJoin('key_kek as k', (j) =>
      j.onRef('k.kek_id', '=', 'd.kek_id').onRef('k.version', '=', 'd.kek_version'),
    )
    .select([
      'd.kek_id',
      'd.kek_version',
      'd.wrapped',
      'd.destroyed_at',
      'k.state',
      'k.provider',
      'k.provider_ref',
    ])
    .where('d.object_id', '=', objectId)
    .executeTakeFirst();
  if (!row) throw keyError('DEK_NOT_FOUND', `no data key is stored for object "${objectId}"`);
  if (row.state === 'destroyed') {
    throw keyError(
      'KEK_DESTROYED',
      `object "${objectId}" was wrapped by key-encryption key "${row.kek_id}" v${row.kek_version}, which was destroyed`,
      {
        details: { objectId, kekId: row.kek_id, kekVersion: row.kek_version },
      },
    );
  }
  if (row.destroyed_at !== null || row.wrapped === null) {
    throw keyError(
      'DEK_DESTROYED',
      `the data key of object "${objectId}" was destroyed at ${row.destroyed_at ?? '?'}`,
      {
        details: { objectId, destroyedAt: row.destroyed_at },
      },
    );
  }
  try {
    return await ctx
      .providerFor(row.provider)
      .unwrapDek(row.provider_ref, row.wrapped, dekContext(row.kek_id, row.kek_version, objectId));
  } catch (err) {
    if (err instanceof PalisadeError && err.code === 'KEK_NOT_FOUND') {
      throw keyError(
        'KEK_NOT_FOUND',
        `the ${row.provider} provider no longer holds key-encryption key "${row.kek_id}" v${row.kek_version}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

/** A primary-key or unique violation on SQLite or PostgreSQL. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    code === '23505' || (typeof code === 'string' && /^SQLITE_CONSTRAINT_(PRIMARYKEY|UNIQUE)$/.test(code))
  );
}
