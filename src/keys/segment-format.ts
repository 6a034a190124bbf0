import {
  createHash,
  createHmac,
  createSecretKey,
  hkdfSync,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { keyError } from './errors.js';

/**
 * The sealed-object format ("Palisade segment encryption", version 1), specified byte by byte in
 * docs/formats/segment-encryption.md. In short: a header naming the object and camera, a key check
 * value and a header MAC; then records of chunked AES-256-GCM, each with its index, a final flag and
 * its length in clear and bound into its nonce and AAD, so any chunk can be decrypted on its own.
 */
export const SEGMENT_MAGIC = Buffer.from('PSEG', 'ascii');
export const SEGMENT_FORMAT_VERSION = 1;
/** AES-256-GCM chunks with HKDF-SHA-256 subkeys and an HMAC-SHA-256 header MAC. */
export const SEGMENT_ALG_AES256GCM = 1;

export const NONCE_PREFIX_BYTES = 7;
export const KEY_CHECK_BYTES = 16;
export const HEADER_MAC_BYTES = 16;
export const TAG_BYTES = 16;
/** index u32, flags u8, plaintext length u32. */
export const RECORD_HEADER_BYTES = 9;
export const RECORD_OVERHEAD = RECORD_HEADER_BYTES + TAG_BYTES;
export const FLAG_FINAL = 0x01;

/** Fixed part of the header before the object id: magic .. nonce prefix .. object id length. */
const FIXED_BYTES = 18;
export const MIN_HEADER_BYTES = FIXED_BYTES + 1 + 1 + KEY_CHECK_BYTES + HEADER_MAC_BYTES;
export const MAX_ID_BYTES = 255;
export const MAX_HEADER_BYTES = MIN_HEADER_BYTES - 1 + MAX_ID_BYTES + MAX_ID_BYTES;

export const MIN_CHUNK_EXPONENT = 12; // 4 KiB
export const MAX_CHUNK_EXPONENT = 22; // 4 MiB
/**
 * 256 KiB: each chunk costs a GCM context of its own (about 4-5 µs in Node 20), which at 64 KiB is a
 * quarter of the bulk work and at 256 KiB under a tenth (bench/keys). Video is read in fragments of
 * hundreds of KiB anyway, so seeking loses nothing that matters.
 */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;
/** Chunk indexes are 32-bit; the last index is kept free so a final chunk always has room. */
export const MAX_CHUNKS = 0xffff_ffff;

export interface SegmentHeader {
  version: number;
  algorithm: number;
  chunkSize: number;
  noncePrefix: Buffer;
  objectId: string;
  cameraId: string;
  keyCheck: Buffer;
  mac: Buffer;
  /** The complete header bytes as they appear in the object. */
  bytes: Buffer;
}

/** The subkeys of one object's data key; the data key itself is not kept. */
export interface SegmentKeys {
  enc: KeyObject;
  mac: KeyObject;
  check: Buffer;
}

export function deriveSegmentKeys(dek: Uint8Array): SegmentKeys {
  if (dek.length !== 32) throw keyError('SEGMENT_WRONG_KEY', 'a data key is 32 bytes');
  // One HKDF-SHA-256 expansion, cut into the chunk key, the header MAC key and the key check value.
  const okm = Buffer.from(hkdfSync('sha256', dek, Buffer.alloc(0), 'palisade/segment/v1/keys', 80));
  const keys = {
    enc: createSecretKey(okm.subarray(0, 32)),
    mac: createSecretKey(okm.subarray(32, 64)),
    check: Buffer.from(okm.subarray(64, 80)),
  };
  okm.fill(0);
  return keys;
}

export function validateId(value: string, what: 'object id' | 'camera id'): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const min = what === 'object id' ? 1 : 0;
  if (bytes.length < min || bytes.length > MAX_ID_BYTES) {
    throw keyError('KEY_NAME_INVALID', `the ${what} must be ${min}-${MAX_ID_BYTES} bytes of UTF-8`);
  }
  return bytes;
}

export function chunkExponent(chunkSize: number): number {
  const e = Math.log2(chunkSize);
  if (!Number.isInteger(e) || e < MIN_CHUNK_EXPONENT || e > MAX_CHUNK_EXPONENT) {
    throw keyError(
      'SEGMENT_HEADER_INVALID',
      `chunk size must be a power of two from ${2 ** MIN_CHUNK_EXPONENT} to ${2 ** MAX_CHUNK_EXPONENT} bytes`,
    );
  }
  return e;
}

