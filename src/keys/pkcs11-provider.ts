import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import pkcs11js from 'pkcs11js';
import { describeError, PalisadeError } from '../errors/index.js';
import { keyError } from './errors.js';
import { makeSigner } from './local-provider.js';
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
  ed25519Spki,
  encodeWrapped,
} from './wrapped-key.js';

type Handle = Buffer;

// PKCS#11 3.0 values pkcs11js 2.1 has no names for.
const CKK_EC_EDWARDS = 0x40;
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
const CKF_HW_SLOT = 0x4;
/** DER of OID 1.3.101.112 (id-Ed25519, RFC 8410): the CKA_EC_PARAMS of an Ed25519 key. */
const ED25519_EC_PARAMS = Buffer.from('06032b6570', 'hex');

export interface Pkcs11Options {
  /** Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: string;
  /** CKA_LABEL of the token (as set by `softhsm2-util --init-token --label` or the HSM's tools). */
  tokenLabel: string;
  /** The user PIN. Used to log in once and not kept. */
  pin: string;
  /**
   * Sessions opened with the token. Operations on different sessions run in parallel on libuv's
   * thread pool, so the event loop never waits for the HSM.
   */
  sessions?: number;
}

/**
 * The loaded PKCS#11 modules of this process. A module is initialised once per process (C_Initialize
 * a second time fails), so every provider on the same module shares it; the last one closed finalises.
 */
const modules = new Map<string, { lib: pkcs11js.PKCS11; refs: number }>();

