import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { playbackError } from '../errors.js';

/**
 * The ZIP subset evidence packages use (PKWARE APPNOTE 6.3.10): stored entries only (video does not
 * compress), UTF-8 names, a data descriptor after each entry so entries are written as they are
 * produced (an export never holds its MP4 in memory), and one fixed timestamp (1980-01-01 00:00) so
 * the same input gives the same bytes. A package that may reach 4 GiB is written in ZIP64 form from
 * its first byte (every entry, the directory and the end records: one form per package, so a
 * verifier can insist on it); a smaller one without, so ordinary tools meet the simplest ZIP.
 *
 * compliance/'s ZIP code builds archives in memory from Buffers; a package of video does not fit that
 * model, hence this streaming writer and a reader that reads entries from the file by range.
 */

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const DESCRIPTOR = 0x08074b50;
const ZIP64_END = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
/** The ZIP64 extended information extra field's header id. */
const ZIP64_EXTRA = 0x0001;
/** Bit 3 (sizes in a data descriptor) and bit 11 (UTF-8 names). */
const FLAGS = 0x0808;
const DOS_DATE_1980 = 0x0021;
const VERSION = 20;
const VERSION_ZIP64 = 45;
const U32_MAX = 0xffffffff;

/** Largest package without ZIP64: offsets and sizes are 32-bit. */
export const MAX_PACKAGE_BYTES = U32_MAX;

/** Sizes of the fixed records in each form. */
const LOCAL_EXTRA = { plain: 0, zip64: 20 } as const;
const DESCRIPTOR_BYTES = { plain: 16, zip64: 24 } as const;
const CENTRAL_EXTRA = { plain: 0, zip64: 28 } as const;
const ZIP64_TAIL = 56 + 20;

export interface ZipWriterOptions {
  /** Write the ZIP64 form (for a package that may reach 4 GiB); decided before the first entry. */
  zip64?: boolean;
}

interface Written {
  name: Buffer;
  offset: number;
  size: number;
  crc: number;
}

/** Writes a ZIP to a sink entry by entry. */
export class ZipWriter {
  #offset = 0;
  readonly #entries: Written[] = [];
  readonly #names = new Set<string>();

  readonly #zip64: boolean;

  constructor(
    private readonly sink: (chunk: Buffer) => Promise<void>,
    options: ZipWriterOptions = {},
  ) {
    this.#zip64 = options.zip64 ?? false;
  }

  get bytes(): number {
    return this.#offset;
  }

  async #write(chunk: Buffer): Promise<void> {
    if (!this.#zip64 && this.#offset + chunk.length > MAX_PACKAGE_BYTES)
      throw playbackError(
        'PLAYBACK_RANGE_TOO_LONG',
        'the evidence package would exceed 4 GiB: export a shorter range',
      );
    this.#offset += chunk.length;
    await this.sink(chunk);
  }

