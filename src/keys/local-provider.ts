import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  sign as edSign,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { keyError } from './errors.js';
import { withFileLock } from './file-lock.js';
import { assertPrivateFile, writePrivateFileAtomic } from './private-file.js';
import {
  KEY_NAME_PATTERN,
  type Ed25519Signer,
  type KekProtection,
  type KeyProvider,
  type ProviderInfo,
} from './provider.js';
import {
  DEK_BYTES,
  WRAP_IV_BYTES,
  WRAP_TAG_BYTES,
  decodeWrapped,
  ed25519RawFromSpki,
  encodeWrapped,
} from './wrapped-key.js';

/** The local key file is small (one entry per KEK version and signing key); anything bigger is wrong. */
const MAX_KEY_FILE_BYTES = 4 * 1024 * 1024;
const FILE_FORMAT = 'palisade-local-keys';

type KeyFile = {
  format: typeof FILE_FORMAT;
  version: 1;
  keks: Record<string, { label: string; key: string; created: string }>;
  signingKeys: Record<string, { algorithm: 'Ed25519'; pkcs8: string; created: string }>;
};

/**
 * KEKs and signing keys in a file in the data dir (0600, directory 0700). For the embedded default and
 * development: the keys are only as safe as the file, so the compliance view rates this provider
 * below SL3 (`hardwareBacked: false`). Key material stays in private fields as `KeyObject`s and is
 * never part of what `util.inspect` or `JSON.stringify` show.
 */
export class LocalKeyProvider implements KeyProvider {
  readonly info: ProviderInfo;
  readonly #file: string;
  readonly #keks = new Map<string, KeyObject>();
  readonly #signers = new Map<string, Ed25519Signer>();
  #closed = false;

  private constructor(file: string) {
    this.#file = file;
    this.info = {
      kind: 'local',
      hardwareBacked: false,
      description: `local key file ${file} (software, not hardware-backed)`,
    };
  }

  /** Opens (or creates, empty) the key file. Refuses a file other users can read. */
  static async open(file: string): Promise<LocalKeyProvider> {
    const abs = path.resolve(file);
    mkdirSync(path.dirname(abs), { recursive: true, mode: 0o700 });
    const provider = new LocalKeyProvider(abs);
    if (!existsSync(abs)) {
      await withFileLock(`${abs}.lock`, () => {
        if (!existsSync(abs)) writePrivateFileAtomic(abs, serialize(emptyFile()));
      });
    }
    provider.#load();
    return provider;
  }

