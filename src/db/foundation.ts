import type { Kysely } from 'kysely';
import type { Migration } from './migrate.js';

/** Installation-wide settings, one row per key (instance id, first-run markers). */
export type InstanceTables = {
  instance_setting: { key: string; value: string; updated_at: string };
};

export const foundationMigrations: Migration[] = [
  {
    version: 1,
    name: 'instance settings',
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('instance_setting')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
];
