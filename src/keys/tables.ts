import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { DialectName, Migration } from '../db/index.js';

export type KekState = 'active' | 'retired' | 'destroyed';
export type RewrapJobState = 'running' | 'completed' | 'superseded' | 'cancelled';

/**
 * The tables `keys/` owns. Key material is never stored here: a KEK row holds the provider's reference
 * to a key that stays in the provider; a data-key row holds the data key wrapped by its KEK.
 */
export type KeysTables = {
  /** Every version of every KEK (one KEK per zone, `kek_id` = the zone id). At most one active per id. */
  key_kek: {
    kek_id: string;
    version: number;
    /** `local` or `pkcs11`: which provider holds it. */
    provider: string;
    /** The provider's reference (PKCS#11 CKA_ID in hex, or the local key file's entry id). */
    provider_ref: string;
    /** The label the key carries in the provider, e.g. `palisade-kek:zone-a:v2`. */
    label: string;
    state: KekState;
    created_at: string;
    retired_at: string | null;
    destroyed_at: string | null;
  };
  /** One data key per sealed object, wrapped by a KEK version. */
  key_data_key: {
    object_id: string;
    kek_id: string;
    kek_version: number;
    /** The wrapped-key blob (62 bytes); NULL once the data key is destroyed. */
    wrapped: Buffer | null;
    created_at: string;
    rewrapped_at: string | null;
    destroyed_at: string | null;
    /** Set when a re-wrap could not open this data key (the error code), so the job moves on. */
    rewrap_error: string | null;
  };
  /** Progress of re-wrapping the data keys of one KEK onto its newest version. */
  key_rewrap_job: {
    job_id: string;
    kek_id: string;
    target_version: number;
    state: RewrapJobState;
    total: number;
    done: number;
    failed: number;
    started_at: string;
    updated_at: string;
    completed_at: string | null;
  };
  /** Signing keys held by the provider (audit checkpoints, evidence packs), with their public keys. */
  key_signing_key: {
    name: string;
    provider: string;
    algorithm: string;
    public_key: Buffer;
    created_at: string;
  };
  /** Secrets at rest (camera credentials, OIDC client secrets, SIEM tokens), each sealed under its own data key. */
  key_secret: {
    secret_id: string;
    name: string;
    kind: string;
    kek_id: string;
    sealed: Buffer;
    created_at: string;
  };
};

/** A CHECK that a text column holds one of a fixed set of values (literals: DDL takes no parameters). */
function sqlIn(column: string, values: string[]): Expression<SqlBool> {
  return sql<SqlBool>`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`;
}

function bytes(dialect: DialectName): 'bytea' | 'blob' {
  return dialect === 'postgres' ? 'bytea' : 'blob';
}

export function keysMigration(version: number): Migration {
  return {
    version,
    name: 'keys: KEK versions, wrapped data keys, re-wrap jobs, signing keys, secrets',
    async up(db: Kysely<unknown>, dialect: DialectName) {
      await db.schema
        .createTable('key_kek')
        .addColumn('kek_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('provider_ref', 'text', (c) => c.notNull())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) =>
          c.notNull().check(sqlIn('state', ['active', 'retired', 'destroyed'])),
        )
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('retired_at', 'text')
        .addColumn('destroyed_at', 'text')
        .addPrimaryKeyConstraint('key_kek_pk', ['kek_id', 'version'])
        .execute();
      // Two processes rotating at once cannot both end up with an active version.
      await db.schema
        .createIndex('key_kek_one_active')
        .on('key_kek')
        .column('kek_id')
        .unique()
        .where(sql.ref('state'), '=', 'active')
        .execute();

      await db.schema
        .createTable('key_data_key')
        .addColumn('object_id', 'text', (c) => c.primaryKey())
        .addColumn('kek_id', 'text', (c) => c.notNull())
        .addColumn('kek_version', 'integer', (c) => c.notNull())
        .addColumn('wrapped', bytes(dialect))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('rewrapped_at', 'text')
        .addColumn('destroyed_at', 'text')
        .addColumn('rewrap_error', 'text')
        .addForeignKeyConstraint('key_data_key_kek_fk', ['kek_id', 'kek_version'], 'key_kek', [
          'kek_id',
          'version',
        ])
        .execute();
      // The re-wrap job walks one KEK's data keys below the target version in object order.
      await db.schema
        .createIndex('key_data_key_by_kek')
        .on('key_data_key')
        .columns(['kek_id', 'kek_version', 'object_id'])
        .execute();

      await db.schema
        .createTable('key_rewrap_job')
        .addColumn('job_id', 'text', (c) => c.primaryKey())
        .addColumn('kek_id', 'text', (c) => c.notNull())
        .addColumn('target_version', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) =>
          c.notNull().check(sqlIn('state', ['running', 'completed', 'superseded', 'cancelled'])),
        )
        .addColumn('total', 'integer', (c) => c.notNull())
        .addColumn('done', 'integer', (c) => c.notNull())
        .addColumn('failed', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('completed_at', 'text')
        .execute();
      await db.schema
        .createIndex('key_rewrap_job_one_running')
        .on('key_rewrap_job')
        .column('kek_id')
        .unique()
        .where(sql.ref('state'), '=', 'running')
        .execute();

      await db.schema
        .createTable('key_signing_key')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('public_key', bytes(dialect), (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('key_secret')
        .addColumn('secret_id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('kek_id', 'text', (c) => c.notNull())
        .addColumn('sealed', bytes(dialect), (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}

/** Version 2 in this branch; the lead renumbers at merge (append to app/migrations.ts in order). */
