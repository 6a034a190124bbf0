import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import {
  openCheckpoint,
  parseVerifierKey,
  verifyInclusion,
  type TlogTables,
  type VerifyReport,
} from '../src/audit/index.js';
import { openDatabase } from '../src/db/index.js';
import { dropAppendOnlyTriggers } from './support/audit.js';
import { runCli } from './support/cli.js';
import { tempDir } from './support/tmp.js';

function oneLineError(stderr: string): string {
  const lines = stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('{'));
  assert.equal(lines.length, 1, `one line of error, got: ${stderr}`);
  return lines[0]!;
}

describe('palisade audit (command line)', () => {
  it('checkpoint, export, verify (also --against and --json), proofs: an auditor needs nothing else', () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const cp = runCli(['audit', 'checkpoint', '--data-dir', dataDir]);
    assert.equal(cp.status, 0, cp.stderr);
    assert.match(
      cp.stdout,
      /^palisade\/[0-9a-f-]{36}\/audit\n1\n[A-Za-z0-9+/]{43}=\n\n— palisade\/[0-9a-f-]{36}\/audit \S+\n$/,
    );
    const earlier = path.join(dir, 'earlier.checkpoint');
    writeFileSync(earlier, cp.stdout);

    const out = path.join(dir, 'export');
    const exp = runCli(['audit', 'export', '--data-dir', dataDir, '--out', out]);
    assert.equal(exp.status, 0, exp.stderr);
    assert.match(exp.stdout, /^Exported 2 entries and 2 checkpoints to /);
    const vkey = /Verifier key: (\S+)/.exec(exp.stdout)![1]!;
    assert.equal(
      runCli(['audit', 'export', '--data-dir', dataDir, '--out', out]).status,
      1,
      'never overwrites',
    );

    const ok = runCli(['audit', 'verify', out]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^OK: 2 entries verified against 2 signed checkpoints/);
    const pinned = runCli(['audit', 'verify', out, '--against', earlier, '--key', vkey]);
    assert.equal(pinned.status, 0, pinned.stderr);
    assert.match(pinned.stdout, /Extends the given checkpoint of size 1/);
    const json = runCli(['audit', 'verify', out, '--json']);
    const report = JSON.parse(json.stdout) as VerifyReport;
    assert.equal(report.ok, true);
    assert.equal(report.entries, 2);
    assert.deepEqual(report.keys, [vkey]);

    // The export records who exported it, inside the log it exports.
    const entries = readFileSync(path.join(out, 'entries.jsonl'), 'utf8').trim().split('\n');
    assert.match(entries[1]!, /"action":"audit.exported"/);

    const proof = runCli(['audit', 'proof', '--data-dir', dataDir, '--index', '1', '--json']);
    assert.equal(proof.status, 0, proof.stderr);
    const p = JSON.parse(proof.stdout) as {
      treeSize: number;
      leafHash: string;
      proof: string[];
      checkpoint: { note: string };
    };
    const signed = openCheckpoint(p.checkpoint.note, [parseVerifierKey(vkey)]);
    verifyInclusion(
      1,
      p.treeSize,
      Buffer.from(p.leafHash, 'hex'),
      p.proof.map((h) => Buffer.from(h, 'hex')),
      signed.rootHash,
    );
    const consistency = runCli(['audit', 'proof', '--data-dir', dataDir, '--from', '1', '--to', '2']);
    assert.equal(consistency.status, 0, consistency.stderr);
    assert.match(consistency.stdout, /^Consistency proof from tree size 1 to 2/);

    const stored = runCli(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(stored.status, 0, stored.stderr);
    assert.match(stored.stdout, /OK: \d+ entries verified .*\(the log in the database\)/);
  });

  it('a tampered export or database: exit 1 and one line naming the first bad index and why', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    for (let i = 0; i < 3; i++)
      assert.equal(runCli(['audit', 'checkpoint', '--data-dir', dataDir]).status, 0);
    const out = path.join(dir, 'export');
    assert.equal(runCli(['audit', 'export', '--data-dir', dataDir, '--out', out]).status, 0);

    const file = path.join(out, 'entries.jsonl');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"onDemand":true', '"onDemand":false'));
    const bad = runCli(['audit', 'verify', out]);
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, '');
    assert.match(
      oneLineError(bad.stderr),
      /^palisade: AUDIT_VERIFY_FAILED: .*first bad index 0: entry 0 was altered/,
    );

    const database = openDatabase({ dataDir });
    try {
      await dropAppendOnlyTriggers(database);
      await sql`update tlog_entry set data = ${Buffer.from('{"forged":true}')} where idx = 2`.execute(
        database.kysely,
      );
      const rows = await database.kysely
        .withTables<TlogTables>()
        .selectFrom('tlog_entry')
        .select('idx')
        .execute();
      assert.ok(rows.length >= 4);
    } finally {
      await database.close();
    }
    const db = runCli(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(db.status, 1);
    assert.match(
      oneLineError(db.stderr),
      /^palisade: AUDIT_VERIFY_FAILED: the log in the database: first bad index 2: entry 2 was altered/,
    );

    const missing = runCli(['audit', 'verify', path.join(dir, 'nothing-here')]);
    assert.equal(missing.status, 1);
    assert.match(oneLineError(missing.stderr), /^palisade: AUDIT_EXPORT_UNREADABLE: /);
  });

  it('--help on every audit command; usage errors exit 2', () => {
    for (const command of ['export', 'verify', 'checkpoint', 'proof']) {
      const r = runCli(['audit', command, '--help']);
      assert.equal(r.status, 0);
      assert.match(r.stdout, /Usage: palisade audit/);
      assert.ok(
        r.stdout.includes('--config') && r.stdout.includes('--data-dir'),
        `${command} takes --config and --data-dir`,
      );
    }
    const dataDir = path.join(tempDir(), 'data');
    assert.equal(runCli(['audit', 'export', '--data-dir', dataDir]).status, 2, '--out is required');
    assert.equal(runCli(['audit', 'proof', '--data-dir', dataDir]).status, 2);
    assert.equal(runCli(['audit', 'proof', '--data-dir', dataDir, '--index', 'x']).status, 2);
    assert.equal(runCli(['audit', 'proof', '--data-dir', dataDir, '--from', '1']).status, 2);
  });
});
