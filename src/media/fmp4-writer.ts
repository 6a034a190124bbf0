import { MediaErrorCode, mediaError } from './errors.js';
import { buildAvcC } from './h264.js';
import { buildHvcC } from './h265.js';
import { UNITY_MATRIX, box, fullBox, u16s, u32s, u64 } from './mp4-box.js';
import type { AccessUnit, VideoInfo } from './video.js';

/** One video sample to write: NAL units (no start codes), its duration, whether it is a sync sample. */
export interface Fmp4Sample {
  nalus: readonly Buffer[];
  /** Duration in the track timescale (90 kHz). */
  duration: number;
  key: boolean;
}

export const VIDEO_TIMESCALE = 90_000;
const TRACK_ID = 1;
/** Sample flags (ISO/IEC 14496-12 8.8.3.1): sync samples depend on nothing; others on earlier ones. */
const SYNC_FLAGS = 0x02000000;
const NON_SYNC_FLAGS = 0x01010000;

/**
 * Writes fragmented MP4 for one video track, into Buffers (the recorder encrypts before anything
 * touches a disk): `initSegment()` once per set of stream parameters, then `fragment()` per GOP or
 * part. Samples are length-prefixed (4 bytes); parameter sets live only in avcC/hvcC.
 */
export class Fmp4Writer {
  private sequence = 0;

  constructor(readonly video: VideoInfo) {}

  initSegment(): Buffer {
    const v = this.video;
    const brand = v.codec === 'h264' ? 'avc1' : 'hvc1';
    const ftyp = box(
      'ftyp',
      Buffer.from('iso6', 'latin1'),
      u32s(0x200),
      Buffer.from(`iso6isomiso5mp41${brand}`, 'latin1'),
    );
    const mvhd = fullBox(
      'mvhd',
      0,
      0,
      u32s(0, 0, 1000, 0),
      u32s(0x00010000),
      u16s(0x0100, 0),
      u32s(0, 0),
      UNITY_MATRIX,
      Buffer.alloc(24),
      u32s(TRACK_ID + 1),
    );
    const tkhd = fullBox(
      'tkhd',
      0,
      3, // enabled, in movie
      u32s(0, 0, TRACK_ID, 0, 0),
      u32s(0, 0),
      u16s(0, 0, 0, 0),
      UNITY_MATRIX,
      u32s(v.width * 0x10000, v.height * 0x10000),
    );
    const mdhd = fullBox('mdhd', 0, 0, u32s(0, 0, VIDEO_TIMESCALE, 0), u16s(0x55c4, 0)); // language "und"
    const hdlr = fullBox(
      'hdlr',
      0,
      0,
      u32s(0),
      Buffer.from('vide', 'latin1'),
      u32s(0, 0, 0),
      Buffer.from('Palisade video\0', 'latin1'),
    );
    const dinf = box('dinf', fullBox('dref', 0, 0, u32s(1), fullBox('url ', 0, 1)));
    const config =
      v.codec === 'h264' ? box('avcC', buildAvcC(v.parameterSets)) : box('hvcC', buildHvcC(v.parameterSets));
    const sampleEntry = box(
      brand,
      Buffer.alloc(6),
      u16s(1), // data_reference_index
      Buffer.alloc(16),
      u16s(v.width, v.height),
      u32s(0x00480000, 0x00480000, 0),
      u16s(1),
      Buffer.alloc(32), // compressorname
      u16s(0x0018, 0xffff),
      config,
    );
    const stbl = box(
      'stbl',
      fullBox('stsd', 0, 0, u32s(1), sampleEntry),
      fullBox('stts', 0, 0, u32s(0)),
      fullBox('stsc', 0, 0, u32s(0)),
      fullBox('stsz', 0, 0, u32s(0, 0)),
      fullBox('stco', 0, 0, u32s(0)),
    );
    const minf = box('minf', fullBox('vmhd', 0, 1, u16s(0, 0, 0, 0)), dinf, stbl);
    const trak = box('trak', tkhd, box('mdia', mdhd, hdlr, minf));
    const mvex = box('mvex', fullBox('trex', 0, 0, u32s(TRACK_ID, 1, 0, 0, 0)));
    return Buffer.concat([ftyp, box('moov', mvhd, trak, mvex)]);
  }

