import { closeSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { keyError } from './errors.js';

/** A lock older than this belongs to a process that died holding it. */
const STALE_MS = 30_000;
const WAIT_MS = 15_000;

/**
 * Runs `work` while holding an exclusive lock file beside the file it protects, so that two processes
 * (the server and a `palisade keys` command) never lose each other's changes to the local key file.
 */
export async function withFileLock<T>(lockPath: string, work: () => Promise<T> | T): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, String(process.pid));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (isStale(lockPath)) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw keyError('KEY_PROVIDER_UNAVAILABLE', `the key file is locked by another process (${lockPath})`);
      }
      await sleep(10 + Math.random() * 20);
    }
  }
  try {
    return await work();
  } finally {
    closeSync(fd);
    rmSync(lockPath, { force: true });
  }
}

function isStale(lockPath: string): boolean {
  try {
    return Date.now() - statSync(lockPath).mtimeMs > STALE_MS;
  } catch {
    return false;
  }
}