function acquireModule(modulePath: string): pkcs11js.PKCS11 {
  const known = modules.get(modulePath);
  if (known) {
    known.refs += 1;
    return known.lib;
  }
  const lib = new pkcs11js.PKCS11();
  try {
    lib.load(modulePath);
  } catch (err) {
    throw keyError(
      'KEY_PROVIDER_UNAVAILABLE',
      `cannot load the PKCS#11 module ${modulePath}: ${describeError(err)}`,
      {
        cause: err,
      },
    );
  }
  try {
    // OS locking: sessions are used from libuv's worker threads at the same time.
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (err) {
    if (ckr(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      throw keyError(
        'KEY_PROVIDER_UNAVAILABLE',
        `C_Initialize of ${modulePath} failed: ${describeError(err)}`,
        {
          cause: err,
        },
      );
    }
  }
  modules.set(modulePath, { lib, refs: 1 });
  return lib;
}

function releaseModule(modulePath: string): void {
  const known = modules.get(modulePath);
  if (!known) return;
  known.refs -= 1;
  if (known.refs > 0) return;
  modules.delete(modulePath);
  try {
    known.lib.C_Finalize();
  } finally {
    known.lib.close();
  }
}

/** The CKR_* name of a PKCS#11 error (pkcs11js puts it in the message), or undefined. */
export function ckr(err: unknown): string | undefined {
  if (err instanceof pkcs11js.Pkcs11Error)
    return /CKR_[A-Z_]+/.exec(err.message)?.[0] ?? `0x${err.code.toString(16)}`;
  return undefined;
}

/** Hands out sessions one operation at a time: PKCS#11 allows one active operation per session. */
class SessionPool {
  readonly #free: Handle[];
  readonly #waiting: ((s: Handle) => void)[] = [];
  constructor(readonly all: Handle[]) {
    this.#free = [...all];
  }
  async use<T>(work: (session: Handle) => Promise<T> | T): Promise<T> {
    const session = this.#free.pop() ?? (await new Promise<Handle>((resolve) => this.#waiting.push(resolve)));
    try {
      return await work(session);
    } finally {
      const next = this.#waiting.shift();
      if (next) next(session);
      else this.#free.push(session);
    }
  }
}

/**
 * KEKs and signing keys in any PKCS#11 token. KEKs are AES-256 secret keys generated inside the token
 * as token objects that are private, sensitive and non-extractable, usable only to encrypt and
 * decrypt (CKM_AES_GCM): the key value never exists outside the token. Data keys are wrapped as
 * AES-256-GCM ciphertext with the object's context as AAD (one C_Encrypt / C_Decrypt each way).
 * Signing keys are Ed25519 key pairs (CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA) generated in the token.
 */
export class Pkcs11KeyProvider implements KeyProvider {
  readonly info: ProviderInfo;
  readonly #lib: pkcs11js.PKCS11;
  readonly #module: string;
  readonly #slot: Handle;
  readonly #pool: SessionPool;
  /** Object handles by CKA_ID (hex); handles are not secret, key values never leave the token. */
  readonly #handles = new Map<string, Handle>();
  readonly #signers = new Map<string, Ed25519Signer>();
  #closed = false;

  private constructor(
    lib: pkcs11js.PKCS11,
    module: string,
    slot: Handle,
    sessions: Handle[],
    info: ProviderInfo,
  ) {
    this.#lib = lib;
    this.#module = module;
    this.#slot = slot;
    this.#pool = new SessionPool(sessions);
    this.info = info;
  }

  static async open(options: Pkcs11Options): Promise<Pkcs11KeyProvider> {
    const lib = acquireModule(options.module);
    const sessions: Handle[] = [];
    try {
      const slot = findTokenSlot(lib, options.tokenLabel);
      const token = lib.C_GetTokenInfo(slot);
      const slotInfo = lib.C_GetSlotInfo(slot);
      const flags = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION;
      for (let i = 0; i < Math.max(1, options.sessions ?? 4); i++)
        sessions.push(lib.C_OpenSession(slot, flags));
      try {
        lib.C_Login(sessions[0]!, pkcs11js.CKU_USER, options.pin);
      } catch (err) {
        const code = ckr(err);
        if (code === 'CKR_PIN_INCORRECT' || code === 'CKR_PIN_LEN_RANGE') {
          throw keyError('KEY_PIN_INCORRECT', `token "${options.tokenLabel}" refused the user PIN`);
        }
        if (code === 'CKR_PIN_LOCKED') {
          throw keyError('KEY_PIN_INCORRECT', `the user PIN of token "${options.tokenLabel}" is locked`);
        }
        // Login state is per application: another provider in this process may have logged in already.
        if (code !== 'CKR_USER_ALREADY_LOGGED_IN') throw err;
      }
      const manufacturer = token.manufacturerID.trim();
      const model = token.model.trim();
      const serial = token.serialNumber.trim();
      const software = /softhsm/i.test(`${manufacturer} ${model}`);
      const info: ProviderInfo = {
        kind: 'pkcs11',
        hardwareBacked: (slotInfo.flags & CKF_HW_SLOT) !== 0 && !software,
        description: `PKCS#11 token "${options.tokenLabel}" (${manufacturer} ${model}, serial ${serial})${software ? ', a software token' : ''}`,
        module: options.module,
        tokenLabel: options.tokenLabel,
        manufacturer,
        model,
        serial,
      };
      return new Pkcs11KeyProvider(lib, options.module, slot, sessions, info);
    } catch (err) {
      for (const s of sessions) {
        try {
          lib.C_CloseSession(s);
        } catch {
          // closing what we opened is best effort on the error path
        }
      }
      releaseModule(options.module);
      if (err instanceof PalisadeError) throw err;
      throw keyError(
        'KEY_PROVIDER_UNAVAILABLE',
        `PKCS#11 token "${options.tokenLabel}": ${describeError(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  async createKek(label: string): Promise<string> {
    this.#assertOpen();
    const id = randomBytes(16);
    await this.#pool.use((session) =>
      this.#call('C_GenerateKey', () =>
        this.#lib.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
          { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
          { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
          { type: pkcs11js.CKA_TOKEN, value: true },
          { type: pkcs11js.CKA_PRIVATE, value: true },
          { type: pkcs11js.CKA_SENSITIVE, value: true },
          { type: pkcs11js.CKA_EXTRACTABLE, value: false },
          { type: pkcs11js.CKA_ENCRYPT, value: true },
          { type: pkcs11js.CKA_DECRYPT, value: true },
          { type: pkcs11js.CKA_WRAP, value: false },
          { type: pkcs11js.CKA_UNWRAP, value: false },
          { type: pkcs11js.CKA_SIGN, value: false },
          { type: pkcs11js.CKA_VERIFY, value: false },
          { type: pkcs11js.CKA_DERIVE, value: false },
          { type: pkcs11js.CKA_LABEL, value: label },
          { type: pkcs11js.CKA_ID, value: id },
        ]),
      ),
    );
    return id.toString('hex');
  }

  async hasKek(ref: string): Promise<boolean> {
    this.#assertOpen();
    this.#handles.delete(ref);
    return (await this.#findKek(ref)) !== undefined;
  }

  async kekProtection(ref: string): Promise<KekProtection> {
    const attrs = await this.#withKek(ref, (session, handle) =>
      this.#lib.C_GetAttributeValue(session, handle, [
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_ALWAYS_SENSITIVE },
        { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
      ]),
    );
    const flag = (i: number) => attrs[i]?.value[0] === 1;
    return { sensitive: flag(0), extractable: flag(1), alwaysSensitive: flag(2), neverExtractable: flag(3) };
  }

  async wrapDek(ref: string, dek: Uint8Array, context: Uint8Array): Promise<Buffer> {
    if (dek.length !== DEK_BYTES) throw new Error(`a data key is ${DEK_BYTES} bytes`);
    const iv = randomBytes(WRAP_IV_BYTES);
    const sealed = await this.#withKek(ref, (session, handle) => {
      this.#lib.C_EncryptInit(session, gcm(iv, context), handle);
      return this.#lib.C_EncryptAsync(session, Buffer.from(dek), Buffer.alloc(DEK_BYTES + WRAP_TAG_BYTES));
    });
    return encodeWrapped(iv, sealed);
  }

  async unwrapDek(ref: string, wrapped: Uint8Array, context: Uint8Array): Promise<Buffer> {
    const { iv, sealed } = decodeWrapped(wrapped);
    try {
      return await this.#withKek(ref, (session, handle) => {
        this.#lib.C_DecryptInit(session, gcm(iv, context), handle);
        return this.#lib.C_DecryptAsync(session, sealed, Buffer.alloc(DEK_BYTES + WRAP_TAG_BYTES));
      });
    } catch (err) {
      // SoftHSM reports a GCM tag mismatch as CKR_GENERAL_ERROR; the standard says ENCRYPTED_DATA_INVALID.
      const code = err instanceof PalisadeError ? (err.details?.ckr as string | undefined) : undefined;
      if (code && /ENCRYPTED_DATA|GENERAL_ERROR|DATA_INVALID|DATA_LEN_RANGE/.test(code)) {
        throw keyError(
          'DEK_UNWRAP_FAILED',
          'the wrapped data key does not open under this key-encryption key',
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  }

  async destroyKek(ref: string): Promise<boolean> {
    this.#assertOpen();
    this.#handles.delete(ref);
    const handle = await this.#findKek(ref);
    if (handle === undefined) return false;
    await this.#pool.use((session) =>
      this.#call('C_DestroyObject', () => this.#lib.C_DestroyObject(session, handle)),
    );
    this.#handles.delete(ref);
    return true;
  }

  async signer(name: string, options: { create?: boolean } = {}): Promise<Ed25519Signer> {
    this.#assertOpen();
    if (!KEY_NAME_PATTERN.test(name))
      throw keyError('KEY_NAME_INVALID', `invalid signing key name "${name}"`);
    const cached = this.#signers.get(name);
    if (cached) return cached;
    const label = `palisade-sign:${name}`;
    let pair = await this.#findSigningPair(label);
    if (!pair) {
      if (options.create === false)
        throw keyError('KEK_NOT_FOUND', `no signing key named "${name}" in the token`);
      pair = await this.#generateSigningPair(label);
    }
    const point = await this.#pool.use((session) =>
      this.#call('C_GetAttributeValue', () =>
        this.#lib.C_GetAttributeValue(session, pair.publicKey, [{ type: pkcs11js.CKA_EC_POINT }]),
      ),
    );
    const raw = ecPointToRaw(point[0]?.value);
    const privateKey = pair.privateKey;
    const signer = makeSigner(name, ed25519Spki(raw), (message) =>
      this.#pool.use((session) =>
        this.#call('C_Sign', () => {
          this.#lib.C_SignInit(session, { mechanism: CKM_EDDSA }, privateKey);
          return this.#lib.C_SignAsync(session, Buffer.from(message), Buffer.alloc(64));
        }),
      ),
    );
    this.#signers.set(name, signer);
    return signer;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#pool.all) {
      try {
        this.#lib.C_CloseSession(s);
      } catch {
        // the module is finalised below anyway
      }
    }
    this.#handles.clear();
    this.#signers.clear();
    releaseModule(this.#module);
  }

  [inspect.custom](): string {
    return `Pkcs11KeyProvider { ${this.info.description} }`;
  }

  toJSON(): ProviderInfo {
    return this.info;
  }

  #assertOpen(): void {
    if (this.#closed) throw keyError('KEY_PROVIDER_UNAVAILABLE', 'the PKCS#11 provider is closed');
  }

  /** Runs an operation on the KEK; a handle made stale by another process is looked up again once. */
  async #withKek<T>(ref: string, op: (session: Handle, handle: Handle) => Promise<T> | T): Promise<T> {
    this.#assertOpen();
    for (let attempt = 0; ; attempt++) {
      const handle = this.#handles.get(ref) ?? (await this.#findKek(ref));
      if (handle === undefined)
        throw keyError('KEK_NOT_FOUND', `the token holds no key-encryption key ${ref}`);
      try {
        return await this.#pool.use((session) => this.#call('KEK operation', () => op(session, handle)));
      } catch (err) {
        const code = err instanceof PalisadeError ? err.details?.ckr : undefined;
        if (attempt === 0 && (code === 'CKR_KEY_HANDLE_INVALID' || code === 'CKR_OBJECT_HANDLE_INVALID')) {
          this.#handles.delete(ref);
          continue;
        }
        throw err;
      }
    }
  }

  async #findKek(ref: string): Promise<Handle | undefined> {
    if (!/^[0-9a-f]{32}$/.test(ref)) return undefined;
    const found = await this.#pool.use((session) =>
      this.#find(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_ID, value: Buffer.from(ref, 'hex') },
      ]),
    );
    const handle = found[0];
    if (handle !== undefined) this.#handles.set(ref, handle);
    return handle;
  }

  async #findSigningPair(label: string): Promise<{ privateKey: Handle; publicKey: Handle } | undefined> {
    return this.#pool.use((session) => {
      const byClass = (cls: number) =>
        this.#find(session, [
          { type: pkcs11js.CKA_CLASS, value: cls },
          { type: pkcs11js.CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
          { type: pkcs11js.CKA_LABEL, value: label },
        ]);
      const privateKey = byClass(pkcs11js.CKO_PRIVATE_KEY)[0];
      const publicKey = byClass(pkcs11js.CKO_PUBLIC_KEY)[0];
      return privateKey && publicKey ? { privateKey, publicKey } : undefined;
    });
  }

  async #generateSigningPair(label: string): Promise<{ privateKey: Handle; publicKey: Handle }> {
    const mechanisms = this.#lib.C_GetMechanismList(this.#slot);
    if (!mechanisms.includes(CKM_EC_EDWARDS_KEY_PAIR_GEN) || !mechanisms.includes(CKM_EDDSA)) {
      throw keyError(
        'KEY_PROVIDER_UNAVAILABLE',
        `token "${this.info.tokenLabel}" does not offer Ed25519 (CKM_EC_EDWARDS_KEY_PAIR_GEN and CKM_EDDSA)`,
      );
    }
    const id = randomBytes(16);
    return this.#pool.use((session) =>
      this.#call('C_GenerateKeyPair', () =>
        this.#lib.C_GenerateKeyPair(
          session,
          { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN },
          [
            { type: pkcs11js.CKA_TOKEN, value: true },
            { type: pkcs11js.CKA_PRIVATE, value: false },
            { type: pkcs11js.CKA_VERIFY, value: true },
            { type: pkcs11js.CKA_EC_PARAMS, value: ED25519_EC_PARAMS },
            { type: pkcs11js.CKA_LABEL, value: label },
            { type: pkcs11js.CKA_ID, value: id },
          ],
          [
            { type: pkcs11js.CKA_TOKEN, value: true },
            { type: pkcs11js.CKA_PRIVATE, value: true },
            { type: pkcs11js.CKA_SENSITIVE, value: true },
            { type: pkcs11js.CKA_EXTRACTABLE, value: false },
            { type: pkcs11js.CKA_SIGN, value: true },
            { type: pkcs11js.CKA_DECRYPT, value: false },
            { type: pkcs11js.CKA_DERIVE, value: false },
            { type: pkcs11js.CKA_LABEL, value: label },
            { type: pkcs11js.CKA_ID, value: id },
          ],
        ),
      ),
    );
  }

  #find(session: Handle, template: pkcs11js.Template): Handle[] {
    return this.#call('C_FindObjects', () => {
      this.#lib.C_FindObjectsInit(session, template);
      try {
        return this.#lib.C_FindObjects(session, 8);
      } finally {
        this.#lib.C_FindObjectsFinal(session);
      }
    });
  }

  /** Runs a PKCS#11 call and turns a Cryptoki failure into KEY_PROVIDER_UNAVAILABLE naming the CKR. */
  #call<T>(what: string, fn: () => T): T;
  #call<T>(what: string, fn: () => Promise<T>): Promise<T>;
  #call<T>(what: string, fn: () => T | Promise<T>): T | Promise<T> {
    const wrap = (err: unknown): never => {
      if (err instanceof PalisadeError) throw err;
      const code = ckr(err);
      throw keyError('KEY_PROVIDER_UNAVAILABLE', `${what} failed: ${code ?? describeError(err)}`, {
        cause: err,
        details: { ckr: code },
      });
    };
    try {
      const out = fn();
      return out instanceof Promise ? out.catch(wrap) : out;
    } catch (err) {
      return wrap(err);
    }
  }
}

function gcm(iv: Buffer, aad: Uint8Array): pkcs11js.Mechanism {
  return {
    mechanism: pkcs11js.CKM_AES_GCM,
    parameter: {
      type: pkcs11js.CK_PARAMS_AES_GCM,
      iv,
      aad: Buffer.from(aad),
      ivBits: WRAP_IV_BYTES * 8,
      tagBits: WRAP_TAG_BYTES * 8,
    } as pkcs11js.AesGCM,
  };
}

function findTokenSlot(lib: pkcs11js.PKCS11, label: string): Handle {
  const labels: string[] = [];
  for (const slot of lib.C_GetSlotList(true)) {
    const tokenLabel = lib.C_GetTokenInfo(slot).label.trim();
    if (tokenLabel === label) return slot;
    if (tokenLabel !== '') labels.push(tokenLabel);
  }
  throw keyError(
    'KEY_PROVIDER_UNAVAILABLE',
    `no PKCS#11 token labelled "${label}"${labels.length ? `; tokens present: ${labels.map((l) => `"${l}"`).join(', ')}` : '; no initialised token is present'}`,
  );
}

/** CKA_EC_POINT of an Ed25519 key: a DER OCTET STRING (04 20 || key) per PKCS#11 3.0, or the raw key. */
function ecPointToRaw(value: Buffer | undefined): Buffer {
  if (value?.length === 34 && value[0] === 0x04 && value[1] === 0x20) return value.subarray(2);
  if (value?.length === 32) return value;
  throw keyError(
    'KEY_PROVIDER_UNAVAILABLE',
    'the token returned an Ed25519 public key in an unknown encoding',
  );
}
