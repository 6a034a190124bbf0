import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AuditActor, AuditSink, CheckpointSigner } from '../audit/index.js';
import type { Database } from '../db/index.js';
import type { Keyring } from '../keys/index.js';
import type { Logger } from '../log/index.js';
import type { BlobStore } from '../storage/index.js';
import { CameraStore, type Camera, type RetentionPolicy, type ZoneLookup } from './cameras.js';
import { recordingError } from './errors.js';
import { VideoIntegrityLog } from './integrity.js';
import type { LiveSubscribeOptions, LiveSubscription } from './live.js';
import { recoverSegments, type RecoveryReport } from './recovery.js';
import { effectivePolicy, expiredSegments, removeSegments } from './retention.js';
import { SegmentIndex, type Gap, type Segment } from './segment-index.js';
import { CameraSession, type CameraHealth, type SessionSettings } from './session.js';

/** The `recording` configuration section (config/schema.ts). */
export interface RecordingSettings extends SessionSettings {
  chunkSize: number;
  fsyncIntervalMs: number;
  retention: { maxAgeDays: number; maxBytes?: number | undefined; intervalSeconds: number };
  capacity: {
    warnFreeRatio: number;
    stopFreeRatio: number;
    resumeFreeRatio: number;
    checkIntervalMs: number;
  };
}

export interface RecorderOptions {
  database: Database;
  keyring: Keyring;
  store: BlobStore;
  audit: AuditSink;
  zones: ZoneLookup;
  settings: RecordingSettings;
  /** Signs checkpoints of the video integrity log (the keys provider's signer, or a file signer). */
  signer: CheckpointSigner;
  /** Checkpoint origin of the video integrity log, e.g. `palisade/<instance>/video-integrity`. */
  origin: string;
  /** The actor of what the recorder does on its own (retention, recovery, storage alarms). */
  systemActor: AuditActor;
  logger?: Logger;
  /** How often to sign a checkpoint of the integrity log when it has grown; 0 disables. */
  checkpointIntervalMs?: number;
}

export type StorageState = 'ok' | 'warning' | 'full';

export interface Alarm {
  code: 'STORAGE_LOW' | 'STORAGE_FULL' | 'CAMERA_FAILED';
  message: string;
  since: string;
  cameraId?: string;
}

export interface RecorderStatus {
  storage: {
    state: StorageState;
    location: string;
    totalBytes: number;
    availableBytes: number;
    freeRatio: number;
    warnFreeRatio: number;
    stopFreeRatio: number;
  };
  cameras: { total: number; recording: number; reconnecting: number; failed: number; stopped: number };
  alarms: Alarm[];
  integrityLogSize: number;
}

/**
 * The recording service: one CameraSession per camera set to record, startup recovery, retention,
 * storage-capacity watching (warn, stop cleanly, resume) and the video integrity log. Everything a user
 * does through it is audited before it is acknowledged.
 */
export class Recorder {
  readonly cameras: CameraStore;
  readonly index: SegmentIndex;
  readonly integrity: VideoIntegrityLog;
  readonly store: BlobStore;
  readonly settings: RecordingSettings;
  readonly #o: RecorderOptions;
  readonly #sessions = new Map<string, CameraSession>();
  #timers: NodeJS.Timeout[] = [];
  #storage: StorageState = 'ok';
  #capacity = { totalBytes: 0, availableBytes: 0 };
  #alarms = new Map<string, Alarm>();
  #closed = false;
  #busy: Promise<unknown> = Promise.resolve();
  /** What recovery did at open (for the start-up log and tests). */
  recovery: RecoveryReport = { finalized: [], discarded: [], orphans: [] };

  private constructor(o: RecorderOptions, integrity: VideoIntegrityLog) {
    this.#o = o;
    this.settings = o.settings;
    this.store = o.store;
    this.integrity = integrity;
    this.cameras = new CameraStore(o.database, o.keyring, o.zones, o.audit);
    this.index = new SegmentIndex(o.database);
  }

