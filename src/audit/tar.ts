import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { PalisadeError } from '../errors/index.js';

/**
 * A POSIX ustar archive of one flat folder, streamed: the auditor's download of an export folder.
 * Sizes are known before the first byte (the folder is complete), so the length is exact and a browser
 * shows real download progress. Files above 8 GiB use the base-256 size field GNU tar and bsdtar read.
 */
export interface TarFolder {
  /** Total archive length in bytes. */
  size: number;
  stream(): Readable;
}

const BLOCK = 512;

export async function tarFolder(dir: string, top: string): Promise<TarFolder> {
  if (!/^[A-Za-z0-9._-]{1,60}$/.test(top))
    throw new PalisadeError('TAR_NAME_INVALID', `archive folder name ${JSON.stringify(top)} is not safe`);
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
  const files: { name: string; file: string; size: number; mtime: number }[] = [];
  for (const name of names) {
    if (Buffer.byteLength(`${top}/${name}`) > 100)
      throw new PalisadeError('TAR_NAME_INVALID', `file name ${name} is too long for the archive`);
    const file = path.join(dir, name);
    const s = await stat(file);
    files.push({ name, file, size: s.size, mtime: Math.floor(s.mtimeMs / 1000) });
  }
  const mtime = Math.max(0, ...files.map((f) => f.mtime));
  const size = BLOCK + files.reduce((n, f) => n + BLOCK + Math.ceil(f.size / BLOCK) * BLOCK, 0) + 2 * BLOCK;
  return {
    size,
    stream: () =>
      Readable.from(
        (async function* () {
          yield header(`${top}/`, 0, mtime, '5', 0o755);
          for (const f of files) {
            yield header(`${top}/${f.name}`, f.size, f.mtime, '0', 0o644);
            let sent = 0;
            if (f.size > 0) {
              // Read exactly the size announced in the header, whatever happens to the file meanwhile.
              const source = createReadStream(f.file, { end: f.size - 1 }) as AsyncIterable<Buffer>;
              for await (const chunk of source) {
                yield chunk;
                sent += chunk.length;
              }
            }
            if (sent !== f.size)
              throw new PalisadeError('TAR_SOURCE_CHANGED', `${f.name} changed size while being archived`);
            const pad = (BLOCK - (f.size % BLOCK)) % BLOCK;
            if (pad > 0) yield Buffer.alloc(pad);
          }
          yield Buffer.alloc(2 * BLOCK);
        })(),
        { objectMode: false },
      ),
  };
}

function header(name: string, size: number, mtime: number, type: '0' | '5', mode: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  if (size < 0o77777777777) octal(h, 124, 12, size);
  else {
    // base-256: high bit set, big-endian value in the remaining 11 bytes.
    h[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  octal(h, 136, 12, mtime);
  h.write(type, 156, 1, 'latin1');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  h.write('palisade', 265, 32, 'latin1');
  h.write('palisade', 297, 32, 'latin1');
  // Checksum: byte sum of the header with its own field read as spaces.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

function octal(h: Buffer, offset: number, length: number, value: number): void {
  h.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'latin1');
}
