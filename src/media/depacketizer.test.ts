import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadClip } from '../sim/index.js';
import {
  DEFAULT_LIMITS,
  ParameterSetTracker,
  RtpSequencer,
  TimestampExtender,
  createDepacketizer,
  packetizeH264,
  packetizeH265,
  parseRtcp,
  buildSenderReport,
  type RawAccessUnit,
  type RtpPacket,
} from './index.js';

/** Each payload sits inside bytes that are not its own, as in a receive buffer (read by offsets). */
function packets(payloads: Buffer[], timestamp: number, firstSeq = 0): RtpPacket[] {
  return payloads.map((payload, i) => ({
    payloadType: 96,
    marker: i === payloads.length - 1,
    sequence: (firstSeq + i) & 0xffff,
    timestamp,
    ssrc: 1,
    data: Buffer.concat([Buffer.from([0x7c, 0x85, 0x00]), payload, Buffer.from([0x7c, 0x81])]),
    payloadStart: 3,
    payloadEnd: 3 + payload.length,
  }));
}

for (const clipName of ['h264-1080p', 'h265-1080p'] as const) {
  describe(`${clipName}: packetize and depacketize every frame of the clip`, () => {
    const clip = loadClip(clipName);
    const codec = clip.video.codec;

    it('gives back byte-identical access units with key frames and parameter sets', () => {
      const out: RawAccessUnit[] = [];
      const d = createDepacketizer(codec, DEFAULT_LIMITS, (au) => out.push(au));
      let seq = 65000; // crosses the 16-bit wrap
      const tracker = new ParameterSetTracker(codec, DEFAULT_LIMITS);
      for (const f of clip.frames) {
        for (const p of packets(f.payloads, f.pts, seq)) d.push(p, false);
        seq += f.payloads.length;
      }
      assert.equal(out.length, clip.frames.length);
      let keys = 0;
      out.forEach((au, i) => {
        assert.equal(au.corrupt, false);
        assert.equal(au.rtpTimestamp, clip.frames[i]!.pts);
        const packetize = codec === 'h264' ? packetizeH264 : packetizeH265;
        assert.deepEqual(packetize(au.nalus, 1400), clip.frames[i]!.payloads, `frame ${i} bytes`);
        const frame = tracker.classify(au.nalus);
        if (frame.key) keys++;
        assert.equal(frame.key, clip.frames[i]!.key, `frame ${i} key flag`);
      });
      assert.equal(keys, 2, 'two GOPs of 2 s in a 4 s clip');
      const { info } = tracker.current();
      assert.ok(info);
      assert.equal(info.width, 1920);
      assert.equal(info.height, 1080);
      assert.equal(info.fps, 25);
    });

    it('a lost fragment marks that frame corrupt and nothing else', () => {
      const out: RawAccessUnit[] = [];
      const d = createDepacketizer(codec, DEFAULT_LIMITS, (au) => out.push(au));
      const big = clip.frames.findIndex((f) => f.payloads.length > 3);
      const frames = clip.frames.slice(big, big + 3);
      let seq = 0;
      frames.forEach((f, i) => {
        const ps = packets(f.payloads, f.pts, seq);
        seq += ps.length;
        for (let j = 0; j < ps.length; j++) {
          if (i === 0 && j === 1) continue; // lose the second packet of the first frame
          d.push(ps[j]!, i === 0 && j === 2);
        }
      });
      assert.deepEqual(
        out.map((a) => a.corrupt),
        [true, false, false],
      );
    });
  });
}

