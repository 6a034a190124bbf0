import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/support/tmp.js';
import { clipPath, loadClip } from '../sim/index.js';
import {
  DEFAULT_FMP4_READER_LIMITS,
  Fmp4File,
  Fmp4Fragmenter,
  Fmp4Writer,
  describeVideo,
  resolveControl,
  type AccessUnit,
  type Fmp4Output,
} from './index.js';

/** Access units of a clip as the RTSP session would deliver them, from Palisade's own reader. */
function clipAccessUnits(name: 'h264-720p' | 'h265-1080p' | 'h264-1080p', start = 900_000): AccessUnit[] {
  const mp4 = Fmp4File.parse(readFileSync(clipPath(name)));
  const track = mp4.video!;
  const video = describeVideo(track.codec as 'h264' | 'h265', track.parameterSets!);
  const scale = 90_000 / track.timescale;
  return mp4.fragments.flatMap((f) =>
    f.samples.map((s, i) => {
      const nalus = mp4.sampleNalUnits(s);
      return {
        codec: video.codec,
        nalus,
        byteLength: nalus.reduce((n, x) => n + x.length, 0),
        key: s.key,
        timestamp: start + s.decodeTime * scale,
        rtpTimestamp: 0,
        wallClock: undefined,
        discontinuity: false,
        video,
        videoChanged: f.sequence === 1 && i === 0,
      };
    }),
  );
}

function ffprobeFrames(file: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn('ffprobe', [
      '-v',
      'error',
      '-count_frames',
      '-show_entries',
      'stream=codec_name,width,height,nb_read_frames',
      '-of',
      'csv=p=0',
      file,
    ]);
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', () => resolve({ status: -1, out: '' }));
    c.on('close', (status) => resolve({ status, out: out.trim() }));
  });
}

describe('fMP4 reader on an ffmpeg file', () => {
  it('reads tracks, avcC, trex/tfhd defaults and finds key frames by time', () => {
    const mp4 = Fmp4File.parse(readFileSync(clipPath('h264-720p')));
    const v = mp4.video!;
    assert.equal(v.codec, 'h264');
    assert.equal(v.timescale, 12800);
    assert.equal(`${v.width}x${v.height}`, '1280x720');
    assert.equal(mp4.fragments.length, 2);
    assert.deepEqual(
      mp4.fragments.map((f) => [f.startTime, f.duration, f.samples.length]),
      [
        [0, 25600, 50],
        [25600, 25600, 50],
      ],
    );
    assert.deepEqual(
      mp4.fragments.map((f) => f.keyFrames),
      [[0], [25600]],
    );
    assert.equal(mp4.fragmentAt(30000), 1);
    assert.deepEqual(mp4.keyFrameAtOrBefore(25599), { fragment: 0, time: 0 });
    assert.equal(mp4.initSegment().subarray(4, 8).toString('latin1'), 'ftyp');
  });

  it('a damaged or hostile file is FMP4_INVALID or a named limit, never a crash', () => {
    const good = readFileSync(clipPath('h264-720p'));
    assert.throws(() => Fmp4File.parse(good.subarray(0, 1000)), { code: 'FMP4_INVALID' });
    const lying = Buffer.from(good);
    lying.writeUInt32BE(0xfffffff0, 0); // ftyp claims to be 4 GiB
    assert.throws(() => Fmp4File.parse(lying), { code: 'FMP4_INVALID', message: /impossible size/ });
    assert.throws(() => Fmp4File.parse(good, { ...DEFAULT_FMP4_READER_LIMITS, maxSamplesPerFragment: 10 }), {
      code: 'RTSP_LIMIT_EXCEEDED',
      details: { limit: 'maxSamplesPerFragment', value: 50, max: 10 },
    });
  });
});

