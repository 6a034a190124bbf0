#!/usr/bin/env node
// Entry point installed as the `palisade` command. The TypeScript sources are compiled to dist/ by
// `npm run build` (run automatically by `npm start` and `npm test`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/index.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('palisade: NOT_BUILT: run `npm run build` first (dist/ is missing)\n');
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
// serve/demo keep running until a signal; every other command exits with its code.
if (code !== 0 || !['serve', 'demo'].includes(process.argv[2] ?? '')) process.exitCode = code;