describe('depacketizer limits', () => {
  it('a NAL unit larger than maxNalUnitBytes ends with RTSP_LIMIT_EXCEEDED before it is held', () => {
    const limits = { ...DEFAULT_LIMITS, maxNalUnitBytes: 100_000 };
    const d = createDepacketizer('h264', limits, () => undefined);
    const nal = Buffer.alloc(300_000, 1);
    nal[0] = 0x65;
    const ps = packets(packetizeH264([nal], 1400), 0);
    assert.throws(
      () => {
        for (const p of ps) d.push(p, false);
      },
      (e: { code: string; details: { limit: string } }) =>
        e.code === 'RTSP_LIMIT_EXCEEDED' && e.details.limit === 'maxNalUnitBytes',
    );
  });

  it('too many NAL units in one access unit', () => {
    const limits = { ...DEFAULT_LIMITS, maxNalUnitsPerAccessUnit: 10 };
    const d = createDepacketizer('h265', limits, () => undefined);
    const nal = Buffer.from([2, 1, 9, 9, 9]);
    const ps = packets(
      packetizeH265(
        Array.from({ length: 11 }, () => Buffer.alloc(600, 7).fill(nal, 0, 5)),
        1400,
      ),
      0,
    );
    assert.throws(
      () => {
        for (const p of ps) d.push({ ...p, marker: false }, false);
      },
      { code: 'RTSP_LIMIT_EXCEEDED' },
    );
  });
});

describe('RTP sequencing and timing', () => {
  const pkt = (sequence: number, timestamp = 0): RtpPacket => ({
    payloadType: 96,
    marker: true,
    sequence,
    timestamp,
    ssrc: 1,
    data: Buffer.from([0x41]),
    payloadStart: 0,
    payloadEnd: 1,
  });

  it('UDP reordering within the window is repaired; a hole is declared lost once the window fills', () => {
    const s = new RtpSequencer(4);
    const seen: [number, boolean][] = [];
    const push = (n: number) => s.push(pkt(n), (p, lostBefore) => seen.push([p.sequence, lostBefore]));
    for (const n of [65534, 0, 65535, 1]) push(n); // reordered across the wrap
    assert.deepEqual(seen, [
      [65534, false],
      [65535, false],
      [0, false],
      [1, false],
    ]);
    seen.length = 0;
    for (const n of [3, 4, 5, 6]) push(n); // 2 never comes
    assert.deepEqual(seen, [
      [3, true],
      [4, false],
      [5, false],
      [6, false],
    ]);
    assert.equal(s.lost, 1);
    push(2);
    assert.equal(s.late, 1, 'a packet after its hole was declared is dropped as late');
  });

  it('TCP: gaps pass through at once, marked', () => {
    const s = new RtpSequencer(0);
    const seen: [number, boolean][] = [];
    for (const n of [10, 11, 14]) s.push(pkt(n), (p, lostBefore) => seen.push([p.sequence, lostBefore]));
    assert.deepEqual(seen, [
      [10, false],
      [11, false],
      [14, true],
    ]);
    assert.equal(s.lost, 2);
  });

  it('timestamps extend past the 32-bit wrap and stay monotonic across a source restart', () => {
    const x = new TimestampExtender(10 * 90_000, 3600);
    const a = x.extend(0xffffffff - 3599).timestamp;
    const b = x.extend(1);
    assert.equal(b.timestamp - a, 3601);
    assert.equal(b.discontinuity, false);
    const jump = x.extend(123456789);
    assert.equal(jump.discontinuity, true);
    assert.equal(jump.timestamp, b.timestamp + 3600);
    x.rebase();
    const after = x.extend(5);
    assert.equal(after.timestamp, jump.timestamp + 3600);
    assert.equal(after.discontinuity, true);
    assert.equal(x.extend(3605).timestamp, after.timestamp + 3600);
  });

  it('a sender report round-trips wall-clock time to the millisecond', () => {
    const now = Date.UTC(2026, 10, 27, 12, 0, 0, 123);
    const [sr] = parseRtcp(
      buildSenderReport({ ssrc: 7, wallClockMs: now, rtpTimestamp: 90_000, packetCount: 3, octetCount: 4 }),
    );
    assert.equal(sr!.ssrc, 7);
    assert.ok(Math.abs(sr!.wallClockMs - now) < 1);
    assert.equal(sr!.rtpTimestamp, 90_000);
  });
});
