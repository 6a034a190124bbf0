import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { tempDir } from '../../test/support/tmp.js';
import { PalisadeError } from '../errors/index.js';
import { KEY_ERRORS } from './errors.js';
import {
  FLAG_FINAL,
  MAX_HEADER_BYTES,
  RECORD_OVERHEAD,
  parseHeader,
  headerLength,
} from './segment-format.js';
import {
  OpenStream,
  SealedObjectReader,
  SegmentOpener,
  bufferSource,
  fileSource,
  openSegmentStream,
} from './segment-open.js';
import { SealStream, SegmentSealer, sealSegment } from './segment-seal.js';

const CHUNK = 4096;
const ID = { objectId: 'segment-0001', cameraId: 'cam-north-7' };

function seal(dek: Buffer, plain: Buffer, chunkSize = CHUNK, ids = ID): Buffer {
  const s = new SegmentSealer(dek, { ...ids, chunkSize });
  // Feed in uneven pieces, as a recorder would.
  const out: Buffer[] = [];
  for (let o = 0; o < plain.length;) {
    const n = Math.min(plain.length - o, 1 + ((o * 7919) % 5000));
    out.push(...s.update(plain.subarray(o, o + n)));
    o += n;
  }
  out.push(...s.final());
  return Buffer.concat(out);
}

async function openAll(dek: Buffer, sealed: Buffer, expected = ID): Promise<Buffer> {
  const reader = await SealedObjectReader.open(bufferSource(sealed), dek, expected);
  return Buffer.concat(await collect(reader.stream()));
}

function openSequential(dek: Buffer, sealed: Buffer, expected = ID, piece = 1000): Buffer {
  const opener = new SegmentOpener(dek, expected);
  const out: Buffer[] = [];
  for (let o = 0; o < sealed.length; o += piece) out.push(...opener.update(sealed.subarray(o, o + piece)));
  opener.final();
  return Buffer.concat(out);
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const b of it) out.push(Buffer.from(b));
  return out;
}

/** Layout helpers for tamper tests: where the header ends and record i starts. */
function records(sealed: Buffer, chunkSize = CHUNK): { header: Buffer; recs: Buffer[] } {
  const h = headerLength(sealed.subarray(0, 8), sealed.length);
  const recs: Buffer[] = [];
  for (let o = h; o < sealed.length;) {
    const len = sealed.readUInt32BE(o + 5);
    const size = len + RECORD_OVERHEAD;
    assert.ok(len <= chunkSize);
    recs.push(sealed.subarray(o, o + size));
    o += size;
  }
  return { header: sealed.subarray(0, h), recs };
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    assert.ok(err instanceof PalisadeError, `expected a PalisadeError, got ${String(err)}`);
    return err.code;
  }
  return 'OPENED';
}

/** Both open paths must report the same code for a damaged object. */
async function bothCodes(dek: Buffer, sealed: Buffer, expected = ID): Promise<[string, string]> {
  return [
    await codeOf(openAll(dek, sealed, expected)),
    await codeOf(() => openSequential(dek, sealed, expected)),
  ];
}