export function encodeHeader(
  keys: SegmentKeys,
  fields: { chunkSize: number; noncePrefix: Uint8Array; objectId: string; cameraId: string },
): Buffer {
  const obj = validateId(fields.objectId, 'object id');
  const cam = validateId(fields.cameraId, 'camera id');
  if (fields.noncePrefix.length !== NONCE_PREFIX_BYTES) throw new Error('nonce prefix is 7 bytes');
  const length = MIN_HEADER_BYTES - 1 + obj.length + cam.length;
  const h = Buffer.alloc(length);
  SEGMENT_MAGIC.copy(h, 0);
  h[4] = SEGMENT_FORMAT_VERSION;
  h[5] = SEGMENT_ALG_AES256GCM;
  h.writeUInt16BE(length, 6);
  h[8] = chunkExponent(fields.chunkSize);
  h[9] = 0;
  Buffer.from(fields.noncePrefix).copy(h, 10);
  h[17] = obj.length;
  let o = 18 + obj.copy(h, 18);
  h[o++] = cam.length;
  o += cam.copy(h, o);
  o += keys.check.copy(h, o);
  headerMac(keys, h.subarray(0, o)).copy(h, o);
  return h;
}

function headerMac(keys: SegmentKeys, covered: Uint8Array): Buffer {
  return createHmac('sha256', keys.mac).update(covered).digest().subarray(0, HEADER_MAC_BYTES);
}

