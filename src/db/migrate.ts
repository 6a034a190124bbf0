import { sql, type Kysely } from 'kysely';
import { PalisadeError, describeError } from '../errors/index.js';
import type { Database, DialectName, FoundationTables } from './connect.js';

/**
 * A schema change, written as code. Versions are global integers (each module takes the next free
 * number when it adds a migration) so the order is total and reviewable in one place:
 * `src/app/migrations.ts` lists them.
 */
export interface Migration {
  version: number;
  name: string;
  up(db: Kysely<unknown>, dialect: DialectName): Promise<void>;
}

export interface MigrationReport {
  applied: { version: number; name: string }[];
  current: number;
}

/** Arbitrary constant for pg_advisory_xact_lock: only one node migrates at a time. */
const PG_MIGRATION_LOCK = 0x70616c69;

/**
 * Applies every migration newer than the recorded schema version, each in its own transaction
 * together with its version row. Running it again is a no-op. A database newer than this build is
 * refused rather than touched.
 */
export async function migrate(
  database: Database,
  migrations: readonly Migration[],
): Promise<MigrationReport> {
  checkOrder(migrations);
  const db = database.kysely;
  await db.transaction().execute(async (trx) => {
    // Concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL's catalog; take the lock first.
    if (database.dialect === 'postgres')
      await sql`select pg_advisory_xact_lock(${PG_MIGRATION_LOCK})`.execute(trx);
    await trx.schema
      .createTable('palisade_schema_version')
      .ifNotExists()
      .addColumn('version', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('applied_at', 'text', (c) => c.notNull())
      .execute();
  });

  const known = migrations.at(-1)?.version ?? 0;
  const applied: MigrationReport['applied'] = [];
  for (const migration of migrations) {
    const done = await db.transaction().execute(async (trx) => {
      if (database.dialect === 'postgres')
        await sql`select pg_advisory_xact_lock(${PG_MIGRATION_LOCK})`.execute(trx);
      const current = await currentVersion(trx);
      if (current > known) {
        throw new PalisadeError(
          'DB_SCHEMA_TOO_NEW',
          `database schema is at version ${current} but this Palisade only knows up to ${known}; upgrade Palisade`,
        );
      }
      if (current >= migration.version) return false;
      try {
        await migration.up(trx as unknown as Kysely<unknown>, database.dialect);
      } catch (err) {
        throw new PalisadeError(
          'DB_MIGRATION_FAILED',
          `migration ${migration.version} (${migration.name}) failed: ${describeError(err)}`,
          { cause: err },
        );
      }
      await trx
        .insertInto('palisade_schema_version')
        .values({ version: migration.version, name: migration.name, applied_at: new Date().toISOString() })
        .execute();
      return true;
    });
    if (done) applied.push({ version: migration.version, name: migration.name });
  }
  if (migrations.length === 0) {
    const current = await currentVersion(db);
    if (current > 0) throw new PalisadeError('DB_SCHEMA_TOO_NEW', `database schema is at version ${current}`);
  }
  return { applied, current: await currentVersion(db) };
}

export async function currentVersion(db: Kysely<FoundationTables>): Promise<number> {
  const row = await db
    .selectFrom('palisade_schema_version')
    .select((eb) => eb.fn.max<number | string>('version').as('v'))
    .executeTakeFirst();
  return Number(row?.v ?? 0);
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new PalisadeError(
        'DB_MIGRATION_FAILED',
        `migration list out of order at ${m.version} (${m.name}); expected ${i + 1}`,
      );
    }
  });
}
