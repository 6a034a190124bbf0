import { CompiledQuery, type Kysely } from 'kysely';
import type { DialectName } from '../db/index.js';

/**
 * Multi-row INSERT for the append path, with the SQL text written here and cached per shape: building
 * hundreds of values through the query builder costs more CPU than SQLite spends storing them. It still
 * runs through Kysely (same connection, same transaction). Table and column names are constants of this
 * module's schema, never input; values are always bound parameters.
 */
const MAX_PARAMETERS = 30_000;
const texts = new Map<string, string>();

function text(dialect: DialectName, table: string, columns: readonly string[], count: number): string {
  const key = `${dialect}|${table}|${columns.join(',')}|${count}`;
  let sql = texts.get(key);
  if (sql === undefined) {
    let n = 0;
    const row = () => `(${columns.map(() => (dialect === 'postgres' ? `$${++n}` : '?')).join(', ')})`;
    const values = Array.from({ length: count }, row).join(', ');
    sql = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${values}`;
    if (texts.size > 1000) texts.clear();
    texts.set(key, sql);
  }
  return sql;
}

export async function insertRows(
  db: Kysely<unknown>,
  dialect: DialectName,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
): Promise<void> {
  const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    await db.executeQuery(CompiledQuery.raw(text(dialect, table, columns, chunk.length), chunk.flat()));
  }
}
