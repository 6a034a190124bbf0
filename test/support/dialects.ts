import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database, type DialectName } from '../../src/db/index.js';
import { tempDir } from './tmp.js';

/**
 * The database matrix. SQLite always runs; PostgreSQL runs when PG_TEST_URL names a server
 * (an administrative connection able to CREATE DATABASE). `.ci/run` sets it, so CI covers both; a
 * local run without it reports the PostgreSQL cases as skipped with the reason, never as passed.
 */
export const PG_ADMIN_URL = process.env.PG_TEST_URL || undefined;
export const PG_SKIP_REASON = 'PostgreSQL not configured: set PG_TEST_URL (see .ci/run)';

export interface TestDatabase {
  database: Database;
  /** A URL that opens the same database again (for a second process or a restart). */
  url: string;
  dataDir: string;
  drop(): Promise<void>;
}

export interface DialectCase {
  name: DialectName;
  /** undefined when the dialect can run; otherwise why it is skipped. */
  skip: string | undefined;
  create(): Promise<TestDatabase>;
}

export const DIALECTS: DialectCase[] = [
  {
    name: 'sqlite',
    skip: undefined,
    create: async () => {
      const dataDir = tempDir();
      const url = `sqlite://${dataDir}/palisade.db`;
      const database = openDatabase({ url, dataDir });
      return { database, url, dataDir, drop: () => database.close() };
    },
  },
  {
    name: 'postgres',
    skip: PG_ADMIN_URL === undefined ? PG_SKIP_REASON : undefined,
    create: async () => {
      const url = await createPgDatabase();
      const dataDir = tempDir();
      const database = openDatabase({ url, dataDir, poolSize: 20 });
      return {
        database,
        url,
        dataDir,
        drop: async () => {
          await database.close();
          await dropPgDatabase(url);
        },
      };
    },
  },
];

/** Creates an empty PostgreSQL database for one test and returns its URL. */
export async function createPgDatabase(): Promise<string> {
  if (PG_ADMIN_URL === undefined) throw new Error(PG_SKIP_REASON);
  const name = `palisade_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropPgDatabase(url: string): Promise<void> {
  if (PG_ADMIN_URL === undefined) return;
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    // FORCE cannot end a backend it has no right to signal (an autovacuum worker that just started on
    // the new database): that is transient, so try again briefly.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        return;
      } catch (err) {
        if (attempt >= 20 || !/terminated|being accessed by other users/.test(String(err))) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await admin.end();
  }
}
