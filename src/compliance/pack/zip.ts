import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { PalisadeError, describeError } from '../../errors/index.js';

/**
 * A minimal ZIP writer and a bounded reader (PKWARE APPNOTE 6.3: stored and deflated entries, UTF-8
 * names, no ZIP64, no encryption). The reader is fed files an auditor received from elsewhere, so every
 * size it reads is checked against the buffer and against explicit limits before anything is allocated.
 */

export interface ZipEntry {
  name: string;
  data: Buffer;
}

export interface ZipLimits {
  maxEntries: number;
  /** Largest uncompressed entry. */
  maxEntryBytes: number;
  /** Largest sum of uncompressed entries. */
  maxTotalBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 10_000,
  maxEntryBytes: 256 * 1024 * 1024,
  maxTotalBytes: 1024 * 1024 * 1024,
};

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const UTF8_FLAG = 0x0800;
const MAX_NAME_BYTES = 1024;

function dosTime(date: Date): { time: number; date: number } {
  const year = Math.min(Math.max(date.getUTCFullYear(), 1980), 2107);
  return {
    time: (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | Math.floor(date.getUTCSeconds() / 2),
    date: ((year - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate(),
  };
}

/**
 * Attachments are often already compressed (PDF, images); deflating 16 MiB of them costs seconds for
 * nothing. A 64 KiB sample that does not shrink by a tenth says the rest will not either.
 */
function worthDeflating(data: Buffer): boolean {
  if (data.length <= 256 * 1024) return true;
  const sample = data.subarray(0, 64 * 1024);
  return deflateRawSync(sample).length < sample.length * 0.9;
}

/** Builds a ZIP archive; entries are deflated when that makes them smaller. */
export function createZip(entries: readonly { name: string; data: Uint8Array }[], modified: Date): Buffer {
  if (entries.length >= 0xffff)
    throw new PalisadeError('PACK_ZIP_INVALID', 'too many files for a ZIP without ZIP64');
  const { time, date } = dosTime(modified);
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const data = Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
    const deflated = worthDeflating(data) ? deflateRawSync(data) : data;
    const method = deflated.length < data.length ? 8 : 0;
    const body = method === 8 ? deflated : data;
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(UTF8_FLAG, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const head = Buffer.alloc(46);
    head.writeUInt32LE(CENTRAL, 0);
    head.writeUInt16LE(20, 4);
    head.writeUInt16LE(20, 6);
    head.writeUInt16LE(UTF8_FLAG, 8);
    head.writeUInt16LE(method, 10);
    head.writeUInt16LE(time, 12);
    head.writeUInt16LE(date, 14);
    head.writeUInt32LE(crc, 16);
    head.writeUInt32LE(body.length, 20);
    head.writeUInt32LE(data.length, 24);
    head.writeUInt16LE(name.length, 28);
    head.writeUInt32LE(offset, 42);
    central.push(head, name);
    parts.push(local, name, body);
    offset += local.length + name.length + body.length;
    if (offset > 0xfffffffe)
      throw new PalisadeError('PACK_ZIP_INVALID', 'pack too large for a ZIP without ZIP64');
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

function bad(message: string): PalisadeError {
  return new PalisadeError('PACK_ZIP_INVALID', `not a readable evidence pack ZIP: ${message}`);
}

/** Reads every file entry of a ZIP held in memory; directory entries are skipped. */
export function readZip(buf: Buffer, limits: ZipLimits = DEFAULT_ZIP_LIMITS): ZipEntry[] {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === END) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad('no end-of-central-directory record');
  const disk = buf.readUInt16LE(eocd + 4);
  const cdDisk = buf.readUInt16LE(eocd + 6);
  const onDisk = buf.readUInt16LE(eocd + 8);
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (disk !== 0 || cdDisk !== 0 || onDisk !== count) throw bad('multi-volume archives are not supported');
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff)
    throw bad('ZIP64 is not supported');
  if (count > limits.maxEntries) throw bad(`more than ${limits.maxEntries} entries`);
  if (cdOffset + cdSize > eocd) throw bad('the central directory lies outside the file');

  const entries: ZipEntry[] = [];
  let total = 0;
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cdOffset + cdSize) throw bad('truncated central directory');
    if (buf.readUInt32LE(p) !== CENTRAL) throw bad('bad central directory signature');
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const compressed = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const commentLength = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    const next = p + 46 + nameLength + extraLength + commentLength;
    if (next > cdOffset + cdSize) throw bad('truncated central directory entry');
    if (nameLength === 0 || nameLength > MAX_NAME_BYTES) throw bad('entry name missing or too long');
    const name = buf.subarray(p + 46, p + 46 + nameLength).toString('utf8');
    p = next;
    if (flags & 0x0001) throw bad(`${name} is encrypted`);
    if (method !== 0 && method !== 8) throw bad(`${name} uses compression method ${method}`);
    if (compressed === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff)
      throw bad('ZIP64 is not supported');
    if (size > limits.maxEntryBytes) throw bad(`${name} is larger than ${limits.maxEntryBytes} bytes`);
    total += size;
    if (total > limits.maxTotalBytes)
      throw bad(`the files add up to more than ${limits.maxTotalBytes} bytes`);

    if (localOffset + 30 > cdOffset) throw bad(`${name}: local header outside the file`);
    if (buf.readUInt32LE(localOffset) !== LOCAL) throw bad(`${name}: bad local header signature`);
    const start = localOffset + 30 + buf.readUInt16LE(localOffset + 26) + buf.readUInt16LE(localOffset + 28);
    if (start + compressed > cdOffset) throw bad(`${name}: data outside the file`);
    if (name.endsWith('/')) continue;
    const raw = buf.subarray(start, start + compressed);
    let data: Buffer;
    if (method === 0) {
      if (compressed !== size) throw bad(`${name}: stored sizes disagree`);
      data = raw;
    } else {
      try {
        data = inflateRawSync(raw, { maxOutputLength: Math.max(size, 1) });
      } catch (err) {
        throw bad(`${name}: ${describeError(err)}`);
      }
    }
    if (data.length !== size) throw bad(`${name}: ${data.length} bytes, but the directory says ${size}`);
    if (crc32(data) !== crc) throw bad(`${name}: CRC-32 mismatch`);
    entries.push({ name, data });
  }
  return entries;
}