describe('fMP4 writer and fragmenter', () => {
  it('per GOP: one init, fragments starting at key frames, samples byte-identical when read back', async () => {
    const aus = clipAccessUnits('h265-1080p');
    const fragmenter = new Fmp4Fragmenter();
    const out = [...aus.flatMap((a) => fragmenter.push(a)), ...fragmenter.flush()];
    assert.deepEqual(
      out.map((o) => o.kind),
      ['init', 'fragment', 'fragment'],
    );
    const frags = out.filter((o) => o.kind === 'fragment');
    assert.deepEqual(
      frags.map((f) => [f.startTime, f.duration, f.sampleCount, f.key]),
      [
        [0, 180_000, 50, true],
        [180_000, 180_000, 50, true],
      ],
    );
    // Frames are copied into the mdat as they come; the writer builds the same fragment from samples.
    const writer = new Fmp4Writer(aus[0]!.video);
    frags.forEach((f, k) => {
      const samples = aus
        .slice(k * 50, k * 50 + 50)
        .map((a) => ({ nalus: a.nalus, duration: 3600, key: a.key }));
      assert.ok(f.data.equals(writer.fragment(samples, k * 180_000)), `fragment ${k}`);
    });
    const file = Buffer.concat(out.map((o) => o.data));
    const back = Fmp4File.parse(file);
    assert.equal(back.video?.codec, 'h265');
    const samples = back.fragments.flatMap((f) => f.samples);
    assert.equal(samples.length, 100);
    samples.forEach((s, i) => {
      assert.deepEqual(back.sampleNalUnits(s), aus[i]!.nalus);
      assert.equal(s.key, aus[i]!.key);
      assert.equal(s.decodeTime, i * 3600);
    });
    const target = path.join(tempDir(), 'gop.mp4');
    writeFileSync(target, file);
    const probe = await ffprobeFrames(target);
    assert.equal(probe.status, 0, 'ffprobe (Debian package ffmpeg) reads the file');
    assert.equal(probe.out, 'hevc,1920,1080,100');
  });

  it('per part: fragments of about partDurationMs inside a GOP, only GOP starts flagged key', async () => {
    const aus = clipAccessUnits('h264-720p');
    const fragmenter = new Fmp4Fragmenter({ partDurationMs: 500 });
    const out = [...aus.flatMap((a) => fragmenter.push(a)), ...fragmenter.flush()];
    const frags = out.filter((o) => o.kind === 'fragment');
    assert.equal(frags.length, 8, '4 s in 500 ms parts');
    assert.deepEqual(
      frags.map((f) => f.key),
      [true, false, false, false, true, false, false, false],
    );
    // A part closes once it holds at least 500 ms: 13 frames of 40 ms, the GOP's remainder last.
    assert.deepEqual(
      frags.map((f) => f.sampleCount),
      [13, 13, 13, 11, 13, 13, 13, 11],
    );
    const file = Buffer.concat(out.map((o) => o.data));
    const back = Fmp4File.parse(file);
    assert.equal(back.fragmentAt(2.6 * 90_000), 5);
    assert.deepEqual(back.keyFrameAtOrBefore(3.9 * 90_000), { fragment: 4, time: 180_000 });
    const target = path.join(tempDir(), 'parts.mp4');
    writeFileSync(target, file);
    const probe = await ffprobeFrames(target);
    assert.equal(probe.status, 0, 'ffprobe (Debian package ffmpeg) reads the file');
    assert.equal(probe.out, 'h264,1280,720,100');
  });

  it('a parameter change starts a new init segment at the next key frame; frames before it are dropped', () => {
    const a = clipAccessUnits('h264-1080p').slice(0, 60);
    const b = clipAccessUnits('h264-720p', a.at(-1)!.timestamp + 3600).map((au, i) => ({
      ...au,
      videoChanged: i === 0,
    }));
    const fragmenter = new Fmp4Fragmenter();
    const out = [...[...a, ...b.slice(0, 60)].flatMap((x) => fragmenter.push(x)), ...fragmenter.flush()];
    const inits = out.filter((o) => o.kind === 'init');
    assert.deepEqual(
      inits.map((o) => o.video.height),
      [1080, 720],
    );
    const fragments = out.filter((o) => o.kind === 'fragment');
    assert.deepEqual(
      fragments.map((f) => f.sampleCount),
      [50, 10, 50, 10],
    );
  });

  it('reuseBuffers: the same bytes as without, through buffer growth and shrink; stale reads refused', () => {
    // A 1080p stream, then a 720p one for long enough that the grown buffer shrinks back: every
    // fragment, read before the next push as a recorder does, equals the plain fragmenter's.
    const big = clipAccessUnits('h264-1080p');
    let t = big.at(-1)!.timestamp + 3600;
    const small: AccessUnit[] = [];
    for (let round = 0; round < 12; round++) {
      const clip = clipAccessUnits('h264-720p', t).map((au, i) => ({
        ...au,
        videoChanged: round === 0 && i === 0,
      }));
      small.push(...clip);
      t = clip.at(-1)!.timestamp + 3600;
    }
    const aus = [...big, ...small];
    const plain = new Fmp4Fragmenter({ partDurationMs: 1000 });
    const expected = [...aus.flatMap((a) => plain.push(a)), ...plain.flush()].map((o) => o.data);
    const reusing = new Fmp4Fragmenter({ partDurationMs: 1000, reuseBuffers: true });
    const got: Buffer[] = [];
    const stale: Fmp4Output[] = [];
    const take = (outs: Fmp4Output[]) => {
      for (const o of outs) {
        if (o.kind === 'fragment') {
          // What a recorder writes: the parts, in order, add up to byteLength and to the joined data.
          assert.equal(
            o.parts.reduce((n, p) => n + p.length, 0),
            o.byteLength,
          );
          got.push(Buffer.concat(o.parts));
          if (stale.length === 0) stale.push(o);
        } else got.push(Buffer.from(o.data));
      }
    };
    for (const au of aus) take(reusing.push(au));
    take(reusing.flush());
    assert.equal(got.length, expected.length);
    got.forEach((g, i) => assert.ok(g.equals(expected[i]!), `output ${i} differs`));
    // The first fragment's bytes were reused long ago: reading them is an error, not wrong video.
    assert.throws(() => stale[0]!.data, { code: 'FMP4_WRITE_FAILED' });
  });

  it('refuses to write an empty fragment', () => {
    const w = new Fmp4Writer(loadClip('h264-720p').video);
    assert.throws(() => w.fragment([], 0), { code: 'FMP4_WRITE_FAILED' });
  });
});

describe('control URL resolution', () => {
  it('absolute, aggregate, relative with and without slash, query strings kept', () => {
    assert.equal(resolveControl('rtsp://h/a/', 'rtsp://other/x'), 'rtsp://other/x');
    assert.equal(resolveControl('rtsp://h/a/', '*'), 'rtsp://h/a/');
    assert.equal(resolveControl('rtsp://h/a', 'trackID=1'), 'rtsp://h/a/trackID=1');
    assert.equal(resolveControl('rtsp://h/a/', 'trackID=1'), 'rtsp://h/a/trackID=1');
    assert.equal(resolveControl('rtsp://h/r?c=1&s=0/', 'trackID=0'), 'rtsp://h/r?c=1&s=0/trackID=0');
    assert.equal(resolveControl('rtsp://h/a', undefined), 'rtsp://h/a');
  });
});
