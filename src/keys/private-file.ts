import { closeSync, fsyncSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { keyError } from './errors.js';

/**
 * Refuses a key or PIN file that other users could read or replace: it must be a regular file owned by
 * the service account with no group or other permission bits (0600 or 0400).
 */
export function assertPrivateFile(file: string, what: string): void {
  const st = statSync(file);
  if (!st.isFile()) throw keyError('KEY_FILE_INSECURE', `${what} ${file} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw keyError(
      'KEY_FILE_INSECURE',
      `${what} ${file} has mode ${(st.mode & 0o777).toString(8)}; it must be 0600 or 0400 (chmod 600 ${file})`,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw keyError(
      'KEY_FILE_INSECURE',
      `${what} ${file} is owned by uid ${st.uid}, not by this process (${uid})`,
    );
  }
}

/** Replaces `file` atomically with `bytes` (mode 0600): a crash leaves the old or the new file, never half. */
export function writePrivateFileAtomic(file: string, bytes: Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
