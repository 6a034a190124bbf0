import { createDecipheriv } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { PalisadeError } from '../errors/index.js';
import { keyError } from './errors.js';
import {
  FLAG_FINAL,
  MAX_HEADER_BYTES,
  NONCE_PREFIX_BYTES,
  RECORD_HEADER_BYTES,
  RECORD_OVERHEAD,
  TAG_BYTES,
  chunkNonce,
  deriveSegmentKeys,
  headerDigest,
  headerLength,
  layoutFor,
  parseHeader,
  verifyHeader,
  type SegmentHeader,
  type SegmentKeys,
  type SegmentLayout,
} from './segment-format.js';

export interface OpenExpectations {
  /** The object the caller means to open; a sealed object of another id fails with SEGMENT_WRONG_OBJECT. */
  objectId: string;
  /** When given, a sealed object from another camera fails with SEGMENT_WRONG_CAMERA. */
  cameraId?: string | undefined;
}

/** Random access to sealed bytes: a file, an S3 object with ranged GETs, a buffer. */
export interface SealedSource {
  readonly size: number;
  /** Exactly `length` bytes at `offset`, or fewer only when the object ends sooner. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** The largest range `read()` returns in one piece; `stream()` serves longer ones. */
export const MAX_READ_BYTES = 64 * 1024 * 1024;
/** How much `stream()` and the diagnosis read from the source at a time. */
const READ_AHEAD_BYTES = 1024 * 1024;

/** Decrypts records of one object; knows nothing about where they come from. */
class RecordCipher {
  readonly #aad: Buffer;
  readonly #nonce: Buffer;
  constructor(
    readonly header: SegmentHeader,
    readonly keys: SegmentKeys,
  ) {
    this.#aad = Buffer.alloc(32 + RECORD_HEADER_BYTES);
    headerDigest(header.bytes).copy(this.#aad, 0);
    this.#nonce = chunkNonce(header.noncePrefix, 0, 0);
  }

  /** Fields of the record header at the start of `rec` (at least 9 bytes), not yet authenticated. */
  static fields(rec: Uint8Array): { index: number; flags: number; length: number } {
    const b = Buffer.from(rec.buffer, rec.byteOffset, rec.byteLength);
    return { index: b.readUInt32BE(0), flags: b[4]!, length: b.readUInt32BE(5) };
  }

  /** Decrypts one complete record; SEGMENT_AUTH_FAILED if any byte of it (or of the header) changed. */
  open(rec: Buffer, offset: number): Buffer {
    const plain = this.openParts([rec], offset);
    return plain.length === 1 ? plain[0]! : Buffer.concat(plain);
  }

  /**
   * The same for a record that arrives in consecutive pieces (a stream), without copying its
   * ciphertext. The plaintext pieces are released only after the tag has verified.
   */
  openParts(parts: readonly Buffer[], offset: number): Buffer[] {
    const { index, flags, length } = RecordCipher.fields(gather(parts, 0, RECORD_HEADER_BYTES));
    // The nonce buffer is reused: createDecipheriv copies it.
    this.#nonce.writeUInt32BE(index, NONCE_PREFIX_BYTES);
    this.#nonce[11] = flags;
    const decipher = createDecipheriv('aes-256-gcm', this.keys.enc, this.#nonce, {
      authTagLength: TAG_BYTES,
    });
    gather(parts, 0, RECORD_HEADER_BYTES).copy(this.#aad, 32);
    decipher.setAAD(this.#aad);
    decipher.setAuthTag(gather(parts, RECORD_HEADER_BYTES + length, TAG_BYTES));
    const plain: Buffer[] = [];
    for (const piece of slices(parts, RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + length)) {
      const p = decipher.update(piece);
      if (p.length > 0) plain.push(p);
    }
    try {
      decipher.final();
    } catch {
      for (const p of plain) p.fill(0);
      throw keyError(
        'SEGMENT_AUTH_FAILED',
        `chunk at byte ${offset} of object "${this.header.objectId}" failed authentication`,
        {
          details: { where: 'chunk', offset },
        },
      );
    }
    return plain;
  }
}

/** Subarrays covering bytes [from, to) of consecutive pieces. */
function slices(parts: readonly Buffer[], from: number, to: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const p of parts) {
    const start = Math.max(from, at);
    const end = Math.min(to, at + p.length);
    if (start < end) out.push(p.subarray(start - at, end - at));
    at += p.length;
    if (at >= to) break;
  }
  return out;
}

/** Bytes [from, from + n) of consecutive pieces as one buffer (copied only when they span pieces). */
function gather(parts: readonly Buffer[], from: number, n: number): Buffer {
  const s = slices(parts, from, from + n);
  return s.length === 1 ? s[0]! : Buffer.concat(s);
}

/**
 * Opens a sealed object read front to back (a stream from storage, a pipe). Plaintext of each chunk is
 * released only once that chunk has authenticated; truncation, trailing bytes and a duplicated final
 * chunk are reported by `final()`, so a consumer must treat the whole stream as failed if it throws.
 */
export class SegmentOpener {
  readonly #keys: SegmentKeys;
  readonly #expected: OpenExpectations;
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #consumed = 0;
  #cipher: RecordCipher | undefined;
  #expect = 0;
  #done = false;

