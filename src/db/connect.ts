import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { PalisadeError, describeError } from '../errors/index.js';

export type DialectName = 'sqlite' | 'postgres';

/** Tables owned by `db/` itself. Other modules add theirs with `db.withTables<T>()`. */
export type FoundationTables = {
  palisade_schema_version: {
    version: number;
    name: string;
    applied_at: string;
  };
};

export interface Database {
  readonly kysely: Kysely<FoundationTables>;
  readonly dialect: DialectName;
  /** Human-readable location with any password removed, for logs and errors. */
  readonly location: string;
  /** Resolves when the database answers a trivial query; rejects with DB_UNREACHABLE otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** postgres://…, sqlite:///abs/path.db; undefined means SQLite in `dataDir`. */
  url?: string | undefined;
  dataDir: string;
  poolSize?: number;
}

export const SQLITE_FILE = 'palisade.db';

export function openDatabase(options: ConnectOptions): Database {
  const url = options.url;
  if (url === undefined || url.startsWith('sqlite://')) {
    const file = url === undefined ? path.join(options.dataDir, SQLITE_FILE) : url.slice('sqlite://'.length);
    return openSqlite(file);
  }
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url, options.poolSize ?? 10);
  throw new PalisadeError('CONFIG_INVALID', `database.url: unsupported scheme in ${redactUrl(url)}`);
}

function openSqlite(file: string): Database {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let handle: SQLite.Database;
  try {
    handle = new SQLite(file);
  } catch (err) {
    throw new PalisadeError('DB_UNREACHABLE', `cannot open SQLite database ${file}: ${describeError(err)}`, {
      cause: err,
    });
  }
  // WAL for concurrent readers; synchronous=FULL because an acknowledged audit event or segment
  // index row must survive power loss, not only a process crash.
  handle.pragma('journal_mode = WAL');
  handle.pragma('synchronous = FULL');
  handle.pragma('foreign_keys = ON');
  // Deleted and overwritten content is zeroed in the file rather than left in free space: a
  // crypto-shredded (destroyed) wrapped data key must not stay readable on disk.
  handle.pragma('secure_delete = ON');
  handle.pragma('busy_timeout = 5000');
  const inode = file === ':memory:' ? 0 : statSync(file).ino;
  const kysely = new Kysely<FoundationTables>({ dialect: new SqliteDialect({ database: handle }) });
  return {
    kysely,
    dialect: 'sqlite',
    location: file,
    async ping() {
      // The file itself is the database: if it was removed or replaced underneath us, writes would go
      // to an unlinked inode and be lost at restart, so that counts as unreachable.
      if (file !== ':memory:') {
        let current: number;
        try {
          current = statSync(file).ino;
        } catch (err) {
          throw new PalisadeError(
            'DB_UNREACHABLE',
            `SQLite database ${file} is missing: ${describeError(err)}`,
          );
        }
        if (current !== inode)
          throw new PalisadeError('DB_UNREACHABLE', `SQLite database ${file} was replaced`);
      }
      try {
        await sql`select 1`.execute(kysely);
      } catch (err) {
        throw new PalisadeError('DB_UNREACHABLE', `SQLite database ${file}: ${describeError(err)}`, {
          cause: err,
        });
      }
    },
    async close() {
      await kysely.destroy();
    },
  };
}

function openPostgres(url: string, poolSize: number): Database {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000 });
  // A client losing its server must not crash the process: an idle one is reported by the pool, a busy
  // one by the client itself (and its query rejects, which is where the caller hears of it).
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const kysely = new Kysely<FoundationTables>({ dialect: new PostgresDialect({ pool }) });
  const location = redactUrl(url);
  return {
    kysely,
    dialect: 'postgres',
    location,
    async ping(timeoutMs = 2000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([sql`select 1`.execute(kysely), timeout]);
      } catch (err) {
        throw new PalisadeError('DB_UNREACHABLE', `PostgreSQL at ${location}: ${describeError(err)}`, {
          cause: err,
        });
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await kysely.destroy();
    },
  };
}

export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+):[^@]*@/, '$1:***@');
}

/**
 * A module's typed view of the database: only its own tables. Kysely's table map is invariant, so the
 * view is a cast, and this is the one place it is made.
 */
export function tablesOf<T>(database: Database): Kysely<T> {
  return database.kysely as unknown as Kysely<T>;
}
