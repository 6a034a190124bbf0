import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchInterval, HEAVY_TICK_BYTES } from './read-batch.js';

/** What a camera of `mbps` sends in a tick of `ms`, plus `extra` bytes (a key frame). */
const tick = (mbps: number, ms: number, extra = 0) => Math.round((mbps * 1e6 * ms) / 8000) + extra;

describe('read batch interval', () => {
  it('an ordinary 4 Mbit/s camera stays at the target; a key frame split over two ticks costs one tick', () => {
    const b = new BatchInterval(100);
    let belowTarget = 0;
    let run = 0;
    for (let t = 0; t < 400; t++) {
      // A 167 KB key frame every 2 s (20 ticks); every other one split over two ticks, as when the
      // kernel's buffer held only part of it while the session waited.
      const key = t % 20 === 0 ? (t % 40 === 0 ? 167_000 : 120_000) : t % 40 === 21 ? 60_000 : 0;
      b.afterTick(tick(4.2, b.ms, key));
      run = b.ms === 100 ? 0 : run + 1;
      if (run > 0) belowTarget++;
      assert.ok(b.ms >= 50 && run <= 1, `tick ${t}: ${b.ms} ms for ${run} ticks`);
    }
    assert.equal(belowTarget, 10, 'one tick at 50 ms per split key frame');
  });

  it('a flood halves the interval after two heavy ticks, down to an eighth, and it comes back', () => {
    const b = new BatchInterval(100);
    b.afterTick(HEAVY_TICK_BYTES + 1);
    assert.equal(b.ms, 100, 'one heavy tick is a key frame');
    const seen: number[] = [];
    for (let t = 0; t < 6; t++) {
      b.afterTick(2 * HEAVY_TICK_BYTES);
      seen.push(b.ms);
    }
    assert.deepEqual(seen, [50, 25, 13, 13, 13, 13]);
    // The flood ends: the camera sends 4.2 Mbit/s again, and the interval doubles back to 100 ms.
    for (let t = 0; t < 5; t++) b.afterTick(tick(4.2, b.ms));
    assert.equal(b.ms, 100);
  });

  it('a camera too fast for the target settles at a shorter interval without swinging', () => {
    const b = new BatchInterval(100);
    const seen = new Set<number>();
    for (let t = 0; t < 100; t++) {
      b.afterTick(tick(12, b.ms));
      if (t >= 10) seen.add(b.ms);
    }
    // 12 Mbit/s is 150 KB per 100 ms (heavy), 75 KB per 50 ms (not heavy, and 150 KB doubled).
    assert.deepEqual([...seen], [50]);
  });

  it('a target of 0 reads at once and never adapts', () => {
    const b = new BatchInterval(0);
    b.afterTick(10 * HEAVY_TICK_BYTES);
    b.afterTick(10 * HEAVY_TICK_BYTES);
    assert.equal(b.ms, 0);
  });
});
