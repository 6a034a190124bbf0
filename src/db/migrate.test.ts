import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { DIALECTS } from '../../test/support/dialects.js';
import { PalisadeError } from '../errors/index.js';
import { MIGRATIONS } from '../app/index.js';
import { currentVersion, migrate, type Migration } from './index.js';

for (const dialect of DIALECTS) {
  describe(`migrations on ${dialect.name}`, { skip: dialect.skip }, () => {
    it('apply once, then a second run is a no-op', async () => {
      const t = await dialect.create();
      try {
        const first = await migrate(t.database, MIGRATIONS);
        assert.equal(first.applied.length, MIGRATIONS.length);
        assert.equal(first.current, MIGRATIONS.length);
        const second = await migrate(t.database, MIGRATIONS);
        assert.deepEqual(second.applied, []);
        assert.equal(second.current, MIGRATIONS.length);
        const rows = await t.database.kysely.selectFrom('palisade_schema_version').selectAll().execute();
        assert.equal(rows.length, MIGRATIONS.length);
      } finally {
        await t.drop();
      }
    });

    it('runs concurrently from two connections without applying anything twice', async () => {
      const t = await dialect.create();
      try {
        const results = await Promise.allSettled([
          migrate(t.database, MIGRATIONS),
          migrate(t.database, MIGRATIONS),
        ]);
        for (const r of results) assert.equal(r.status, 'fulfilled');
        assert.equal(await currentVersion(t.database.kysely), MIGRATIONS.length);
      } finally {
        await t.drop();
      }
    });

    it('rolls back a failing migration together with its version row', async () => {
      const t = await dialect.create();
      try {
        const broken: Migration = {
          version: MIGRATIONS.length + 1,
          name: 'broken',
          async up(db) {
            await db.schema.createTable('half_done').addColumn('id', 'integer').execute();
            await sql`select * from table_that_does_not_exist`.execute(db);
          },
        };
        await assert.rejects(migrate(t.database, [...MIGRATIONS, broken]), (err: unknown) => {
          assert.ok(err instanceof PalisadeError);
          assert.equal(err.code, 'DB_MIGRATION_FAILED');
          assert.match(err.message, /broken/);
          return true;
        });
        assert.equal(await currentVersion(t.database.kysely), MIGRATIONS.length);
        const tables = await t.database.kysely.introspection.getTables();
        assert.ok(!tables.some((table) => table.name === 'half_done'), 'the failed migration left no table');
      } finally {
        await t.drop();
      }
    });

    it('refuses a database newer than this build', async () => {
      const t = await dialect.create();
      try {
        await migrate(t.database, MIGRATIONS);
        await t.database.kysely
          .insertInto('palisade_schema_version')
          .values({ version: 999, name: 'from the future', applied_at: new Date().toISOString() })
          .execute();
        await assert.rejects(migrate(t.database, MIGRATIONS), { code: 'DB_SCHEMA_TOO_NEW' });
      } finally {
        await t.drop();
      }
    });
  });
}

describe('migration list', () => {
  it('rejects gaps and reordering', async () => {
    const noop = async () => undefined;
    const t = await DIALECTS[0]!.create();
    try {
      await assert.rejects(
        migrate(t.database, [
          { version: 1, name: 'a', up: noop },
          { version: 3, name: 'c', up: noop },
        ]),
        { code: 'DB_MIGRATION_FAILED' },
      );
    } finally {
      await t.drop();
    }
  });
});
