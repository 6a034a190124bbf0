/**
 * The boundary between Palisade and whatever holds the customer's keys. A provider generates
 * key-encryption keys (KEKs) and signing keys *inside itself* and only ever hands out what they produce:
 * wrapped data keys, unwrapped data keys, signatures and public keys. No method returns KEK bytes, and
 * implementations keep key material out of `util.inspect` and `JSON.stringify` output.
 */
export type ProviderKind = 'local' | 'pkcs11';

/** What a provider says about itself; the compliance view turns this into facts (SR 1.9 RE1, 4.1, 4.3). */
export interface ProviderInfo {
  kind: ProviderKind;
  /**
   * True only when keys live in a hardware device (a PKCS#11 slot that reports CKF_HW_SLOT and is not a
   * known software token such as SoftHSM). The local key file and SoftHSM2 are both `false`.
   */
  hardwareBacked: boolean;
  /** One line for people, e.g. `PKCS#11 token "palisade" (SoftHSM project SoftHSM v2, serial …)`. */
  description: string;
  /** PKCS#11 only: module path, token label, manufacturer, model and serial number. */
  module?: string;
  tokenLabel?: string;
  manufacturer?: string;
  model?: string;
  serial?: string;
}

/** How the token protects a KEK, read back from the token itself (PKCS#11) or fixed (local file). */
export interface KekProtection {
  /** The key value can never be read (PKCS#11 CKA_SENSITIVE). */
  sensitive: boolean;
  /** The key can never be exported, not even wrapped (PKCS#11 CKA_EXTRACTABLE = false). */
  extractable: boolean;
  /** PKCS#11 CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE: true since the key was generated. */
  alwaysSensitive: boolean;
  neverExtractable: boolean;
}

/**
 * A signing key held by the provider. The shape is structural on purpose: the audit log's
 * `CheckpointSigner` and the evidence pack signer accept it without importing `keys/`.
 */
export interface Ed25519Signer {
  readonly name: string;
  readonly algorithm: 'Ed25519';
  /** The raw 32-byte Ed25519 public key (RFC 8032). */
  readonly publicKey: Uint8Array;
  /** The same key as DER SubjectPublicKeyInfo, for X.509 and `crypto.createPublicKey`. */
  readonly spki: Uint8Array;
  /** A 64-byte Ed25519 signature over `message` (pure Ed25519, no pre-hash). */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export interface KeyProvider {
  readonly info: ProviderInfo;
  /**
   * Generates a new AES-256 KEK inside the provider and returns the provider's reference to it (an
   * opaque string the registry stores). `label` is for people looking at the token.
   */
  createKek(label: string): Promise<string>;
  /** True when the provider still holds the KEK. */
  hasKek(ref: string): Promise<boolean>;
  /** How the KEK is protected, as the provider reports it. */
  kekProtection(ref: string): Promise<KekProtection>;
  /**
   * Encrypts a 32-byte data key under the KEK with AES-256-GCM, binding `context` as additional
   * authenticated data. Returns the wrapped-key blob (see wrapped-key.ts).
   */
  wrapDek(ref: string, dek: Uint8Array, context: Uint8Array): Promise<Buffer>;
  /** Reverses `wrapDek`; a wrong KEK, a wrong context or a modified blob fail with DEK_UNWRAP_FAILED. */
  unwrapDek(ref: string, wrapped: Uint8Array, context: Uint8Array): Promise<Buffer>;
  /** Destroys the KEK in the provider. Returns false when it was already gone. */
  destroyKek(ref: string): Promise<boolean>;
  /**
   * The named signing key (generated inside the provider on first use when `create` is true, the
   * default). Fails with KEK_NOT_FOUND when it does not exist and `create` is false.
   */
  signer(name: string, options?: { create?: boolean }): Promise<Ed25519Signer>;
  close(): Promise<void>;
}

/** Names of KEKs, signing keys and objects: printable, no separators that could confuse a label. */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
