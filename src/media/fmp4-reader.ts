import { MediaErrorCode, limitExceeded, mediaError } from './errors.js';
import { parseAvcC } from './h264.js';
import { parseHvcC } from './h265.js';
import type { ParameterSets } from './video.js';

export interface Fmp4ReaderLimits {
  /** Nesting depth of boxes. */
  maxDepth: number;
  /** Fragments in one file. */
  maxFragments: number;
  /** Samples in one fragment (trun sample_count is a 32-bit number a hostile file controls). */
  maxSamplesPerFragment: number;
  /** Tracks in the moov. */
  maxTracks: number;
}

export const DEFAULT_FMP4_READER_LIMITS: Readonly<Fmp4ReaderLimits> = Object.freeze({
  maxDepth: 12,
  maxFragments: 100_000,
  maxSamplesPerFragment: 20_000,
  maxTracks: 16,
});

export interface Fmp4Track {
  trackId: number;
  timescale: number;
  handler: string;
  /** `h264`/`h265` for video tracks we can describe; otherwise the sample entry's four-character code. */
  codec: string;
  width: number;
  height: number;
  /** From avcC/hvcC. */
  parameterSets: ParameterSets | undefined;
  nalLengthSize: number;
  defaultDuration: number;
  defaultSize: number;
  defaultFlags: number;
}

export interface Fmp4SampleRef {
  /** Decode time in the track timescale. */
  decodeTime: number;
  duration: number;
  compositionOffset: number;
  /** Byte range of the sample in the file. */
  offset: number;
  size: number;
  key: boolean;
}

export interface Fmp4FragmentRef {
  /** Byte offset of the moof box; `size` spans moof and its mdat. */
  offset: number;
  size: number;
  sequence: number;
  trackId: number;
  startTime: number;
  duration: number;
  samples: Fmp4SampleRef[];
  /** Decode times of sync samples in this fragment. */
  keyFrames: number[];
}

interface BoxRef {
  type: string;
  start: number;
  /** Start of the payload (after size/type/largesize). */
  body: number;
  end: number;
}

function* boxes(buf: Buffer, start: number, end: number): Generator<BoxRef> {
  let o = start;
  while (o + 8 <= end) {
    let size = buf.readUInt32BE(o);
    const type = buf.toString('latin1', o + 4, o + 8);
    let body = o + 8;
    if (size === 1) {
      if (o + 16 > end) throw invalid(`${type} box is truncated`);
      const large = buf.readBigUInt64BE(o + 8);
      if (large > BigInt(end - o)) throw invalid(`${type} box runs past its parent`);
      size = Number(large);
      body = o + 16;
    } else if (size === 0) {
      size = end - o;
    }
    if (size < body - o || o + size > end) throw invalid(`${type} box has an impossible size ${size}`);
    yield { type, start: o, body, end: o + size };
    o += size;
  }
  if (o !== end && end - o < 8 && o < end) throw invalid('trailing bytes after the last box');
}

function invalid(why: string) {
  return mediaError(MediaErrorCode.FMP4_INVALID, `not a usable fragmented MP4: ${why}`);
}

function need(b: BoxRef, bytes: number): void {
  if (b.end - b.body < bytes) throw invalid(`${b.type} box is truncated`);
}

/**
 * Indexes a fragmented MP4 held in memory (a recorded segment after decryption): its tracks, every
 * fragment with its samples, and the key frames, so playback can seek by time without decoding.
 * Every offset and count is checked against the buffer and the limits.
 */
export class Fmp4File {
  readonly tracks: Fmp4Track[] = [];
  readonly fragments: Fmp4FragmentRef[] = [];
  /** Byte range of ftyp + moov (the init segment) when they are contiguous at the start. */
  initRange: { offset: number; size: number } | undefined;

  private constructor(readonly data: Buffer) {}

  static parse(data: Buffer, limits: Fmp4ReaderLimits = DEFAULT_FMP4_READER_LIMITS): Fmp4File {
    const file = new Fmp4File(data);
    let sawMoov = false;
    let lastMoof: { ref: BoxRef; fragments: Fmp4FragmentRef[] } | undefined;
    for (const b of boxes(data, 0, data.length)) {
      if (b.type === 'moov') {
        file.readMoov(b, limits);
        sawMoov = true;
        file.initRange = { offset: 0, size: b.end };
      } else if (b.type === 'moof') {
        if (!sawMoov) throw invalid('moof before moov');
        lastMoof = { ref: b, fragments: file.readMoof(b, limits) };
      } else if (b.type === 'mdat' && lastMoof !== undefined) {
        for (const f of lastMoof.fragments) {
          for (const s of f.samples) {
            if (s.offset < b.body || s.offset + s.size > b.end)
              throw invalid('a sample lies outside its mdat');
          }
          f.size = b.end - f.offset;
          if (file.fragments.length >= limits.maxFragments) {
            throw limitExceeded('maxFragments', file.fragments.length + 1, limits.maxFragments);
          }
          file.fragments.push(f);
        }
        lastMoof = undefined;
      }
    }
    if (!sawMoov) throw invalid('no moov box');
    return file;
  }

