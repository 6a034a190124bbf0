import { PalisadeError } from '../errors/index.js';

/** Storage failures with stable codes (docs/storage.md). */
export const STORAGE_ERRORS = {
  STORAGE_KEY_INVALID: 400,
  STORAGE_NOT_FOUND: 404,
  STORAGE_CONFLICT: 409,
  STORAGE_FULL: 507,
  STORAGE_IO_FAILED: 500,
} as const;

export type StorageErrorCode = keyof typeof STORAGE_ERRORS;

export function storageError(code: StorageErrorCode, message: string, cause?: unknown): PalisadeError {
  return new PalisadeError(code, message, { status: STORAGE_ERRORS[code], cause });
}

/** Maps a file-system error onto a storage error (ENOSPC and EDQUOT become STORAGE_FULL). */
export function fromFsError(err: unknown, what: string): PalisadeError {
  if (err instanceof PalisadeError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return storageError('STORAGE_FULL', `${what}: no space left on the storage device`, err);
  }
  if (code === 'ENOENT') return storageError('STORAGE_NOT_FOUND', `${what}: not found`, err);
  return storageError('STORAGE_IO_FAILED', `${what}: ${(err as Error).message}`, err);
}
