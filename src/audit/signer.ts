import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PalisadeError, describeError } from '../errors/index.js';
import { checkKeyName } from './note.js';

/**
 * What a log signs its checkpoints with. The key-management module backs it with an HSM (PKCS#11); the
 * file signer below is the embedded default. Any object of this shape will do.
 */
export interface CheckpointSigner {
  /** Key name written in the note's signature line (C2SP recommends the log's origin). */
  readonly name: string;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Ed25519 signature (64 bytes) over `message`. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Where the embedded signer keeps its key, relative to the data dir. */
export const CHECKPOINT_KEY_FILE = 'keys/audit-checkpoint.pem';

/**
 * An Ed25519 signer whose private key is a PKCS#8 PEM file, created (mode 0600, directory 0700) on first
 * use. A key file readable by group or others is refused: whoever reads it can forge checkpoints.
 */
export function openFileSigner(options: { file: string; name: string }): CheckpointSigner {
  checkKeyName(options.name);
  const privateKey = loadOrCreate(options.file);
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicKey = Buffer.from(jwk.x ?? '', 'base64url');
  return {
    name: options.name,
    publicKey,
    async sign(message: Uint8Array) {
      return sign(null, message, privateKey);
    },
  };
}

function loadOrCreate(file: string): KeyObject {
  try {
    return load(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
  // Write aside, then link into place: link never replaces, so two processes starting together end up
  // with one key, and no reader ever sees a half-written file.
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, pem, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw keyError(file, err);
  } finally {
    unlinkSync(tmp);
  }
  return load(file);
}

function load(file: string): KeyObject {
  const mode = statSync(file).mode;
  if ((mode & 0o077) !== 0) {
    throw new PalisadeError(
      'AUDIT_KEY_INSECURE',
      `checkpoint key ${file} is readable by others (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file));
  } catch (err) {
    throw keyError(file, err);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new PalisadeError('AUDIT_KEY_INVALID', `checkpoint key ${file} is not an Ed25519 private key`);
  }
  return key;
}

function keyError(file: string, err: unknown): PalisadeError {
  return new PalisadeError('AUDIT_KEY_INVALID', `cannot use checkpoint key ${file}: ${describeError(err)}`, {
    cause: err,
  });
}
