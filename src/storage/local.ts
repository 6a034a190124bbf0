import { constants, type Dirent } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, statfs, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import {
  isValidKey,
  type BlobInfo,
  type BlobSource,
  type BlobStore,
  type BlobWriter,
  type StorageCapacity,
} from './blob-store.js';
import { fromFsError, storageError } from './errors.js';

const OBJECTS = 'objects';
const PENDING = 'pending';

/**
 * Blobs as files under a root directory: committed blobs at `objects/<key>`, blobs being written at
 * `pending/<escaped key>`. A commit is fsync(file) + rename into place + fsync of the directories
 * touched, so after a crash or a power loss a key holds either nothing or its complete bytes, and a
 * pending file is either absent or a prefix of what was appended (recovery decides what to keep).
 */
export class LocalBlobStore implements BlobStore {
  readonly kind = 'local' as const;
  readonly location: string;
  readonly #objects: string;
  readonly #pending: string;
  /** Directories known to exist (created and fsynced), so commits skip mkdir. */
  readonly #dirs = new Set<string>();

  private constructor(root: string) {
    this.location = root;
    this.#objects = path.join(root, OBJECTS);
    this.#pending = path.join(root, PENDING);
  }

  static async open(root: string): Promise<LocalBlobStore> {
    const store = new LocalBlobStore(path.resolve(root));
    try {
      await mkdir(store.#objects, { recursive: true, mode: 0o700 });
      await mkdir(store.#pending, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw fromFsError(err, `storage at ${root}`);
    }
    store.#dirs.add(store.#objects);
    return store;
  }

  #objectPath(key: string): string {
    if (!isValidKey(key))
      throw storageError('STORAGE_KEY_INVALID', `invalid blob key ${JSON.stringify(key)}`);
    return path.join(this.#objects, ...key.split('/'));
  }

  #pendingPath(key: string): string {
    if (!isValidKey(key))
      throw storageError('STORAGE_KEY_INVALID', `invalid blob key ${JSON.stringify(key)}`);
    return path.join(this.#pending, key.replaceAll('/', '~'));
  }

  async create(key: string): Promise<BlobWriter> {
    const file = this.#pendingPath(key);
    let fh: FileHandle;
    try {
      fh = await open(file, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw storageError('STORAGE_CONFLICT', `blob ${key} is already being written`);
      }
      throw fromFsError(err, `blob ${key}`);
    }
    return new LocalWriter(this, key, file, fh, 0);
  }

  async resume(key: string): Promise<BlobWriter> {
    const file = this.#pendingPath(key);
    try {
      const fh = await open(file, constants.O_RDWR);
      const { size } = await fh.stat();
      return new LocalWriter(this, key, file, fh, size);
    } catch (err) {
      throw fromFsError(err, `pending blob ${key}`);
    }
  }

  async pending(): Promise<string[]> {
    const names = await readdir(this.#pending);
    return names.map((n) => n.replaceAll('~', '/')).filter(isValidKey);
  }

  async put(key: string, data: Uint8Array): Promise<BlobInfo> {
    const w = await this.create(key);
    try {
      await w.append([data]);
      return await w.commit();
    } catch (err) {
      await w.abort().catch(() => undefined);
      throw err;
    }
  }

  async open(key: string): Promise<BlobSource> {
    const file = this.#objectPath(key);
    try {
      const fh = await open(file, constants.O_RDONLY);
      const { size } = await fh.stat();
      return fileBlobSource(fh, size);
    } catch (err) {
      throw fromFsError(err, `blob ${key}`);
    }
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    try {
      const s = await stat(this.#objectPath(key));
      return { key, size: s.size, modifiedAt: s.mtime };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fromFsError(err, `blob ${key}`);
    }
  }

  async delete(key: string): Promise<boolean> {
    const file = this.#objectPath(key);
    try {
      await unlink(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw fromFsError(err, `blob ${key}`);
    }
    await syncDir(path.dirname(file));
    return true;
  }

  async *list(prefix = ''): AsyncIterable<BlobInfo> {
    const walk = async function* (dir: string, rel: string): AsyncGenerator<BlobInfo> {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const key = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`))
            yield* walk(path.join(dir, e.name), key);
        } else if (e.isFile() && key.startsWith(prefix)) {
          const s = await stat(path.join(dir, e.name)).catch(() => undefined);
          if (s) yield { key, size: s.size, modifiedAt: s.mtime };
        }
      }
    };
    yield* walk(this.#objects, '');
  }

  async capacity(): Promise<StorageCapacity> {
    const s = await statfs(this.location);
    return { totalBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize };
  }

  /** Moves a pending file into place durably (LocalWriter.commit). */
  async _commit(key: string, file: string): Promise<BlobInfo> {
    const target = this.#objectPath(key);
    const dir = path.dirname(target);
    await this.#ensureDir(dir);
    await rename(file, target);
    // The rename is durable only once both directories are.
    await syncDir(dir);
    await syncDir(this.#pending);
    const s = await stat(target);
    return { key, size: s.size, modifiedAt: s.mtime };
  }

  async #ensureDir(dir: string): Promise<void> {
    if (this.#dirs.has(dir)) return;
    const parent = path.dirname(dir);
    if (parent.startsWith(this.#objects) && parent !== dir) await this.#ensureDir(parent);
    await mkdir(dir, { recursive: false, mode: 0o700 }).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    });
    await syncDir(parent);
    this.#dirs.add(dir);
  }
}

class LocalWriter implements BlobWriter {
  #closed = false;

  constructor(
    private readonly store: LocalBlobStore,
    readonly key: string,
    private readonly file: string,
    private readonly fh: FileHandle,
    private bytes: number,
  ) {}

  get size(): number {
    return this.bytes;
  }

  async append(chunks: readonly Uint8Array[]): Promise<void> {
    this.#open();
    const before = this.bytes;
    let total = 0;
    for (const c of chunks) total += c.byteLength;
    try {
      let written = 0;
      let pieces = chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength));
      while (written < total) {
        const r = await this.fh.writev(pieces, before + written);
        if (r.bytesWritten === 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
        written += r.bytesWritten;
        pieces = skip(pieces, r.bytesWritten);
      }
      this.bytes = before + total;
    } catch (err) {
      // Leave no half-appended bytes behind: the writer's size stays what it was.
      await this.fh.truncate(before).catch(() => undefined);
      throw fromFsError(err, `blob ${this.key}`);
    }
  }

  async sync(): Promise<void> {
    this.#open();
    try {
      await this.fh.datasync();
    } catch (err) {
      throw fromFsError(err, `blob ${this.key}`);
    }
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.#open();
    return readExactly(this.fh, offset, Math.max(0, Math.min(length, this.bytes - offset)));
  }

  async truncate(size: number): Promise<void> {
    this.#open();
    if (size > this.bytes) throw storageError('STORAGE_IO_FAILED', `cannot extend ${this.key} by truncating`);
    await this.fh.truncate(size);
    this.bytes = size;
  }

  async commit(): Promise<BlobInfo> {
    this.#open();
    try {
      await this.fh.sync();
      await this.fh.close();
      this.#closed = true;
      return await this.store._commit(this.key, this.file);
    } catch (err) {
      throw fromFsError(err, `blob ${this.key}`);
    }
  }

  async abort(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      await this.fh.close().catch(() => undefined);
    }
    await rm(this.file, { force: true });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.fh.close();
  }

  #open(): void {
    if (this.#closed) throw storageError('STORAGE_IO_FAILED', `blob writer ${this.key} is closed`);
  }
}

function skip(pieces: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  let left = n;
  for (const p of pieces) {
    if (left >= p.length) {
      left -= p.length;
      continue;
    }
    out.push(left > 0 ? p.subarray(left) : p);
    left = 0;
  }
  return out;
}

async function readExactly(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(out, got, length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? out : out.subarray(0, got);
}

function fileBlobSource(fh: FileHandle, size: number): BlobSource {
  return {
    size,
    read: (offset, length) => readExactly(fh, offset, Math.max(0, Math.min(length, size - offset))),
    close: () => fh.close(),
  };
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
