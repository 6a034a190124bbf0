import { createHash, randomBytes, type Hash } from 'node:crypto';
import type { Keyring, ObjectSealer } from '../keys/index.js';
import type { VideoInfo } from '../media/index.js';
import type { BlobStore, BlobWriter } from '../storage/index.js';
import { freeBox, paddingFor } from './boxes.js';
import type { IntegrityLeaf, VideoIntegrityLog } from './integrity.js';
import type { SegmentIndex } from './segment-index.js';
import type { RecordingTables } from './tables.js';

/** A fragment as the fragmenter emits it (media/'s `Fmp4Output` of kind `fragment`). */
export interface FragmentIn {
  /** The fragment's bytes in order, as the fragmenter gives them: moof with the mdat header, then the mdat body. */
  parts: readonly Buffer[];
  /** 90 kHz, relative to the session's time origin. */
  startTime: number;
  duration: number;
  key: boolean;
  sampleCount: number;
}

export interface SegmentWriterDeps {
  keyring: Keyring;
  store: BlobStore;
  index: SegmentIndex;
  integrity: VideoIntegrityLog;
  chunkSize: number;
  fsyncIntervalMs: number;
}

export interface FinishedSegment {
  id: string;
  cameraId: string;
  startMs: number;
  endMs: number;
  frames: number;
  sealedBytes: number;
  integrityIndex: number;
}

const ZEROS = Buffer.alloc(64 * 1024);

export function segmentBlobKey(cameraId: string, id: string, startMs: number): string {
  const day = new Date(startMs).toISOString().slice(0, 10);
  return `cameras/${cameraId}/${day}/${id}.pseg`;
}

/**
 * Writes one segment: fMP4 (init + fragments) sealed while it is written, never plaintext on disk.
 * After every fragment the plaintext is padded with a `free` box to a chunk boundary, so the sealer
 * has emitted every byte of it as full records: a crash loses at most the fragment being assembled,
 * and recovery ends the file after the last whole fragment (recovery.ts). The index row exists
 * (state `open`) before the first byte is written, and is completed together with the segment's
 * leaf in the video integrity log after the blob is committed (fsync + rename + directory fsync).
 */
export class SegmentWriter {
  readonly id: string;
  readonly startMs: number;
  readonly mediaStart: number;
  #frames = 0;
  #fragments = 0;
  #plaintext = 0;
  #mediaEnd: number;
  #keyFrames: [number, number][] = [];
  #lastSync = Date.now();
  #hash: Hash = createHash('sha256');
  /** Set when an append failed: the sealer is ahead of the file, so the segment can only be ended. */
  #broken = false;
  #init: Buffer | undefined;

  private constructor(
    private readonly deps: SegmentWriterDeps,
    readonly cameraId: string,
    readonly zoneId: string,
    id: string,
    startMs: number,
    mediaStart: number,
    private readonly sealer: ObjectSealer,
    private readonly writer: BlobWriter,
    init: Buffer,
  ) {
    this.id = id;
    this.startMs = startMs;
    this.mediaStart = mediaStart;
    this.#mediaEnd = mediaStart;
    this.#init = init;
  }

  static async start(
    deps: SegmentWriterDeps,
    options: {
      cameraId: string;
      zoneId: string;
      startMs: number;
      mediaStart: number;
      init: Buffer;
      video: VideoInfo;
    },
  ): Promise<SegmentWriter> {
    const startMs = Math.round(options.startMs);
    const id = `${options.cameraId}_${startMs}_${randomBytes(4).toString('hex')}`;
    const blobKey = segmentBlobKey(options.cameraId, id, startMs);
    const kek = await deps.keyring.ensureKek(options.zoneId);
    const row: RecordingTables['recording_segment'] = {
      id,
      camera_id: options.cameraId,
      zone_id: options.zoneId,
      state: 'open',
      blob_key: blobKey,
      start_ms: startMs,
      end_ms: null,
      media_start: options.mediaStart,
      media_end: null,
      frames: null,
      fragments: null,
      key_frames: null,
      codec: options.video.codecString,
      width: options.video.width,
      height: options.video.height,
      plaintext_bytes: null,
      sealed_bytes: null,
      sha256: null,
      kek_id: options.zoneId,
      kek_version: kek.version,
      chunk_size: deps.chunkSize,
      integrity_index: null,
      recovered: 0,
      created_at: new Date().toISOString(),
      finalized_at: null,
      deleted_at: null,
      deleted_reason: null,
    };
    // The row first: after a crash, recovery finds every segment that may have bytes on disk.
    await deps.index.insertOpen(row);
    const sealer = await deps.keyring.createSealer({
      objectId: id,
      cameraId: options.cameraId,
      kekId: options.zoneId,
      chunkSize: deps.chunkSize,
    });
    const writer = await deps.store.create(blobKey);
    return new SegmentWriter(
      deps,
      options.cameraId,
      options.zoneId,
      id,
      startMs,
      options.mediaStart,
      sealer,
      writer,
      options.init,
    );
  }

  get frames(): number {
    return this.#frames;
  }

  get fragments(): number {
    return this.#fragments;
  }

  /** Media time covered so far (90 kHz). */
  get mediaDuration(): number {
    return this.#mediaEnd - this.mediaStart;
  }

  get sealedBytes(): number {
    return this.writer.size;
  }

