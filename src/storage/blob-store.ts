/**
 * The blob-store interface: where sealed objects (video segments, exports) are kept. A store only ever
 * sees ciphertext; encryption happens before (keys/). The local filesystem backend is the embedded
 * default; an S3-compatible backend comes with scale-out and implements the same interface.
 */

export interface BlobInfo {
  key: string;
  size: number;
  modifiedAt: Date;
}

/** Random access to a stored blob (structurally a keys/ `SealedSource`). */
export interface BlobSource {
  readonly size: number;
  /** Exactly `length` bytes at `offset`, or fewer only when the blob ends sooner. */
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

/**
 * A blob being written. Its bytes are invisible under `key` until `commit()`, which makes them durable
 * and visible atomically; a writer that is never committed (crash, `abort()`) leaves either nothing or a
 * pending blob that `BlobStore.pending()` lists and `BlobStore.resume()` reopens for recovery.
 */
export interface BlobWriter {
  readonly key: string;
  /** Bytes written so far. */
  readonly size: number;
  /** Appends bytes at the end. A full device rejects with `STORAGE_FULL` and leaves `size` unchanged. */
  append(chunks: readonly Uint8Array[]): Promise<void>;
  /** Makes everything appended so far durable (fsync). */
  sync(): Promise<void>;
  /** Random reads of what was written (recovery reads a pending blob before ending it). */
  read(offset: number, length: number): Promise<Buffer>;
  /** Cuts the blob to `size` bytes (recovery drops a torn tail). */
  truncate(size: number): Promise<void>;
  /** Durable and atomically visible under `key`; the writer is closed. */
  commit(): Promise<BlobInfo>;
  /** Closes the writer and removes what it wrote. */
  abort(): Promise<void>;
  /** Closes the writer and keeps the pending bytes (they stay recoverable). */
  close(): Promise<void>;
}

export interface StorageCapacity {
  /** Size of the file system that holds the store. */
  totalBytes: number;
  /** Bytes available to the service account. */
  availableBytes: number;
}

export interface BlobStore {
  readonly kind: 'local';
  /** Where the store lives, for messages and the compliance view (a path or a bucket URL). */
  readonly location: string;
  /** Starts a new blob; refuses a key with a pending blob already (`STORAGE_CONFLICT`). */
  create(key: string): Promise<BlobWriter>;
  /** Writes a whole blob atomically. */
  put(key: string, data: Uint8Array): Promise<BlobInfo>;
  /** Reopens a pending blob (left by a crash) for recovery. */
  resume(key: string): Promise<BlobWriter>;
  /** Keys of pending (uncommitted) blobs. */
  pending(): Promise<string[]>;
  open(key: string): Promise<BlobSource>;
  stat(key: string): Promise<BlobInfo | undefined>;
  /** Removes a committed blob; false when there was none. */
  delete(key: string): Promise<boolean>;
  /** Committed blobs whose key starts with `prefix`, in no particular order. */
  list(prefix?: string): AsyncIterable<BlobInfo>;
  capacity(): Promise<StorageCapacity>;
}

export const MAX_KEY_LENGTH = 512;
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Keys are `/`-separated segments of letters, digits, `.`, `_` and `-` (no empty, `.` or `..` segment). */
export function isValidKey(key: string): boolean {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return false;
  return key.split('/').every((s) => SEGMENT.test(s) && s !== '.' && s !== '..');
}
