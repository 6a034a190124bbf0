import type { Kysely } from 'kysely';
import type { Migration } from '../db/index.js';

/** Sites and zones: the places that grants are scoped to and that carry target security levels. */
export const networkMigration = (version: number): Migration => ({
  version,
  name: 'sites and zones',
  async up(db: Kysely<unknown>) {
    const s = db.schema;
    await s
      .createTable('site')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await s
      .createTable('zone')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('site_id', 'text', (c) => c.notNull().references('site.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('sl_target', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
});