  /** Adds one entry; returns its size and CRC-32. */
  async add(name: string, data: Buffer | AsyncIterable<Buffer>): Promise<{ size: number; crc: number }> {
    if (this.#names.has(name)) throw new Error(`duplicate ZIP entry ${name}`);
    this.#names.add(name);
    const nameBytes = Buffer.from(name, 'utf8');
    const offset = this.#offset;
    const zip64 = this.#zip64;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL, 0);
    local.writeUInt16LE(zip64 ? VERSION_ZIP64 : VERSION, 4);
    local.writeUInt16LE(FLAGS, 6);
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(DOS_DATE_1980, 12);
    // CRC and sizes follow in the data descriptor. ZIP64: the size fields say "see the extra field",
    // whose sizes are zero too; the descriptor then carries 8-byte sizes.
    if (zip64) {
      local.writeUInt32LE(U32_MAX, 18);
      local.writeUInt32LE(U32_MAX, 22);
    }
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(zip64 ? LOCAL_EXTRA.zip64 : 0, 28);
    const extra = Buffer.alloc(zip64 ? LOCAL_EXTRA.zip64 : 0);
    if (zip64) {
      extra.writeUInt16LE(ZIP64_EXTRA, 0);
      extra.writeUInt16LE(16, 2);
    }
    await this.#write(Buffer.concat([local, nameBytes, extra]));
    let crc = 0;
    let size = 0;
    const pieces = Buffer.isBuffer(data) ? [data] : data;
    for await (const piece of pieces) {
      crc = crc32(piece, crc);
      size += piece.length;
      await this.#write(piece);
    }
    const descriptor = Buffer.alloc(zip64 ? DESCRIPTOR_BYTES.zip64 : DESCRIPTOR_BYTES.plain);
    descriptor.writeUInt32LE(DESCRIPTOR, 0);
    descriptor.writeUInt32LE(crc, 4);
    if (zip64) {
      descriptor.writeBigUInt64LE(BigInt(size), 8);
      descriptor.writeBigUInt64LE(BigInt(size), 16);
    } else {
      descriptor.writeUInt32LE(size, 8);
      descriptor.writeUInt32LE(size, 12);
    }
    await this.#write(descriptor);
    this.#entries.push({ name: nameBytes, offset, size, crc });
    return { size, crc };
  }

  /** Writes the central directory and the end record(s). */
  async finish(): Promise<number> {
    const zip64 = this.#zip64;
    const version = zip64 ? VERSION_ZIP64 : VERSION;
    const start = this.#offset;
    const parts: Buffer[] = [];
    for (const e of this.#entries) {
      const head = Buffer.alloc(46);
      head.writeUInt32LE(CENTRAL, 0);
      head.writeUInt16LE(version, 4);
      head.writeUInt16LE(version, 6);
      head.writeUInt16LE(FLAGS, 8);
      head.writeUInt16LE(0, 10);
      head.writeUInt16LE(0, 12);
      head.writeUInt16LE(DOS_DATE_1980, 14);
      head.writeUInt32LE(e.crc, 16);
      head.writeUInt32LE(zip64 ? U32_MAX : e.size, 20);
      head.writeUInt32LE(zip64 ? U32_MAX : e.size, 24);
      head.writeUInt16LE(e.name.length, 28);
      head.writeUInt16LE(zip64 ? CENTRAL_EXTRA.zip64 : 0, 30);
      head.writeUInt32LE(zip64 ? U32_MAX : e.offset, 42);
      parts.push(head, e.name);
      if (zip64) {
        // Original size, compressed size, local header offset: the three fields marked 0xFFFFFFFF.
        const extra = Buffer.alloc(CENTRAL_EXTRA.zip64);
        extra.writeUInt16LE(ZIP64_EXTRA, 0);
        extra.writeUInt16LE(24, 2);
        extra.writeBigUInt64LE(BigInt(e.size), 4);
        extra.writeBigUInt64LE(BigInt(e.size), 12);
        extra.writeBigUInt64LE(BigInt(e.offset), 20);
        parts.push(extra);
      }
    }
    const directory = Buffer.concat(parts);
    const count = this.#entries.length;
    const end = Buffer.alloc(22);
    end.writeUInt32LE(END, 0);
    if (zip64) {
      const tail = Buffer.alloc(ZIP64_TAIL);
      tail.writeUInt32LE(ZIP64_END, 0);
      tail.writeBigUInt64LE(44n, 4); // size of the rest of the record
      tail.writeUInt16LE(VERSION_ZIP64, 12);
      tail.writeUInt16LE(VERSION_ZIP64, 14);
      tail.writeBigUInt64LE(BigInt(count), 24);
      tail.writeBigUInt64LE(BigInt(count), 32);
      tail.writeBigUInt64LE(BigInt(directory.length), 40);
      tail.writeBigUInt64LE(BigInt(start), 48);
      tail.writeUInt32LE(ZIP64_LOCATOR, 56);
      tail.writeBigUInt64LE(BigInt(start + directory.length), 64);
      tail.writeUInt32LE(1, 72); // total number of disks
      end.writeUInt16LE(0xffff, 8);
      end.writeUInt16LE(0xffff, 10);
      end.writeUInt32LE(U32_MAX, 12);
      end.writeUInt32LE(U32_MAX, 16);
      await this.#write(Buffer.concat([directory, tail, end]));
    } else {
      end.writeUInt16LE(count, 8);
      end.writeUInt16LE(count, 10);
      end.writeUInt32LE(directory.length, 12);
      end.writeUInt32LE(start, 16);
      await this.#write(Buffer.concat([directory, end]));
    }
    return this.#offset;
  }
}

export interface ZipEntryRef {
  name: string;
  /** Where the entry's data starts in the file, and its size. */
  dataOffset: number;
  size: number;
  crc: number;
}

export interface ZipReaderLimits {
  maxEntries: number;
  maxNameBytes: number;
}

export const ZIP_READER_LIMITS: ZipReaderLimits = { maxEntries: 100_000, maxNameBytes: 512 };

function bad(message: string) {
  return playbackError('EVIDENCE_PACKAGE_INVALID', `not a readable evidence package: ${message}`);
}

/**
 * Reads a package's directory from a file by range (never the whole file): every size and offset is
 * checked against the file before it is used, and the structure must be exactly the writer's.
 */
export class ZipReader {
  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly entries: ZipEntryRef[],
  ) {}

