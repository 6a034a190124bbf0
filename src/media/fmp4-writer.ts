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
    const entries = Buffer.allocUnsafe(samples.length * TRUN_ENTRY_BYTES);
    let mdatBytes = 0;
    samples.forEach((s, i) => {
      const size = sampleBytes(s.nalus);
      writeTrunEntry(entries, i, s.duration, size, s.key);
      mdatBytes += size;
    });
    const head = this.fragmentHead(entries, mdatBytes, baseDecodeTime);
    const out = Buffer.allocUnsafe(head.length + mdatBytes);
    let o = head.copy(out, 0);
    for (const s of samples) o = writeSample(s.nalus, out, o);
    return out;
  }

  /**
   * The moof box and the mdat header of a fragment whose samples `entries` describes (trun entries,
   * see `writeTrunEntry`) and whose mdat holds `mdatBytes` of length-prefixed NAL units, which
   * follow the returned buffer.
   */
  fragmentHead(entries: Buffer, mdatBytes: number, baseDecodeTime: number): Buffer {
    const sampleCount = entries.length / TRUN_ENTRY_BYTES;
    if (sampleCount === 0)
      throw mediaError(MediaErrorCode.FMP4_WRITE_FAILED, 'a fragment needs at least one sample');
    const mfhd = fullBox('mfhd', 0, 0, u32s(++this.sequence));
    const tfhd = fullBox('tfhd', 0, 0x020000, u32s(TRACK_ID)); // default-base-is-moof
    const tfdt = fullBox('tfdt', 1, 0, u64(baseDecodeTime));
    // trun: data-offset, sample-duration, sample-size, sample-flags present.
    const trunHeaderSize = 12 + 8;
    const moofSize = 8 + mfhd.length + 8 + tfhd.length + tfdt.length + trunHeaderSize + entries.length;
    const trun = fullBox('trun', 0, 0x000701, u32s(sampleCount, moofSize + 8), entries);
    const mdatHeader = Buffer.allocUnsafe(8);
    mdatHeader.writeUInt32BE(8 + mdatBytes, 0);
    mdatHeader.write('mdat', 4, 4, 'latin1');
    const head = box('moof', mfhd, box('traf', tfhd, tfdt, trun), mdatHeader);
    // box() sized the moof over the mdat header too: put the moof's own size back.
    head.writeUInt32BE(moofSize, 0);
    return head;
  }
}

/** Bytes of one trun entry: sample duration, size and flags. */
const TRUN_ENTRY_BYTES = 12;

/** A sample's size in the mdat: each NAL unit with its 4-byte length. */
function sampleBytes(nalus: readonly Buffer[]): number {
  let size = 0;
  for (const nal of nalus) size += 4 + nal.length;
  return size;
}

/** Writes a sample's NAL units, length-prefixed, into `out` at `o`; returns where it ends. */
function writeSample(nalus: readonly Buffer[], out: Buffer, o: number): number {
  for (const nal of nalus) {
    out.writeUInt32BE(nal.length, o);
    o += 4 + nal.copy(out, o + 4);
  }
  return o;
}

/** Writes sample `index`'s trun entry; a duration is at least 0 and whole (90 kHz ticks). */
function writeTrunEntry(entries: Buffer, index: number, duration: number, size: number, key: boolean): void {
  const o = index * TRUN_ENTRY_BYTES;
  entries.writeUInt32BE(Math.max(0, Math.round(duration)), o);
  entries.writeUInt32BE(size, o + 4);
  entries.writeUInt32BE(key ? SYNC_FLAGS : NON_SYNC_FLAGS, o + 8);
}

/** What the fragmenter produces, in order: an init segment whenever the stream parameters change, then fragments. */
export type Fmp4Output =
  | { kind: 'init'; data: Buffer; video: VideoInfo }
  | {
      kind: 'fragment';
      /**
       * The fragment's bytes in order, what a recorder writes: the moof with the mdat header, then
       * the mdat's body (the samples, assembled as they arrived).
       */
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
   * Reuse the buffer samples are assembled in, fragment after fragment, and release each access unit
   * (`AccessUnit.release`) once copied or dropped. Then a fragment's `parts` (and `data`, a copy) are
   * valid only until the next `push`/`flush` call: a consumer must be done with them by then. A
   * recorder of many cameras then allocates nothing per frame or fragment for video bytes.
   */
  reuseBuffers?: boolean;
}

const EMPTY = Buffer.alloc(0);
/** The first sample buffer of a reusing fragmenter; it grows to the largest fragment seen. */
const MDAT_INITIAL_BYTES = 256 * 1024;
/** A fragment using less than a quarter of its buffer this many times in a row halves it. */
const MDAT_SHRINK_AFTER = 8;
const MDAT_GRANULE = 64 * 1024;