describe('segment format: round trip', () => {
  const dek = randomBytes(32);
  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17, 100_000]) {
    it(`${size} bytes open sequentially and by random access`, async () => {
      const plain = randomBytes(size);
      const sealed = seal(dek, plain);
      assert.equal(sealed.subarray(0, 4).toString('ascii'), 'PSEG');
      if (size >= 16) assert.ok(!sealed.includes(plain.subarray(0, 16)), 'plaintext does not show through');
      assert.deepEqual(openSequential(dek, sealed), plain);
      const reader = await SealedObjectReader.open(bufferSource(sealed), dek, ID);
      assert.equal(reader.size, size);
      assert.deepEqual(await reader.read(0, size), plain);
      assert.equal(reader.header.cameraId, ID.cameraId);
    });
  }

  it('random ranges equal the same slice of the plaintext (property)', async () => {
    const plain = randomBytes(10 * CHUNK + 123);
    const sealed = seal(dek, plain);
    const reader = await SealedObjectReader.open(bufferSource(sealed), dek, ID);
    await fc.assert(
      fc.asyncProperty(fc.nat(plain.length), fc.nat(plain.length), async (a, b) => {
        const [start, end] = a <= b ? [a, b] : [b, a];
        assert.deepEqual(await reader.read(start, end - start), plain.subarray(start, end));
        assert.deepEqual(Buffer.concat(await collect(reader.stream(start, end))), plain.subarray(start, end));
      }),
      { numRuns: 200 },
    );
  });

  it('the sequential opener gives the same bytes however the sealed stream is cut (property)', () => {
    const plain = randomBytes(6 * CHUNK + 77);
    const sealed = seal(dek, plain);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 * CHUNK }), { minLength: 1, maxLength: 40 }),
        (cuts) => {
          const opener = new SegmentOpener(dek, ID);
          const out: Buffer[] = [];
          for (let o = 0, i = 0; o < sealed.length; i++) {
            const n = cuts[i % cuts.length]!;
            out.push(...opener.update(sealed.subarray(o, o + n)));
            o += n;
          }
          opener.final();
          assert.deepEqual(Buffer.concat(out), plain);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a range read touches only the chunks it needs (plus the header and final chunk at open)', async () => {
    const plain = randomBytes(64 * CHUNK);
    const sealed = seal(dek, plain);
    const reads: [number, number][] = [];
    const inner = bufferSource(sealed);
    const source = {
      size: inner.size,
      read: (o: number, l: number) => (reads.push([o, l]), inner.read(o, l)),
    };
    const reader = await SealedObjectReader.open(source, dek, ID);
    const atOpen = reads.length;
    reads.length = 0;
    assert.deepEqual(
      await reader.read(40 * CHUNK + 10, 100),
      plain.subarray(40 * CHUNK + 10, 40 * CHUNK + 110),
    );
    assert.equal(atOpen, 2, 'header and final chunk');
    assert.equal(reads.length, 1);
    assert.equal(reads[0]![1], CHUNK + RECORD_OVERHEAD, 'exactly one record was read');
  });

  it('rejects ranges outside the object', async () => {
    const reader = await SealedObjectReader.open(bufferSource(seal(dek, randomBytes(100))), dek, ID);
    assert.equal(await codeOf(reader.read(50, 51)), 'SEGMENT_RANGE_INVALID');
    assert.equal(await codeOf(reader.read(-1, 2)), 'SEGMENT_RANGE_INVALID');
  });

  it('seals and opens through Node streams and a file without holding the object', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'seg.pseg');
    const piece = randomBytes(50_000);
    let produced = 0;
    let producedWhenFirstOut = -1;
    async function* source() {
      for (let i = 0; i < 200; i++) {
        produced++;
        yield piece;
      }
    }
    const sealer = new SealStream(new SegmentSealer(dek, { ...ID, chunkSize: 65536 }));
    sealer.once('data', () => (producedWhenFirstOut = produced));
    await pipeline(Readable.from(source()), sealer, createWriteStream(file));
    assert.ok(
      producedWhenFirstOut > 0 && producedWhenFirstOut < 20,
      `sealed bytes came out after ${producedWhenFirstOut} of 200 pieces`,
    );
    assert.equal(sealer.sealer.stats.plaintextBytes, 200 * piece.length);

    const src = await fileSource(file);
    try {
      const reader = await SealedObjectReader.open(src, dek, ID);
      assert.equal(reader.size, 200 * piece.length);
      assert.deepEqual(await reader.read(123 * piece.length, piece.length), piece);
    } finally {
      await src.close();
    }

    const out: Buffer[] = [];
    await pipeline(createReadStream(file), new OpenStream(dek, ID), async (plain: AsyncIterable<Buffer>) => {
      for await (const p of plain) out.push(p);
    });
    assert.equal(Buffer.concat(out).length, 200 * piece.length);
    assert.deepEqual(Buffer.concat(out).subarray(0, piece.length), piece);
  });

  it('the async-generator API seals and opens the same bytes', async () => {
    const plain = randomBytes(5 * CHUNK + 5);
    let stats: { plaintextBytes: number } | undefined;
    const sealed = Buffer.concat(
      await collect(
        sealSegment(
          dek,
          { ...ID, chunkSize: CHUNK },
          [plain.subarray(0, 7), plain.subarray(7)],
          (s) => (stats = s),
        ),
      ),
    );
    assert.equal(stats?.plaintextBytes, plain.length);
    assert.deepEqual(Buffer.concat(await collect(openSegmentStream(dek, ID, [sealed]))), plain);
  });
});