  /** Seals and writes one fragment (the first call also writes the init segment). */
  async append(fragment: FragmentIn): Promise<void> {
    if (this.#broken) throw new Error('segment writer is broken; end it');
    const init = this.#init;
    const fragmentOffset = this.#plaintext + (init?.length ?? 0);
    let bytes = fragmentOffset - this.#plaintext;
    for (const p of fragment.parts) bytes += p.length;
    const pad = paddingFor(this.#plaintext + bytes, this.deps.chunkSize);
    bytes += pad;
    // The pieces go to the sealer as they are (not joined first): it seals whole chunks straight from
    // the mdat body and copies only the ends into its chunk buffer, so sealing allocates nothing
    // video-sized but the ciphertext.
    const sealed: Buffer[] = [];
    try {
      if (init) this.sealer.updateInto(init, sealed);
      for (const p of fragment.parts) this.sealer.updateInto(p, sealed);
      if (pad > 0) for (const p of freeBox(pad, ZEROS)) this.sealer.updateInto(p, sealed);
      await this.writer.append(sealed);
    } catch (err) {
      this.#broken = true;
      throw err;
    }
    for (const s of sealed) this.#hash.update(s);
    this.#init = undefined;
    this.#plaintext += bytes;
    if (fragment.key) this.#keyFrames.push([fragment.startTime - this.mediaStart, fragmentOffset]);
    this.#frames += fragment.sampleCount;
    this.#fragments++;
    this.#mediaEnd = fragment.startTime + fragment.duration;
    const now = Date.now();
    if (now - this.#lastSync >= this.deps.fsyncIntervalMs) {
      await this.writer.sync();
      this.#lastSync = Date.now();
    }
  }

  /**
   * Ends the segment: final record, commit, index row and integrity leaf. After a failed append the
   * object is ended after its last whole fragment instead (as crash recovery would). Returns undefined
   * when nothing was recorded (the segment is discarded). A failure here leaves the segment `open`
   * with its pending blob: recovery finishes it at the next start or once storage is back.
   */
  async finish(): Promise<FinishedSegment | undefined> {
    if (this.#fragments === 0) {
      await this.discard('empty');
      return undefined;
    }
    let tail: Buffer[];
    if (this.#broken) {
      const source = { size: this.writer.size, read: (o: number, l: number) => this.writer.read(o, l) };
      const end = await this.deps.keyring.endInterruptedObject({
        objectId: this.id,
        cameraId: this.cameraId,
        source,
        fullChunks: this.#plaintext / this.deps.chunkSize,
      });
      tail = [end.finalRecord];
    } else {
      tail = this.sealer.final();
    }
    try {
      await this.writer.append(tail);
      for (const t of tail) this.#hash.update(t);
      await this.writer.commit();
    } catch (err) {
      await this.writer.close().catch(() => undefined);
      throw err;
    }
    const endMs = this.startMs + Math.round((this.#mediaEnd - this.mediaStart) / 90);
    const sealedBytes = this.writer.size;
    const sha256 = this.#hash.digest('hex');
    const integrityIndex = await commitSegment(this.deps, {
      id: this.id,
      cameraId: this.cameraId,
      startMs: this.startMs,
      endMs,
      sha256,
      sealedBytes,
      update: {
        end_ms: endMs,
        media_end: this.#mediaEnd,
        frames: this.#frames,
        fragments: this.#fragments,
        key_frames: JSON.stringify(this.#keyFrames),
        plaintext_bytes: this.#plaintext,
      },
    });
    return {
      id: this.id,
      cameraId: this.cameraId,
      startMs: this.startMs,
      endMs,
      frames: this.#frames,
      sealedBytes,
      integrityIndex,
    };
  }

  /** Drops the segment: pending bytes removed, data key destroyed, row marked discarded. */
  async discard(reason: string): Promise<void> {
    await this.writer.abort().catch(() => undefined);
    await discardSegment(this.deps, this.id, reason);
  }
}

/** Completes a segment's index row and appends its integrity leaf, in one transaction. */
export async function commitSegment(
  deps: Pick<SegmentWriterDeps, 'integrity'>,
  s: {
    id: string;
    cameraId: string;
    startMs: number;
    endMs: number;
    sha256: string;
    sealedBytes: number;
    recovered?: boolean;
    update: Partial<RecordingTables['recording_segment']>;
  },
): Promise<number> {
  const leaf: IntegrityLeaf = {
    v: 1,
    camera: s.cameraId,
    segment: s.id,
    start: new Date(s.startMs).toISOString(),
    end: new Date(s.endMs).toISOString(),
    sha256: s.sha256,
    size: s.sealedBytes,
  };
  return deps.integrity.append(leaf, {
    segmentId: s.id,
    update: {
      ...s.update,
      state: 'complete',
      sealed_bytes: s.sealedBytes,
      sha256: s.sha256,
      finalized_at: new Date().toISOString(),
      ...(s.recovered ? { recovered: 1 } : {}),
    },
  });
}

export async function discardSegment(
  deps: Pick<SegmentWriterDeps, 'keyring' | 'index'>,
  id: string,
  reason: string,
): Promise<void> {
  await deps.keyring.destroyDataKeys([id]).catch(() => undefined);
  await deps.index.markRemoved([id], 'discarded', reason);
}