/**
 * The next buffer size: half as large again (not double: a 1 s fragment of a 4 Mbit/s stream,
 * ≈ 520 KiB, would otherwise pin 1 MiB per camera), and at least `need`.
 */
function grownSize(current: number, need: number): number {
  const size = Math.max(need, current * 1.5);
  return Math.ceil(size / MDAT_GRANULE) * MDAT_GRANULE;
}

/**
 * The body of the mdat being assembled: each sample's NAL units, length-prefixed, in final layout,
 * so a fragment is two pieces (moof, body) and nothing per frame is kept as an object. With `reuse`
 * the buffer is used again for the next fragment once the consumer is done with this one (`reset`);
 * it grows (by half) to the largest fragment seen and shrinks after fragments stay small, so a camera
 * that once sent a huge fragment does not pin that much memory for good. Without, each fragment gets
 * a buffer of its own, sized from the previous fragment.
 */
class MdatBuffer {
  #buf: Buffer;
  #used = 0;
  #smallRuns = 0;
  /** Without `reuse`: the size of the last fragment, which the next one's buffer starts at. */
  #expected = 0;
  /** Bumped on every reset: fragments remember it to detect use after their bytes were reused. */
  generation = 0;

  constructor(private readonly reuse: boolean) {
    this.#buf = reuse ? Buffer.allocUnsafeSlow(MDAT_INITIAL_BYTES) : EMPTY;
  }

  get used(): number {
    return this.#used;
  }

