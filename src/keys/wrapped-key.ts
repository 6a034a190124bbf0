import { keyError } from './errors.js';

/**
 * The wrapped data-key blob both providers produce, so a DEK wrapped by the local key file can be
 * re-wrapped by an HSM (and the other way round) without any format change:
 *
 *   0      1 byte   format version, 1
 *   1      1 byte   algorithm, 1 = AES-256-GCM with a 96-bit IV and a 128-bit tag
 *   2     12 bytes  IV, random per wrap
 *   14    32 bytes  the encrypted data key
 *   46    16 bytes  the GCM tag
 *
 * The additional authenticated data is the "context" built by `dekContext`: it binds the wrapped key
 * to its object and to the KEK id and version, so a wrapped key copied onto another object's row, or
 * presented under another KEK version, does not open.
 */
export const WRAP_FORMAT_V1 = 1;
export const WRAP_ALG_AES256_GCM = 1;
export const DEK_BYTES = 32;
export const WRAP_IV_BYTES = 12;
export const WRAP_TAG_BYTES = 16;
export const WRAPPED_DEK_BYTES = 2 + WRAP_IV_BYTES + DEK_BYTES + WRAP_TAG_BYTES;

export interface WrappedParts {
  iv: Buffer;
  /** Ciphertext followed by the tag, as PKCS#11 C_Decrypt expects it. */
  sealed: Buffer;
}

export function encodeWrapped(iv: Uint8Array, sealed: Uint8Array): Buffer {
  if (iv.length !== WRAP_IV_BYTES || sealed.length !== DEK_BYTES + WRAP_TAG_BYTES) {
    throw new Error('wrapped data key of unexpected size');
  }
  return Buffer.concat([Buffer.from([WRAP_FORMAT_V1, WRAP_ALG_AES256_GCM]), iv, sealed]);
}

export function decodeWrapped(blob: Uint8Array): WrappedParts {
  if (blob.length !== WRAPPED_DEK_BYTES || blob[0] !== WRAP_FORMAT_V1 || blob[1] !== WRAP_ALG_AES256_GCM) {
    throw keyError('DEK_UNWRAP_FAILED', 'the wrapped data key is not in a known format');
  }
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  return { iv: b.subarray(2, 2 + WRAP_IV_BYTES), sealed: b.subarray(2 + WRAP_IV_BYTES) };
}

const CONTEXT_LABEL = Buffer.from('palisade/dek/v1', 'ascii');

/** The additional authenticated data of a wrapped data key: label, KEK id, KEK version, object id. */
export function dekContext(kekId: string, kekVersion: number, objectId: string): Buffer {
  const kek = Buffer.from(kekId, 'utf8');
  const obj = Buffer.from(objectId, 'utf8');
  const out = Buffer.alloc(CONTEXT_LABEL.length + 2 + kek.length + 4 + 2 + obj.length);
  let o = CONTEXT_LABEL.copy(out, 0);
  o = out.writeUInt16BE(kek.length, o);
  o += kek.copy(out, o);
  o = out.writeUInt32BE(kekVersion, o);
  o = out.writeUInt16BE(obj.length, o);
  obj.copy(out, o);
  return out;
}

/** DER SubjectPublicKeyInfo prefix of an Ed25519 key (RFC 8410): the raw 32-byte key follows. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function ed25519Spki(raw: Uint8Array): Buffer {
  return Buffer.concat([ED25519_SPKI_PREFIX, raw]);
}

export function ed25519RawFromSpki(spki: Uint8Array): Buffer {
  const b = Buffer.from(spki);
  if (b.length !== 44 || !b.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) {
    throw new Error('not an Ed25519 SubjectPublicKeyInfo');
  }
  return b.subarray(12);
}
