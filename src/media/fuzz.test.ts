import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isPalisadeError } from '../errors/index.js';
import {
  DEFAULT_LIMITS,
  Fmp4File,
  ParameterSetTracker,
  RtspReader,
  createDepacketizer,
  emptyRtpPacket,
  findVideoTrack,
  parseChallenges,
  parseRtcp,
  parseRtp,
  parseRtpInfo,
  parseSdp,
  parseSession,
  parseTransport,
  type MediaLimits,
  type RtspSink,
  type VideoCodec,
} from './index.js';

/**
 * Fuzzing of every parser a camera or a file feeds: mutated seeds from test/corpus/media/<target>/
 * (plus the shared real-camera transcripts when present) and random bytes. A run passes when every
 * input either parses or fails with a PalisadeError, within a time bound, with buffered state under
 * the configured limits. FUZZ_RUNS sets the number of inputs per target (`npm run fuzz:media` runs
 * many more than the suite).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const CORPUS = fileURLToPath(new URL('../../../test/corpus/media/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../../../shared/fixtures/rtsp/', import.meta.url));
const PER_INPUT_MS = 2000;

function seeds(target: string, extra: Buffer[] = []): Buffer[] {
  const dir = CORPUS + target;
  const own = existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(`${dir}/${f}`)) : [];
  assert.ok(own.length > 0, `corpus for ${target} is missing (${dir})`);
  return [...own, ...extra];
}

function fixtureSeeds(filter: (name: string) => boolean): Buffer[] {
  if (!existsSync(FIXTURES)) return [];
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.txt') && !f.startsWith('LICENSE') && filter(f))
    .map((f) => readFileSync(FIXTURES + f));
}

/** A mutation of a seed: byte flips, interesting values, insertions, deletions, duplications, truncation. */
function mutated(corpus: Buffer[]): fc.Arbitrary<Buffer> {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
    fc.record({
      kind: fc.constant('set' as const),
      at: fc.nat(),
      value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x24, 0x0d, 0x0a, 0x3a, 0x3b, 0x2c),
    }),
    fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      bytes: fc.uint8Array({ maxLength: 64 }),
    }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.nat(256) }),
    fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.nat(512) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  );
  return fc.tuple(fc.nat(corpus.length - 1), fc.array(op, { minLength: 1, maxLength: 8 })).map(([i, ops]) => {
    let b = Buffer.from(corpus[i]!);
    for (const o of ops) {
      const at = b.length === 0 ? 0 : o.at % b.length;
      if (o.kind === 'flip' && b.length > 0) b[at] = b[at]! ^ (1 << o.bit);
      else if (o.kind === 'set' && b.length > 0) b[at] = o.value;
      else if (o.kind === 'insert')
        b = Buffer.concat([b.subarray(0, at), Buffer.from(o.bytes), b.subarray(at)]);
      else if (o.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + o.length)]);
      else if (o.kind === 'duplicate') b = Buffer.concat([b.subarray(0, at + o.length), b.subarray(at)]);
      else if (o.kind === 'truncate') b = b.subarray(0, at);
    }
    return b;
  });
}

function inputs(corpus: Buffer[]): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 4, arbitrary: mutated(corpus) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)) },
  );
}

/** Runs `body`; only typed errors are acceptable, and each input must finish quickly. */
function survive(body: () => void): void {
  const start = performance.now();
  try {
    body();
  } catch (err) {
    if (!isPalisadeError(err)) throw err;
  }
  const ms = performance.now() - start;
  assert.ok(ms < PER_INPUT_MS, `one input took ${ms.toFixed(0)} ms`);
}

const SMALL: MediaLimits = {
  ...DEFAULT_LIMITS,
  maxHeaderBytes: 2048,
  maxBodyBytes: 4096,
  maxInterleavedBytes: 4096,
  maxNalUnitBytes: 64 * 1024,
  maxAccessUnitBytes: 128 * 1024,
  maxNalUnitsPerAccessUnit: 64,
};