  async createKek(label: string): Promise<string> {
    this.#assertOpen();
    const ref = randomBytes(16).toString('hex');
    const key = randomBytes(32);
    try {
      await this.#update((f) => {
        f.keks[ref] = { label, key: key.toString('base64'), created: new Date().toISOString() };
      });
      this.#keks.set(ref, createSecretKey(key));
    } finally {
      key.fill(0);
    }
    return ref;
  }

  async hasKek(ref: string): Promise<boolean> {
    this.#assertOpen();
    // Read the file again: another process may have destroyed it.
    return this.#load().has(ref);
  }

  async kekProtection(ref: string): Promise<KekProtection> {
    this.#requireKek(ref);
    // A key in a file is readable by whoever can read the file: nothing in it is sensitive.
    return { sensitive: false, extractable: true, alwaysSensitive: false, neverExtractable: false };
  }

  async wrapDek(ref: string, dek: Uint8Array, context: Uint8Array): Promise<Buffer> {
    const kek = this.#requireKek(ref);
    if (dek.length !== DEK_BYTES) throw new Error(`a data key is ${DEK_BYTES} bytes`);
    const iv = randomBytes(WRAP_IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: WRAP_TAG_BYTES });
    cipher.setAAD(context);
    const sealed = Buffer.concat([cipher.update(dek), cipher.final(), cipher.getAuthTag()]);
    return encodeWrapped(iv, sealed);
  }

  async unwrapDek(ref: string, wrapped: Uint8Array, context: Uint8Array): Promise<Buffer> {
    const kek = this.#requireKek(ref);
    const { iv, sealed } = decodeWrapped(wrapped);
    const decipher = createDecipheriv('aes-256-gcm', kek, iv, { authTagLength: WRAP_TAG_BYTES });
    decipher.setAAD(context);
    decipher.setAuthTag(sealed.subarray(DEK_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, DEK_BYTES)), decipher.final()]);
    } catch (err) {
      throw keyError(
        'DEK_UNWRAP_FAILED',
        'the wrapped data key does not open under this key-encryption key',
        {
          cause: err,
        },
      );
    }
  }

  async destroyKek(ref: string): Promise<boolean> {
    this.#assertOpen();
    let existed = false;
    await this.#update((f) => {
      existed = Object.hasOwn(f.keks, ref);
      f.keks = Object.fromEntries(Object.entries(f.keks).filter(([r]) => r !== ref));
    });
    this.#keks.delete(ref);
    return existed;
  }

  async signer(name: string, options: { create?: boolean } = {}): Promise<Ed25519Signer> {
    this.#assertOpen();
    if (!KEY_NAME_PATTERN.test(name))
      throw keyError('KEY_NAME_INVALID', `invalid signing key name "${name}"`);
    const cached = this.#signers.get(name);
    if (cached) return cached;
    let entry = this.#readFile().signingKeys[name];
    if (entry === undefined) {
      if (options.create === false) throw keyError('KEK_NOT_FOUND', `no signing key named "${name}"`);
      await this.#update((f) => {
        // Another process may have created it while we waited for the lock: keep theirs.
        if (f.signingKeys[name] === undefined) {
          const { privateKey } = generateKeyPairSync('ed25519');
          f.signingKeys[name] = {
            algorithm: 'Ed25519',
            pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
            created: new Date().toISOString(),
          };
        }
        entry = f.signingKeys[name];
      });
    }
    const privateKey = createPrivateKey({
      key: Buffer.from(entry!.pkcs8, 'base64'),
      format: 'der',
      type: 'pkcs8',
    });
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    const signer = makeSigner(name, spki, async (message) => edSign(null, message, privateKey));
    this.#signers.set(name, signer);
    return signer;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#keks.clear();
    this.#signers.clear();
  }

  /** What `util.inspect` and `console.log` show: never a key. */
  [inspect.custom](): string {
    return `LocalKeyProvider { file: ${this.#file}, keks: ${this.#keks.size} }`;
  }

  toJSON(): ProviderInfo {
    return this.info;
  }

  #assertOpen(): void {
    if (this.#closed) throw keyError('KEY_PROVIDER_UNAVAILABLE', 'the local key provider is closed');
  }

  #requireKek(ref: string): KeyObject {
    this.#assertOpen();
    // On a miss, read the file again: another process may have created the key since we loaded it.
    const kek = this.#keks.get(ref) ?? this.#load().get(ref);
    if (!kek) throw keyError('KEK_NOT_FOUND', `the local key file holds no key-encryption key ${ref}`);
    return kek;
  }

  #load(): Map<string, KeyObject> {
    const f = this.#readFile();
    this.#keks.clear();
    for (const [ref, entry] of Object.entries(f.keks)) {
      const raw = Buffer.from(entry.key, 'base64');
      if (raw.length !== 32) throw keyError('KEY_FILE_INVALID', `${this.#file}: key ${ref} is not 256 bits`);
      this.#keks.set(ref, createSecretKey(raw));
      raw.fill(0);
    }
    return this.#keks;
  }

  #readFile(): KeyFile {
    assertPrivateFile(this.#file, 'the local key file');
    const bytes = readFileSync(this.#file);
    if (bytes.length > MAX_KEY_FILE_BYTES) {
      throw keyError('KEY_FILE_INVALID', `${this.#file} is larger than ${MAX_KEY_FILE_BYTES} bytes`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw keyError('KEY_FILE_INVALID', `${this.#file} is not JSON`);
    } finally {
      bytes.fill(0);
    }
    if (!isKeyFile(parsed)) throw keyError('KEY_FILE_INVALID', `${this.#file} is not a Palisade key file`);
    return parsed;
  }

  async #update(change: (f: KeyFile) => void): Promise<void> {
    await withFileLock(`${this.#file}.lock`, () => {
      const f = this.#readFile();
      change(f);
      writePrivateFileAtomic(this.#file, serialize(f));
    });
  }
}

export function makeSigner(
  name: string,
  spki: Uint8Array,
  sign: (message: Uint8Array) => Promise<Uint8Array>,
): Ed25519Signer {
  const publicKey = new Uint8Array(ed25519RawFromSpki(spki));
  const spkiCopy = new Uint8Array(spki);
  return Object.freeze({ name, algorithm: 'Ed25519' as const, publicKey, spki: spkiCopy, sign });
}

function emptyFile(): KeyFile {
  return { format: FILE_FORMAT, version: 1, keks: {}, signingKeys: {} };
}

function serialize(f: KeyFile): Buffer {
  return Buffer.from(`${JSON.stringify(f, null, 1)}\n`, 'utf8');
}

function isKeyFile(v: unknown): v is KeyFile {
  const record = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
  if (!record(v) || v.format !== FILE_FORMAT || v.version !== 1) return false;
  const { keks, signingKeys } = v;
  return (
    record(keks) &&
    record(signingKeys) &&
    Object.values(keks).every((k) => record(k) && typeof k.key === 'string' && typeof k.label === 'string') &&
    Object.values(signingKeys).every(
      (k) => record(k) && k.algorithm === 'Ed25519' && typeof k.pkcs8 === 'string',
    )
  );
}
