import { hash } from 'node:crypto';
import { HASH_SIZE } from './merkle.js';

/**
 * One line of an export's entries.jsonl, parsed byte by byte (no JSON.parse, no copies):
 *
 *   {"index":<decimal>,"leafHash":<"64 lower-case hex digits"|null>,"leaf":<leaf bytes>}
 *
 * Shared by the reader on the main thread and the verification workers.
 */
export interface EntryLine {
  index: number;
  /** [leafStart, leafEnd): the leaf preceded by one byte that `hashLeaf` overwrites with 0x00. */
  leafStart: number;
  leafEnd: number;
  /** Offset of the recorded hash's hex digits, or -1 when it is null. */
  hexAt: number;
}

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX['0123456789abcdef'.charCodeAt(i)] = i;
const INDEX_PREFIX = Buffer.from('{"index":');
const HASH_PREFIX = Buffer.from(',"leafHash":');
const LEAF_PREFIX = Buffer.from(',"leaf":');
const NULL = Buffer.from('null');

/** Byte comparison in JS: for prefixes this short, cheaper than a call into Buffer.compare. */
function startsWith(buf: Buffer, at: number, prefix: Buffer): boolean {
  if (at + prefix.length > buf.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[at + i] !== prefix[i]) return false;
  return true;
}

/** Parses buf[start, end) (without its newline) into `line`; returns why it is malformed, if it is. */
export function parseEntryLine(buf: Buffer, start: number, end: number, line: EntryLine): string | undefined {
  let at = start;
  if (!startsWith(buf, at, INDEX_PREFIX)) return 'expected {"index":';
  at += INDEX_PREFIX.length;
  let index = 0;
  const digitsFrom = at;
  while (at < end && buf[at]! >= 0x30 && buf[at]! <= 0x39 && at - digitsFrom < 16) {
    index = index * 10 + buf[at]! - 0x30;
    at++;
  }
  if (at === digitsFrom || (buf[digitsFrom] === 0x30 && at - digitsFrom > 1)) return 'bad index';
  if (!startsWith(buf, at, HASH_PREFIX)) return 'expected ,"leafHash":';
  at += HASH_PREFIX.length;
  let hexAt = -1;
  if (buf[at] === 0x22) {
    // The digits themselves are checked when they are compared with the leaf's hash (recordedHash).
    hexAt = at + 1;
    if (buf[hexAt + 2 * HASH_SIZE] !== 0x22) return 'leafHash is not 64 lower-case hex digits';
    at += 2 + 2 * HASH_SIZE;
  } else if (startsWith(buf, at, NULL)) {
    at += NULL.length;
  } else {
    return 'leafHash must be a hex string or null';
  }
  if (!startsWith(buf, at, LEAF_PREFIX)) return 'expected ,"leaf":';
  at += LEAF_PREFIX.length;
  if (end - 1 <= at || buf[end - 1] !== 0x7d) return 'expected the line to end with }';
  line.index = index;
  line.leafStart = at - 1;
  line.leafEnd = end - 1;
  line.hexAt = hexAt;
  return undefined;
}

/**
 * SHA-256(0x00 || leaf) as a 32-character latin1 string. The byte before the leaf (the ':' of
 * `"leaf":`) is overwritten with the 0x00 prefix, so the leaf is hashed in place without a copy.
 */
export function hashLeaf(buf: Buffer, line: EntryLine): string {
  buf[line.leafStart] = 0x00;
  return hash('sha256', buf.subarray(line.leafStart, line.leafEnd), 'binary');
}

/**
 * The recorded leaf hash as a latin1 string: `actual` itself when the hex digits spell it (the common
 * case, checked without decoding), null when none was recorded, undefined when the digits are not hex.
 */
export function recordedHash(buf: Buffer, line: EntryLine, actual: string): string | null | undefined {
  const at = line.hexAt;
  if (at < 0) return null;
  for (let i = 0; i < HASH_SIZE; i++) {
    // An invalid digit makes the value negative, so it never matches and lands in the slow path.
    if (((HEX[buf[at + 2 * i]!]! << 4) | HEX[buf[at + 2 * i + 1]!]!) !== actual.charCodeAt(i)) {
      const text = buf.toString('latin1', at, at + 2 * HASH_SIZE);
      return /^[0-9a-f]{64}$/.test(text) ? Buffer.from(text, 'hex').toString('latin1') : undefined;
    }
  }
  return actual;
}