  /** `key` is the object's data key, or subkeys already derived from it. */
  constructor(key: Uint8Array | SegmentKeys, expected: OpenExpectations) {
    this.#keys = key instanceof Uint8Array ? deriveSegmentKeys(key) : key;
    this.#expected = expected;
  }

  get header(): SegmentHeader | undefined {
    return this.#cipher?.header;
  }

  update(data: Uint8Array): Buffer[] {
    if (data.length > 0) {
      this.#queue.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      this.#queued += data.length;
    }
    const out: Buffer[] = [];
    if (!this.#cipher && !this.#readHeader(false)) return out;
    const cipher = this.#cipher!;
    const chunkSize = cipher.header.chunkSize;
    while (!this.#done && this.#queued >= RECORD_HEADER_BYTES) {
      const f = RecordCipher.fields(this.#peek(RECORD_HEADER_BYTES));
      const offset = this.#consumed;
      const final = (f.flags & FLAG_FINAL) !== 0;
      // A record header that no sealer writes cannot authenticate: say so without waiting for its bytes.
      if ((f.flags & ~FLAG_FINAL) !== 0 || (final ? f.length >= chunkSize : f.length !== chunkSize)) {
        throw keyError(
          'SEGMENT_AUTH_FAILED',
          `the record header at byte ${offset} of object "${cipher.header.objectId}" was modified`,
          {
            details: { where: 'record', offset },
          },
        );
      }
      const size = f.length + RECORD_OVERHEAD;
      if (this.#queued < size) break;
      const plain = cipher.openParts(this.#takeParts(size), offset);
      if (f.index !== this.#expect) {
        for (const p of plain) p.fill(0);
        throw this.#misplaced(f.index, offset);
      }
      this.#expect += 1;
      out.push(...plain);
      if (final) this.#done = true;
    }
    if (this.#done && this.#queued >= cipher.header.chunkSize + RECORD_OVERHEAD) this.#trailing();
    return out;
  }

  /** Call at the end of input: throws unless the final chunk arrived and nothing followed it. */
  final(): void {
    if (!this.#cipher) {
      this.#readHeader(true);
    }
    if (!this.#done) {
      throw keyError(
        'SEGMENT_TRUNCATED',
        `object "${this.#expected.objectId}" ends after ${this.#expect} chunks without its final chunk`,
        {
          details: { chunks: this.#expect, bytes: this.#consumed + this.#queued },
        },
      );
    }
    if (this.#queued > 0) this.#trailing();
  }

  #readHeader(atEnd: boolean): boolean {
    if (this.#queued < 8 && !atEnd) return false;
    const length = headerLength(
      this.#peek(Math.min(8, this.#queued)),
      atEnd ? this.#queued : Number.MAX_SAFE_INTEGER,
    );
    if (this.#queued < length) return false;
    const header = parseHeader(this.#take(length));
    verifyHeader(header, this.#keys, this.#expected);
    this.#cipher = new RecordCipher(header, this.#keys);
    return true;
  }

  /** A record that authenticated but sits at the wrong position. */
  #misplaced(index: number, offset: number): PalisadeError {
    const objectId = this.#cipher!.header.objectId;
    // Everything before this record was in order, so an index already passed is a repeat.
    if (index < this.#expect) {
      return keyError(
        'SEGMENT_CHUNK_DUPLICATED',
        `chunk ${index} of object "${objectId}" appears again at byte ${offset}`,
        {
          details: { chunk: index, position: this.#expect, offset },
        },
      );
    }
    return keyError(
      'SEGMENT_CHUNK_REORDERED',
      `chunk ${index} of object "${objectId}" is at position ${this.#expect} (byte ${offset})`,
      {
        details: { chunk: index, position: this.#expect, offset },
      },
    );
  }

  /** Bytes after the final chunk: a repeated chunk if they authenticate as one, otherwise junk. */
  #trailing(): never {
    const cipher = this.#cipher!;
    const offset = this.#consumed;
    if (this.#queued >= RECORD_OVERHEAD) {
      const f = RecordCipher.fields(this.#peek(RECORD_HEADER_BYTES));
      const size = f.length + RECORD_OVERHEAD;
      if (f.length <= cipher.header.chunkSize && this.#queued >= size) {
        let authentic = false;
        try {
          cipher.open(this.#peek(size), offset).fill(0);
          authentic = true;
        } catch {
          // not a chunk of this object
        }
        if (authentic) {
          throw keyError(
            'SEGMENT_CHUNK_DUPLICATED',
            `chunk ${f.index} of object "${cipher.header.objectId}" appears again after the final chunk`,
            {
              details: { chunk: f.index, offset },
            },
          );
        }
      }
    }
    throw keyError(
      'SEGMENT_TRAILING_DATA',
      `${this.#queued} bytes follow the final chunk of object "${cipher.header.objectId}"`,
      {
        details: { offset, bytes: this.#queued },
      },
    );
  }

  /** The first `n` queued bytes (n ≤ queued) as one buffer, copying only when they span pieces. */
  #peek(n: number): Buffer {
    const first = this.#queue[0];
    if (first === undefined) return Buffer.alloc(0);
    if (first.length >= n) return first.subarray(0, n);
    // Join just the bytes asked for; the rest of the last piece stays where it is (no copy of it).
    const joined = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0;
    while (filled < n) {
      const piece = this.#queue[used]!;
      const take = Math.min(piece.length, n - filled);
      piece.copy(joined, filled, 0, take);
      filled += take;
      if (take < piece.length) {
        this.#queue[used] = piece.subarray(take);
        break;
      }
      used++;
    }
    this.#queue.splice(0, used, joined);
    return joined;
  }

  /** Removes the first `n` queued bytes and returns them as subarrays of the pieces they were in. */
  #takeParts(n: number): Buffer[] {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const piece = this.#queue[0]!;
      if (piece.length <= need) {
        parts.push(piece);
        this.#queue.shift();
        need -= piece.length;
      } else {
        parts.push(piece.subarray(0, need));
        this.#queue[0] = piece.subarray(need);
        need = 0;
      }
    }
    this.#queued -= n;
    this.#consumed += n;
    return parts;
  }

  #take(n: number): Buffer {
    const out = this.#peek(n);
    const first = this.#queue[0]!;
    if (first.length === n) this.#queue.shift();
    else this.#queue[0] = first.subarray(n);
    this.#queued -= n;
    this.#consumed += n;
    return out;
  }
}

/** Opens a sealed byte stream front to back, yielding authenticated plaintext. */
export async function* openSegmentStream(
  dek: Uint8Array,
  expected: OpenExpectations,
  sealed: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Buffer> {
  const opener = new SegmentOpener(dek, expected);
  for await (const piece of sealed) yield* opener.update(piece);
  opener.final();
}

/** The same as a Node Transform stream: sealed bytes in, plaintext out. */
export class OpenStream extends Transform {
  readonly #opener: SegmentOpener;
  constructor(dek: Uint8Array, expected: OpenExpectations) {
    super();
    this.#opener = new SegmentOpener(dek, expected);
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      for (const b of this.#opener.update(chunk)) this.push(b);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }
  override _flush(callback: TransformCallback): void {
    try {
      this.#opener.final();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }
}

/**
 * A sealed object opened for random access. Opening reads the header and the final chunk (so the
 * plaintext size is authentic and truncation is caught whatever range is read later); each `read`
 * then fetches and authenticates only the chunks that cover the range.
 */
export class SealedObjectReader {
  readonly header: SegmentHeader;
  /** Plaintext bytes. */
  readonly size: number;
  readonly #source: SealedSource;
  readonly #cipher: RecordCipher;
  readonly #layout: SegmentLayout;
  readonly #expected: OpenExpectations;

  private constructor(
    source: SealedSource,
    cipher: RecordCipher,
    layout: SegmentLayout,
    expected: OpenExpectations,
  ) {
    this.#source = source;
    this.#cipher = cipher;
    this.#layout = layout;
    this.header = cipher.header;
    this.size = layout.plaintextBytes;
    this.#expected = expected;
  }

  static async open(
    source: SealedSource,
    dek: Uint8Array,
    expected: OpenExpectations,
  ): Promise<SealedObjectReader> {
    const first = asBuffer(await source.read(0, Math.min(source.size, MAX_HEADER_BYTES)));
    const length = headerLength(first.subarray(0, 8), source.size);
    if (first.length < length)
      throw keyError('SEGMENT_TRUNCATED', 'the sealed object ends inside its header');
    const header = parseHeader(first.subarray(0, length));
    const keys = deriveSegmentKeys(dek);
    verifyHeader(header, keys, expected);
    const cipher = new RecordCipher(header, keys);
    const layout = layoutFor(length, header.chunkSize, source.size);
    if (!layout) throw await diagnose(source, keys, expected);
    const reader = new SealedObjectReader(source, cipher, layout, expected);
    // Authenticating the final chunk proves the object's length; a cut-off object fails here.
    await reader.#chunks(layout.fullRecords, layout.fullRecords);
    return reader;
  }

  /** Exactly the plaintext bytes [offset, offset + length). */
  async read(offset: number, length: number): Promise<Buffer> {
    this.#checkRange(offset, length);
    if (length > MAX_READ_BYTES) {
      throw keyError(
        'SEGMENT_RANGE_INVALID',
        `read at most ${MAX_READ_BYTES} bytes at once; use stream() for more`,
      );
    }
    if (length === 0) return Buffer.alloc(0);
    const c = this.#layout.chunkSize;
    const first = Math.floor(offset / c);
    const last = Math.floor((offset + length - 1) / c);
    const plain = Buffer.concat(await this.#chunks(first, last));
    return plain.subarray(offset - first * c, offset - first * c + length);
  }

  /** The plaintext bytes [start, end) as a sequence of buffers, reading about 1 MiB at a time. */
  async *stream(start = 0, end = this.size): AsyncGenerator<Buffer> {
    this.#checkRange(start, end - start);
    if (end === start) return;
    const c = this.#layout.chunkSize;
    const perRead = Math.max(1, Math.floor(READ_AHEAD_BYTES / c));
    const first = Math.floor(start / c);
    const last = Math.floor((end - 1) / c);
    for (let i = first; i <= last; i += perRead) {
      const to = Math.min(last, i + perRead - 1);
      const chunks = await this.#chunks(i, to);
      for (let j = 0; j < chunks.length; j++) {
        const chunkStart = (i + j) * c;
        const from = Math.max(start, chunkStart) - chunkStart;
        const until = Math.min(end, chunkStart + c) - chunkStart;
        yield chunks[j]!.subarray(from, until);
      }
    }
  }

  #checkRange(offset: number, length: number): void {
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.size
    ) {
      throw keyError(
        'SEGMENT_RANGE_INVALID',
        `range ${offset}+${length} is outside the object's ${this.size} bytes`,
        {
          details: { offset, length, size: this.size },
        },
      );
    }
  }

  /** Reads and authenticates records first..last in one source read. */
  async #chunks(first: number, last: number): Promise<Buffer[]> {
    const l = this.#layout;
    const start = l.headerBytes + first * l.recordBytes;
    const end = last === l.fullRecords ? this.#source.size : l.headerBytes + (last + 1) * l.recordBytes;
    const bytes = asBuffer(await this.#source.read(start, end - start));
    if (bytes.length !== end - start) throw await diagnose(this.#source, this.#cipher.keys, this.#expected);
    const out: Buffer[] = [];
    for (let i = first, at = 0; i <= last; i++) {
      const final = i === l.fullRecords;
      const size = (final ? l.finalLength : l.chunkSize) + RECORD_OVERHEAD;
      const rec = bytes.subarray(at, at + size);
      const f = RecordCipher.fields(rec);
      // Fields that do not match the position: the structure is damaged; find out how, from the start.
      if (f.index !== i || f.flags !== (final ? FLAG_FINAL : 0) || f.length !== size - RECORD_OVERHEAD) {
        for (const p of out) p.fill(0);
        throw await diagnose(this.#source, this.#cipher.keys, this.#expected);
      }
      out.push(this.#cipher.open(rec, start + at));
      at += size;
    }
    return out;
  }
}

/**
 * Walks the whole object front to back to name the first defect precisely (reordered, duplicated,
 * truncated, trailing bytes, modified). Only runs after the random-access path saw an inconsistency.
 */
async function diagnose(
  source: SealedSource,
  keys: SegmentKeys,
  expected: OpenExpectations,
): Promise<PalisadeError> {
  const opener = new SegmentOpener(keys, expected);
  try {
    for (let at = 0; at < source.size; at += READ_AHEAD_BYTES) {
      const piece = await source.read(at, Math.min(READ_AHEAD_BYTES, source.size - at));
      for (const p of opener.update(piece)) p.fill(0);
      if (piece.length === 0) break;
    }
    opener.final();
  } catch (err) {
    if (err instanceof PalisadeError) return err;
    throw err;
  }
  return keyError('SEGMENT_AUTH_FAILED', `object "${expected.objectId}" changed while it was being read`);
}

/** A Buffer view of the same memory (Buffer.from(Uint8Array) would copy it). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A sealed object held in memory (tests, small secrets). */
export function bufferSource(bytes: Uint8Array): SealedSource {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    size: b.length,
    read: async (offset, length) => b.subarray(offset, offset + length),
  };
}

export interface FileSource extends SealedSource {
  close(): Promise<void>;
}

/** A sealed object in a file, read with positioned reads. */
export async function fileSource(file: string | FileHandle): Promise<FileSource> {
  const handle = typeof file === 'string' ? await open(file, 'r') : file;
  const { size } = await handle.stat();
  return {
    size,
    async read(offset, length) {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    },
    async close() {
      if (typeof file === 'string') await handle.close();
    },
  };
}
