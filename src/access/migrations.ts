import type { Kysely } from 'kysely';
import type { Migration } from '../db/index.js';

/** Roles, scoped grants and dual-approval requests. */
export const accessMigration = (version: number): Migration => ({
  version,
  name: 'roles, grants, approvals',
  async up(db: Kysely<unknown>) {
    const s = db.schema;
    await s
      .createTable('role')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('permissions', 'text', (c) => c.notNull())
      .addColumn('built_in', 'integer', (c) => c.notNull())
      .addColumn('mfa_required', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await s
      .createTable('role_grant')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('user_account.id').onDelete('cascade'))
      .addColumn('role_id', 'text', (c) => c.notNull().references('role.id'))
      .addColumn('scope_kind', 'text', (c) => c.notNull())
      .addColumn('scope_id', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .execute();
    await s.createIndex('role_grant_user').on('role_grant').column('user_id').execute();
    await s
      .createTable('approval_request')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('summary', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('requested_by', 'text', (c) => c.notNull())
      .addColumn('requested_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('decided_by', 'text')
      .addColumn('decided_at', 'text')
      .addColumn('decision_reason', 'text')
      .addColumn('result', 'text')
      .execute();
  },
});
