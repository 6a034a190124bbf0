import { createHash } from 'node:crypto';
import { isPalisadeError } from '../errors/index.js';
import type { Keyring } from '../keys/index.js';
import type { Logger } from '../log/index.js';
import { Fmp4File } from '../media/index.js';
import type { BlobStore } from '../storage/index.js';
import { recoverableEnd } from './boxes.js';
import type { VideoIntegrityLog } from './integrity.js';
import type { Segment, SegmentIndex } from './segment-index.js';
import { commitSegment, discardSegment } from './segment-writer.js';

export interface RecoveryDeps {
  keyring: Keyring;
  store: BlobStore;
  index: SegmentIndex;
  integrity: VideoIntegrityLog;
  logger?: Logger;
}

export interface RecoveryReport {
  /** Segments ended after their last whole fragment and indexed. */
  finalized: { id: string; cameraId: string; frames: number; endMs: number; droppedBytes: number }[];
  /** Segments with nothing worth keeping: removed, data key destroyed. */
  discarded: { id: string; cameraId: string; reason: string }[];
  /** Pending blobs that belonged to no open segment, removed. */
  orphans: string[];
}

/** Where a sealed object is read from during recovery: a pending blob or a committed one. */
interface Readable {
  size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

const RECORD_OVERHEAD = 25;

/**
 * Startup recovery: every segment still `open` in the index belonged to a recorder that stopped
 * without finishing it (SIGKILL, power loss, a full disk). Each one is decrypted front to back up to
 * the first record that is missing or torn; the plaintext is cut after the last whole fragment (which
 * the writer padded to a chunk boundary), the file is cut after that chunk's record, an empty final
 * record is appended, and the segment is committed and indexed like any other (flagged `recovered`).
 * A segment without one whole fragment is discarded. Pending blobs no open segment claims are removed.
 */
export async function recoverSegments(deps: RecoveryDeps): Promise<RecoveryReport> {
  const report: RecoveryReport = { finalized: [], discarded: [], orphans: [] };
  const open = await deps.index.byState('open');
  const claimed = new Set(open.map((s) => s.blobKey));
  for (const segment of open) {
    try {
      const r = await recoverOne(deps, segment);
      if (r.kind === 'finalized') report.finalized.push(r.result);
      else report.discarded.push({ id: segment.id, cameraId: segment.cameraId, reason: r.reason });
    } catch (err) {
      // Storage still full, say: leave it open for the next attempt; never throw away video on a guess.
      deps.logger?.error({ err, segment: segment.id }, 'segment recovery failed; will retry');
    }
  }
  for (const key of await deps.store.pending()) {
    if (claimed.has(key)) continue;
    const w = await deps.store.resume(key);
    await w.abort();
    report.orphans.push(key);
  }
  return report;
}

type Outcome =
  { kind: 'finalized'; result: RecoveryReport['finalized'][number] } | { kind: 'discarded'; reason: string };

async function recoverOne(deps: RecoveryDeps, segment: Segment): Promise<Outcome> {
  const pendingKeys = new Set(await deps.store.pending());
  if (!pendingKeys.has(segment.blobKey)) {
    // Either the commit's rename happened and the index update did not, or nothing was written.
    const info = await deps.store.stat(segment.blobKey);
    if (!info) {
      await discardSegment(deps, segment.id, 'no-data');
      return { kind: 'discarded', reason: 'no-data' };
    }
    const src = await deps.store.open(segment.blobKey);
    try {
      const { plaintext, complete } = await decryptPrefix(deps.keyring, segment, src);
      if (!complete) {
        // A committed blob is complete by construction; anything else was damaged after the fact.
        throw new Error(`committed segment ${segment.id} does not open completely; run palisade check`);
      }
      return {
        kind: 'finalized',
        result: await index(deps, segment, plaintext, plaintext.length, await hashOf(src), src.size, 0),
      };
    } finally {
      await src.close();
    }
  }
  const writer = await deps.store.resume(segment.blobKey);
  try {
    const { plaintext, complete } = await decryptPrefix(deps.keyring, segment, writer);
    const keep = complete ? plaintext.length : recoverableEnd(plaintext, segment.chunkSize);
    if (
      keep === 0 ||
      (complete && recoverableEnd(plaintext, segment.chunkSize) === 0 && !hasFragment(plaintext))
    ) {
      await writer.abort();
      await discardSegment(deps, segment.id, 'no-whole-fragment');
      return { kind: 'discarded', reason: 'no-whole-fragment' };
    }
    const before = writer.size;
    if (!complete) {
      const end = await deps.keyring.endInterruptedObject({
        objectId: segment.id,
        cameraId: segment.cameraId,
        source: writer,
        fullChunks: keep / segment.chunkSize,
      });
      await writer.truncate(end.keepBytes);
      await writer.append([end.finalRecord]);
    }
    const sha256 = await hashOf(writer);
    const size = writer.size;
    await writer.commit();
    return {
      kind: 'finalized',
      result: await index(deps, segment, plaintext, keep, sha256, size, Math.max(0, before - size)),
    };
  } catch (err) {
    await writer.close().catch(() => undefined);
    throw err;
  }
}

function hasFragment(plaintext: Buffer): boolean {
  try {
    return Fmp4File.parse(plaintext).fragments.length > 0;
  } catch {
    return false;
  }
}

/**
 * Decrypts records front to back, one record per step, stopping at the first one that is missing,
 * torn or does not authenticate. `complete` when the final record was reached and nothing follows.
 */
async function decryptPrefix(
  keyring: Keyring,
  segment: Segment,
  source: Readable,
): Promise<{ plaintext: Buffer; complete: boolean }> {
  const pieces: Buffer[] = [];
  let complete = false;
  if (source.size < 8) return { plaintext: Buffer.alloc(0), complete: false };
  const headerBytes = (await source.read(6, 2)).readUInt16BE(0);
  const recordBytes = segment.chunkSize + RECORD_OVERHEAD;
  async function* records(): AsyncGenerator<Buffer> {
    yield await source.read(0, headerBytes);
    for (let off = headerBytes; off < source.size; off += recordBytes) {
      yield await source.read(off, Math.min(recordBytes, source.size - off));
    }
  }
  try {
    for await (const plain of keyring.openObjectStream(
      { objectId: segment.id, cameraId: segment.cameraId },
      records(),
    )) {
      pieces.push(plain);
    }
    complete = true;
  } catch (err) {
    if (!isPalisadeError(err) || !err.code.startsWith('SEGMENT_')) throw err;
    if (
      err.code === 'SEGMENT_WRONG_KEY' ||
      err.code === 'SEGMENT_WRONG_OBJECT' ||
      err.code === 'SEGMENT_WRONG_CAMERA'
    )
      throw err;
  }
  return { plaintext: Buffer.concat(pieces), complete };
}

async function hashOf(source: Readable): Promise<string> {
  const h = createHash('sha256');
  const step = 1024 * 1024;
  for (let off = 0; off < source.size; off += step)
    h.update(await source.read(off, Math.min(step, source.size - off)));
  return h.digest('hex');
}

async function index(
  deps: RecoveryDeps,
  segment: Segment,
  plaintext: Buffer,
  keep: number,
  sha256: string,
  sealedBytes: number,
  droppedBytes: number,
): Promise<RecoveryReport['finalized'][number]> {
  const file = Fmp4File.parse(plaintext.subarray(0, keep));
  let frames = 0;
  let mediaEnd = segment.mediaStart;
  const keyFrames: [number, number][] = [];
  for (const f of file.fragments) {
    frames += f.samples.length;
    const end = f.startTime + f.duration;
    if (end > mediaEnd) mediaEnd = end;
    if (f.samples[0]?.key) keyFrames.push([f.startTime - segment.mediaStart, f.offset]);
  }
  const endMs = segment.startMs + Math.round((mediaEnd - segment.mediaStart) / 90);
  await commitSegment(deps, {
    id: segment.id,
    cameraId: segment.cameraId,
    startMs: segment.startMs,
    endMs,
    sha256,
    sealedBytes,
    recovered: true,
    update: {
      end_ms: endMs,
      media_end: mediaEnd,
      frames,
      fragments: file.fragments.length,
      key_frames: JSON.stringify(keyFrames),
      plaintext_bytes: keep,
    },
  });
  return { id: segment.id, cameraId: segment.cameraId, frames, endMs, droppedBytes };
}
