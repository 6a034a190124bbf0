import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { playbackError } from '../errors.js';

/**
 * The ZIP subset evidence packages use (PKWARE APPNOTE 6.3.10): stored entries only (video does not
 * compress), UTF-8 names, a data descriptor after each entry so entries are written as they are
 * produced (an export never holds its MP4 in memory), and one fixed timestamp (1980-01-01 00:00) so
 * the same input gives the same bytes. No ZIP64: a package is at most 4 GiB (`MAX_PACKAGE_BYTES`).
 *
 * compliance/'s ZIP code builds archives in memory from Buffers; a package of video does not fit that
 * model, hence this streaming writer and a reader that reads entries from the file by range.
 */

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const DESCRIPTOR = 0x08074b50;
/** Bit 3 (sizes in a data descriptor) and bit 11 (UTF-8 names). */
const FLAGS = 0x0808;
const DOS_DATE_1980 = 0x0021;
const VERSION = 20;

/** Largest package: offsets and sizes are 32-bit without ZIP64. */
export const MAX_PACKAGE_BYTES = 0xffffffff;

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

  constructor(private readonly sink: (chunk: Buffer) => Promise<void>) {}

  get bytes(): number {
    return this.#offset;
  }

  async #write(chunk: Buffer): Promise<void> {
    if (this.#offset + chunk.length > MAX_PACKAGE_BYTES)
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
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL, 0);
    local.writeUInt16LE(VERSION, 4);
    local.writeUInt16LE(FLAGS, 6);
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(DOS_DATE_1980, 12);
    // CRC and sizes follow in the data descriptor.
    local.writeUInt16LE(nameBytes.length, 26);
    await this.#write(Buffer.concat([local, nameBytes]));
    let crc = 0;
    let size = 0;
    const pieces = Buffer.isBuffer(data) ? [data] : data;
    for await (const piece of pieces) {
      crc = crc32(piece, crc);
      size += piece.length;
      await this.#write(piece);
    }
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(DESCRIPTOR, 0);
    descriptor.writeUInt32LE(crc, 4);
    descriptor.writeUInt32LE(size, 8);
    descriptor.writeUInt32LE(size, 12);
    await this.#write(descriptor);
    this.#entries.push({ name: nameBytes, offset, size, crc });
    return { size, crc };
  }

  /** Writes the central directory and the end record. */
  async finish(): Promise<number> {
    const start = this.#offset;
    const parts: Buffer[] = [];
    for (const e of this.#entries) {
      const head = Buffer.alloc(46);
      head.writeUInt32LE(CENTRAL, 0);
      head.writeUInt16LE(VERSION, 4);
      head.writeUInt16LE(VERSION, 6);
      head.writeUInt16LE(FLAGS, 8);
      head.writeUInt16LE(0, 10);
      head.writeUInt16LE(0, 12);
      head.writeUInt16LE(DOS_DATE_1980, 14);
      head.writeUInt32LE(e.crc, 16);
      head.writeUInt32LE(e.size, 20);
      head.writeUInt32LE(e.size, 24);
      head.writeUInt16LE(e.name.length, 28);
      head.writeUInt32LE(e.offset, 42);
      parts.push(head, e.name);
    }
    const directory = Buffer.concat(parts);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(END, 0);
    end.writeUInt16LE(this.#entries.length, 8);
    end.writeUInt16LE(this.#entries.length, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(start, 16);
    await this.#write(Buffer.concat([directory, end]));
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

async function readDirectory(
  handle: FileHandle,
  size: number,
  limits: ZipReaderLimits,
): Promise<ZipEntryRef[]> {
  // A package is exactly what ZipWriter writes: the end record last and without a comment, the
  // central directory right before it, the entries back to back from byte 0, every field as written.
  // So every byte of the file is either content (hashed by the manifest) or checked here.
  if (size < 22) throw bad('too short for a ZIP');
  const end = await readAt(handle, size - 22, 22);
  if (end.readUInt32LE(0) !== END || end.readUInt16LE(20) !== 0)
    throw bad('the file does not end with an end-of-central-directory record (without comment)');
  const count = end.readUInt16LE(10);
  const cdSize = end.readUInt32LE(12);
  const cdOffset = end.readUInt32LE(16);
  if (end.readUInt32LE(4) !== 0 || end.readUInt16LE(8) !== count)
    throw bad('multi-volume archives are not supported');
  if (count > limits.maxEntries) throw bad(`more than ${limits.maxEntries} entries`);
  if (cdOffset + cdSize !== size - 22)
    throw bad('the central directory does not end where the end record starts');
  if (cdSize > count * (46 + limits.maxNameBytes)) throw bad('the central directory is too large');
  const cd = await readAt(handle, cdOffset, cdSize);
  const entries: ZipEntryRef[] = [];
  const seen = new Set<string>();
  let p = 0;
  let next = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) throw bad('bad central directory entry');
    const nameLength = cd.readUInt16LE(p + 28);
    if (nameLength === 0 || nameLength > limits.maxNameBytes) throw bad('an entry name is empty or too long');
    if (p + 46 + nameLength > cd.length) throw bad('truncated central directory');
    const nameBytes = cd.subarray(p + 46, p + 46 + nameLength);
    const name = nameBytes.toString('utf8');
    const crc = cd.readUInt32LE(p + 16);
    const length = cd.readUInt32LE(p + 24);
    const localOffset = cd.readUInt32LE(p + 42);
    const fixed =
      cd.readUInt16LE(p + 4) === VERSION &&
      cd.readUInt16LE(p + 6) === VERSION &&
      cd.readUInt16LE(p + 8) === FLAGS &&
      cd.readUInt16LE(p + 10) === 0 &&
      cd.readUInt16LE(p + 12) === 0 &&
      cd.readUInt16LE(p + 14) === DOS_DATE_1980 &&
      cd.readUInt32LE(p + 20) === length &&
      cd.readUIntLE(p + 30, 6) === 0 && // extra, comment, disk
      cd.readUIntLE(p + 36, 6) === 0; // internal and external attributes
    if (!fixed)
      throw bad(
        `${name}: central directory fields differ from what a package holds (stored, UTF-8, fixed time)`,
      );
    p += 46 + nameLength;
    if (seen.has(name)) throw bad(`${name} appears twice`);
    seen.add(name);
    if (localOffset !== next) throw bad(`${name}: entries are not back to back`);
    const dataOffset = localOffset + 30 + nameLength;
    if (dataOffset + length + 16 > cdOffset) throw bad(`${name}: data outside the file`);
    const local = await readAt(handle, localOffset, 30 + nameLength);
    const localOk =
      local.readUInt32LE(0) === LOCAL &&
      local.readUInt16LE(4) === VERSION &&
      local.readUInt16LE(6) === FLAGS &&
      local.readUInt16LE(8) === 0 &&
      local.readUInt16LE(10) === 0 &&
      local.readUInt16LE(12) === DOS_DATE_1980 &&
      local.readUIntLE(14, 6) === 0 &&
      local.readUIntLE(20, 6) === 0 &&
      local.readUInt16LE(26) === nameLength &&
      local.readUInt16LE(28) === 0 &&
      local.subarray(30).equals(nameBytes);
    if (!localOk) throw bad(`${name}: the local header does not match the central directory`);
    const descriptor = await readAt(handle, dataOffset + length, 16);
    if (
      descriptor.readUInt32LE(0) !== DESCRIPTOR ||
      descriptor.readUInt32LE(4) !== crc ||
      descriptor.readUInt32LE(8) !== length ||
      descriptor.readUInt32LE(12) !== length
    )
      throw bad(`${name}: the data descriptor does not match the central directory`);
    next = dataOffset + length + 16;
    entries.push({ name, dataOffset, size: length, crc });
  }
  if (p !== cd.length) throw bad('bytes left over in the central directory');
  if (next !== cdOffset) throw bad('bytes between the last entry and the central directory');
  return entries;
}
