/**
 * Audit log benchmark: durable appends per second (SQLite and PostgreSQL, 1 and 64 writers), then a
 * log of 1,000,000 events: export, verification speed, and proof times. Every figure is printed beside
 * a baseline measured in the same run:
 *   - appends: the same event bytes committed to a plain table with the same batching, no tree;
 *   - verification: raw SHA-256 over the same leaf bytes, nothing else.
 *
 *   npm run bench:audit [-- --entries 1000000 --seconds 5]
 *   PG_TEST_URL=postgres://... adds the PostgreSQL rows (an account allowed to CREATE DATABASE).
 */
import { hash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os, { availableParallelism } from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { MIGRATIONS } from '../../src/app/index.js';
import {
  CHECKPOINT_KEY_FILE,
  EXPORT_FILES,
  canonicalBytes,
  openAuditLog,
  openFileSigner,
  verifyConsistency,
  verifyExport,
  verifyInclusion,
  type AuditLog,
} from '../../src/audit/index.js';
import { migrate, openDatabase, type Database } from '../../src/db/index.js';
import { sampleEvent } from '../../test/support/audit.js';
import { createPgDatabase, dropPgDatabase } from '../../test/support/dialects.js';

interface Options {
  entries: number;
  seconds: number;
  keep: boolean;
}

function options(): Options {
  const args = process.argv.slice(2);
  const value = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  return {
    entries: value('entries', 1_000_000),
    seconds: value('seconds', 5),
    keep: args.includes('--keep'),
  };
}

const ORIGIN = 'bench.palisade/audit';
const rows: { what: string; result: string; baseline: string; ratio: string }[] = [];
const note = (text: string) => process.stderr.write(`${text}\n`);

function row(what: string, result: string, baseline = '', ratio = '') {
  rows.push({ what, result, baseline, ratio });
  note(`  ${what}: ${result}${baseline ? ` (baseline ${baseline}${ratio ? `, ratio ${ratio}` : ''})` : ''}`);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => `${n.toFixed(3)} ms`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

async function openLog(database: Database, dataDir: string): Promise<AuditLog> {
  await migrate(database, MIGRATIONS);
  const signer = openFileSigner({ file: path.join(dataDir, CHECKPOINT_KEY_FILE), name: ORIGIN });
  return openAuditLog({ database, signer, origin: ORIGIN });
}

/** `writers` concurrent callers appending for `seconds`; returns appends/s and latency percentiles. */
async function appendRate(log: AuditLog, writers: number, seconds: number, offset: number) {
  const latencies: number[] = [];
  let n = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        await log.append(sampleEvent(offset + n++));
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rate: latencies.length / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
  };
}

/** The same bytes committed to a plain table, `batch` rows per transaction: durability without the log. */
async function plainRate(database: Database, batch: number, seconds: number): Promise<number> {
  type Plain = { bench_plain: { idx: number; data: Uint8Array } };
  const db = database.kysely.withTables<Plain>() as unknown as Kysely<Plain>;
  const bytes = database.dialect === 'postgres' ? 'bytea' : 'blob';
  await sql`drop table if exists bench_plain`.execute(db);
  await sql`create table bench_plain (idx bigint primary key, data ${sql.raw(bytes)} not null)`.execute(db);
  const leaves = Array.from({ length: batch }, (_, i) => canonicalBytes(sampleEvent(i) as object));
  let n = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  while (performance.now() < until) {
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('bench_plain')
        .values(leaves.map((data) => ({ idx: n++, data })))
        .execute();
    });
  }
  return n / ((performance.now() - start) / 1000);
}

async function appendSection(name: string, database: Database, dataDir: string, seconds: number) {
  note(`${name}: durable appends`);
  const log = await openLog(database, dataDir);
  let offset = 0;
  for (const writers of [1, 64]) {
    const r = await appendRate(log, writers, seconds, offset);
    offset += 10_000_000;
    const plain = await plainRate(database, writers, seconds);
    row(
      `durable appends/s, ${name}, ${writers} writer${writers > 1 ? 's' : ''} (p50 ${ms(r.p50)}, p99 ${ms(r.p99)})`,
      fmt(r.rate),
      `${fmt(plain)} plain rows/s, ${writers} per commit`,
      (r.rate / plain).toFixed(2),
    );
  }
  const report = await log.verify();
  if (!report.ok) throw new Error(`${name} log does not verify: ${report.failure?.reason}`);
  await log.close();
}

