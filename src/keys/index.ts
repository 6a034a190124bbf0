export { KEY_ERRORS, type KeyErrorCode } from './errors.js';
export type { Ed25519Signer, KekProtection, KeyProvider, ProviderInfo, ProviderKind } from './provider.js';
export { LocalKeyProvider } from './local-provider.js';
export { Pkcs11KeyProvider, type Pkcs11Options } from './pkcs11-provider.js';
export { openKeyProvider, defaultLocalKeyFile, readPin, type KeysConfig } from './open-provider.js';
export type { ActionContext, KeyAuditAction, KeyAuditEvent, KeyAuditSink } from './events.js';
export type { KekVersion } from './data-keys.js';
export {
  Keyring,
  ObjectSealer,
  type KeyringOptions,
  type KekStatus,
  type KeysStatus,
  type SealedObjectRecord,
} from './keyring.js';
export type { RewrapJob, RewrapOptions, RewrapProgress, RewrapResult } from './rewrap.js';
export { SecretStore, MAX_SECRET_BYTES, type NewSecret, type SecretInfo } from './secrets.js';
export { DEFAULT_CHUNK_SIZE } from './segment-format.js';
export { SegmentSealer, SealStream, sealSegment, type SealOptions, type SealStats } from './segment-seal.js';
export {
  SegmentOpener,
  OpenStream,
  SealedObjectReader,
  openSegmentStream,
  bufferSource,
  fileSource,
  MAX_READ_BYTES,
  type FileSource,
  type OpenExpectations,
  type SealedSource,
} from './segment-open.js';
export { keysMigration, type KeysTables } from './tables.js';
export { keysRoutes, type KeysRoutesOptions } from './routes.js';
export { keysFactSource } from './facts.js';
export {
  AgeEncryption,
  ageDecrypt,
  parseAgeIdentities,
  parseAgeRecipient,
  formatAgeRecipient,
  looksLikeAge,
  AGE_CHUNK_BYTES,
  AGE_LIMITS,
  type AgeIdentity,
} from './age.js';
