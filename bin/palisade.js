#!/usr/bin/env -S node --initial-old-space-size=64 --max-semi-space-size=4
// Entry point installed as the `palisade` command (`npm start` runs it too). The TypeScript sources
// are compiled to dist/ by `npm run build` (run automatically by `npm start` and `npm test`).
// The flags suit the recorder, whose live heap is small (~30 MB) while ciphertext passes through
// memory outside the heap at the cameras' bitrate (docs/benchmarks.md, recording):
// --initial-old-space-size=64: with V8's default limits the small heap was fully collected about
// once a second.
// --max-semi-space-size=4: V8 collects the young generation once its buffers outside the heap
// reach twice the semi-space; with 4 MB (default 16) dead ciphertext waits in memory for 8 MB
// instead of 32 MB: at 40 cameras 2.1–2.4 MiB per camera instead of 2.3–3.4.
// Run without them (`node bin/palisade.js`) everything works the same, at a higher cost.
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
