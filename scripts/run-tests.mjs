#!/usr/bin/env node
// Runs the compiled test files (dist/**/*.test.js) with Node's test runner.
// Usage: npm test [-- <substring filter>...]   e.g. `npm test -- audit` runs files whose path contains "audit".
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', 'dist');
const filters = process.argv.slice(2);

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.name.endsWith('.test.js')) yield full;
  }
}

const files = [...walk(root)]
  .filter((f) => filters.length === 0 || filters.some((s) => path.relative(root, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
console.log(
  `running ${files.length} test files; PostgreSQL: ${process.env.PG_TEST_URL ? 'on' : 'off (set PG_TEST_URL)'}`,
);
const concurrency = process.env.PALISADE_TEST_CONCURRENCY ?? '3';
const r = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
