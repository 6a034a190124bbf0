import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NalSlabs } from './nal-slabs.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** A NAL unit of `size` bytes whose content says which unit it is (so overwriting shows). */
function nal(id: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (id * 31 + i) & 0xff;
  return b;
}

interface Held {
  id: number;
  views: Buffer[];
  originals: Buffer[];
  release: () => void;
}

describe('NAL slabs (frame memory of an RTSP session)', () => {
  it('a steady stream released promptly reuses the same few slabs', () => {
    const slabs = new NalSlabs(true);
    const memory = new Set<ArrayBufferLike>();
    for (let id = 0; id < 2000; id++) {
      // A key frame of 150 KB every 50 frames, P-frames of 5-20 KB between.
      const size = id % 50 === 0 ? 150_000 : 5_000 + ((id * 7919) % 15_000);
      const view = slabs.copy(nal(id, size));
      const release = slabs.seal();
      assert.ok(view.equals(nal(id, size)));
      memory.add(view.buffer);
      release();
    }
    // Slabs grow once to fit the key frame; after that two take turns.
    assert.ok(memory.size <= 4, `${memory.size} slabs for 2000 frames`);
  });

  it('never overwrites a frame that has not been released, whatever is released around it', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            // Fragments of one NAL unit (FU-A): sizes from tiny to more than a slab.
            pieces: fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 4 }),
            nals: fc.integer({ min: 1, max: 3 }),
            abandonFirst: fc.boolean(),
            holdFor: fc.integer({ min: 0, max: 6 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.boolean(),
        (frames, recycle) => {
          const slabs = new NalSlabs(recycle);
          const held: (Held & { until: number })[] = [];
          frames.forEach((f, id) => {
            if (f.abandonFirst) {
              slabs.begin();
              slabs.append(nal(999, 1000));
              slabs.abandon();
            }
            const views: Buffer[] = [];
            const originals: Buffer[] = [];
            for (let n = 0; n < f.nals; n++) {
              const whole = nal(
                id * 4 + n,
                f.pieces.reduce((a, b) => a + b, 0),
              );
              slabs.begin();
              let at = 0;
              for (const p of f.pieces) {
                slabs.append(whole.subarray(at, at + p));
                at += p;
              }
              views.push(slabs.end());
              originals.push(whole);
            }
            held.push({ id, views, originals, release: slabs.seal(), until: id + f.holdFor });
            // Release what is due, checking each frame is intact up to its release.
            for (const h of held.filter((x) => x.until <= id)) {
              h.views.forEach((v, i) => assert.ok(v.equals(h.originals[i]!), `frame ${h.id} overwritten`));
              h.release();
              held.splice(held.indexOf(h), 1);
            }
          });
          for (const h of held) {
            h.views.forEach((v, i) => assert.ok(v.equals(h.originals[i]!), `frame ${h.id} overwritten`));
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a NAL unit larger than any slab gets memory of its own; slabs stay within 2 MiB', () => {
    const slabs = new NalSlabs(true);
    const big = nal(1, 3 * 1024 * 1024);
    const view = slabs.copy(big);
    const release = slabs.seal();
    assert.ok(view.equals(big));
    release();
    assert.equal(slabs.slabBytes, 2 * 1024 * 1024);
    const small = slabs.copy(nal(2, 100));
    assert.ok(small.equals(nal(2, 100)));
  });

  it('releasing a frame twice does not free memory another frame still uses', () => {
    const slabs = new NalSlabs(true);
    slabs.copy(nal(1, 1000));
    const releaseFirst = slabs.seal();
    const kept = slabs.copy(nal(2, 1000));
    slabs.seal(); // held: never released
    releaseFirst();
    releaseFirst();
    // Fill two slabs' worth, releasing as we go: a slab freed too early would be written over.
    for (let id = 3; id < 100; id++) {
      slabs.copy(nal(id, 10_000));
      slabs.seal()();
    }
    assert.ok(kept.equals(nal(2, 1000)));
  });
});