  /** The first video track (what Palisade records). */
  get video(): Fmp4Track | undefined {
    return this.tracks.find((t) => t.handler === 'vide');
  }

  /** The init segment bytes (ftyp + moov), to send before any fragment. */
  initSegment(): Buffer {
    if (this.initRange === undefined) throw invalid('no init segment');
    return this.data.subarray(this.initRange.offset, this.initRange.offset + this.initRange.size);
  }

  /** Bytes of one fragment (moof + mdat), to send as is. */
  fragmentBytes(f: Fmp4FragmentRef): Buffer {
    return this.data.subarray(f.offset, f.offset + f.size);
  }

  /** Index of the fragment whose time span holds `time` (track timescale), or the nearest one. */
  fragmentAt(time: number, trackId = this.video?.trackId): number {
    let best = -1;
    for (let i = 0; i < this.fragments.length; i++) {
      const f = this.fragments[i]!;
      if (f.trackId !== trackId) continue;
      if (f.startTime <= time) best = i;
      if (time < f.startTime + f.duration && f.startTime <= time) return i;
    }
    if (best >= 0) return best;
    return this.fragments.findIndex((f) => f.trackId === trackId);
  }

  /** The last key frame at or before `time` (where playback of that instant must start decoding). */
  keyFrameAtOrBefore(
    time: number,
    trackId = this.video?.trackId,
  ): { fragment: number; time: number } | undefined {
    let found: { fragment: number; time: number } | undefined;
    for (let i = 0; i < this.fragments.length; i++) {
      const f = this.fragments[i]!;
      if (f.trackId !== trackId || f.startTime > time) continue;
      for (const k of f.keyFrames) if (k <= time) found = { fragment: i, time: k };
    }
    return found;
  }

  /** One sample's NAL units (views into the file, length prefixes removed). */
  sampleNalUnits(sample: Fmp4SampleRef, track: Fmp4Track = this.video!): Buffer[] {
    const out: Buffer[] = [];
    const end = sample.offset + sample.size;
    let o = sample.offset;
    const n = track.nalLengthSize;
    while (o + n <= end) {
      const len = this.data.readUIntBE(o, n);
      if (o + n + len > end) throw invalid('a NAL unit runs past its sample');
      out.push(this.data.subarray(o + n, o + n + len));
      o += n + len;
    }
    if (o !== end) throw invalid('bytes left over at the end of a sample');
    return out;
  }

  private readMoov(moov: BoxRef, limits: Fmp4ReaderLimits): void {
    const trex = new Map<number, [number, number, number]>();
    for (const b of boxes(this.data, moov.body, moov.end)) {
      if (b.type === 'trak') {
        if (this.tracks.length >= limits.maxTracks)
          throw limitExceeded('maxTracks', this.tracks.length + 1, limits.maxTracks);
        this.tracks.push(this.readTrak(b));
      } else if (b.type === 'mvex') {
        for (const x of boxes(this.data, b.body, b.end)) {
          if (x.type !== 'trex') continue;
          need(x, 24);
          const d = this.data;
          trex.set(d.readUInt32BE(x.body + 4), [
            d.readUInt32BE(x.body + 12),
            d.readUInt32BE(x.body + 16),
            d.readUInt32BE(x.body + 20),
          ]);
        }
      }
    }
    for (const t of this.tracks) {
      const defaults = trex.get(t.trackId);
      if (defaults) [t.defaultDuration, t.defaultSize, t.defaultFlags] = defaults;
    }
  }

  private readTrak(trak: BoxRef): Fmp4Track {
    const d = this.data;
    const track: Fmp4Track = {
      trackId: 0,
      timescale: 0,
      handler: '',
      codec: '',
      width: 0,
      height: 0,
      parameterSets: undefined,
      nalLengthSize: 4,
      defaultDuration: 0,
      defaultSize: 0,
      defaultFlags: 0,
    };
    const walk = (parent: BoxRef, depth: number) => {
      if (depth > 8) throw invalid('boxes nested too deeply');
      for (const b of boxes(d, parent.body, parent.end)) {
        if (b.type === 'tkhd') {
          need(b, 24);
          track.trackId = d.readUInt32BE(b.body + (d[b.body] === 1 ? 20 : 12));
        } else if (b.type === 'mdhd') {
          need(b, 24);
          track.timescale = d.readUInt32BE(b.body + (d[b.body] === 1 ? 20 : 12));
        } else if (b.type === 'hdlr') {
          need(b, 12);
          track.handler = d.toString('latin1', b.body + 8, b.body + 12);
        } else if (b.type === 'stsd') {
          need(b, 8);
          const entry = boxes(d, b.body + 8, b.end).next();
          if (!entry.done) this.readSampleEntry(entry.value, track);
        } else if (['mdia', 'minf', 'stbl'].includes(b.type)) {
          walk(b, depth + 1);
        }
      }
    };
    walk(trak, 0);
    if (track.trackId === 0 || track.timescale === 0) throw invalid('a track lacks its id or timescale');
    return track;
  }

