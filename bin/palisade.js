#!/usr/bin/env -S node --initial-old-space-size=64
// Entry point installed as the `palisade` command. The TypeScript sources are compiled to dist/ by
// `npm run build` (run automatically by `npm start` and `npm test`).
// --initial-old-space-size=64: the recorder's live heap is small (~30 MB) while it turns over a lot of
// short-lived memory, and with V8's default limits that starts a full collection about once a second;
// starting the old generation at 64 MB removes most of them (docs/benchmarks.md, recording). Run
// without the flag (`node bin/palisade.js`) everything works the same, at a higher CPU cost.
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