  /**
   * Opens the integrity log. Nothing is recorded or recovered until `start()`, so commands that only
   * read (or `palisade check`) can open a recorder beside a running server.
   */
  static async open(options: RecorderOptions): Promise<Recorder> {
    const integrity = await VideoIntegrityLog.open({
      database: options.database,
      origin: options.origin,
      signer: options.signer,
      ...(options.logger ? { logger: options.logger } : {}),
    });
    return new Recorder(options, integrity);
  }

  async #recover(): Promise<void> {
    const report = await recoverSegments({
      keyring: this.#o.keyring,
      store: this.#o.store,
      index: this.index,
      integrity: this.integrity,
      ...(this.#o.logger ? { logger: this.#o.logger } : {}),
    });
    this.recovery = report;
    if (report.finalized.length + report.discarded.length + report.orphans.length > 0) {
      await this.#o.audit.append({
        action: 'recording.recovered',
        outcome: 'success',
        actor: this.#o.systemActor,
        target: { type: 'recorder', id: 'recording' },
        details: {
          finalized: report.finalized.length,
          discarded: report.discarded.length,
          orphans: report.orphans.length,
          segments: report.finalized.map((f) => f.id).slice(0, 100),
        },
      });
      this.#o.logger?.info(
        { finalized: report.finalized.length, discarded: report.discarded.length },
        'recovered open segments',
      );
    }
  }

  /**
   * Startup recovery (segments a stopped recorder left open), then every camera set to record, and the
   * retention, capacity and checkpoint timers. Holds the recorder lock in the storage directory.
   */
  async start(): Promise<void> {
    await writeFile(path.join(this.store.location, LOCK_FILE), `${process.pid}\n`, { mode: 0o600 });
    await this.#recover();
    await this.#checkCapacity();
    for (const c of await this.cameras.list()) {
      if (c.recordingMode !== 'continuous') continue;
      // The time the recorder was down is a gap, closed when the camera's first frame arrives.
      const last = await this.index.lastComplete(c.id);
      if (last?.endMs) await this.index.openGap(c.id, last.endMs, 'RECORDER_NOT_RUNNING');
      if (this.#storage !== 'full') this.#startSession(c);
    }
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const t = setInterval(() => {
        this.#serial(fn).catch((err: unknown) => this.#o.logger?.error({ err }, 'recorder task failed'));
      }, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(this.settings.capacity.checkIntervalMs, () => this.#checkCapacity());
    every(this.settings.retention.intervalSeconds * 1000, () => this.enforceRetention());
    const cp = this.#o.checkpointIntervalMs ?? 60_000;
    if (cp > 0) every(cp, () => this.integrity.signCheckpoint());
  }

  /** Runs background tasks one at a time (capacity, retention, resume never overlap). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#busy.then(fn, fn);
    this.#busy = next.catch(() => undefined);
    return next;
  }

  #startSession(camera: Camera): void {
    if (this.#closed || this.#sessions.has(camera.id)) return;
    const s = new CameraSession(camera, {
      keyring: this.#o.keyring,
      store: this.#o.store,
      index: this.index,
      integrity: this.integrity,
      chunkSize: this.settings.chunkSize,
      fsyncIntervalMs: this.settings.fsyncIntervalMs,
      settings: this.settings,
      password: (id) => this.cameras.password(id),
      ...(this.#o.logger ? { logger: this.#o.logger.child({ camera: camera.id }) } : {}),
    });
    s.on('storage-full', (err: Error) => {
      void this.#serial(() => this.#enterFull(err.message)).catch(() => undefined);
    });
    s.on('state', (h: CameraHealth) => {
      const key = `camera:${camera.id}`;
      if (h.state === 'failed') {
        this.#alarms.set(key, {
          code: 'CAMERA_FAILED',
          cameraId: camera.id,
          message: `${camera.name}: ${h.lastError?.code ?? 'failed'}: ${h.lastError?.message ?? ''}`,
          since: h.since,
        });
      } else this.#alarms.delete(key);
    });
    this.#sessions.set(camera.id, s);
    s.start();
  }

  async #stopSession(id: string): Promise<void> {
    const s = this.#sessions.get(id);
    if (!s) return;
    this.#sessions.delete(id);
    this.#alarms.delete(`camera:${id}`);
    await s.stop();
  }

  // ---- user actions (audited) -----------------------------------------------------------------

  async createCamera(input: Parameters<CameraStore['create']>[0], actor: AuditActor): Promise<Camera> {
    const c = await this.cameras.create(input, actor);
    if (c.recordingMode === 'continuous') await this.#recordingStarted(c, actor);
    return c;
  }

  async updateCamera(
    id: string,
    change: Parameters<CameraStore['update']>[1],
    actor: AuditActor,
  ): Promise<Camera> {
    const before = await this.cameras.require(id);
    const c = await this.cameras.update(id, change, actor);
    await this.#stopSession(id);
    if (c.recordingMode === 'continuous') {
      if (before.recordingMode !== 'continuous') await this.#recordingStarted(c, actor);
      else if (this.#storage !== 'full') this.#startSession(c);
    } else if (before.recordingMode === 'continuous')
      await this.#auditRecording('recording.stopped', c, actor);
    return c;
  }

  async removeCamera(id: string, actor: AuditActor): Promise<void> {
    const c = await this.cameras.require(id);
    await this.#stopSession(id);
    if (c.recordingMode === 'continuous') await this.#auditRecording('recording.stopped', c, actor);
    await this.cameras.remove(id, actor);
  }

  async startRecording(id: string, actor: AuditActor): Promise<Camera> {
    const c = await this.cameras.setRecordingMode(id, 'continuous');
    await this.#recordingStarted(c, actor);
    return c;
  }

  async stopRecording(id: string, actor: AuditActor): Promise<Camera> {
    await this.cameras.require(id);
    await this.#stopSession(id);
    const c = await this.cameras.setRecordingMode(id, 'off');
    await this.#auditRecording('recording.stopped', c, actor);
    return c;
  }

  async #recordingStarted(c: Camera, actor: AuditActor): Promise<void> {
    await this.#auditRecording('recording.started', c, actor);
    if (this.#storage !== 'full') this.#startSession(c);
  }

  async #auditRecording(
    action: 'recording.started' | 'recording.stopped',
    c: Camera,
    actor: AuditActor,
  ): Promise<void> {
    await this.#o.audit.append({
      action,
      outcome: 'success',
      actor,
      target: { type: 'camera', id: c.id, zone: c.zoneId },
    });
  }

  /** Deletes a camera's recorded video in [fromMs, toMs) (crypto-shredded); the caller enforces dual approval. */
  async deleteRecordings(cameraId: string, fromMs: number, toMs: number, actor: AuditActor): Promise<number> {
    if (!(toMs > fromMs)) throw recordingError('RECORDING_RANGE_INVALID', '`to` must be after `from`');
    const camera = await this.cameras.get(cameraId, { includeDeleted: true });
    if (!camera) throw recordingError('CAMERA_NOT_FOUND', `no camera ${cameraId}`);
    // Only whole segments inside the range: deleting cannot cut a segment.
    const segs = (await this.index.find(cameraId, fromMs, toMs)).filter(
      (s) => s.startMs >= fromMs && (s.endMs ?? s.startMs) <= toMs,
    );
    return removeSegments(
      { keyring: this.#o.keyring, store: this.#o.store, index: this.index, audit: this.#o.audit },
      segs,
      {
        reason: 'user',
        actor,
        details: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() },
      },
    );
  }

  // ---- queries --------------------------------------------------------------------------------

  health(id: string): CameraHealth | undefined {
    return this.#sessions.get(id)?.health();
  }

  /** Health of a camera whether or not it is recording (stopped cameras report `stopped`). */
  healthOf(camera: Camera): CameraHealth {
    return (
      this.#sessions.get(camera.id)?.health() ?? {
        cameraId: camera.id,
        state: this.#storage === 'full' && camera.recordingMode === 'continuous' ? 'failed' : 'stopped',
        lastError:
          this.#storage === 'full' && camera.recordingMode === 'continuous'
            ? {
                code: 'STORAGE_FULL',
                message: 'recording is stopped: the video storage is full',
                at: this.#alarms.get('storage')?.since ?? new Date().toISOString(),
              }
            : null,
        since: camera.updatedAt,
        bitrate: 0,
        fps: 0,
        lastKeyFrameAt: null,
        video: null,
        currentSegment: null,
        segmentsWritten: 0,
        framesRecorded: 0,
        reconnects: 0,
        attempts: 0,
        gaps: 0,
        liveSubscribers: 0,
      }
    );
  }

  /** Seconds without video in the last `windowMs` (default 24 h), from the gap list. */
  async gapSeconds(cameraId: string, windowMs = 86_400_000): Promise<number> {
    const now = Date.now();
    let total = 0;
    for (const g of await this.index.gaps(cameraId, now - windowMs, now)) {
      total += Math.max(0, Math.min(g.endMs ?? now, now) - Math.max(g.startMs, now - windowMs));
    }
    return Math.round(total / 1000);
  }

  segments(cameraId: string, fromMs: number, toMs: number, limit?: number): Promise<Segment[]> {
    return this.index.find(cameraId, fromMs, toMs, {
      maxSegmentMs: this.settings.segmentSeconds * 2000 + 60_000,
      ...(limit !== undefined ? { limit } : {}),
    });
  }

  gaps(cameraId: string, fromMs: number, toMs: number): Promise<Gap[]> {
    return this.index.gaps(cameraId, fromMs, toMs);
  }

  /** Live fMP4 from the camera's recording session; RECORDING_NOT_RUNNING when it is not recording. */
  subscribe(cameraId: string, options?: LiveSubscribeOptions): LiveSubscription {
    const s = this.#sessions.get(cameraId);
    if (!s) throw recordingError('RECORDING_NOT_RUNNING', `camera ${cameraId} is not recording`);
    return s.subscribe(options);
  }

  async status(): Promise<RecorderStatus> {
    const counts = { total: 0, recording: 0, reconnecting: 0, failed: 0, stopped: 0 };
    for (const c of await this.cameras.list()) {
      counts.total++;
      const st = this.healthOf(c).state;
      if (st === 'recording') counts.recording++;
      else if (st === 'reconnecting' || st === 'starting') counts.reconnecting++;
      else if (st === 'failed') counts.failed++;
      else counts.stopped++;
    }
    const cap = this.#capacity;
    return {
      storage: {
        state: this.#storage,
        location: this.store.location,
        totalBytes: cap.totalBytes,
        availableBytes: cap.availableBytes,
        freeRatio: cap.totalBytes > 0 ? cap.availableBytes / cap.totalBytes : 0,
        warnFreeRatio: this.settings.capacity.warnFreeRatio,
        stopFreeRatio: this.settings.capacity.stopFreeRatio,
      },
      cameras: counts,
      alarms: [...this.#alarms.values()],
      integrityLogSize: await this.integrity.size(),
    };
  }

  get storageState(): StorageState {
    return this.#storage;
  }

  // ---- retention and capacity -----------------------------------------------------------------

  /** One retention pass over every camera (also removed ones: their video still expires). */
  async enforceRetention(nowMs = Date.now()): Promise<number> {
    const zones = await this.cameras.zonePolicies();
    const fallback: RetentionPolicy = {
      maxAgeDays: this.settings.retention.maxAgeDays,
      maxBytes: this.settings.retention.maxBytes ?? null,
    };
    let removed = 0;
    for (const c of await this.cameras.list({ includeDeleted: true })) {
      const policy = effectivePolicy(c, zones.get(c.zoneId), fallback);
      const expired = await expiredSegments(this.index, c.id, policy, nowMs);
      if (expired.length === 0) continue;
      removed += await removeSegments(
        { keyring: this.#o.keyring, store: this.#o.store, index: this.index, audit: this.#o.audit },
        expired,
        {
          reason: 'retention',
          actor: this.#o.systemActor,
          details: { maxAgeDays: policy.maxAgeDays ?? -1, maxBytes: policy.maxBytes ?? -1 },
        },
      );
    }
    if (removed > 0 && this.#storage !== 'ok') await this.#checkCapacity();
    return removed;
  }

  async #checkCapacity(): Promise<void> {
    const cap = await this.store.capacity();
    this.#capacity = cap;
    const free = cap.totalBytes > 0 ? cap.availableBytes / cap.totalBytes : 1;
    const { warnFreeRatio, stopFreeRatio, resumeFreeRatio } = this.settings.capacity;
    if (this.#storage === 'full') {
      if (free >= Math.max(resumeFreeRatio, stopFreeRatio)) await this.#resume(free);
      return;
    }
    if (free < stopFreeRatio) {
      await this.#enterFull(
        `free space ${(free * 100).toFixed(1)} % is below the stop threshold ${(stopFreeRatio * 100).toFixed(1)} %`,
      );
      return;
    }
    const next: StorageState = free < warnFreeRatio ? 'warning' : 'ok';
    if (next === 'warning' && this.#storage === 'ok') {
      this.#alarms.set('storage', {
        code: 'STORAGE_LOW',
        message: `video storage ${(100 - free * 100).toFixed(1)} % used`,
        since: new Date().toISOString(),
      });
      await this.#o.audit.append({
        action: 'storage.capacity.warning',
        outcome: 'success',
        actor: this.#o.systemActor,
        target: { type: 'storage', id: this.store.location },
        details: {
          level: 'warning',
          freeRatio: round(free),
          warnFreeRatio,
          availableBytes: cap.availableBytes,
          totalBytes: cap.totalBytes,
        },
      });
      this.#o.logger?.warn({ freeRatio: free }, 'video storage is running low');
    } else if (next === 'ok') this.#alarms.delete('storage');
    this.#storage = next;
  }

  /** Stops every session cleanly (their segments are finished) and raises the storage-full alarm. */
  async #enterFull(reason: string): Promise<void> {
    if (this.#storage === 'full' || this.#closed) return;
    this.#storage = 'full';
    this.#alarms.set('storage', {
      code: 'STORAGE_FULL',
      message: `recording stopped: ${reason}`,
      since: new Date().toISOString(),
    });
    this.#o.logger?.error({ reason }, 'video storage full: recording stopped');
    const ids = [...this.#sessions.keys()];
    await Promise.all(ids.map((id) => this.#stopSession(id)));
    // The outage is a gap for every camera that should be recording, closed when it records again.
    for (const id of ids) {
      const last = await this.index.lastComplete(id);
      await this.index.openGap(id, last?.endMs ?? Date.now(), 'STORAGE_FULL');
    }
    const cap = await this.store.capacity().catch(() => this.#capacity);
    this.#capacity = cap;
    await this.#o.audit.append({
      action: 'storage.full',
      outcome: 'failure',
      actor: this.#o.systemActor,
      target: { type: 'storage', id: this.store.location },
      reason,
      details: { camerasStopped: ids.length, availableBytes: cap.availableBytes, totalBytes: cap.totalBytes },
    });
  }

  async #resume(free: number): Promise<void> {
    // Segments a full disk left open are ended first, now that there is room for their final record.
    await this.#recover();
    this.#storage = free < this.settings.capacity.warnFreeRatio ? 'warning' : 'ok';
    this.#alarms.delete('storage');
    let started = 0;
    for (const c of await this.cameras.list()) {
      if (c.recordingMode !== 'continuous') continue;
      this.#startSession(c);
      started++;
    }
    await this.#o.audit.append({
      action: 'storage.resumed',
      outcome: 'success',
      actor: this.#o.systemActor,
      target: { type: 'storage', id: this.store.location },
      details: { freeRatio: round(free), cameras: started },
    });
    this.#o.logger?.info({ freeRatio: free }, 'video storage has room again: recording resumed');
  }

  /** For tests and the CLI: run a capacity check now. */
  checkCapacity(): Promise<void> {
    return this.#serial(() => this.#checkCapacity());
  }

  /** Stops every session (segments finished and indexed), signs a final checkpoint, closes the log. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#busy.catch(() => undefined);
    await Promise.all([...this.#sessions.keys()].map((id) => this.#stopSession(id)));
    if ((await this.integrity.size()) > 0) await this.integrity.signCheckpoint().catch(() => undefined);
    await this.integrity.close();
    await rm(path.join(this.store.location, LOCK_FILE), { force: true });
  }
}

const LOCK_FILE = 'recorder.pid';

/** The pid of a live recorder using this storage directory, if any (`palisade check --repair` refuses then). */
export async function liveRecorderPid(storageDir: string): Promise<number | undefined> {
  const text = await readFile(path.join(storageDir, LOCK_FILE), 'utf8').catch(() => undefined);
  const pid = Number(text?.trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
