import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../../test/support/tmp.js';
import { MAX_PACKAGE_BYTES, ZipReader, ZipWriter } from './zip.js';

const UNZIP = '/usr/bin/unzip';
const haveUnzip = spawnSync(UNZIP, ['-v']).status === 0;
const needUnzip = haveUnzip
  ? {}
  : { skip: 'unzip is not installed (Debian package "unzip", in .ci/packages.txt)' };

async function build(entries: { name: string; data: Buffer }[], zip64: boolean): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const w = new ZipWriter(async (c) => void chunks.push(Buffer.from(c)), { zip64 });
  for (const e of entries) await w.add(e.name, e.data);
  await w.finish();
  return Buffer.concat(chunks);
}

async function readAll(file: string): Promise<{ name: string; data: Buffer }[]> {
  const zip = await ZipReader.open(file);
  try {
    const out = [];
    for (const e of zip.entries) out.push({ name: e.name, data: await zip.read(e, 1 << 26) });
    return out;
  } finally {
    await zip.close();
  }
}

/** Zeros in 16 MiB pieces, `total` bytes, ending with `tail`. */
async function* zeros(total: number, tail: Buffer): AsyncGenerator<Buffer> {
  const piece = Buffer.alloc(16 << 20);
  let left = total - tail.length;
  while (left > 0) {
    const n = Math.min(left, piece.length);
    yield piece.subarray(0, n);
    left -= n;
  }
  yield tail;
}

describe('evidence package ZIP: plain and ZIP64 forms', () => {
  const entries = [
    { name: 'video.mp4', data: randomBytes(300_000) },
    { name: 'segments/0001-a.pseg', data: randomBytes(70_000) },
    { name: 'manifest.json', data: Buffer.from('{"format":"palisade-evidence/1"}') },
  ];

  it('both forms hold the same entries, and Info-ZIP unzip tests both', { ...needUnzip }, async () => {
    const dir = tempDir();
    for (const zip64 of [false, true]) {
      const file = path.join(dir, zip64 ? 'z64.zip' : 'plain.zip');
      await writeFile(file, await build(entries, zip64));
      assert.deepEqual(await readAll(file), entries, zip64 ? 'ZIP64' : 'plain');
      const t = spawnSync(UNZIP, ['-t', file], { encoding: 'utf8' });
      assert.equal(t.status, 0, t.stdout + t.stderr);
      assert.match(t.stdout, /No errors detected/);
    }
  });

  it('the ZIP64 form is strict too: a changed end record, locator or extra field is refused', async () => {
    const dir = tempDir();
    const good = await build(entries, true);
    // Byte positions from the end: end record (22), locator (20), ZIP64 end record (56).
    const tamper = [
      { at: good.length - 22 - 20 + 8, why: 'locator offset' },
      { at: good.length - 22 - 20 - 56 + 32, why: 'ZIP64 entry count' },
      { at: good.length - 22 - 20 - 56 + 48, why: 'ZIP64 directory offset' },
      { at: 30 + 'video.mp4'.length + 4, why: 'local ZIP64 extra field' },
    ];
    for (const { at, why } of tamper) {
      const bad = Buffer.from(good);
      bad[at]! ^= 0x01;
      const file = path.join(dir, 'bad.zip');
      await writeFile(file, bad);
      await assert.rejects(ZipReader.open(file), { code: 'EVIDENCE_PACKAGE_INVALID' }, why);
    }
  });

  it('beyond 4 GiB: the plain form refuses, the ZIP64 form writes an entry of 4 GiB + 1 MiB that reads back', async () => {
    const size = MAX_PACKAGE_BYTES + (1 << 20) + 1;
    const tail = randomBytes(64);
    const plain = new ZipWriter(async () => undefined);
    await assert.rejects(plain.add('video.mp4', zeros(size, tail)), { code: 'PLAYBACK_RANGE_TOO_LONG' });

    const file = path.join(tempDir(), 'big.zip');
    const handle = await open(file, 'w');
    try {
      const w = new ZipWriter(
        async (c) => {
          await handle.write(c);
        },
        { zip64: true },
      );
      await w.add('video.mp4', zeros(size, tail));
      await w.add('manifest.json', Buffer.from('{}'));
      await w.finish();
    } finally {
      await handle.close();
    }
    try {
      const zip = await ZipReader.open(file);
      const video = zip.entry('video.mp4')!;
      assert.equal(video.size, size);
      assert.ok((await zip.range(video, size - 64, 64)).equals(tail), 'the last bytes are where they belong');
      assert.equal((await zip.read(zip.entry('manifest.json')!, 16)).toString(), '{}');
      await zip.close();
      if (haveUnzip) {
        // An independent reader agrees on the sizes (listing only: testing 4 GiB of CRC takes long).
        const l = spawnSync(UNZIP, ['-Z', '-l', file], { encoding: 'utf8' });
        assert.equal(l.status, 0, l.stderr);
        assert.match(l.stdout, new RegExp(`\\b${size}\\b.*video\\.mp4`));
        const m = spawnSync(UNZIP, ['-p', file, 'manifest.json'], { encoding: 'utf8' });
        assert.equal(m.stdout, '{}');
      }
    } finally {
      await rm(file, { force: true });
    }
  });

  it('a package read back is byte-identical when written again in the same form', async () => {
    const dir = tempDir();
    for (const zip64 of [false, true]) {
      const bytes = await build(entries, zip64);
      const file = path.join(dir, 'again.zip');
      await writeFile(file, bytes);
      assert.ok((await build(await readAll(file), zip64)).equals(await readFile(file)));
    }
  });
});
