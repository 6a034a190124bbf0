import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchInterval, HEAVY_TICK_BYTES } from './read-batch.js';

/** What a camera of `mbps` sends in a tick of `ms`, plus `extra` bytes (a key frame). */
const tick = (mbps: number, ms: number, extra = 0) => Math.round((mbps * 1e6 * ms) / 8000) + extra;

describe('read batch interval', () => {
  it('an ordinary 4 Mbit/s camera is back at the target a few ticks after each key frame', () => {
    const b = new BatchInterval(100);
    let atTarget = 0;
    let run = 0;
    for (let t = 0; t < 400; t++) {
      // A 167 KB key frame every 2 s (20 ticks); every other one split over two ticks, as when the
      // kernel's buffer held only part of it while the session waited.
      const key = t % 20 === 0 ? (t % 40 === 0 ? 167_000 : 120_000) : t % 40 === 21 ? 60_000 : 0;
      b.afterTick(tick(4.2, b.ms, key));
      run = b.ms === 100 ? 0 : run + 1;
      if (run === 0) atTarget++;
      assert.ok(b.ms >= 25 && run <= 9, `tick ${t}: ${b.ms} ms for ${run} ticks`);
    }
    // Four light ticks per doubling: a whole key frame costs 4 ticks below the target, a split one
    // (two heavy ticks: down to 25 ms) 9.
    assert.equal(atTarget, 400 - 10 * 4 - 10 * 9);
  });

  it('a flood halves the interval down to an eighth, and it comes back when the flood ends', () => {
    const b = new BatchInterval(100);
    const seen: number[] = [];
    for (let t = 0; t < 6; t++) {
      b.afterTick(2 * HEAVY_TICK_BYTES);
      seen.push(b.ms);
    }
    assert.deepEqual(seen, [50, 25, 13, 13, 13, 13]);
    // The camera sends 4.2 Mbit/s again: the interval doubles back to 100 ms, four light ticks a step.
    const back: number[] = [];
    for (let t = 0; t < 12; t++) {
      b.afterTick(tick(4.2, b.ms));
      back.push(b.ms);
    }
    assert.deepEqual(back, [13, 13, 13, 26, 26, 26, 26, 52, 52, 52, 52, 100]);
  });

  it('a camera too fast for the target settles at a shorter interval without swinging', () => {
    const b = new BatchInterval(100);
    const seen = new Set<number>();
    for (let t = 0; t < 100; t++) {
      b.afterTick(tick(12, b.ms));
      if (t >= 10) seen.add(b.ms);
    }
    // 12 Mbit/s is 150 KB per 100 ms and 75 KB per 50 ms (heavy), 37.5 KB per 25 ms (not heavy,
    // and not light: doubled it would be heavy again).
    assert.deepEqual([...seen], [25]);
  });

  it('a target of 0 reads at once and never adapts', () => {
    const b = new BatchInterval(0);
    b.afterTick(10 * HEAVY_TICK_BYTES);
    b.afterTick(10 * HEAVY_TICK_BYTES);
    assert.equal(b.ms, 0);
  });
});
