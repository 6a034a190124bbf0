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

  /** One movie fragment (moof + mdat) in one buffer. `baseDecodeTime` is in the 90 kHz timescale. */
  fragment(samples: readonly Fmp4Sample[], baseDecodeTime: number): Buffer {
    const { parts, byteLength } = this.fragmentParts(samples, baseDecodeTime);
    return Buffer.concat(parts, byteLength);
  }

  /**
   * The same fragment as a list of buffers to write in order: moof and the mdat header, then each
   * NAL unit's 4-byte length and the NAL unit itself as given (not copied). A recorder that seals
   * and writes the pieces saves a copy of every video byte and the allocation that goes with it.
   */
  fragmentParts(samples: readonly Fmp4Sample[], baseDecodeTime: number): FragmentParts {
    if (samples.length === 0)
      throw mediaError(MediaErrorCode.FMP4_WRITE_FAILED, 'a fragment needs at least one sample');
    const mfhd = fullBox('mfhd', 0, 0, u32s(++this.sequence));
    const tfhd = fullBox('tfhd', 0, 0x020000, u32s(TRACK_ID)); // default-base-is-moof
    const tfdt = fullBox('tfdt', 1, 0, u64(baseDecodeTime));
    const entries = Buffer.allocUnsafe(samples.length * 12);
    let mdatSize = 8;
    let nalCount = 0;
    samples.forEach((s, i) => {
      let size = 0;
      for (const nal of s.nalus) size += 4 + nal.length;
      nalCount += s.nalus.length;
      entries.writeUInt32BE(Math.max(0, Math.round(s.duration)), i * 12);
      entries.writeUInt32BE(size, i * 12 + 4);
      entries.writeUInt32BE(s.key ? SYNC_FLAGS : NON_SYNC_FLAGS, i * 12 + 8);
      mdatSize += size;
    });
    // trun: data-offset, sample-duration, sample-size, sample-flags present.
    const trunHeaderSize = 12 + 8;
    const moofSize = 8 + mfhd.length + 8 + tfhd.length + tfdt.length + trunHeaderSize + entries.length;
    const trun = fullBox('trun', 0, 0x000701, u32s(samples.length, moofSize + 8), entries);
    const mdatHeader = Buffer.allocUnsafe(8);
    mdatHeader.writeUInt32BE(mdatSize, 0);
    mdatHeader.write('mdat', 4, 4, 'latin1');
    const head = box('moof', mfhd, box('traf', tfhd, tfdt, trun), mdatHeader);
    // box() sized the moof over the mdat header too: put the moof's own size back.
    head.writeUInt32BE(moofSize, 0);
    const parts: Buffer[] = [head];
    // All length prefixes in one small buffer, each piece a view of it.
    const lengths = Buffer.allocUnsafe(nalCount * 4);
    let l = 0;
    for (const s of samples) {
      for (const nal of s.nalus) {
        lengths.writeUInt32BE(nal.length, l);
        parts.push(lengths.subarray(l, l + 4), nal);
        l += 4;
      }
    }
    return { parts, byteLength: moofSize + mdatSize };
  }
}

/** A movie fragment as pieces: write `parts` in order; together they are `byteLength` bytes. */
export interface FragmentParts {
  parts: Buffer[];
  byteLength: number;
}

/** What the fragmenter produces, in order: an init segment whenever the stream parameters change, then fragments. */
export type Fmp4Output =
  | { kind: 'init'; data: Buffer; video: VideoInfo }
  | {
      kind: 'fragment';
      /** The fragment's bytes in order (see `Fmp4Writer.fragmentParts`): what a recorder writes. */
      parts: Buffer[];
      byteLength: number;
      /** The fragment in one buffer, joined from `parts` on first read (live viewers). */
      readonly data: Buffer;
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
  /**
   * Copy each access unit's NAL units into one buffer the fragmenter reuses, and release the access
   * unit (`AccessUnit.release`) once copied or dropped. Then a fragment's `parts` (and `data`, a copy)
   * are valid only until the next `push`/`flush` call: a consumer must be done with them by then. In exchange the receive buffers the NAL units point into are freed young,
   * instead of being kept for a whole fragment and promoted: a recorder of many cameras spends far
   * less time in full garbage collections (see docs/benchmarks.md, recording).
   */
  reuseBuffers?: boolean;
}

const ARENA_INITIAL_BYTES = 256 * 1024;
/** A fragment using less than a quarter of its arena this many times in a row halves it. */
const ARENA_SHRINK_AFTER = 8;

const ARENA_GRANULE = 64 * 1024;

/**
 * The next arena size: half as large again (not double: a 1 s fragment of a 4 Mbit/s stream,
 * ≈ 520 KiB, would otherwise pin 1 MiB per camera), and at least `need`.
 */
function grownSize(current: number, need: number): number {
  const size = Math.max(need, current * 1.5);
  return Math.ceil(size / ARENA_GRANULE) * ARENA_GRANULE;
}