  static async open(file: string, limits: ZipReaderLimits = ZIP_READER_LIMITS): Promise<ZipReader> {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const entries = await readDirectory(handle, size, limits);
      return new ZipReader(handle, size, entries);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  entry(name: string): ZipEntryRef | undefined {
    return this.entries.find((e) => e.name === name);
  }

  /** A whole entry (small ones: manifest, notes), refused above `maxBytes`. */
  async read(entry: ZipEntryRef, maxBytes: number): Promise<Buffer> {
    if (entry.size > maxBytes) throw bad(`${entry.name} is larger than ${maxBytes} bytes`);
    return this.range(entry, 0, entry.size);
  }

  async range(entry: ZipEntryRef, offset: number, length: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(length, entry.size - offset));
    const buf = Buffer.alloc(n);
    if (n > 0) await this.handle.read(buf, 0, n, entry.dataOffset + offset);
    return buf;
  }

  /** An entry in pieces of at most `chunk` bytes. */
  async *stream(entry: ZipEntryRef, chunk = 1 << 20): AsyncGenerator<Buffer> {
    for (let o = 0; o < entry.size; o += chunk) yield await this.range(entry, o, chunk);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

async function readAt(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, offset);
  if (bytesRead !== length) throw bad('the file ends early');
  return buf;
}

/** An 8-byte field as a number; offsets and sizes beyond 2^53 are not a package. */
function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('a ZIP64 size or offset is out of range');
  return Number(v);
}

/** Where the central directory is, from the end record(s), and which form the package uses. */
async function readEnd(
  handle: FileHandle,
  size: number,
): Promise<{ zip64: boolean; count: number; cdSize: number; cdOffset: number; cdEnd: number }> {
  if (size < 22) throw bad('too short for a ZIP');
  const end = await readAt(handle, size - 22, 22);
  if (end.readUInt32LE(0) !== END || end.readUInt16LE(20) !== 0)
    throw bad('the file does not end with an end-of-central-directory record (without comment)');
  if (end.readUInt32LE(4) !== 0) throw bad('multi-volume archives are not supported');
  const zip64 =
    end.readUInt16LE(8) === 0xffff &&
    end.readUInt16LE(10) === 0xffff &&
    end.readUInt32LE(12) === U32_MAX &&
    end.readUInt32LE(16) === U32_MAX;
  if (!zip64) {
    const count = end.readUInt16LE(10);
    if (end.readUInt16LE(8) !== count) throw bad('multi-volume archives are not supported');
    return { zip64, count, cdSize: end.readUInt32LE(12), cdOffset: end.readUInt32LE(16), cdEnd: size - 22 };
  }
  // ZIP64: the ZIP64 end record and its locator sit right before the end record, exactly as written.
  const tailAt = size - 22 - ZIP64_TAIL;
  if (tailAt < 0) throw bad('too short for a ZIP64 package');
  const tail = await readAt(handle, tailAt, ZIP64_TAIL);
  const count = u64(tail, 32);
  const fixed =
    tail.readUInt32LE(0) === ZIP64_END &&
    tail.readBigUInt64LE(4) === 44n &&
    tail.readUInt16LE(12) === VERSION_ZIP64 &&
    tail.readUInt16LE(14) === VERSION_ZIP64 &&
    tail.readUInt32LE(16) === 0 &&
    tail.readUInt32LE(20) === 0 &&
    u64(tail, 24) === count &&
    tail.readUInt32LE(56) === ZIP64_LOCATOR &&
    tail.readUInt32LE(60) === 0 &&
    u64(tail, 64) === tailAt &&
    tail.readUInt32LE(72) === 1;
  if (!fixed) throw bad('the ZIP64 end record or its locator differ from what a package holds');
  return { zip64, count, cdSize: u64(tail, 40), cdOffset: u64(tail, 48), cdEnd: tailAt };
}