describe(`media fuzzing (${RUNS} inputs per target)`, () => {
  it('RTSP responses and interleaved framing, fed in random chunks: typed errors only, bounded buffer', () => {
    const corpus = [
      ...seeds('rtsp'),
      ...seeds('interleaved'),
      ...fixtureSeeds((f) => !f.endsWith('_sdp.txt')),
    ];
    fc.assert(
      fc.property(
        inputs(corpus),
        fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 20 }),
        (input, cuts) => {
          survive(() => {
            const reader = new RtspReader(SMALL);
            let o = 0;
            for (const n of [...cuts, input.length]) {
              reader.push(input.subarray(o, o + n), {
                frame: (_channel, data, start, end) => {
                  assert.ok(start >= 0 && start <= end && end <= data.length);
                  assert.ok(end - start <= SMALL.maxInterleavedBytes);
                },
                message: (item) => {
                  assert.ok(item.body.length <= SMALL.maxBodyBytes);
                  // What the client does with each header of a response.
                  for (const [name, value] of item.headers.entries) {
                    const n = name.toLowerCase();
                    if (n === 'transport') survive(() => parseTransport(value));
                    if (n === 'session') survive(() => parseSession(value));
                    if (n === 'rtp-info') parseRtpInfo(value);
                    if (n === 'www-authenticate') parseChallenges([value]);
                  }
                },
              });
              // Never more than one unfinished message or frame is held.
              assert.ok(reader.bufferedBytes <= SMALL.maxHeaderBytes + SMALL.maxBodyBytes + 4 + 700 + 64 * 8);
              o += n;
              if (o >= input.length) break;
            }
          });
        },
      ),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    );
  });

  it('RTSP framing through one reused receive buffer gives the same items as the whole stream', () => {
    // What a socket with an `onread` buffer does: every chunk lands in the same memory, overwritten by
    // the next read. Items must not depend on bytes of an earlier chunk still being there.
    const corpus = [
      ...seeds('rtsp'),
      ...seeds('interleaved'),
      ...fixtureSeeds((f) => !f.endsWith('_sdp.txt')),
    ];
    const describe = (items: string[]): RtspSink => ({
      frame: (channel, data, start, end) => items.push(`$${channel}:${data.toString('hex', start, end)}`),
      message: (m) => items.push(`${m.kind}:${JSON.stringify(m.headers.entries)}:${m.body.toString('hex')}`),
    });
    const parse = (input: Buffer, cuts: number[], reuse: boolean): string[] => {
      const reader = new RtspReader(SMALL);
      const items: string[] = [];
      const receive = Buffer.alloc(700);
      try {
        let o = 0;
        for (const n of [
          ...cuts,
          ...Array<number>(Math.ceil(input.length / receive.length)).fill(input.length),
        ]) {
          const piece = input.subarray(
            o,
            Math.min(input.length, o + (reuse ? Math.min(n, receive.length) : n)),
          );
          const chunk = reuse ? receive.subarray(0, piece.copy(receive)) : piece;
          reader.push(chunk, describe(items));
          if (reuse) receive.fill(0xa5);
          o += piece.length;
          if (o >= input.length) break;
        }
      } catch (err) {
        if (!isPalisadeError(err)) throw err;
        items.push(`error ${err.code}`);
      }
      return items;
    };
    fc.assert(
      fc.property(
        inputs(corpus),
        fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 20 }),
        (input, cuts) => {
          assert.deepEqual(parse(input, cuts, true), parse(input, [input.length], false));
        },
      ),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    );
  });

  it('SDP: typed errors only; a found video track has a codec and bounded parameter sets', () => {
    const corpus = [...seeds('sdp'), ...fixtureSeeds((f) => f.endsWith('_sdp.txt'))];
    fc.assert(
      fc.property(inputs(corpus), (input) => {
        survive(() => {
          const sdp = parseSdp(input, SMALL);
          assert.ok(sdp.media.length <= SMALL.maxSdpMedia);
          const track = findVideoTrack(sdp, SMALL);
          assert.ok(['h264', 'h265'].includes(track.codec));
          assert.ok(track.parameterSets.sps.length <= SMALL.maxParameterSets);
          const tracker = new ParameterSetTracker(track.codec, SMALL, track.parameterSets);
          tracker.current();
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('RTP and RTCP packets: typed errors only, payload inside the packet', () => {
    fc.assert(
      fc.property(inputs(seeds('rtp')), (input) => {
        survive(() => {
          const p = parseRtp(input);
          assert.ok(p.payloadStart >= 12 && p.payloadStart <= p.payloadEnd && p.payloadEnd <= input.length);
          // The same packet in the middle of a larger buffer (a receive buffer): the same fields, the
          // payload range shifted, nothing read outside the packet.
          const framed = Buffer.concat([Buffer.alloc(7, 0xff), input, Buffer.alloc(5, 0xff)]);
          const q = parseRtp(framed, 7, 7 + input.length, emptyRtpPacket());
          assert.deepEqual(
            { ...q, data: null, payloadStart: q.payloadStart - 7, payloadEnd: q.payloadEnd - 7 },
            { ...p, data: null },
          );
        });
        survive(() => parseRtcp(input));
      }),
      { numRuns: RUNS },
    );
  });

  for (const codec of ['h264', 'h265'] as VideoCodec[]) {
    it(`${codec} depacketizer and parameter sets: typed errors only, access units within limits`, () => {
      fc.assert(
        fc.property(inputs(seeds(codec)), (input) => {
          survive(() => {
            const tracker = new ParameterSetTracker(codec, SMALL);
            const d = createDepacketizer(codec, SMALL, (au) => {
              assert.ok(au.bytes <= SMALL.maxAccessUnitBytes);
              assert.ok(au.nalus.length <= SMALL.maxNalUnitsPerAccessUnit);
              tracker.classify(au.nalus);
              survive(() => tracker.current());
            });
            let o = 0;
            let ts = 0;
            let seq = 0;
            while (o + 3 <= input.length) {
              const flags = input[o]!;
              const len = input.readUInt16BE(o + 1);
              // The payload is read in place, inside the whole input, as from a receive buffer.
              const payloadStart = o + 3;
              const payloadEnd = Math.min(input.length, o + 3 + len);
              o += 3 + len;
              if (flags & 2) ts += 3600;
              d.push(
                {
                  payloadType: 96,
                  marker: (flags & 1) === 1,
                  sequence: seq++,
                  timestamp: ts,
                  ssrc: 1,
                  data: input,
                  payloadStart,
                  payloadEnd,
                },
                (flags & 4) !== 0,
              );
            }
            d.flush();
          });
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('fMP4 reader: typed errors only, every sample inside the file', () => {
    fc.assert(
      fc.property(inputs(seeds('fmp4')), (input) => {
        survive(() => {
          const file = Fmp4File.parse(input);
          for (const f of file.fragments) {
            for (const s of f.samples) {
              assert.ok(s.offset + s.size <= input.length);
              if (file.video?.codec === 'h264' || file.video?.codec === 'h265')
                survive(() => file.sampleNalUnits(s));
            }
          }
          file.keyFrameAtOrBefore(90_000);
        });
      }),
      { numRuns: RUNS },
    );
  });
});