  private readSampleEntry(entry: BoxRef, track: Fmp4Track): void {
    track.codec = entry.type;
    if (!['avc1', 'avc3', 'hvc1', 'hev1'].includes(entry.type)) return;
    need(entry, 78);
    track.width = this.data.readUInt16BE(entry.body + 24);
    track.height = this.data.readUInt16BE(entry.body + 26);
    for (const b of boxes(this.data, entry.body + 78, entry.end)) {
      const record = this.data.subarray(b.body, b.end);
      if (b.type === 'avcC') {
        const { sets, lengthSize } = parseAvcC(record);
        track.codec = 'h264';
        track.parameterSets = sets;
        track.nalLengthSize = lengthSize;
      } else if (b.type === 'hvcC') {
        const { sets, lengthSize } = parseHvcC(record);
        track.codec = 'h265';
        track.parameterSets = sets;
        track.nalLengthSize = lengthSize;
      }
    }
  }

  private readMoof(moof: BoxRef, limits: Fmp4ReaderLimits): Fmp4FragmentRef[] {
    const d = this.data;
    let sequence = 0;
    const out: Fmp4FragmentRef[] = [];
    for (const b of boxes(d, moof.body, moof.end)) {
      if (b.type === 'mfhd') {
        need(b, 8);
        sequence = d.readUInt32BE(b.body + 4);
      } else if (b.type === 'traf') {
        out.push(this.readTraf(b, moof, sequence, limits));
      }
    }
    return out;
  }

  private readTraf(traf: BoxRef, moof: BoxRef, sequence: number, limits: Fmp4ReaderLimits): Fmp4FragmentRef {
    const d = this.data;
    let track: Fmp4Track | undefined;
    let base = moof.start;
    let duration = 0;
    let size = 0;
    let flags = 0;
    let decodeTime = 0;
    const samples: Fmp4SampleRef[] = [];
    let nextOffset: number | undefined;
    for (const b of boxes(d, traf.body, traf.end)) {
      if (b.type === 'tfhd') {
        need(b, 8);
        const f = d.readUIntBE(b.body + 1, 3);
        const id = d.readUInt32BE(b.body + 4);
        track = this.tracks.find((t) => t.trackId === id);
        if (track === undefined) throw invalid(`fragment for unknown track ${id}`);
        duration = track.defaultDuration;
        size = track.defaultSize;
        flags = track.defaultFlags;
        let o = b.body + 8;
        const read32 = () => {
          if (o + 4 > b.end) throw invalid('tfhd is truncated');
          o += 4;
          return d.readUInt32BE(o - 4);
        };
        if (f & 0x1) {
          if (o + 8 > b.end) throw invalid('tfhd is truncated');
          base = Number(d.readBigUInt64BE(o));
          o += 8;
        }
        if (f & 0x2) read32();
        if (f & 0x8) duration = read32();
        if (f & 0x10) size = read32();
        if (f & 0x20) flags = read32();
        if (!(f & 0x1) && !(f & 0x20000)) base = moof.start;
      } else if (b.type === 'tfdt') {
        need(b, 8);
        decodeTime =
          d[b.body] === 1 ? (need(b, 12), Number(d.readBigUInt64BE(b.body + 4))) : d.readUInt32BE(b.body + 4);
      } else if (b.type === 'trun') {
        if (track === undefined) throw invalid('trun before tfhd');
        need(b, 8);
        const version = d[b.body]!;
        const f = d.readUIntBE(b.body + 1, 3);
        const count = d.readUInt32BE(b.body + 4);
        if (samples.length + count > limits.maxSamplesPerFragment) {
          throw limitExceeded('maxSamplesPerFragment', samples.length + count, limits.maxSamplesPerFragment);
        }
        let o = b.body + 8;
        const read32 = () => {
          if (o + 4 > b.end) throw invalid('trun is truncated');
          o += 4;
          return d.readUInt32BE(o - 4);
        };
        let offset = nextOffset ?? base;
        if (f & 0x1) offset = base + (read32() | 0);
        const firstFlags = f & 0x4 ? read32() : undefined;
        for (let i = 0; i < count; i++) {
          const sDuration = f & 0x100 ? read32() : duration;
          const sSize = f & 0x200 ? read32() : size;
          const sFlags = f & 0x400 ? read32() : i === 0 && firstFlags !== undefined ? firstFlags : flags;
          let cto = 0;
          if (f & 0x800) cto = version === 0 ? read32() : read32() | 0;
          samples.push({
            decodeTime,
            duration: sDuration,
            compositionOffset: cto,
            offset,
            size: sSize,
            key: (sFlags & 0x10000) === 0 && ((sFlags >> 24) & 3) !== 1,
          });
          decodeTime += sDuration;
          offset += sSize;
        }
        nextOffset = offset;
      }
    }
    if (track === undefined) throw invalid('traf without tfhd');
    const startTime = samples[0]?.decodeTime ?? decodeTime;
    return {
      offset: moof.start,
      size: moof.end - moof.start,
      sequence,
      trackId: track.trackId,
      startTime,
      duration: decodeTime - startTime,
      samples,
      keyFrames: samples.filter((s) => s.key).map((s) => s.decodeTime),
    };
  }
}