async function readDirectory(
  handle: FileHandle,
  size: number,
  limits: ZipReaderLimits,
): Promise<ZipEntryRef[]> {
  // A package is exactly what ZipWriter writes: the end record last and without a comment (after the
  // ZIP64 end record and locator in the ZIP64 form), the central directory right before, the entries
  // back to back from byte 0, every field as written, one form throughout. So every byte of the file
  // is either content (hashed by the manifest) or checked here.
  const { zip64, count, cdSize, cdOffset, cdEnd } = await readEnd(handle, size);
  const form = zip64 ? 'zip64' : 'plain';
  const version = zip64 ? VERSION_ZIP64 : VERSION;
  if (count > limits.maxEntries) throw bad(`more than ${limits.maxEntries} entries`);
  if (cdOffset + cdSize !== cdEnd)
    throw bad('the central directory does not end where the end record starts');
  if (cdSize > count * (46 + CENTRAL_EXTRA[form] + limits.maxNameBytes))
    throw bad('the central directory is too large');
  const cd = await readAt(handle, cdOffset, cdSize);
  const entries: ZipEntryRef[] = [];
  const seen = new Set<string>();
  let p = 0;
  let next = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) throw bad('bad central directory entry');
    const nameLength = cd.readUInt16LE(p + 28);
    if (nameLength === 0 || nameLength > limits.maxNameBytes) throw bad('an entry name is empty or too long');
    if (p + 46 + nameLength + CENTRAL_EXTRA[form] > cd.length) throw bad('truncated central directory');
    const nameBytes = cd.subarray(p + 46, p + 46 + nameLength);
    const name = nameBytes.toString('utf8');
    const crc = cd.readUInt32LE(p + 16);
    const x = p + 46 + nameLength; // the ZIP64 extra field, in that form
    const length = zip64 ? u64(cd, x + 4) : cd.readUInt32LE(p + 24);
    const localOffset = zip64 ? u64(cd, x + 20) : cd.readUInt32LE(p + 42);
    const fixed =
      cd.readUInt16LE(p + 4) === version &&
      cd.readUInt16LE(p + 6) === version &&
      cd.readUInt16LE(p + 8) === FLAGS &&
      cd.readUInt16LE(p + 10) === 0 &&
      cd.readUInt16LE(p + 12) === 0 &&
      cd.readUInt16LE(p + 14) === DOS_DATE_1980 &&
      cd.readUInt16LE(p + 30) === CENTRAL_EXTRA[form] &&
      cd.readUIntLE(p + 32, 4) === 0 && // comment, disk
      cd.readUIntLE(p + 36, 6) === 0 && // internal and external attributes
      (zip64
        ? cd.readUInt32LE(p + 20) === U32_MAX &&
          cd.readUInt32LE(p + 24) === U32_MAX &&
          cd.readUInt32LE(p + 42) === U32_MAX &&
          cd.readUInt16LE(x) === ZIP64_EXTRA &&
          cd.readUInt16LE(x + 2) === 24 &&
          u64(cd, x + 12) === length
        : cd.readUInt32LE(p + 20) === length);
    if (!fixed)
      throw bad(
        `${name}: central directory fields differ from what a package holds (stored, UTF-8, fixed time)`,
      );
    p += 46 + nameLength + CENTRAL_EXTRA[form];
    if (seen.has(name)) throw bad(`${name} appears twice`);
    seen.add(name);
    if (localOffset !== next) throw bad(`${name}: entries are not back to back`);
    const headerLength = 30 + nameLength + LOCAL_EXTRA[form];
    const dataOffset = localOffset + headerLength;
    if (dataOffset + length + DESCRIPTOR_BYTES[form] > cdOffset) throw bad(`${name}: data outside the file`);
    const local = await readAt(handle, localOffset, headerLength);
    const localOk =
      local.readUInt32LE(0) === LOCAL &&
      local.readUInt16LE(4) === version &&
      local.readUInt16LE(6) === FLAGS &&
      local.readUInt16LE(8) === 0 &&
      local.readUInt16LE(10) === 0 &&
      local.readUInt16LE(12) === DOS_DATE_1980 &&
      local.readUInt32LE(14) === 0 &&
      local.readUInt32LE(18) === (zip64 ? U32_MAX : 0) &&
      local.readUInt32LE(22) === (zip64 ? U32_MAX : 0) &&
      local.readUInt16LE(26) === nameLength &&
      local.readUInt16LE(28) === LOCAL_EXTRA[form] &&
      local.subarray(30, 30 + nameLength).equals(nameBytes) &&
      (!zip64 ||
        (local.readUInt16LE(30 + nameLength) === ZIP64_EXTRA &&
          local.readUInt16LE(32 + nameLength) === 16 &&
          local.subarray(34 + nameLength).every((b) => b === 0)));
    if (!localOk) throw bad(`${name}: the local header does not match the central directory`);
    const descriptor = await readAt(handle, dataOffset + length, DESCRIPTOR_BYTES[form]);
    const descriptorOk =
      descriptor.readUInt32LE(0) === DESCRIPTOR &&
      descriptor.readUInt32LE(4) === crc &&
      (zip64
        ? u64(descriptor, 8) === length && u64(descriptor, 16) === length
        : descriptor.readUInt32LE(8) === length && descriptor.readUInt32LE(12) === length);
    if (!descriptorOk) throw bad(`${name}: the data descriptor does not match the central directory`);
    next = dataOffset + length + DESCRIPTOR_BYTES[form];
    entries.push({ name, dataOffset, size: length, crc });
  }
  if (p !== cd.length) throw bad('bytes left over in the central directory');
  if (next !== cdOffset) throw bad('bytes between the last entry and the central directory');
  return entries;
}
