/**
 * Blob stores for sealed objects (video segments, exports): one interface, a local filesystem backend
 * with atomic writes. Stores only ever see ciphertext. See docs/storage.md.
 */
export {
  isValidKey,
  MAX_KEY_LENGTH,
  type BlobInfo,
  type BlobSource,
  type BlobStore,
  type BlobWriter,
  type StorageCapacity,
} from './blob-store.js';
export { STORAGE_ERRORS, storageError, type StorageErrorCode } from './errors.js';
export { LocalBlobStore } from './local.js';
