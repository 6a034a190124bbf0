import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PalisadeError, describeError } from '../../errors/index.js';

/**
 * The evidence signer: the same shape the keys module will offer from the HSM, so the pack code does
 * not change when the key moves there. Until then a file-backed Ed25519 key in the data dir.
 */
export interface EvidenceSigner {
  /** Where the key lives, shown in the manifest (e.g. `file:keys/evidence.key`, `pkcs11:evidence`). */
  readonly name: string;
  /** Raw Ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export const EVIDENCE_KEY_FILE = 'keys/evidence.key';
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

/** Loads `<dataDir>/keys/evidence.key`, creating it (0600, directory 0700) on first use. */
export function fileEvidenceSigner(dataDir: string): EvidenceSigner {
  const file = path.join(dataDir, EVIDENCE_KEY_FILE);
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new PalisadeError('EVIDENCE_KEY_UNREADABLE', `cannot read ${file}: ${describeError(err)}`);
    }
    const { privateKey } = generateKeyPairSync('ed25519');
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, pem, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new PalisadeError(
      'EVIDENCE_KEY_INVALID',
      `${file} is not a PEM private key: ${describeError(err)}`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new PalisadeError(
      'EVIDENCE_KEY_INVALID',
      `${file} holds a ${String(key.asymmetricKeyType)} key, not Ed25519`,
    );
  }
  const publicKey = rawPublicKey(createPublicKey(key));
  return {
    name: `file:${EVIDENCE_KEY_FILE}`,
    publicKey,
    async sign(message) {
      return new Uint8Array(sign(null, message, key));
    },
  };
}
