import { createCipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { keyError } from './errors.js';
import {
  DEFAULT_CHUNK_SIZE,
  FLAG_FINAL,
  MAX_CHUNKS,
  NONCE_PREFIX_BYTES,
  RECORD_HEADER_BYTES,
  TAG_BYTES,
  chunkNonce,
  deriveSegmentKeys,
  encodeHeader,
  headerDigest,
  type SegmentHeader,
  type SegmentKeys,
} from './segment-format.js';

export interface SealOptions {
  objectId: string;
  /** The camera the object was recorded from; empty for objects that have none (exports, secrets). */
  cameraId?: string;
  /** Power of two, 4 KiB to 4 MiB; default 256 KiB. */
  chunkSize?: number;
}

export interface SealStats {
  plaintextBytes: number;
  sealedBytes: number;
  chunks: number;
}

/**
 * Seals one object incrementally: feed plaintext of any size with `update`, then call `final`; each
 * returns the sealed bytes ready to be written, in order (the first call also returns the header).
 * Memory stays at one chunk whatever the object size. The data key is turned into subkeys at
 * construction and may be wiped by the caller right after.
 */
export class SegmentSealer {
  readonly header: Buffer;
  readonly #keys: SegmentKeys;
  readonly #prefix: Buffer;
  readonly #aad: Buffer;
  readonly #nonce: Buffer;
  readonly #chunkSize: number;
  readonly #pending: Buffer;
  #fill = 0;
  #index = 0;
  #headerSent = false;
  #finished = false;
  readonly #stats: SealStats = { plaintextBytes: 0, sealedBytes: 0, chunks: 0 };

  constructor(dek: Uint8Array, options: SealOptions) {
    this.#chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.#keys = deriveSegmentKeys(dek);
    this.#prefix = randomBytes(NONCE_PREFIX_BYTES);
    this.header = encodeHeader(this.#keys, {
      chunkSize: this.#chunkSize,
      noncePrefix: this.#prefix,
      objectId: options.objectId,
      cameraId: options.cameraId ?? '',
    });
    this.#aad = Buffer.alloc(32 + RECORD_HEADER_BYTES);
    headerDigest(this.header).copy(this.#aad, 0);
    this.#nonce = chunkNonce(this.#prefix, 0, 0);
    this.#pending = Buffer.allocUnsafe(this.#chunkSize);
  }

  get chunkSize(): number {
    return this.#chunkSize;
  }

  get finished(): boolean {
    return this.#finished;
  }

  get stats(): Readonly<SealStats> {
    return this.#stats;
  }

  update(data: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    this.updateInto(data, out);
    return out;
  }

  /**
   * `update` that appends the sealed pieces to `out`: a caller feeding many small pieces (a video
   * fragment's NAL units) collects one list instead of one per piece.
   */
  updateInto(data: Uint8Array, out: Buffer[]): void {
    if (this.#finished) throw new Error('the sealer is finished');
    this.#start(out);
    const size = this.#chunkSize;
    const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.#stats.plaintextBytes += input.length;
    let off = 0;
    if (this.#fill > 0) {
      const take = Math.min(size - this.#fill, input.length);
      input.copy(this.#pending, this.#fill, 0, take);
      this.#fill += take;
      off = take;
      if (this.#fill === size) {
        this.#record(this.#pending, 0, out);
        this.#fill = 0;
      }
    }
    // Whole chunks straight from the input, without copying. A chunk is never known to be the last
    // until the input ends, so these are all non-final; an object whose size is a multiple of the
    // chunk size ends with an empty final chunk.
    while (input.length - off >= size) {
      this.#record(input.subarray(off, off + size), 0, out);
      off += size;
    }
    if (off < input.length) {
      input.copy(this.#pending, this.#fill, off);
      this.#fill += input.length - off;
    }
  }

  final(): Buffer[] {
    if (this.#finished) throw new Error('the sealer is finished');
    const out: Buffer[] = [];
    this.#start(out);
    this.#record(this.#pending.subarray(0, this.#fill), FLAG_FINAL, out);
    this.#finished = true;
    this.#pending.fill(0);
    this.#fill = 0;
    return out;
  }

  #start(out: Buffer[]): void {
    if (this.#headerSent) return;
    this.#headerSent = true;
    this.#stats.sealedBytes += this.header.length;
    out.push(this.header);
  }

  #record(plain: Buffer, flags: number, out: Buffer[]): void {
    if (this.#index >= MAX_CHUNKS) {
      throw keyError('SEGMENT_RANGE_INVALID', `an object holds at most ${MAX_CHUNKS} chunks`);
    }
    const head = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
    head.writeUInt32BE(this.#index, 0);
    head[4] = flags;
    head.writeUInt32BE(plain.length, 5);
    head.copy(this.#aad, 32);
    // The nonce buffer is reused: createCipheriv copies it.
    this.#nonce.writeUInt32BE(this.#index, NONCE_PREFIX_BYTES);
    this.#nonce[11] = flags;
    const cipher = createCipheriv('aes-256-gcm', this.#keys.enc, this.#nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.#aad);
    const body = cipher.update(plain);
    cipher.final();
    out.push(head, body, cipher.getAuthTag());
    this.#index += 1;
    this.#stats.chunks += 1;
    this.#stats.sealedBytes += RECORD_HEADER_BYTES + body.length + TAG_BYTES;
  }
}

/**
 * Seals an async (or sync) iterable of plaintext pieces, yielding sealed bytes as it goes; the whole
 * object is never in memory. `stats` is complete once the generator is done.
 */
export async function* sealSegment(
  dek: Uint8Array,
  options: SealOptions,
  plaintext: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  onDone?: (stats: Readonly<SealStats>) => void,
): AsyncGenerator<Buffer> {
  const sealer = new SegmentSealer(dek, options);
  for await (const piece of plaintext) yield* sealer.update(piece);
  yield* sealer.final();
  onDone?.(sealer.stats);
}

/** A sealer as a Node Transform stream: plaintext in, sealed bytes out. */
export class SealStream extends Transform {
  constructor(readonly sealer: SegmentSealer) {
    super({ readableHighWaterMark: 4 * sealer.chunkSize });
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      for (const b of this.sealer.update(chunk)) this.push(b);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }
  override _flush(callback: TransformCallback): void {
    try {
      for (const b of this.sealer.final()) this.push(b);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }
}

/**
 * The final record that ends an object after `index` full records, carrying no plaintext: what crash
 * recovery appends to an object whose sealer stopped before `final()` (see "Ending an interrupted
 * object" in docs/formats/segment-encryption.md). Deterministic (empty plaintext under the nonce of a
 * final record at `index`, which no sealer used before), so writing it twice reveals nothing.
 */
export function emptyFinalRecord(header: SegmentHeader, keys: SegmentKeys, index: number): Buffer {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_CHUNKS) {
    throw keyError('SEGMENT_RANGE_INVALID', `no final record can have index ${index}`);
  }
  const head = Buffer.alloc(RECORD_HEADER_BYTES);
  head.writeUInt32BE(index, 0);
  head[4] = FLAG_FINAL;
  head.writeUInt32BE(0, 5);
  const aad = Buffer.concat([headerDigest(header.bytes), head]);
  const cipher = createCipheriv('aes-256-gcm', keys.enc, chunkNonce(header.noncePrefix, index, FLAG_FINAL), {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(aad);
  cipher.final();
  return Buffer.concat([head, cipher.getAuthTag()]);
}
