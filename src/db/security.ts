import { sql } from 'kysely';
import type { Database } from './connect.js';

/**
 * How the database connection is protected and whether commits are durable, asked of the database
 * itself (pg_stat_ssl, SHOW, PRAGMA) rather than inferred from the URL.
 */
export interface DatabaseSecurityDescription {
  observedAt: string;
  dialect: Database['dialect'];
  transport: {
    kind: 'local-file' | 'unix-socket' | 'tls' | 'plaintext-loopback' | 'plaintext-network';
    tlsVersion?: string;
    cipher?: string;
    serverAddress?: string;
  };
  durability: { durable: boolean; settings: Record<string, string> };
}

const SQLITE_SYNC = ['off', 'normal', 'full', 'extra'];
const DURABLE_COMMIT = ['on', 'remote_write', 'remote_apply', 'local'];

export async function describeDatabaseSecurity(database: Database): Promise<DatabaseSecurityDescription> {
  const db = database.kysely;
  const observedAt = new Date().toISOString();
  if (database.dialect === 'sqlite') {
    const journal = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db);
    const sync = await sql<{ synchronous: number }>`pragma synchronous`.execute(db);
    const level = sync.rows[0]?.synchronous ?? 0;
    const journalMode = (journal.rows[0]?.journal_mode ?? 'unknown').toLowerCase();
    return {
      observedAt,
      dialect: 'sqlite',
      transport: { kind: 'local-file' },
      durability: {
        // FULL (or EXTRA) syncs the WAL on every commit; NORMAL may lose the last commits on power loss.
        durable: level >= 2 && journalMode !== 'off' && journalMode !== 'memory',
        settings: { journal_mode: journalMode, synchronous: SQLITE_SYNC[level] ?? String(level) },
      },
    };
  }

  const link = await sql<{
    ssl: boolean | null;
    version: string | null;
    cipher: string | null;
    addr: string | null;
  }>`
    select s.ssl, s.version, s.cipher, host(inet_server_addr()) as addr
    from (select 1) as one left join pg_stat_ssl s on s.pid = pg_backend_pid()`.execute(db);
  const row = link.rows[0];
  const settings: Record<string, string> = {};
  for (const name of ['fsync', 'synchronous_commit', 'full_page_writes'] as const) {
    const r = await sql<Record<string, string>>`select current_setting(${name}) as value`.execute(db);
    settings[name] = r.rows[0]?.value ?? 'unknown';
  }
  const addr = row?.addr ?? null;
  let transport: DatabaseSecurityDescription['transport'];
  if (row?.ssl === true) {
    transport = { kind: 'tls', tlsVersion: row.version ?? 'unknown', cipher: row.cipher ?? 'unknown' };
  } else if (addr === null) transport = { kind: 'unix-socket' };
  else
    transport = { kind: isLoopback(addr) ? 'plaintext-loopback' : 'plaintext-network', serverAddress: addr };
  return {
    observedAt,
    dialect: 'postgres',
    transport,
    durability: {
      durable:
        settings.fsync === 'on' &&
        settings.full_page_writes === 'on' &&
        DURABLE_COMMIT.includes(settings.synchronous_commit ?? ''),
      settings,
    },
  };
}

function isLoopback(address: string): boolean {
  return address === '::1' || /^127\./.test(address) || address === '::ffff:127.0.0.1';
}