  /** Appends one sample; returns its size in the mdat. */
  append(nalus: readonly Buffer[]): number {
    const size = sampleBytes(nalus);
    if (this.#used + size > this.#buf.length) this.#grow(this.#used + size);
    this.#used = writeSample(nalus, this.#buf, this.#used);
    return size;
  }

  /** The body assembled so far; the next fragment starts afresh (in the same buffer with `reuse`, after `reset`). */
  take(): Buffer {
    const body = this.#buf.subarray(0, this.#used);
    if (!this.reuse) {
      // The next fragment's buffer is allocated at its first sample, as large as this one was.
      this.#expected = this.#used;
      this.#buf = EMPTY;
      this.#used = 0;
    }
    return body;
  }

  /** With `reuse`: the consumer is done with the fragment `take` gave; its bytes are reused. */
  reset(): void {
    if (this.#buf.length > MDAT_INITIAL_BYTES && this.#used < this.#buf.length / 4) {
      if (++this.#smallRuns >= MDAT_SHRINK_AFTER) {
        this.#buf = Buffer.allocUnsafeSlow(Math.max(MDAT_INITIAL_BYTES, this.#buf.length / 2));
        this.#smallRuns = 0;
      }
    } else this.#smallRuns = 0;
    this.#used = 0;
    this.generation++;
  }

  #grow(need: number): void {
    let size: number;
    if (this.reuse) size = grownSize(this.#buf.length, need);
    else size = Math.ceil(Math.max(need, this.#used === 0 ? this.#expected : this.#buf.length * 1.5));
    const next = Buffer.allocUnsafeSlow(size);
    this.#buf.copy(next, 0, 0, this.#used);
    this.#buf = next;
    this.#smallRuns = 0;
  }
}

/**
 * Turns access units into init segments and fragments incrementally. A fragment is emitted when the
 * next one starts (a sample's duration is the gap to the next sample), so output lags one frame.
 * Each frame's NAL units are copied into the fragment's mdat body as it is pushed; only a trun entry
 * and the times of the first and last frame are kept per fragment.
 */
export class Fmp4Fragmenter {
  private writer: Fmp4Writer | undefined;
  private origin: number | undefined;
  private lastDuration: number;
  private readonly reuse: boolean;
  private readonly mdat: MdatBuffer;
  /** trun entries of the open fragment, reused; grows by doubling. */
  private entries = Buffer.allocUnsafe(64 * TRUN_ENTRY_BYTES);
  private samples = 0;
  private firstTimestamp = 0;
  private lastTimestamp = 0;
  private firstKey = false;
  private firstWallClock: number | undefined;
  /** Sum of the durations written so far (every sample's but the last, which the next one decides). */
  private durationSum = 0;
  private lastSampleSize = 0;
  private lastSampleKey = false;
  /**
   * With `reuseBuffers`: the mdat buffer still holds the fragment just emitted, so the access unit
   * that closed it waits here uncopied (a view into its receive memory) until the next call, when
   * the consumer is done with the fragment.
   */
  private waiting: AccessUnit | undefined;
  private holdsFragment = false;

  constructor(private readonly options: Fmp4FragmenterOptions = {}) {
    this.origin = options.timeOrigin;
    this.lastDuration = options.defaultSampleDuration ?? 3600;
    this.reuse = options.reuseBuffers === true;
    this.mdat = new MdatBuffer(this.reuse);
  }

  push(au: AccessUnit): Fmp4Output[] {
    this.takeWaiting();
    const out: Fmp4Output[] = [];
    this.origin ??= au.timestamp;
    const newVideo = this.writer === undefined || au.videoChanged || au.video !== this.writer.video;
    const part =
      this.options.partDurationMs !== undefined &&
      this.samples > 0 &&
      (au.timestamp - this.firstTimestamp) / 90 >= this.options.partDurationMs;
    if (this.samples > 0 && (au.key || newVideo || part)) out.push(this.cut(au.timestamp));
    if (newVideo) {
      if (!au.key) return this.dropped(au, out); // a new init segment must start at a key frame
      this.writer = new Fmp4Writer(au.video);
      out.push({ kind: 'init', data: this.writer.initSegment(), video: au.video });
    }
    if (this.samples === 0 && !au.key && this.options.partDurationMs === undefined) {
      // Per-GOP fragments must start on a key frame; frames before the first one are not decodable.
      return this.dropped(au, out);
    }
    if (this.holdsFragment) this.waiting = au;
    else this.add(au);
    return out;
  }

  /** Emits the fragment in progress (end of recording). */
  flush(): Fmp4Output[] {
    this.takeWaiting();
    return this.samples === 0 ? [] : [this.cut(undefined)];
  }

  private dropped(au: AccessUnit, out: Fmp4Output[]): Fmp4Output[] {
    if (this.reuse) au.release?.();
    return out;
  }

  /** The consumer is done with the last fragment: reuse its buffer, and add the frame that waited. */
  private takeWaiting(): void {
    if (!this.holdsFragment) return;
    this.mdat.reset();
    this.holdsFragment = false;
    const au = this.waiting;
    this.waiting = undefined;
    if (au !== undefined) this.add(au);
  }

  /** Copies one frame into the open fragment. */
  private add(au: AccessUnit): void {
    const i = this.samples;
    if (i === 0) {
      this.firstTimestamp = au.timestamp;
      this.firstKey = au.key;
      this.firstWallClock = au.wallClock;
      this.durationSum = 0;
    } else this.closeSample(au.timestamp);
    if ((i + 1) * TRUN_ENTRY_BYTES > this.entries.length) {
      const grown = Buffer.allocUnsafe(this.entries.length * 2);
      this.entries.copy(grown, 0, 0, i * TRUN_ENTRY_BYTES);
      this.entries = grown;
    }
    this.lastSampleSize = this.mdat.append(au.nalus);
    this.lastSampleKey = au.key;
    this.lastTimestamp = au.timestamp;
    this.samples = i + 1;
    if (this.reuse) au.release?.();
  }

  /** The last sample's duration is known (the next frame's time, or a guess at the end): write its entry. */
  private closeSample(nextTimestamp: number | undefined): void {
    const duration =
      nextTimestamp === undefined ? this.lastDuration : Math.max(1, nextTimestamp - this.lastTimestamp);
    this.lastDuration = duration;
    this.durationSum += duration;
    writeTrunEntry(this.entries, this.samples - 1, duration, this.lastSampleSize, this.lastSampleKey);
  }

  private cut(nextTimestamp: number | undefined): Fmp4Output {
    this.closeSample(nextTimestamp);
    const sampleCount = this.samples;
    const startTime = this.firstTimestamp - this.origin!;
    const head = this.writer!.fragmentHead(
      this.entries.subarray(0, sampleCount * TRUN_ENTRY_BYTES),
      this.mdat.used,
      Math.max(0, startTime),
    );
    const parts = [head, this.mdat.take()];
    const byteLength = head.length + parts[1]!.length;
    this.samples = 0;
    let generation: number | undefined;
    if (this.reuse) {
      this.holdsFragment = true;
      generation = this.mdat.generation;
    }
    const mdat = this.mdat;
    let joined: Buffer | undefined;
    return {
      kind: 'fragment',
      parts,
      byteLength,
      get data() {
        if (joined === undefined && generation !== undefined && mdat.generation !== generation) {
          throw mediaError(
            MediaErrorCode.FMP4_WRITE_FAILED,
            'fragment bytes read after the fragmenter reused them (reuseBuffers)',
          );
        }
        return (joined ??= Buffer.concat(parts, byteLength));
      },
      startTime,
      duration: this.durationSum,
      key: this.firstKey,
      sampleCount,
      wallClock: this.firstWallClock,
    };
  }
}
