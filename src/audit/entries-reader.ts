import { availableParallelism } from 'node:os';
import { open, type FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { PalisadeError, describeError } from '../errors/index.js';
import { hashLeaf, parseEntryLine, recordedHash, type EntryLine } from './entry-line.js';
import type { ChunkJob, ChunkResult } from './verify-worker.js';
import type { TreeVerifier, VerifyFailure } from './verify.js';

/**
 * Feeds an export's entries.jsonl to the tree verifier. Verifying a year of audit log should take
 * seconds: on large files, worker threads each check a chunk on their own and summarise it as a few
 * subtree hashes that this thread merges in order. Whenever a chunk is not perfectly in order (a
 * malformed line, a gap, a leaf that differs from its recorded hash, a checkpoint that does not match),
 * the rest is read here entry by entry, so that the report names the first bad entry exactly.
 */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;
const CHUNK_BYTES = 4 * 1024 * 1024;
/** Below this, workers cost more to start than they save. */
const PARALLEL_FROM_BYTES = 16 * 1024 * 1024;
const PROGRESS_EVERY = 1 << 16;

export type Progress = (done: number, total: number) => void;

export interface EntriesSource {
  file: string;
  /** The file's name in messages. */
  label: string;
  /** Entries the manifest announces (for progress). */
  total: number;
}

export async function readEntries(
  source: EntriesSource,
  verifier: TreeVerifier,
  checkpointSizes: readonly number[],
  onProgress?: Progress,
): Promise<VerifyFailure | undefined> {
  let handle: FileHandle;
  let size: number;
  try {
    handle = await open(source.file, 'r');
    size = (await handle.stat()).size;
  } catch (err) {
    throw new PalisadeError('AUDIT_EXPORT_UNREADABLE', `cannot read ${source.file}: ${describeError(err)}`, {
      cause: err,
    });
  }
  try {
    const workers = Math.min(8, availableParallelism());
    let from = 0;
    if (size >= PARALLEL_FROM_BYTES && workers > 1) {
      from = await readParallel(handle, size, workers, verifier, checkpointSizes, source, onProgress);
    }
    return await readSequential(handle, from, verifier, source, onProgress);
  } finally {
    await handle.close();
  }
}

interface Chunk {
  offset: number;
  length: number;
  data: SharedArrayBuffer;
  result: Promise<ChunkResult>;
}

/**
 * The fast path. Returns the file offset up to which every entry was verified and merged; the caller
 * reads the rest (normally nothing) entry by entry.
 */
async function readParallel(
  handle: FileHandle,
  size: number,
  count: number,
  verifier: TreeVerifier,
  checkpointSizes: readonly number[],
  source: EntriesSource,
  onProgress?: Progress,
): Promise<number> {
  const sizes = new SharedArrayBuffer(8 * checkpointSizes.length);
  new Float64Array(sizes).set(checkpointSizes);
  const workers = Array.from(
    { length: count },
    () => new Worker(new URL('./verify-worker.js', import.meta.url), { workerData: { checkpoints: sizes } }),
  );
  const waiting = new Map<number, (result: ChunkResult) => void>();
  const failed = new Promise<never>((_resolve, reject) => {
    for (const w of workers) {
      w.on('message', (result: ChunkResult) => {
        waiting.get(result.id)?.(result);
        waiting.delete(result.id);
      });
      w.on('error', reject);
    }
  });
  failed.catch(() => undefined);
  const free: SharedArrayBuffer[] = [];
  const inFlight: Chunk[] = [];
  let nextId = 0;
  let offset = 0;
  let merged = 0;
  let lastProgress = 0;
  try {
    for (;;) {
      // Keep every worker busy with up to two chunks.
      while (inFlight.length < 2 * count && offset < size) {
        const data = free.pop() ?? new SharedArrayBuffer(CHUNK_BYTES);
        const buf = Buffer.from(data);
        const { bytesRead } = await handle.read(buf, 0, Math.min(CHUNK_BYTES, size - offset), offset);
        const end = bytesRead > 0 ? buf.lastIndexOf(10, bytesRead - 1) + 1 : 0;
        // A line longer than a chunk, or an unterminated last line: the careful path reports it.
        if (end === 0) break;
        const id = nextId++;
        const worker = workers[id % count]!;
        const result = new Promise<ChunkResult>((resolve) => waiting.set(id, resolve));
        const job: ChunkJob = { id, data, length: end };
        worker.postMessage(job);
        inFlight.push({ offset, length: end, data, result });
        offset += end;
      }
      const chunk = inFlight.shift();
      if (!chunk) return merged;
      const result = await Promise.race([chunk.result, failed]);
      if (
        !result.ok ||
        result.first !== verifier.size ||
        !verifier.addVerifiedRange(result.count, result.subtrees, result.prefixes)
      ) {
        return merged;
      }
      merged = chunk.offset + chunk.length;
      free.push(chunk.data);
      if (verifier.size - lastProgress >= PROGRESS_EVERY) {
        lastProgress = verifier.size;
        onProgress?.(verifier.size, source.total);
      }
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The careful path: entry by entry from `offset`, exact about the first thing that is wrong. */
async function readSequential(
  handle: FileHandle,
  offset: number,
  verifier: TreeVerifier,
  source: EntriesSource,
  onProgress?: Progress,
): Promise<VerifyFailure | undefined> {
  const buf = Buffer.allocUnsafe(MAX_LINE_BYTES + CHUNK_BYTES);
  const line: EntryLine = { index: 0, leafStart: 0, leafEnd: 0, hexAt: -1 };
  // Every line before `offset` was one verified entry.
  let lineNo = verifier.size;
  let position = offset;
  let have = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buf, have, Math.min(CHUNK_BYTES, buf.length - have), position);
    position += bytesRead;
    have += bytesRead;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0 && nl < have; nl = buf.indexOf(10, start)) {
      lineNo++;
      if (nl - start > MAX_LINE_BYTES) {
        return verifier.unreadable(`${source.label} line ${lineNo} is longer than ${MAX_LINE_BYTES} bytes`);
      }
      const why = parseEntryLine(buf, start, nl, line);
      if (why !== undefined)
        return verifier.unreadable(`${source.label} line ${lineNo} is malformed (${why})`);
      const actual = hashLeaf(buf, line);
      const recorded = recordedHash(buf, line, actual);
      if (recorded === undefined) {
        return verifier.unreadable(
          `${source.label} line ${lineNo} is malformed (leafHash is not 64 lower-case hex digits)`,
        );
      }
      const failure = verifier.add(line.index, actual, recorded);
      if (failure) return failure;
      if (verifier.size % PROGRESS_EVERY === 0) onProgress?.(verifier.size, source.total);
      start = nl + 1;
    }
    if (bytesRead === 0) {
      onProgress?.(verifier.size, source.total);
      return have > start
        ? verifier.unreadable(`${source.label} ends in the middle of line ${lineNo + 1} (truncated)`)
        : undefined;
    }
    if (have - start > MAX_LINE_BYTES) {
      return verifier.unreadable(`${source.label} line ${lineNo + 1} is longer than ${MAX_LINE_BYTES} bytes`);
    }
    buf.copy(buf, 0, start, have);
    have -= start;
  }
}
