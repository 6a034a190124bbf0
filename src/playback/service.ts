import { randomUUID } from 'node:crypto';
import type { AuditActor, AuditSink } from '../audit/index.js';
import type { Keyring } from '../keys/index.js';
import {
  openSegment,
  type Camera,
  type OpenedSegment,
  type Recorder,
  type Segment,
} from '../recording/index.js';
import { playbackError } from './errors.js';
import { vodPlaylist } from './hls.js';
import { Mp4Assembler } from './mp4.js';
import { buildTimeline, type PlaybackTimeline } from './timeline.js';
import { PlaybackTokens, type PlaybackGrant } from './token.js';

/** The `playback` configuration section (config/schema.ts). */
export interface PlaybackSettings {
  /** Longest range of one playlist. */
  maxRangeHours: number;
  /** Longest range of one MP4 download or evidence export. */
  maxDownloadMinutes: number;
  /** How long a playlist's media token stays valid. */
  tokenTtlSeconds: number;
  live: {
    /** Most bytes queued for one live viewer before it skips to the next key frame. */
    maxBufferedBytes: number;
    /** How often a live view re-checks the viewer's session and permission. */
    recheckSeconds: number;
  };
}

export const DEFAULT_PLAYBACK_SETTINGS: PlaybackSettings = {
  maxRangeHours: 24,
  maxDownloadMinutes: 360,
  tokenTtlSeconds: 14_400,
  live: { maxBufferedBytes: 4 * 1024 * 1024, recheckSeconds: 30 },
};

export interface PlaybackDeps {
  recorder: Recorder;
  keyring: Keyring;
  audit: AuditSink;
  settings: PlaybackSettings;
}

/** A started playback: what the playlist and the JSON description are made of. */
export interface Playback {
  grant: PlaybackGrant;
  token: string;
  timeline: PlaybackTimeline;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Parses an ISO 8601 instant or milliseconds since the epoch. */
export function parseInstant(value: string | undefined, name: string): number {
  if (value === undefined || value.length === 0 || value.length > 64)
    throw playbackError('PLAYBACK_RANGE_INVALID', `${name} is required (ISO 8601 or ms since the epoch)`);
  const n = /^\d{1,16}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(n)) throw playbackError('PLAYBACK_RANGE_INVALID', `${name} is not a time: ${value}`);
  return n;
}

export function checkRange(fromMs: number, toMs: number, maxMs: number, what: string): void {
  if (!(toMs > fromMs)) throw playbackError('PLAYBACK_RANGE_INVALID', '`to` must be after `from`');
  if (toMs - fromMs > maxMs)
    throw playbackError(
      'PLAYBACK_RANGE_TOO_LONG',
      `${what} covers at most ${Math.round(maxMs / 60_000)} minutes; split the range`,
      { maxSeconds: Math.round(maxMs / 1000) },
    );
}

/**
 * Recorded playback and downloads over the recorder's index and sealed segments. Access decisions are
 * the request guard's (every route declares its permission and camera); this service audits each
 * playback and download before the first byte leaves, and never lets media out without a token of an
 * audited playback.
 */
export class PlaybackService {
  readonly tokens = new PlaybackTokens();

  constructor(readonly deps: PlaybackDeps) {}

  get settings(): PlaybackSettings {
    return this.deps.settings;
  }

  /** Finds the GOPs of [fromMs, toMs), audits `video.playback.start` and issues the media token. */
  async startPlayback(input: {
    camera: Camera;
    fromMs: number;
    toMs: number;
    userId: string;
    actor: AuditActor;
  }): Promise<Playback> {
    const { camera, fromMs } = input;
    const toMs = Math.min(input.toMs, Date.now() + 1000);
    checkRange(fromMs, toMs, this.settings.maxRangeHours * 3_600_000, 'a playlist');
    const segments = await this.deps.recorder.segments(camera.id, fromMs, toMs);
    const timeline = buildTimeline(camera.id, segments, fromMs, toMs);
    if (timeline.runs.length === 0)
      throw playbackError('PLAYBACK_NO_VIDEO', `camera ${camera.id} has no recorded video in that range`);
    const grant: PlaybackGrant = {
      id: randomUUID(),
      userId: input.userId,
      cameraId: camera.id,
      fromMs,
      toMs,
      expiresMs: Date.now() + this.settings.tokenTtlSeconds * 1000,
    };
    await this.deps.audit.append({
      action: 'video.playback.start',
      outcome: 'success',
      actor: input.actor,
      target: { type: 'camera', id: camera.id, zone: camera.zoneId },
      details: {
        playback: grant.id,
        from: iso(fromMs),
        to: iso(toMs),
        startsAt: iso(timeline.startMs!),
        segments: new Set(timeline.runs.flatMap((r) => r.gops.map((g) => g.segment.id))).size,
      },
    });
    return { grant, token: this.tokens.issue(grant), timeline };
  }

