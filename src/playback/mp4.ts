import { Fmp4File, type Fmp4FragmentRef } from '../media/index.js';
import type { Segment } from '../recording/index.js';
import { playbackError } from './errors.js';

/**
 * One MP4 file for a time range: the first segment's init section (ftyp + moov), then the chosen
 * fragments (moof + mdat) of every segment in order, each copied byte for byte except two fields:
 * `mfhd.sequence_number` (1, 2, 3, … through the file) and `tfdt.baseMediaDecodeTime` (0 for the first
 * fragment, then the sum of the durations before it). Gaps between segments are closed up: time in the
 * file is video time; the evidence manifest maps it back to the wall clock. The same function builds
 * the file and lets the evidence verifier rebuild it, so "these bytes came from those segments" is
 * checked exactly (docs/formats/evidence-package.md).
 */

/** What was taken from one segment. */
export interface SegmentCut {
  segmentId: string;
  /** Fragment indexes [firstFragment, firstFragment + fragmentCount) among the segment's fragments. */
  firstFragment: number;
  fragmentCount: number;
  /** Where those fragments landed in the MP4 (bytes) and the decode time (track timescale) of the first. */
  mp4Offset: number;
  mp4Length: number;
  decodeTimeStart: number;
  frames: number;
  /** Track timescale units. */
  duration: number;
  /** Wall clock of the first frame taken. */
  startMs: number;
}

/** Wall clock of a fragment's first sample. */
function fragmentWallMs(s: Segment, f: Fmp4FragmentRef, timescale: number): number {
  return s.startMs + ((f.startTime - s.mediaStart * (timescale / 90_000)) * 1000) / timescale;
}

/**
 * Which fragments of a segment cover [fromMs, toMs): from the last fragment starting with a key frame
 * at or before `fromMs` (or the first one) while fragments start before `toMs`. Undefined if none.
 */
export function chooseFragments(
  segment: Segment,
  file: Fmp4File,
  fromMs: number,
  toMs: number,
): { first: number; count: number } | undefined {
  const track = file.video;
  if (!track) throw playbackError('PLAYBACK_NO_VIDEO', `segment ${segment.id} has no video track`);
  const frags = file.fragments;
  let first = -1;
  for (let i = 0; i < frags.length; i++) {
    const f = frags[i]!;
    if (f.samples[0]?.key !== true) continue;
    if (first < 0 || fragmentWallMs(segment, f, track.timescale) <= fromMs) first = i;
    if (fragmentWallMs(segment, f, track.timescale) > fromMs) break;
  }
  if (first < 0) return undefined;
  let end = first;
  while (end < frags.length && fragmentWallMs(segment, frags[end]!, track.timescale) < toMs) end++;
  if (end === first) return undefined;
  const last = frags[end - 1]!;
  if (fragmentWallMs(segment, last, track.timescale) + (last.duration * 1000) / track.timescale <= fromMs)
    return undefined;
  return { first, count: end - first };
}

/** A copy of one fragment with its sequence number and base decode time rewritten. */
export function rebaseFragment(bytes: Buffer, sequence: number, decodeTime: number): Buffer {
  const out = Buffer.from(bytes);
  // An object, not two lets: they are set inside the walk, which flow analysis does not follow.
  const patched = { tfdt: false, mfhd: false };
  const walk = (start: number, end: number, depth: number) => {
    let o = start;
    while (o + 8 <= end) {
      const size = out.readUInt32BE(o);
      const type = out.toString('latin1', o + 4, o + 8);
      if (size < 8 || o + size > end) throw playbackError('PLAYBACK_NO_VIDEO', 'a fragment box is malformed');
      if (type === 'moof' || type === 'traf') {
        if (depth < 2) walk(o + 8, o + size, depth + 1);
      } else if (type === 'mfhd' && size >= 16) {
        out.writeUInt32BE(sequence, o + 12);
        patched.mfhd = true;
      } else if (type === 'tfdt' && size >= 16) {
        if (out[o + 8] === 1 && size >= 20) out.writeBigUInt64BE(BigInt(decodeTime), o + 12);
        else if (decodeTime <= 0xffffffff) out.writeUInt32BE(decodeTime, o + 12);
        else throw playbackError('PLAYBACK_RANGE_TOO_LONG', 'the range is too long for a 32-bit tfdt');
        patched.tfdt = true;
      }
      if (type === 'mdat') break;
      o += size;
    }
  };
  walk(0, out.length, 0);
  if (!patched.tfdt || !patched.mfhd)
    throw playbackError('PLAYBACK_NO_VIDEO', 'a fragment lacks its mfhd or tfdt box');
  return out;
}

/**
 * Builds the MP4 segment by segment: `add` takes one segment's decrypted fMP4 and returns the bytes to
 * append (the init section first); nothing but the current segment is held.
 */
export class Mp4Assembler {
  #init: Buffer | undefined;
  #initSegment: string | undefined;
  #sequence = 0;
  #decodeTime = 0;
  #offset = 0;
  #frames = 0;
  #timescale = 90_000;
  readonly cuts: SegmentCut[] = [];

  constructor(
    readonly fromMs: number,
    readonly toMs: number,
  ) {}

  get bytes(): number {
    return this.#offset;
  }

  get frames(): number {
    return this.#frames;
  }

  /** Track timescale units. */
  get duration(): number {
    return this.#decodeTime;
  }

  get timescale(): number {
    return this.#timescale;
  }

  /** The bytes of `segment` (plaintext fMP4) that belong in the file, or [] when none do. */
  add(segment: Segment, plaintext: Buffer): Buffer[] {
    const file = Fmp4File.parse(plaintext);
    const choice = chooseFragments(segment, file, this.fromMs, this.toMs);
    if (!choice) return [];
    const init = file.initSegment();
    const out: Buffer[] = [];
    if (this.#init === undefined) {
      this.#init = Buffer.from(init);
      this.#initSegment = segment.id;
      this.#timescale = file.video!.timescale;
      out.push(this.#init);
      this.#offset += init.length;
    } else if (!init.equals(this.#init)) {
      throw playbackError(
        'PLAYBACK_PARAMETERS_CHANGED',
        `the stream parameters change at ${new Date(segment.startMs).toISOString()} (segment ${segment.id} ` +
          `differs from ${this.#initSegment}): one MP4 holds one set; split the range there`,
        { at: new Date(segment.startMs).toISOString() },
      );
    }
    const cut: SegmentCut = {
      segmentId: segment.id,
      firstFragment: choice.first,
      fragmentCount: choice.count,
      mp4Offset: this.#offset,
      mp4Length: 0,
      decodeTimeStart: this.#decodeTime,
      frames: 0,
      duration: 0,
      startMs: Math.round(fragmentWallMs(segment, file.fragments[choice.first]!, file.video!.timescale)),
    };
    for (let i = choice.first; i < choice.first + choice.count; i++) {
      const f = file.fragments[i]!;
      const bytes = rebaseFragment(file.fragmentBytes(f), ++this.#sequence, this.#decodeTime);
      out.push(bytes);
      this.#decodeTime += f.duration;
      this.#offset += bytes.length;
      cut.mp4Length += bytes.length;
      cut.frames += f.samples.length;
      cut.duration += f.duration;
    }
    this.#frames += cut.frames;
    this.cuts.push(cut);
    return out;
  }
}
