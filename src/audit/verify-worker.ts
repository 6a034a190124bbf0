import { parentPort, workerData } from 'node:worker_threads';
import { hashLeaf, parseEntryLine, recordedHash, type EntryLine } from './entry-line.js';
import { latin1Hasher, RangeBuilder, type Subtree } from './merkle.js';

/**
 * A verification worker: checks one chunk of entries.jsonl on its own (structure, consecutive indices,
 * every leaf against its recorded hash) and summarises its leaves as complete subtrees, plus the summary
 * at each checkpoint size inside the chunk. Anything unusual is reported as not ok, and the main thread
 * re-reads that part entry by entry to say exactly what is wrong.
 */
export interface ChunkJob {
  id: number;
  data: SharedArrayBuffer;
  length: number;
}

export type ChunkResult =
  | { id: number; ok: false }
  | {
      id: number;
      ok: true;
      first: number;
      count: number;
      subtrees: Subtree<string>[];
      prefixes: { size: number; subtrees: Subtree<string>[] }[];
    };

function firstCheckpointAbove(checkpointSizes: Float64Array, size: number): number {
  let lo = 0;
  let hi = checkpointSizes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (checkpointSizes[mid]! <= size) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Checks one chunk; `checkpointSizes` sorted ascending. Exported for measurement and tests. */
export function verifyChunk(job: ChunkJob, checkpointSizes: Float64Array): ChunkResult {
  const buf = Buffer.from(job.data, 0, job.length);
  const line: EntryLine = { index: 0, leafStart: 0, leafEnd: 0, hexAt: -1 };
  const notOk = { id: job.id, ok: false } as const;
  let builder: RangeBuilder<string> | undefined;
  let first = 0;
  let next = 0;
  const prefixes: { size: number; subtrees: Subtree<string>[] }[] = [];
  for (let start = 0; start < job.length;) {
    const nl = buf.indexOf(10, start);
    if (nl < 0) return notOk;
    if (parseEntryLine(buf, start, nl, line) !== undefined) return notOk;
    if (!builder) {
      first = line.index;
      builder = new RangeBuilder(first, latin1Hasher);
      next = firstCheckpointAbove(checkpointSizes, first);
    } else if (line.index !== builder.end) {
      return notOk;
    }
    const actual = hashLeaf(buf, line);
    if (recordedHash(buf, line, actual) !== actual) return notOk;
    builder.append(actual);
    while (checkpointSizes[next] === builder.end) {
      prefixes.push({ size: builder.end, subtrees: builder.subtrees() });
      next++;
    }
    start = nl + 1;
  }
  if (!builder) return notOk;
  return { id: job.id, ok: true, first, count: builder.end - first, subtrees: builder.subtrees(), prefixes };
}

if (parentPort) {
  // Sorted checkpoint sizes, shared by the main thread once.
  const sizes = new Float64Array((workerData as { checkpoints: SharedArrayBuffer }).checkpoints);
  parentPort.on('message', (job: ChunkJob) => {
    parentPort?.postMessage(verifyChunk(job, sizes));
  });
}