/**
 * One growable buffer NAL units are copied into, reused fragment after fragment. It grows (by half)
 * to the largest fragment seen and shrinks again after fragments stay small, so a camera that once
 * sent a huge fragment does not pin that much memory for good.
 */
class FragmentArena {
  #buf = Buffer.allocUnsafeSlow(ARENA_INITIAL_BYTES);
  #used = 0;
  #smallRuns = 0;
  /** Bumped on every reset: fragments remember it to detect use after their bytes were reused. */
  generation = 0;

  copy(src: Buffer): Buffer {
    if (this.#used + src.length > this.#buf.length) {
      // Views into the old buffer stay valid (it lives on until they go); new bytes go to a larger one.
      this.#buf = Buffer.allocUnsafeSlow(grownSize(this.#buf.length, src.length));
      this.#used = 0;
      this.#smallRuns = 0;
    }
    const view = this.#buf.subarray(this.#used, this.#used + src.length);
    src.copy(view);
    this.#used += src.length;
    return view;
  }

  reset(): void {
    if (this.#buf.length > ARENA_INITIAL_BYTES && this.#used < this.#buf.length / 4) {
      if (++this.#smallRuns >= ARENA_SHRINK_AFTER) {
        this.#buf = Buffer.allocUnsafeSlow(Math.max(ARENA_INITIAL_BYTES, this.#buf.length / 2));
        this.#smallRuns = 0;
      }
    } else this.#smallRuns = 0;
    this.#used = 0;
    this.generation++;
  }
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
  /** With `reuseBuffers`: the buffer pending access units are copied into. */
  private arena: FragmentArena | undefined;
  /**
   * The arena still holds the fragment just emitted: the access unit that closed it stays uncopied
   * (a view into its receive buffer) until the next call, when the consumer is done with the fragment.
   */
  private arenaHoldsFragment = false;

  constructor(private readonly options: Fmp4FragmenterOptions = {}) {
    this.origin = options.timeOrigin;
    this.lastDuration = options.defaultSampleDuration ?? 3600;
    if (options.reuseBuffers) this.arena = new FragmentArena();
  }

  push(au: AccessUnit): Fmp4Output[] {
    this.releaseArena();
    const out: Fmp4Output[] = [];
    this.origin ??= au.timestamp;
    const newVideo = this.writer === undefined || au.videoChanged || au.video !== this.writer.video;
    const part =
      this.options.partDurationMs !== undefined &&
      this.pending.length > 0 &&
      (au.timestamp - this.pending[0]!.timestamp) / 90 >= this.options.partDurationMs;
    if (this.pending.length > 0 && (au.key || newVideo || part)) out.push(this.cut(au.timestamp));
    if (newVideo) {
      if (!au.key) return this.dropped(au, out); // a new init segment must start at a key frame
      this.writer = new Fmp4Writer(au.video);
      out.push({ kind: 'init', data: this.writer.initSegment(), video: au.video });
    }
    if (this.pending.length === 0 && !au.key && this.options.partDurationMs === undefined) {
      // Per-GOP fragments must start on a key frame; frames before the first one are not decodable.
      return this.dropped(au, out);
    }
    this.pending.push(this.arena && !this.arenaHoldsFragment ? this.copied(au, this.arena) : au);
    return out;
  }

  /** Emits the fragment in progress (end of recording). */
  flush(): Fmp4Output[] {
    this.releaseArena();
    return this.pending.length === 0 ? [] : [this.cut(undefined)];
  }

  /** With `reuseBuffers` the fragmenter owns what it is given: the source may reuse it once copied. */
  private copied(au: AccessUnit, arena: FragmentArena): AccessUnit {
    const copy = { ...au, nalus: au.nalus.map((n) => arena.copy(n)), release: undefined };
    au.release?.();
    return copy;
  }

  private dropped(au: AccessUnit, out: Fmp4Output[]): Fmp4Output[] {
    if (this.arena) au.release?.();
    return out;
  }

  /** The consumer is done with the last fragment: reuse the arena, and copy what waited into it. */
  private releaseArena(): void {
    const arena = this.arena;
    if (!arena || !this.arenaHoldsFragment) return;
    arena.reset();
    this.arenaHoldsFragment = false;
    this.pending = this.pending.map((au) => this.copied(au, arena));
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
    const { parts, byteLength } = this.writer!.fragmentParts(samples, Math.max(0, startTime));
    const arena = this.arena;
    if (arena) this.arenaHoldsFragment = true;
    const generation = arena?.generation;
    let joined: Buffer | undefined;
    return {
      kind: 'fragment',
      parts,
      byteLength,
      get data() {
        if (joined === undefined && arena && arena.generation !== generation) {
          throw mediaError(
            MediaErrorCode.FMP4_WRITE_FAILED,
            'fragment bytes read after the fragmenter reused them (reuseBuffers)',
          );
        }
        return (joined ??= Buffer.concat(parts, byteLength));
      },
      startTime,
      duration,
      key: aus[0]!.key,
      sampleCount: samples.length,
      wallClock: aus[0]!.wallClock,
    };
  }
}