async function main(): Promise<void> {
  const opts = options();
  const work = mkdtempSync(path.join(os.tmpdir(), 'palisade-bench-audit-'));
  note(`Audit log benchmark: ${opts.entries} entries, ${opts.seconds} s per append case, work dir ${work}`);
  note(
    `Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  try {
    // 1. Durable appends.
    const sqliteDir = path.join(work, 'sqlite-append');
    const sqlite = openDatabase({ dataDir: sqliteDir });
    await appendSection('SQLite', sqlite, sqliteDir, opts.seconds);
    await sqlite.close();
    if (process.env.PG_TEST_URL) {
      const url = await createPgDatabase();
      const pg = openDatabase({ url, dataDir: path.join(work, 'pg'), poolSize: 10 });
      try {
        await appendSection('PostgreSQL', pg, path.join(work, 'pg'), opts.seconds);
      } finally {
        await pg.close();
        await dropPgDatabase(url);
      }
    } else {
      note('PostgreSQL: skipped (set PG_TEST_URL to an account allowed to CREATE DATABASE)');
    }

    // 2. A log of opts.entries events (SQLite), with a checkpoint every tenth of the way.
    const bigDir = path.join(work, 'sqlite-big');
    const database = openDatabase({ dataDir: bigDir });
    const log = await openLog(database, bigDir);
    note(`filling a log of ${opts.entries} events`);
    const fillStart = performance.now();
    let next = 0;
    for (let round = 1; round <= 10; round++) {
      const target = Math.round((opts.entries * round) / 10);
      await Promise.all(
        Array.from({ length: 256 }, async () => {
          while (next < target) await log.append(sampleEvent(next++));
        }),
      );
      await log.signCheckpoint();
      note(`  ${next} appended`);
    }
    const fillRate = next / ((performance.now() - fillStart) / 1000);
    row('durable appends/s, SQLite, 256 writers (filling the big log)', fmt(fillRate));
    const size = await log.size();
    const dbBytes = statSync(path.join(bigDir, 'palisade.db')).size;
    row(
      `database size at ${fmt(size)} entries`,
      `${(dbBytes / 2 ** 20).toFixed(0)} MiB (${fmt(dbBytes / size)} B/entry)`,
    );

    // 3. Export.
    const exportDir = path.join(work, 'export');
    let t0 = performance.now();
    const summary = await log.exportTo(exportDir);
    const exportSeconds = (performance.now() - t0) / 1000;
    row(`export of ${fmt(summary.entries)} entries (entries/s)`, fmt(summary.entries / exportSeconds));

    // 4. Verification against raw SHA-256 of the same leaves.
    const text = readFileSync(path.join(exportDir, EXPORT_FILES.entries));
    const leaves: Buffer[] = [];
    for (let at = 0; at < text.length;) {
      const nl = text.indexOf(10, at);
      const leafStart = text.indexOf(',"leaf":', at) + 8;
      leaves.push(text.subarray(leafStart, nl - 1));
      at = nl + 1;
    }
    // The baseline is the fastest way Node hashes these leaves: digests as Buffers (the usual form) and
    // as latin1 strings (cheaper to return, and what the verifier uses); best of three runs each.
    const rawRate = (encoding: 'buffer' | 'binary') =>
      Math.max(
        ...[1, 2, 3].map(() => {
          const start = performance.now();
          if (encoding === 'buffer') for (const leaf of leaves) hash('sha256', leaf, 'buffer');
          else for (const leaf of leaves) hash('sha256', leaf, 'binary');
          return leaves.length / ((performance.now() - start) / 1000);
        }),
      );
    const rawBuffer = rawRate('buffer');
    const rawString = rawRate('binary');
    const raw = Math.max(rawBuffer, rawString);
    const meanLeaf = leaves.reduce((a, l) => a + l.length, 0) / leaves.length;
    let best = 0;
    for (let i = 0; i < 3; i++) {
      t0 = performance.now();
      const report = await verifyExport(exportDir);
      if (!report.ok) throw new Error(`export does not verify: ${report.failure?.reason}`);
      best = Math.max(best, report.entries / ((performance.now() - t0) / 1000));
    }
    row(
      `verify export, ${fmt(size)} entries of ${fmt(meanLeaf)} B, ${availableParallelism()} CPUs (entries/s, best of 3)`,
      fmt(best),
      `raw SHA-256 of the same leaves: ${fmt(raw)}/s (Buffer digests ${fmt(rawBuffer)}/s, string digests ${fmt(rawString)}/s)`,
      (best / raw).toFixed(2),
    );
    t0 = performance.now();
    const stored = await log.verify();
    if (!stored.ok) throw new Error(`stored log does not verify: ${stored.failure?.reason}`);
    const storedRate = stored.entries / ((performance.now() - t0) / 1000);
    row(
      'verify the stored log from the database (entries/s)',
      fmt(storedRate),
      `raw SHA-256: ${fmt(raw)}/s`,
      (storedRate / raw).toFixed(2),
    );

    // 5. Proofs at full size.
    const checkpoint = await log.signCheckpoint();
    const gen: number[] = [];
    const ver: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const index = Math.floor(Math.random() * size);
      t0 = performance.now();
      const p = await log.inclusionProof(index, size);
      const t1 = performance.now();
      verifyInclusion(index, size, p.leafHash, p.proof, checkpoint.rootHash);
      ver.push(performance.now() - t1);
      gen.push(t1 - t0);
    }
    gen.sort((a, b) => a - b);
    ver.sort((a, b) => a - b);
    row(
      `inclusion proof at ${fmt(size)} entries: serve (p50 / p99)`,
      `${ms(percentile(gen, 0.5))} / ${ms(percentile(gen, 0.99))}`,
      `verify: ${ms(percentile(ver, 0.5))} / ${ms(percentile(ver, 0.99))}`,
    );
    const cons: number[] = [];
    for (let i = 0; i < 500; i++) {
      const size1 = 1 + Math.floor(Math.random() * (size - 1));
      t0 = performance.now();
      const p = await log.consistencyProof(size1, size);
      cons.push(performance.now() - t0);
      verifyConsistency(size1, size, p.root1, checkpoint.rootHash, p.proof);
    }
    cons.sort((a, b) => a - b);
    row(
      `consistency proof to ${fmt(size)} entries: serve (p50 / p99)`,
      `${ms(percentile(cons, 0.5))} / ${ms(percentile(cons, 0.99))}`,
    );
    await log.close();
    await database.close();
  } finally {
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
  }

  process.stdout.write('\n| measurement | result | baseline (same run) | ratio |\n|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.what} | ${r.result} | ${r.baseline} | ${r.ratio} |\n`);
}

await main();
