import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { PalisadeError } from '../../errors/index.js';

/**
 * The evidence signer: an Ed25519 key held by the key provider (the HSM when one is configured); the
 * pack code needs only this shape.
 */
export interface EvidenceSigner {
  /** Where the key lives, shown in the manifest (e.g. `file:keys/evidence.key`, `pkcs11:evidence`). */
  readonly name: string;
  /** Raw Ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** The 12-byte DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw key follows. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** `sha256:<hex>` of the raw public key: what an auditor compares out of band. */
export function keyFingerprint(publicKey: Uint8Array): string {
  return `sha256:${createHash('sha256').update(publicKey).digest('hex')}`;
}

export function rawPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ type: 'spki', format: 'der' });
  if (der.length !== 44 || !der.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) {
    throw new PalisadeError('EVIDENCE_KEY_INVALID', 'the evidence key is not an Ed25519 key');
  }
  return new Uint8Array(der.subarray(12));
}

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new PalisadeError('EVIDENCE_KEY_INVALID', 'an Ed25519 public key is 32 bytes');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(null, message, publicKeyFromRaw(publicKey), signature);
  } catch {
    return false;
  }
}
