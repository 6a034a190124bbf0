import type { Segment } from '../recording/index.js';
import { playbackError } from './errors.js';

/**
 * One group of pictures of a recorded segment: from a fragment that starts with a key frame to the
 * next one (or the end of the segment). Everything here comes from the index row (its key-frame
 * table), so a playlist for any range is built without reading or decrypting video.
 */
export interface Gop {
  segment: Segment;
  /** Plaintext byte range in the segment's fMP4 (free-box padding included: players skip it). */
  offset: number;
  length: number;
  /** 90 kHz offset of the key frame from the segment's first sample, and the GOP's duration. */
  mediaOffset: number;
  duration: number;
  /** Recorder wall clock of the key frame, ms since the epoch. */
  wallMs: number;
}

/** A run of GOPs that plays without a break: same session timeline, same stream parameters. */
export interface TimelineRun {
  gops: Gop[];
}

export interface PlaybackTimeline {
  cameraId: string;
  fromMs: number;
  toMs: number;
  /** Consecutive runs; between two runs there is a gap or a parameter change (a discontinuity). */
  runs: TimelineRun[];
  /** Wall clock of the first key frame played: where a seek to `fromMs` really starts. */
  startMs: number | undefined;
}

/** Byte length of a segment's init section (ftyp + moov): everything before its first fragment. */
export function initLength(s: Segment): number {
  const first = s.keyFrames[0];
  if (first === undefined) throw playbackError('PLAYBACK_NO_VIDEO', `segment ${s.id} has no key frame`);
  return first[1];
}

/** The GOPs of one complete segment, in order. */
export function segmentGops(s: Segment): Gop[] {
  const total = (s.mediaEnd ?? s.mediaStart) - s.mediaStart;
  const size = s.plaintextBytes ?? 0;
  return s.keyFrames.map(([mediaOffset, offset], i) => {
    const next = s.keyFrames[i + 1];
    const end = next ? next[1] : size;
    const endMedia = next ? next[0] : total;
    return {
      segment: s,
      offset,
      length: end - offset,
      mediaOffset,
      duration: Math.max(0, endMedia - mediaOffset),
      wallMs: s.startMs + Math.round(mediaOffset / 90),
    };
  });
}

/** Whether `b` continues `a`'s timeline: same recording session (media time continues) and stream. */
export function continues(a: Segment, b: Segment): boolean {
  return (
    a.mediaEnd === b.mediaStart &&
    a.codec === b.codec &&
    a.width === b.width &&
    a.height === b.height &&
    Math.abs((a.endMs ?? a.startMs) - b.startMs) <= 1000
  );
}

/**
 * The GOPs that cover [fromMs, toMs): playback starts at the last key frame at or before `fromMs` (a
 * decoder can start nowhere else) and ends with the GOP that holds `toMs - 1`. `segments` are the
 * complete segments overlapping the range, oldest first (SegmentIndex.find).
 */
export function buildTimeline(
  cameraId: string,
  segments: readonly Segment[],
  fromMs: number,
  toMs: number,
): PlaybackTimeline {
  const runs: TimelineRun[] = [];
  let previous: Segment | undefined;
  for (const s of segments) {
    if (s.state !== 'complete' || s.keyFrames.length === 0) continue;
    const gops = segmentGops(s);
    // The GOP holding fromMs: the last one starting at or before it (or the first, if fromMs is earlier).
    let first = 0;
    for (let i = 0; i < gops.length; i++) if (gops[i]!.wallMs <= fromMs) first = i;
    const chosen = gops.slice(first).filter((g) => g.wallMs < toMs && g.wallMs + g.duration / 90 > fromMs);
    if (chosen.length === 0) continue;
    if (previous && continues(previous, s) && runs.length > 0) runs.at(-1)!.gops.push(...chosen);
    else runs.push({ gops: chosen });
    previous = s;
  }
  return { cameraId, fromMs, toMs, runs, startMs: runs[0]?.gops[0]?.wallMs };
}
