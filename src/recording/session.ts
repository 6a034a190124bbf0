import { EventEmitter } from 'node:events';
import { isPalisadeError, PalisadeError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import {
  Fmp4Fragmenter,
  RtspSession,
  type AccessUnit,
  type Fmp4Output,
  type VideoInfo,
} from '../media/index.js';
import type { Camera } from './cameras.js';
import { LiveSubscription, type LiveSubscribeOptions } from './live.js';
import type { SegmentIndex } from './segment-index.js';
import { SegmentWriter, type FinishedSegment, type SegmentWriterDeps } from './segment-writer.js';

export type CameraState = 'stopped' | 'starting' | 'recording' | 'reconnecting' | 'failed';

/** Per-camera health, as the API shows it. */
export interface CameraHealth {
  cameraId: string;
  state: CameraState;
  /** Why the camera is reconnecting or failed: the last error's stable code and message. */
  lastError: { code: string; message: string; at: string } | null;
  since: string;
  /** Received video bitrate over the last measurement window (bits/s). */
  bitrate: number;
  fps: number;
  lastKeyFrameAt: string | null;
  video: { codec: string; width: number; height: number } | null;
  currentSegment: string | null;
  segmentsWritten: number;
  framesRecorded: number;
  reconnects: number;
  /** Consecutive failed connection attempts. */
  attempts: number;
  /** Gaps opened by this session since the recorder started. */
  gaps: number;
  liveSubscribers: number;
}

export interface SessionSettings {
  segmentSeconds: number;
  fragmentMs: number;
  stallTimeoutMs: number;
  /**
   * Read each camera at most this often (ms), all on one clock (RtspSessionOptions.readBatchMs);
   * 0 or absent reads at once. Off while someone watches the camera with low latency.
   */
  readBatchMs?: number;
  reconnect: { initialDelayMs: number; maxDelayMs: number; failedAfter: number };
}

export interface SessionDeps extends SegmentWriterDeps {
  index: SegmentIndex;
  settings: SessionSettings;
  /** The camera's password, sealed at rest; opened for each connection attempt and wiped after. */
  password(cameraId: string): Promise<Buffer | undefined>;
  logger?: Logger;
}

/** Delay before reconnect attempt `n` (1-based): doubling from the initial delay, capped, with jitter. */
export function backoffDelay(
  n: number,
  initial: number,
  max: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(max, initial * 2 ** Math.min(30, Math.max(0, n - 1)));
  // Full jitter over the upper half: cameras that dropped together do not come back in lockstep.
  return Math.round(base / 2 + (random() * base) / 2);
}

const RATE_WINDOW_MS = 5000;

/**
 * One camera's recording: connects through media/, reconnects with capped jittered backoff, cuts
 * one-minute segments at key frames (and at every parameter change), records gaps explicitly, and
 * feeds live subscribers from the same fragments. Emits `segment` (FinishedSegment), `state`
 * (CameraHealth) and `storage-full` (the error) events.
 */
export class CameraSession extends EventEmitter {
  #state: CameraState = 'stopped';
  #since = new Date().toISOString();
  #lastError: CameraHealth['lastError'] = null;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #rtsp: RtspSession | undefined;
  #segment: SegmentWriter | undefined;
  #init: { data: Buffer; video: VideoInfo } | undefined;
  #wallAnchor: { ms: number; media: number } | undefined;
  #lastRecordedEndMs: number | undefined;
  #wakeSleep: (() => void) | undefined;
  #subscribers = new Set<LiveSubscription>();
  /** Low-latency viewers: fed one-frame fragments from a fragmenter of their own (see subscribe). */
  #lowLatency = new Set<LiveSubscription>();
  #liveFragmenter: Fmp4Fragmenter | undefined;
  #liveInit: { data: Buffer; video: VideoInfo } | undefined;
  // statistics
  #bytes = 0;
  #frames = 0;
  #rate = { at: Date.now(), bytes: 0, frames: 0, bitrate: 0, fps: 0 };
  #lastKeyFrameAt: number | undefined;
  #segmentsWritten = 0;
  #framesRecorded = 0;
  #reconnects = 0;
  #attempts = 0;
  #gaps = 0;

  constructor(
    readonly camera: Camera,
    private readonly deps: SessionDeps,
  ) {
    super();
  }

  /** Read through a method: `stop()` flips it while the loop awaits, which flow analysis cannot see. */
  #isStopping(): boolean {
    return this.#stopping;
  }

  get state(): CameraState {
    return this.#state;
  }

  /** Starts recording in the background; `stop()` ends it. */
  start(): void {
    if (this.#loop) return;
    this.#stopping = false;
    this.#loop = this.#run().catch((err: unknown) => {
      this.deps.logger?.error({ err, camera: this.camera.id }, 'recording session crashed');
      this.#setState('failed', err);
    });
  }

  /** Stops recording: the camera is disconnected and the open segment is finished and indexed. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeSleep?.();
    await this.#rtsp?.close().catch(() => undefined);
    await this.#loop;
    this.#loop = undefined;
    this.#setState('stopped');
  }

  /**
   * Live fMP4 straight from this session (no second camera connection). By default a subscriber gets
   * the recorded fragments (up to `fragmentMs` long, so up to that much delay); a `lowLatency` one
   * gets one fragment per frame from a second fragmenter over the same access units, which is what
   * keeps a live view under a second behind the camera. That fragmenter exists only while someone
   * watches that way.
   */
  subscribe(options: LiveSubscribeOptions = {}): LiveSubscription {
    const sub = new LiveSubscription(options, (s) => {
      this.#subscribers.delete(s);
      this.#lowLatency.delete(s);
    });
    if (options.lowLatency) {
      this.#lowLatency.add(sub);
      if (this.#liveInit) sub.pushInit(this.#liveInit.data, this.#liveInit.video);
    } else {
      this.#subscribers.add(sub);
      if (this.#init) sub.pushInit(this.#init.data, this.#init.video);
    }
    return sub;
  }

  /** Feeds low-latency subscribers one fragment per frame (the fragment is cut when the next frame arrives). */
  #feedLowLatency(au: AccessUnit): void {
    if (this.#lowLatency.size === 0) {
      if (this.#liveFragmenter !== undefined) this.#rtsp?.setReadBatchMs(this.deps.settings.readBatchMs ?? 0);
      this.#liveFragmenter = undefined;
      this.#liveInit = undefined;
      return;
    }
    // A low-latency viewer is not kept waiting for the read batch clock.
    if (this.#liveFragmenter === undefined) this.#rtsp?.setReadBatchMs(0);
    // This fragmenter copies the frame as it is pushed, before the recording fragmenter releases it.
    // Same time origin as the recording fragmenter, so both timelines (and wall clocks) agree.
    this.#liveFragmenter ??= new Fmp4Fragmenter({ partDurationMs: 0, timeOrigin: this.#wallAnchor?.media });
    for (const out of this.#liveFragmenter.push(au)) {
      if (out.kind === 'init') {
        this.#liveInit = { data: out.data, video: out.video };
        for (const s of this.#lowLatency) s.pushInit(out.data, out.video);
        continue;
      }
      const wallMs = this.#wallOf(out.startTime);
      for (const s of this.#lowLatency) {
        s.pushFragment({
          data: out.data,
          startTime: out.startTime,
          duration: out.duration,
          key: out.key,
          sampleCount: out.sampleCount,
          wallMs,
        });
      }
    }
  }

  health(): CameraHealth {
    this.#sampleRate();
    return {
      cameraId: this.camera.id,
      state: this.#state,
      lastError: this.#lastError,
      since: this.#since,
      bitrate: this.#rate.bitrate,
      fps: this.#rate.fps,
      lastKeyFrameAt:
        this.#lastKeyFrameAt === undefined ? null : new Date(this.#lastKeyFrameAt).toISOString(),
      video: this.#init
        ? {
            codec: this.#init.video.codecString,
            width: this.#init.video.width,
            height: this.#init.video.height,
          }
        : null,
      currentSegment: this.#segment?.id ?? null,
      segmentsWritten: this.#segmentsWritten,
      framesRecorded: this.#framesRecorded,
      reconnects: this.#reconnects,
      attempts: this.#attempts,
      gaps: this.#gaps,
      liveSubscribers: this.#subscribers.size + this.#lowLatency.size,
    };
  }

  #sampleRate(): void {
    const now = Date.now();
    const dt = now - this.#rate.at;
    if (dt < RATE_WINDOW_MS && this.#rate.at !== 0) return;
    this.#rate = {
      at: now,
      bytes: this.#bytes,
      frames: this.#frames,
      bitrate: Math.round(((this.#bytes - this.#rate.bytes) * 8 * 1000) / Math.max(1, dt)),
      fps: Math.round(((this.#frames - this.#rate.frames) * 1000 * 10) / Math.max(1, dt)) / 10,
    };
  }

  #setState(state: CameraState, err?: unknown): void {
    if (err !== undefined) {
      const e = isPalisadeError(err)
        ? err
        : new PalisadeError('INTERNAL_ERROR', err instanceof Error ? err.message : 'unexpected failure');
      this.#lastError = { code: e.code, message: e.message, at: new Date().toISOString() };
    }
    if (state === this.#state && err === undefined) return;
    if (state !== this.#state) this.#since = new Date().toISOString();
    this.#state = state;
    this.emit('state', this.health());
  }

  async #run(): Promise<void> {
    const { settings } = this.deps;
    while (!this.#stopping) {
      this.#attempts++;
      if (this.#state === 'stopped') this.#setState('starting');
      let error: unknown;
      try {
        await this.#connectAndRecord();
      } catch (err) {
        error = err;
      }
      // Whatever ended the session, what was recorded is finished and indexed now.
      try {
        await this.#closeSegment();
      } catch (err) {
        error ??= err;
      }
      if (this.#isStopping()) break;
      const code = isPalisadeError(error) ? error.code : 'RTSP_CONNECTION_LOST';
      await this.#openGap(code);
      for (const s of [...this.#subscribers, ...this.#lowLatency]) s.markDiscontinuity();
      if (
        isPalisadeError(error) &&
        (error.code === 'STORAGE_FULL' || error.code === 'RECORDING_STORAGE_FULL')
      ) {
        this.#setState('failed', error);
        this.emit('storage-full', error);
        // The recorder restarts the session once space is back.
        break;
      }
      const delay = backoffDelay(
        this.#attempts,
        settings.reconnect.initialDelayMs,
        settings.reconnect.maxDelayMs,
      );
      this.#setState(
        this.#attempts >= settings.reconnect.failedAfter ? 'failed' : 'reconnecting',
        error ?? new PalisadeError('RTSP_CONNECTION_LOST', 'the camera closed the stream'),
      );
      this.deps.logger?.warn(
        { camera: this.camera.id, code, delayMs: delay },
        'camera session ended; reconnecting',
      );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.#wakeSleep = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wakeSleep = undefined;
      this.#reconnects++;
    }
  }

  async #connectAndRecord(): Promise<void> {
    const c = this.camera;
    const pw = await this.deps.password(c.id);
    const rtsp = new RtspSession({
      url: c.streamUrl,
      ...(c.username !== null ? { username: c.username } : {}),
      ...(pw ? { password: pw.toString('utf8') } : {}),
      transport: c.transport,
      ...(c.tlsFingerprint ? { tls: { fingerprint256: c.tlsFingerprint } } : {}),
      stallTimeoutMs: this.deps.settings.stallTimeoutMs,
      // The fragmenter below copies every frame and releases it, so frame memory is recycled.
      reuseBuffers: true,
      readBatchMs: this.deps.settings.readBatchMs ?? 0,
    });
    pw?.fill(0);
    this.#rtsp = rtsp;
    if (this.#stopping) return;
    try {
      await rtsp.start();
      // reuseBuffers: each fragment is sealed (and copied for live viewers) before the next push.
      const fragmenter = new Fmp4Fragmenter({
        partDurationMs: this.deps.settings.fragmentMs,
        reuseBuffers: true,
      });
      this.#wallAnchor = undefined;
      this.#liveFragmenter = undefined;
      this.#liveInit = undefined;
      for await (const au of rtsp) {
        this.#onAccessUnit(au);
        this.#feedLowLatency(au);
        for (const out of fragmenter.push(au)) await this.#onOutput(out);
        if (this.#isStopping()) break;
      }
      for (const out of fragmenter.flush()) await this.#onOutput(out);
      if (!this.#isStopping()) {
        const ended = await rtsp.closed;
        throw ended ?? new PalisadeError('RTSP_CONNECTION_LOST', 'the camera ended the stream');
      }
    } finally {
      await rtsp.close().catch(() => undefined);
      this.#rtsp = undefined;
    }
  }

  #onAccessUnit(au: AccessUnit): void {
    const now = Date.now();
    if (this.#wallAnchor === undefined) {
      // Index times come from the recorder's clock, anchored at the session's first frame: a camera
      // cannot place its video at another time by lying about its own clock.
      this.#wallAnchor = { ms: now, media: au.timestamp };
      this.#attempts = 0;
      this.#setState('recording');
      void this.deps.index.closeGap(this.camera.id, now).catch(() => undefined);
    }
    this.#bytes += au.byteLength;
    this.#frames++;
    if (au.key) this.#lastKeyFrameAt = now;
  }

  #wallOf(startTime: number): number {
    // Fragment times are relative to the fragmenter's origin, the session's first frame.
    return (this.#wallAnchor?.ms ?? Date.now()) + startTime / 90;
  }

  async #onOutput(out: Fmp4Output): Promise<void> {
    if (out.kind === 'init') {
      // New parameters (first frame, resolution or codec change): a new segment with a new init.
      await this.#closeSegment();
      this.#init = { data: out.data, video: out.video };
      for (const s of this.#subscribers) s.pushInit(out.data, out.video);
      return;
    }
    const wallMs = this.#wallOf(out.startTime);
    for (const s of this.#subscribers) {
      s.pushFragment({
        data: out.data,
        startTime: out.startTime,
        duration: out.duration,
        key: out.key,
        sampleCount: out.sampleCount,
        wallMs,
      });
    }
    const seg = this.#segment;
    if (seg && out.key && out.startTime - seg.mediaStart >= this.deps.settings.segmentSeconds * 90_000) {
      await this.#closeSegment();
    }
    if (!this.#segment) {
      // A segment must start with a key frame (after a failed write, wait for the next one).
      if (!out.key || !this.#init) return;
      this.#segment = await SegmentWriter.start(this.deps, {
        cameraId: this.camera.id,
        zoneId: this.camera.zoneId,
        startMs: wallMs,
        mediaStart: out.startTime,
        init: this.#init.data,
        video: this.#init.video,
      });
    }
    await this.#segment.append(out);
  }

  async #closeSegment(): Promise<void> {
    const seg = this.#segment;
    if (!seg) return;
    this.#segment = undefined;
    let done: FinishedSegment | undefined;
    try {
      done = await seg.finish();
    } catch (err) {
      this.deps.logger?.error(
        { err, segment: seg.id },
        'segment could not be finished; recovery will end it',
      );
      throw err;
    }
    if (done) {
      this.#segmentsWritten++;
      this.#framesRecorded += done.frames;
      this.#lastRecordedEndMs = done.endMs;
      this.emit('segment', done);
    }
  }

  async #openGap(reason: string): Promise<void> {
    this.#gaps++;
    await this.deps.index
      .openGap(this.camera.id, this.#lastRecordedEndMs ?? Date.now(), reason)
      .catch(() => undefined);
  }
}