  /** One movie fragment (moof + mdat). `baseDecodeTime` is in the 90 kHz timescale. */
  fragment(samples: readonly Fmp4Sample[], baseDecodeTime: number): Buffer {
    if (samples.length === 0)
      throw mediaError(MediaErrorCode.FMP4_WRITE_FAILED, 'a fragment needs at least one sample');
    const mfhd = fullBox('mfhd', 0, 0, u32s(++this.sequence));
    const tfhd = fullBox('tfhd', 0, 0x020000, u32s(TRACK_ID)); // default-base-is-moof
    const tfdt = fullBox('tfdt', 1, 0, u64(baseDecodeTime));
    const entries = Buffer.allocUnsafe(samples.length * 12);
    let mdatSize = 8;
    samples.forEach((s, i) => {
      let size = 0;
      for (const nal of s.nalus) size += 4 + nal.length;
      entries.writeUInt32BE(Math.max(0, Math.round(s.duration)), i * 12);
      entries.writeUInt32BE(size, i * 12 + 4);
      entries.writeUInt32BE(s.key ? SYNC_FLAGS : NON_SYNC_FLAGS, i * 12 + 8);
      mdatSize += size;
    });
    // trun: data-offset, sample-duration, sample-size, sample-flags present.
    const trunHeaderSize = 12 + 8;
    const moofSize = 8 + mfhd.length + 8 + tfhd.length + tfdt.length + trunHeaderSize + entries.length;
    const trun = fullBox('trun', 0, 0x000701, u32s(samples.length, moofSize + 8), entries);
    const moof = box('moof', mfhd, box('traf', tfhd, tfdt, trun));
    const out = Buffer.allocUnsafe(moof.length + mdatSize);
    moof.copy(out, 0);
    let o = moof.length;
    out.writeUInt32BE(mdatSize, o);
    out.write('mdat', o + 4, 4, 'latin1');
    o += 8;
    for (const s of samples) {
      for (const nal of s.nalus) {
        out.writeUInt32BE(nal.length, o);
        nal.copy(out, o + 4);
        o += 4 + nal.length;
      }
    }
    return out;
  }
}

/** What the fragmenter produces, in order: an init segment whenever the stream parameters change, then fragments. */
export type Fmp4Output =
  | { kind: 'init'; data: Buffer; video: VideoInfo }
  | {
      kind: 'fragment';
      data: Buffer;
      /** Decode time of the first sample and total duration, 90 kHz, relative to `timeOrigin`. */
      startTime: number;
      duration: number;
      /** The fragment starts with a key frame (a GOP start, as opposed to a part inside one). */
      key: boolean;
      sampleCount: number;
      /** Wall-clock time of the first sample, when the camera's sender reports gave one. */
      wallClock: number | undefined;
    };

export interface Fmp4FragmenterOptions {
  /**
   * Cut fragments shorter than a GOP (low-latency parts) once they reach this many milliseconds; a
   * key frame always starts a new fragment. Undefined: one fragment per GOP.
   */
  partDurationMs?: number;
  /** 90 kHz time subtracted from access-unit timestamps; the first access unit's timestamp when absent. */
  timeOrigin?: number;
  /** Duration of the very last sample when the stream ends (no next frame to measure against). */
  defaultSampleDuration?: number;
}

/**
 * Turns access units into init segments and fragments incrementally. A fragment is emitted when the
 * next one starts (a sample's duration is the gap to the next sample), so output lags one frame.
 */
export class Fmp4Fragmenter {
  private writer: Fmp4Writer | undefined;
  private pending: AccessUnit[] = [];
  private origin: number | undefined;
  private lastDuration: number;

  constructor(private readonly options: Fmp4FragmenterOptions = {}) {
    this.origin = options.timeOrigin;
    this.lastDuration = options.defaultSampleDuration ?? 3600;
  }

  push(au: AccessUnit): Fmp4Output[] {
    const out: Fmp4Output[] = [];
    this.origin ??= au.timestamp;
    const newVideo = this.writer === undefined || au.videoChanged || au.video !== this.writer.video;
    const part =
      this.options.partDurationMs !== undefined &&
      this.pending.length > 0 &&
      (au.timestamp - this.pending[0]!.timestamp) / 90 >= this.options.partDurationMs;
    if (this.pending.length > 0 && (au.key || newVideo || part)) out.push(this.cut(au.timestamp));
    if (newVideo) {
      if (!au.key) return out; // a new init segment must start at a key frame
      this.writer = new Fmp4Writer(au.video);
      out.push({ kind: 'init', data: this.writer.initSegment(), video: au.video });
    }
    if (this.pending.length === 0 && !au.key && this.options.partDurationMs === undefined) {
      // Per-GOP fragments must start on a key frame; frames before the first one are not decodable.
      return out;
    }
    this.pending.push(au);
    return out;
  }

  /** Emits the fragment in progress (end of recording). */
  flush(): Fmp4Output[] {
    return this.pending.length === 0 ? [] : [this.cut(undefined)];
  }

  private cut(nextTimestamp: number | undefined): Fmp4Output {
    const aus = this.pending;
    this.pending = [];
    const samples = aus.map((au, i) => {
      const next = i + 1 < aus.length ? aus[i + 1]!.timestamp : nextTimestamp;
      const duration = next === undefined ? this.lastDuration : Math.max(1, next - au.timestamp);
      this.lastDuration = duration;
      return { nalus: au.nalus, duration, key: au.key };
    });
    const startTime = aus[0]!.timestamp - this.origin!;
    const duration = samples.reduce((n, s) => n + s.duration, 0);
    return {
      kind: 'fragment',
      data: this.writer!.fragment(samples, Math.max(0, startTime)),
      startTime,
      duration,
      key: aus[0]!.key,
      sampleCount: samples.length,
      wallClock: aus[0]!.wallClock,
    };
  }
}