  playlist(playback: Playback, mediaUrl: (segmentId: string) => string): string {
    const { timeline } = playback;
    return vodPlaylist(timeline, mediaUrl, {
      startOffsetSeconds: (timeline.fromMs - (timeline.startMs ?? timeline.fromMs)) / 1000,
    });
  }

  /**
   * Opens a segment for a media request: the token must be this user's for this camera, and the
   * segment must be this camera's and overlap the playback's range.
   */
  async openMedia(input: {
    cameraId: string;
    segmentId: string;
    token: string | undefined;
    userId: string;
  }): Promise<OpenedSegment> {
    const grant = this.tokens.check(input.token, input.userId, input.cameraId);
    const seg = await this.deps.recorder.index.get(input.segmentId);
    if (
      !seg ||
      seg.state !== 'complete' ||
      seg.cameraId !== input.cameraId ||
      seg.startMs >= grant.toMs ||
      (seg.endMs ?? seg.startMs) <= grant.fromMs
    ) {
      throw playbackError('PLAYBACK_TOKEN_INVALID', 'this playback does not cover that segment');
    }
    return openSegment(
      { keyring: this.deps.keyring, store: this.deps.recorder.store, index: this.deps.recorder.index },
      seg.id,
    );
  }

  /** The decrypted fMP4 of one complete segment. */
  async plaintext(segment: Segment): Promise<Buffer> {
    const o = await openSegment(
      { keyring: this.deps.keyring, store: this.deps.recorder.store, index: this.deps.recorder.index },
      segment.id,
    );
    try {
      const parts: Buffer[] = [];
      for await (const p of o.stream()) parts.push(p);
      return Buffer.concat(parts);
    } finally {
      await o.close();
    }
  }

  /**
   * The range as one MP4 (init + re-based fragments). Checks everything it can before auditing
   * `video.download` (the range, that there is video, the first segment's parameters), then streams.
   */
  async download(input: {
    camera: Camera;
    fromMs: number;
    toMs: number;
    actor: AuditActor;
  }): Promise<{ segments: Segment[]; stream: AsyncGenerator<Buffer>; assembler: Mp4Assembler }> {
    const { camera, fromMs, toMs } = input;
    checkRange(fromMs, toMs, this.settings.maxDownloadMinutes * 60_000, 'a download');
    const segments = await this.deps.recorder.segments(camera.id, fromMs, toMs);
    const timeline = buildTimeline(camera.id, segments, fromMs, toMs);
    if (timeline.runs.length === 0)
      throw playbackError('PLAYBACK_NO_VIDEO', `camera ${camera.id} has no recorded video in that range`);
    const used = segments.filter((s) => s.keyFrames.length > 0);
    const first = used[0]!;
    const mixed = used.find(
      (s) => s.codec !== first.codec || s.width !== first.width || s.height !== first.height,
    );
    if (mixed)
      throw playbackError(
        'PLAYBACK_PARAMETERS_CHANGED',
        `the stream parameters change at ${iso(mixed.startMs)}: one MP4 holds one set; split the range there`,
        { at: iso(mixed.startMs) },
      );
    await this.deps.audit.append({
      action: 'video.download',
      outcome: 'success',
      actor: input.actor,
      target: { type: 'camera', id: camera.id, zone: camera.zoneId },
      details: { from: iso(fromMs), to: iso(toMs), segments: used.length, format: 'mp4' },
    });
    const assembler = new Mp4Assembler(fromMs, toMs);
    const plaintext = (s: Segment) => this.plaintext(s);
    async function* stream(): AsyncGenerator<Buffer> {
      for (const s of used) yield* assembler.add(s, await plaintext(s));
    }
    return { segments: used, stream: stream(), assembler };
  }
}
