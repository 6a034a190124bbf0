import { randomUUID } from 'node:crypto';
import type { Database, InstanceTables } from '../db/index.js';

/** The installation's permanent identity, created on first start and never changed. */
export async function ensureInstanceId(database: Database): Promise<string> {
  const db = database.kysely.withTables<InstanceTables>();
  await db
    .insertInto('instance_setting')
    .values({ key: 'instance_id', value: randomUUID(), updated_at: new Date().toISOString() })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db
    .selectFrom('instance_setting')
    .select('value')
    .where('key', '=', 'instance_id')
    .executeTakeFirstOrThrow();
  return row.value;
}