describe('segment format: every kind of damage has its own error code', () => {
  const dek = randomBytes(32);
  const plain = randomBytes(5 * CHUNK + 1000); // records 0..4 full, record 5 final
  const sealed = seal(dek, plain);
  const { header, recs } = records(sealed);

  it('has six records: five full and a short final one', () => {
    assert.equal(recs.length, 6);
    assert.equal(recs[5]![4], FLAG_FINAL);
  });

  it('truncation: the final chunk missing -> SEGMENT_TRUNCATED', async () => {
    const cut = Buffer.concat([header, ...recs.slice(0, 5)]);
    assert.deepEqual(await bothCodes(dek, cut), ['SEGMENT_TRUNCATED', 'SEGMENT_TRUNCATED']);
  });

  it('truncation: cut inside a chunk -> SEGMENT_TRUNCATED', async () => {
    for (const cutAt of [sealed.length - 1, sealed.length - 500, header.length + 2 * recs[0]!.length + 100]) {
      assert.deepEqual(
        await bothCodes(dek, sealed.subarray(0, cutAt)),
        ['SEGMENT_TRUNCATED', 'SEGMENT_TRUNCATED'],
        `cut at ${cutAt}`,
      );
    }
  });

  it('truncation: cut inside the header, or nothing at all -> SEGMENT_TRUNCATED', async () => {
    for (const cutAt of [0, 3, 8, header.length - 1, header.length]) {
      assert.deepEqual(
        await bothCodes(dek, sealed.subarray(0, cutAt)),
        ['SEGMENT_TRUNCATED', 'SEGMENT_TRUNCATED'],
        `cut at ${cutAt}`,
      );
    }
  });

  it('reordering: two chunks swapped -> SEGMENT_CHUNK_REORDERED, also for a range read of one of them', async () => {
    const swapped = Buffer.concat([header, recs[0]!, recs[2]!, recs[1]!, ...recs.slice(3)]);
    assert.deepEqual(await bothCodes(dek, swapped), ['SEGMENT_CHUNK_REORDERED', 'SEGMENT_CHUNK_REORDERED']);
    const reader = await SealedObjectReader.open(bufferSource(swapped), dek, ID);
    assert.deepEqual(await reader.read(0, 100), plain.subarray(0, 100), 'untouched chunks still read');
    assert.equal(await codeOf(reader.read(CHUNK + 5, 10)), 'SEGMENT_CHUNK_REORDERED');
  });

  it('duplication: a chunk replaced by a copy of another -> SEGMENT_CHUNK_DUPLICATED', async () => {
    const dup = Buffer.concat([header, recs[0]!, recs[1]!, recs[1]!, ...recs.slice(3)]);
    assert.deepEqual(await bothCodes(dek, dup), ['SEGMENT_CHUNK_DUPLICATED', 'SEGMENT_CHUNK_DUPLICATED']);
    const reader = await SealedObjectReader.open(bufferSource(dup), dek, ID);
    assert.equal(await codeOf(reader.read(2 * CHUNK, 10)), 'SEGMENT_CHUNK_DUPLICATED');
  });

  it('duplication: a chunk inserted twice, or the final chunk repeated -> SEGMENT_CHUNK_DUPLICATED', async () => {
    const inserted = Buffer.concat([header, recs[0]!, recs[1]!, recs[1]!, ...recs.slice(2)]);
    assert.deepEqual(await bothCodes(dek, inserted), [
      'SEGMENT_CHUNK_DUPLICATED',
      'SEGMENT_CHUNK_DUPLICATED',
    ]);
    const finalTwice = Buffer.concat([sealed, recs[5]!]);
    assert.deepEqual(await bothCodes(dek, finalTwice), [
      'SEGMENT_CHUNK_DUPLICATED',
      'SEGMENT_CHUNK_DUPLICATED',
    ]);
    const firstAppended = Buffer.concat([sealed, recs[0]!]);
    assert.deepEqual(await bothCodes(dek, firstAppended), [
      'SEGMENT_CHUNK_DUPLICATED',
      'SEGMENT_CHUNK_DUPLICATED',
    ]);
  });

  it('junk after the final chunk -> SEGMENT_TRAILING_DATA', async () => {
    for (const junk of [Buffer.from([0]), randomBytes(100), randomBytes(CHUNK + 500)]) {
      assert.deepEqual(await bothCodes(dek, Buffer.concat([sealed, junk])), [
        'SEGMENT_TRAILING_DATA',
        'SEGMENT_TRAILING_DATA',
      ]);
    }
  });

  it('a flipped bit in a chunk, its tag, its record header or the header -> SEGMENT_AUTH_FAILED', async () => {
    const at = [
      header.length + recs[0]!.length + 100, // ciphertext of chunk 1
      header.length + recs[0]!.length - 1, // tag of chunk 0
      header.length + recs[0]!.length + 3, // index field of chunk 1
      sealed.length - 1, // tag of the final chunk
      sealed.length - recs[5]!.length + 4, // final flag of the last chunk
      header.length - 1, // header MAC
      19 + ID.objectId.length, // a camera id byte
      10, // nonce prefix
      8, // chunk size exponent
    ];
    for (const offset of at) {
      const flipped = Buffer.from(sealed);
      flipped[offset]! ^= 0x01;
      assert.deepEqual(
        await bothCodes(dek, flipped),
        ['SEGMENT_AUTH_FAILED', 'SEGMENT_AUTH_FAILED'],
        `bit at ${offset}`,
      );
    }
  });

  it('a flipped bit in the stored key check value reads as the wrong key (the two cannot be told apart)', async () => {
    const flipped = Buffer.from(sealed);
    flipped[header.length - 20]! ^= 0x01;
    assert.deepEqual(await bothCodes(dek, flipped), ['SEGMENT_WRONG_KEY', 'SEGMENT_WRONG_KEY']);
  });

  it('a flipped bit anywhere is never accepted (property, every byte position)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(sealed.length - 1), fc.integer({ min: 0, max: 7 }), async (offset, bit) => {
        const flipped = Buffer.from(sealed);
        flipped[offset]! ^= 1 << bit;
        const [a, b] = await bothCodes(dek, flipped);
        assert.ok(a in KEY_ERRORS && a.startsWith('SEGMENT_'), `random access: ${a} at ${offset}`);
        assert.ok(b in KEY_ERRORS && b.startsWith('SEGMENT_'), `sequential: ${b} at ${offset}`);
      }),
      { numRuns: 400 },
    );
  });

  it('the wrong object id -> SEGMENT_WRONG_OBJECT; the wrong camera -> SEGMENT_WRONG_CAMERA', async () => {
    assert.deepEqual(await bothCodes(dek, sealed, { objectId: 'segment-0002', cameraId: ID.cameraId }), [
      'SEGMENT_WRONG_OBJECT',
      'SEGMENT_WRONG_OBJECT',
    ]);
    assert.deepEqual(await bothCodes(dek, sealed, { objectId: ID.objectId, cameraId: 'cam-south-1' }), [
      'SEGMENT_WRONG_CAMERA',
      'SEGMENT_WRONG_CAMERA',
    ]);
  });

  it("another object's file presented under this id -> SEGMENT_WRONG_OBJECT, not a silent success", async () => {
    // Each object has its own data key: the one looked up for this id does not match the other file.
    const other = seal(randomBytes(32), plain, CHUNK, { objectId: 'segment-0002', cameraId: ID.cameraId });
    assert.deepEqual(await bothCodes(dek, other), ['SEGMENT_WRONG_OBJECT', 'SEGMENT_WRONG_OBJECT']);
  });

  it('the wrong data key -> SEGMENT_WRONG_KEY', async () => {
    assert.deepEqual(await bothCodes(randomBytes(32), sealed), ['SEGMENT_WRONG_KEY', 'SEGMENT_WRONG_KEY']);
  });

  it('not a segment -> SEGMENT_HEADER_INVALID; a newer version -> SEGMENT_VERSION_UNSUPPORTED', async () => {
    const bad = Buffer.from(sealed);
    bad.write('RIFF', 0, 'ascii');
    assert.deepEqual(await bothCodes(dek, bad), ['SEGMENT_HEADER_INVALID', 'SEGMENT_HEADER_INVALID']);
    const v2 = Buffer.from(sealed);
    v2[4] = 2;
    assert.deepEqual(await bothCodes(dek, v2), [
      'SEGMENT_VERSION_UNSUPPORTED',
      'SEGMENT_VERSION_UNSUPPORTED',
    ]);
    const alg = Buffer.from(sealed);
    alg[5] = 9;
    assert.deepEqual(await bothCodes(dek, alg), [
      'SEGMENT_VERSION_UNSUPPORTED',
      'SEGMENT_VERSION_UNSUPPORTED',
    ]);
    const hugeHeader = Buffer.from(sealed);
    hugeHeader.writeUInt16BE(60_000, 6);
    assert.deepEqual(await bothCodes(dek, hugeHeader), ['SEGMENT_HEADER_INVALID', 'SEGMENT_HEADER_INVALID']);
  });

  it('the header parser never throws anything but a PalisadeError on arbitrary bytes (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: MAX_HEADER_BYTES + 10 }),
        fc.boolean(),
        (bytes, magic) => {
          const b = Buffer.from(bytes);
          if (magic && b.length >= 6) {
            b.write('PSEG', 0, 'ascii');
            b[4] = 1;
            b[5] = 1;
          }
          try {
            const length = headerLength(b.subarray(0, Math.min(8, b.length)), b.length);
            parseHeader(b.subarray(0, length));
          } catch (err) {
            assert.ok(err instanceof PalisadeError, String(err));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('garbage after a valid header never opens and raises only PalisadeErrors (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 3 * CHUNK }), (junk) => {
        const opener = new SegmentOpener(dek, ID);
        try {
          opener.update(Buffer.concat([header, Buffer.from(junk)]));
          opener.final();
          assert.fail('garbage opened');
        } catch (err) {
          assert.ok(err instanceof PalisadeError, String(err));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('writes a damaged file on disk and reads the same codes through fileSource', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'cut.pseg');
    writeFileSync(file, sealed.subarray(0, sealed.length - recs[5]!.length));
    const src = await fileSource(file);
    try {
      assert.equal(await codeOf(SealedObjectReader.open(src, dek, ID)), 'SEGMENT_TRUNCATED');
    } finally {
      await src.close();
    }
  });
});