/** The header length announced by the first 8 bytes, after checking magic, version and algorithm. */
export function headerLength(prefix: Uint8Array, totalSize: number): number {
  const p = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (p.length < 8) {
    // A short object that starts like a segment was cut off; anything else is not a segment.
    const seen = Math.min(p.length, SEGMENT_MAGIC.length);
    if (totalSize < 8 && p.subarray(0, seen).equals(SEGMENT_MAGIC.subarray(0, seen))) {
      throw keyError(
        'SEGMENT_TRUNCATED',
        `the sealed object is ${totalSize} bytes: it ends inside its header`,
      );
    }
    throw keyError('SEGMENT_HEADER_INVALID', 'the object is too short to be a sealed segment');
  }
  if (!p.subarray(0, 4).equals(SEGMENT_MAGIC)) {
    throw keyError('SEGMENT_HEADER_INVALID', 'the object does not start with the segment magic "PSEG"');
  }
  if (p[4] !== SEGMENT_FORMAT_VERSION || p[5] !== SEGMENT_ALG_AES256GCM) {
    throw keyError(
      'SEGMENT_VERSION_UNSUPPORTED',
      `segment format version ${p[4]} algorithm ${p[5]} is not supported`,
      {
        details: { version: p[4], algorithm: p[5] },
      },
    );
  }
  const length = p.readUInt16BE(6);
  if (length < MIN_HEADER_BYTES || length > MAX_HEADER_BYTES) {
    throw keyError(
      'SEGMENT_HEADER_INVALID',
      `segment header length ${length} is outside ${MIN_HEADER_BYTES}-${MAX_HEADER_BYTES}`,
    );
  }
  if (totalSize < length) {
    throw keyError(
      'SEGMENT_TRUNCATED',
      `the sealed object is ${totalSize} bytes: it ends inside its ${length}-byte header`,
    );
  }
  return length;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a complete header (its length from `headerLength`). Checks structure only, not authenticity. */
export function parseHeader(bytes: Uint8Array): SegmentHeader {
  const h = Buffer.from(bytes);
  const invalid = (why: string) => keyError('SEGMENT_HEADER_INVALID', `segment header: ${why}`);
  const length = h.readUInt16BE(6);
  if (h.length !== length) throw invalid('length mismatch');
  const exponent = h[8]!;
  if (exponent < MIN_CHUNK_EXPONENT || exponent > MAX_CHUNK_EXPONENT)
    throw invalid(`chunk size 2^${exponent}`);
  if (h[9] !== 0) throw invalid('reserved flags are set');
  const objLength = h[17]!;
  if (objLength === 0) throw invalid('empty object id');
  const camAt = FIXED_BYTES + objLength;
  if (camAt >= length) throw invalid('object id overruns the header');
  const camLength = h[camAt]!;
  const checkAt = camAt + 1 + camLength;
  if (checkAt + KEY_CHECK_BYTES + HEADER_MAC_BYTES !== length) throw invalid('field lengths do not add up');
  let objectId: string;
  let cameraId: string;
  try {
    objectId = utf8.decode(h.subarray(FIXED_BYTES, camAt));
    cameraId = utf8.decode(h.subarray(camAt + 1, checkAt));
  } catch {
    throw invalid('an id is not UTF-8');
  }
  return {
    version: h[4]!,
    algorithm: h[5]!,
    chunkSize: 2 ** exponent,
    noncePrefix: h.subarray(10, 17),
    objectId,
    cameraId,
    keyCheck: h.subarray(checkAt, checkAt + KEY_CHECK_BYTES),
    mac: h.subarray(length - HEADER_MAC_BYTES),
    bytes: h,
  };
}

/**
 * The checks between parsing and reading chunks, each with its own error. The key check value comes
 * first: when it fails, the header naming another object means "this is another object's file"
 * (SEGMENT_WRONG_OBJECT), otherwise the data key is wrong (SEGMENT_WRONG_KEY). Then the header MAC
 * (SEGMENT_AUTH_FAILED: the header, ids included, was modified). Only an authentic header is compared
 * with the object and camera the caller expects, so a flipped bit in an id reads as tampering.
 */
export function verifyHeader(
  header: SegmentHeader,
  keys: SegmentKeys,
  expected: { objectId: string; cameraId?: string | undefined },
): void {
  const wrongObject = () =>
    keyError(
      'SEGMENT_WRONG_OBJECT',
      `the sealed object is "${header.objectId}", not "${expected.objectId}"`,
      {
        details: { expected: expected.objectId, found: header.objectId },
      },
    );
  if (!timingSafeEqual(header.keyCheck, keys.check)) {
    if (header.objectId !== expected.objectId) throw wrongObject();
    throw keyError('SEGMENT_WRONG_KEY', `the data key does not belong to object "${header.objectId}"`);
  }
  const mac = headerMac(keys, header.bytes.subarray(0, header.bytes.length - HEADER_MAC_BYTES));
  if (!timingSafeEqual(mac, header.mac)) {
    throw keyError('SEGMENT_AUTH_FAILED', `the header of object "${header.objectId}" was modified`, {
      details: { where: 'header' },
    });
  }
  if (header.objectId !== expected.objectId) throw wrongObject();
  if (expected.cameraId !== undefined && header.cameraId !== expected.cameraId) {
    throw keyError(
      'SEGMENT_WRONG_CAMERA',
      `object "${header.objectId}" was recorded from camera "${header.cameraId}", not "${expected.cameraId}"`,
      { details: { expected: expected.cameraId, found: header.cameraId } },
    );
  }
}

/** What every chunk's AAD starts with: a digest of the whole header, binding chunks to this object. */
export function headerDigest(header: Uint8Array): Buffer {
  return createHash('sha256').update(header).digest();
}

export function chunkNonce(prefix: Uint8Array, index: number, flags: number): Buffer {
  const n = Buffer.alloc(12);
  Buffer.from(prefix.buffer, prefix.byteOffset, prefix.byteLength).copy(n, 0);
  n.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  n[11] = flags;
  return n;
}

/** Sizes implied by the object size: full chunks before the final one, and the final chunk's length. */
export interface SegmentLayout {
  headerBytes: number;
  chunkSize: number;
  recordBytes: number;
  /** Number of full (non-final) records; the final record's index equals this. */
  fullRecords: number;
  finalLength: number;
  plaintextBytes: number;
}

/** Undefined when the object size cannot belong to a complete object with this header. */
export function layoutFor(
  headerBytes: number,
  chunkSize: number,
  objectBytes: number,
): SegmentLayout | undefined {
  const recordBytes = chunkSize + RECORD_OVERHEAD;
  const body = objectBytes - headerBytes;
  if (body < RECORD_OVERHEAD) return undefined;
  const fullRecords = Math.floor(body / recordBytes);
  const rest = body - fullRecords * recordBytes;
  if (rest < RECORD_OVERHEAD || fullRecords >= MAX_CHUNKS) return undefined;
  const finalLength = rest - RECORD_OVERHEAD;
  return {
    headerBytes,
    chunkSize,
    recordBytes,
    fullRecords,
    finalLength,
    plaintextBytes: fullRecords * chunkSize + finalLength,
  };
}
