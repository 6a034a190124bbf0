import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { AuditActor, AuditSink } from '../audit/index.js';
import { tablesOf, type Database } from '../db/index.js';
import type { Keyring } from '../keys/index.js';
import { parseRtspUrl } from '../media/index.js';
import { recordingError } from './errors.js';
import type { RecordingTables } from './tables.js';

export type RecordingMode = 'continuous' | 'off';

export interface RetentionPolicy {
  /** Segments older than this are crypto-shredded and deleted; null: no age limit at this level. */
  maxAgeDays: number | null;
  /** Oldest segments are removed while a camera's stored bytes exceed this; null: no cap. */
  maxBytes: number | null;
}

/** A camera as the API shows it: never the password (write-only), only whether one is set. */
export interface Camera {
  id: string;
  name: string;
  zoneId: string;
  streamUrl: string;
  transport: 'tcp' | 'udp';
  username: string | null;
  hasPassword: boolean;
  tlsFingerprint: string | null;
  recordingMode: RecordingMode;
  retention: RetentionPolicy;
  createdAt: string;
  updatedAt: string;
}

export interface NewCamera {
  id?: string;
  name: string;
  zoneId: string;
  streamUrl: string;
  transport?: 'tcp' | 'udp';
  username?: string | null;
  password?: string | null;
  tlsFingerprint?: string | null;
  recordingMode?: RecordingMode;
  retention?: Partial<RetentionPolicy>;
}

export type CameraChange = Partial<Omit<NewCamera, 'id'>>;

export const CAMERA_ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';
const ID_RE = new RegExp(CAMERA_ID_PATTERN);
const FINGERPRINT_RE = /^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/;

/** Zones the camera store may place cameras in (network/ answers). */
export interface ZoneLookup {
  getZone(id: string): Promise<{ id: string; siteId: string } | undefined>;
}

/**
 * The camera inventory: stream URL, sealed credentials, zone, recording mode and retention. Every
 * change is audited before it is acknowledged; credentials go through the keys/ secret store (sealed
 * under the zone's KEK) and never come back out through this class except to the recorder.
 */
export class CameraStore {
  readonly #db: Kysely<RecordingTables>;

  constructor(
    database: Database,
    private readonly keyring: Keyring,
    private readonly zones: ZoneLookup,
    private readonly audit: AuditSink,
  ) {
    this.#db = tablesOf<RecordingTables>(database);
  }

  async list(options: { includeDeleted?: boolean } = {}): Promise<Camera[]> {
    let q = this.#db.selectFrom('camera').selectAll();
    if (!options.includeDeleted) q = q.where('deleted_at', 'is', null);
    return (await q.orderBy('id').execute()).map(toCamera);
  }

  async get(id: string, options: { includeDeleted?: boolean } = {}): Promise<Camera | undefined> {
    let q = this.#db.selectFrom('camera').selectAll().where('id', '=', id);
    if (!options.includeDeleted) q = q.where('deleted_at', 'is', null);
    const row = await q.executeTakeFirst();
    return row ? toCamera(row) : undefined;
  }

  async require(id: string): Promise<Camera> {
    const c = await this.get(id);
    if (!c) throw recordingError('CAMERA_NOT_FOUND', `no camera ${id}`);
    return c;
  }

  /** The camera's password, for the recorder only. Wipe it after use. */
  async password(id: string): Promise<Buffer | undefined> {
    const row = await this.#db
      .selectFrom('camera')
      .select('credential_secret_id')
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row?.credential_secret_id) return undefined;
    return this.keyring.secrets.open(row.credential_secret_id);
  }

  async create(input: NewCamera, actor: AuditActor): Promise<Camera> {
    const id = input.id ?? `cam-${randomBytes(4).toString('hex')}`;
    if (!ID_RE.test(id)) throw recordingError('CAMERA_INVALID', `camera id must match ${CAMERA_ID_PATTERN}`);
    validate(input);
    const zone = await this.zones.getZone(input.zoneId);
    if (!zone) throw recordingError('ZONE_NOT_FOUND', `no zone ${input.zoneId}`);
    if (await this.get(id, { includeDeleted: true }))
      throw recordingError('CAMERA_EXISTS', `camera ${id} exists`);
    const now = new Date().toISOString();
    let secretId: string | null = null;
    if (input.password) secretId = await this.#sealPassword(id, input.zoneId, input.password, actor);
    await this.#db
      .insertInto('camera')
      .values({
        id,
        name: input.name,
        zone_id: input.zoneId,
        stream_url: input.streamUrl,
        transport: input.transport ?? 'tcp',
        username: input.username ?? null,
        credential_secret_id: secretId,
        tls_fingerprint: input.tlsFingerprint ?? null,
        recording_mode: input.recordingMode ?? 'continuous',
        retention_max_age_days: input.retention?.maxAgeDays ?? null,
        retention_max_bytes: input.retention?.maxBytes ?? null,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      })
      .execute();
    const camera = (await this.get(id))!;
    await this.audit.append({
      action: 'camera.created',
      outcome: 'success',
      actor,
      target: { type: 'camera', id, zone: camera.zoneId },
      details: {
        name: camera.name,
        url: redactUrl(camera.streamUrl),
        recordingMode: camera.recordingMode,
        credentials: camera.hasPassword,
      },
    });
    return camera;
  }

  async update(id: string, change: CameraChange, actor: AuditActor): Promise<Camera> {
    const before = await this.require(id);
    validate({ ...before, ...change });
    if (change.zoneId !== undefined && change.zoneId !== before.zoneId) {
      if (!(await this.zones.getZone(change.zoneId)))
        throw recordingError('ZONE_NOT_FOUND', `no zone ${change.zoneId}`);
    }
    const zoneId = change.zoneId ?? before.zoneId;
    const set: Partial<Selectable<RecordingTables['camera']>> = { updated_at: new Date().toISOString() };
    if (change.name !== undefined) set.name = change.name;
    if (change.zoneId !== undefined) set.zone_id = change.zoneId;
    if (change.streamUrl !== undefined) set.stream_url = change.streamUrl;
    if (change.transport !== undefined) set.transport = change.transport;
    if (change.username !== undefined) set.username = change.username;
    if (change.tlsFingerprint !== undefined) set.tls_fingerprint = change.tlsFingerprint;
    if (change.recordingMode !== undefined) set.recording_mode = change.recordingMode;
    if (change.retention?.maxAgeDays !== undefined) set.retention_max_age_days = change.retention.maxAgeDays;
    if (change.retention?.maxBytes !== undefined) set.retention_max_bytes = change.retention.maxBytes;
    // A new password, or the old one re-sealed under the new zone's key.
    const oldSecret = (
      await this.#db
        .selectFrom('camera')
        .select('credential_secret_id')
        .where('id', '=', id)
        .executeTakeFirst()
    )?.credential_secret_id;
    let newPassword: Buffer | undefined;
    if (change.password !== undefined && change.password !== null) newPassword = Buffer.from(change.password);
    else if (change.zoneId !== undefined && change.zoneId !== before.zoneId && oldSecret)
      newPassword = await this.keyring.secrets.open(oldSecret);
    if (newPassword !== undefined) {
      try {
        set.credential_secret_id = await this.#sealPassword(id, zoneId, newPassword, actor);
      } finally {
        newPassword.fill(0);
      }
    } else if (change.password === null) set.credential_secret_id = null;
    await this.#db.updateTable('camera').set(set).where('id', '=', id).execute();
    if (oldSecret && set.credential_secret_id !== undefined)
      await this.keyring.secrets.delete(oldSecret, { actor });
    const after = (await this.get(id))!;
    const changed = Object.keys(change).filter((k) => k !== 'password');
    const retentionChanged = change.retention !== undefined;
    await this.audit.append({
      action: 'camera.updated',
      outcome: 'success',
      actor,
      target: { type: 'camera', id, zone: after.zoneId },
      details: { changed, credentialsChanged: change.password !== undefined },
    });
    if (retentionChanged) {
      await this.audit.append({
        action: 'recording.retention.changed',
        outcome: 'success',
        actor,
        target: { type: 'camera', id, zone: after.zoneId },
        details: {
          before: { maxAgeDays: before.retention.maxAgeDays, maxBytes: before.retention.maxBytes },
          after: { maxAgeDays: after.retention.maxAgeDays, maxBytes: after.retention.maxBytes },
        },
      });
    }
    return after;
  }

  /** Removes the camera from the inventory; its recorded video stays (under retention) and stays findable. */
  async remove(id: string, actor: AuditActor): Promise<void> {
    const camera = await this.require(id);
    const row = await this.#db
      .selectFrom('camera')
      .select('credential_secret_id')
      .where('id', '=', id)
      .executeTakeFirst();
    await this.#db
      .updateTable('camera')
      .set({ deleted_at: new Date().toISOString(), credential_secret_id: null, recording_mode: 'off' })
      .where('id', '=', id)
      .execute();
    if (row?.credential_secret_id) await this.keyring.secrets.delete(row.credential_secret_id, { actor });
    await this.audit.append({
      action: 'camera.deleted',
      outcome: 'success',
      actor,
      target: { type: 'camera', id, zone: camera.zoneId },
      details: { name: camera.name },
    });
  }

  /** Switches recording on or off (the recorder audits it as recording.started / recording.stopped). */
  async setRecordingMode(id: string, mode: RecordingMode): Promise<Camera> {
    await this.require(id);
    await this.#db
      .updateTable('camera')
      .set({ recording_mode: mode, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .execute();
    return (await this.get(id))!;
  }

  async zonePolicy(zoneId: string): Promise<RetentionPolicy | undefined> {
    const row = await this.#db
      .selectFrom('recording_zone_policy')
      .selectAll()
      .where('zone_id', '=', zoneId)
      .executeTakeFirst();
    return row
      ? { maxAgeDays: row.max_age_days, maxBytes: row.max_bytes === null ? null : Number(row.max_bytes) }
      : undefined;
  }

  async zonePolicies(): Promise<Map<string, RetentionPolicy>> {
    const rows = await this.#db.selectFrom('recording_zone_policy').selectAll().execute();
    return new Map(
      rows.map((r) => [
        r.zone_id,
        { maxAgeDays: r.max_age_days, maxBytes: r.max_bytes === null ? null : Number(r.max_bytes) },
      ]),
    );
  }

  async setZonePolicy(zoneId: string, policy: RetentionPolicy, actor: AuditActor): Promise<void> {
    if (!(await this.zones.getZone(zoneId))) throw recordingError('ZONE_NOT_FOUND', `no zone ${zoneId}`);
    checkRetention(policy);
    const before = await this.zonePolicy(zoneId);
    const now = new Date().toISOString();
    await this.#db
      .insertInto('recording_zone_policy')
      .values({
        zone_id: zoneId,
        max_age_days: policy.maxAgeDays,
        max_bytes: policy.maxBytes,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc
          .column('zone_id')
          .doUpdateSet({ max_age_days: policy.maxAgeDays, max_bytes: policy.maxBytes, updated_at: now }),
      )
      .execute();
    await this.audit.append({
      action: 'recording.retention.changed',
      outcome: 'success',
      actor,
      target: { type: 'zone', id: zoneId, zone: zoneId },
      details: {
        before: before ? { maxAgeDays: before.maxAgeDays, maxBytes: before.maxBytes } : null,
        after: { maxAgeDays: policy.maxAgeDays, maxBytes: policy.maxBytes },
      },
    });
  }

  async #sealPassword(
    id: string,
    zoneId: string,
    password: string | Uint8Array,
    actor: AuditActor,
  ): Promise<string> {
    const info = await this.keyring.secrets.create(
      {
        name: `camera/${id}/rtsp/${randomBytes(4).toString('hex')}`,
        kind: 'camera-credential',
        value: password,
        kekId: zoneId,
      },
      { actor },
    );
    return info.id;
  }
}

function validate(input: NewCamera): void {
  if (typeof input.name !== 'string' || input.name.length === 0 || input.name.length > 128) {
    throw recordingError('CAMERA_INVALID', 'a camera name is 1-128 characters');
  }
  try {
    parseRtspUrl(input.streamUrl);
  } catch (err) {
    throw recordingError('CAMERA_INVALID', `stream URL: ${(err as Error).message}`);
  }
  if (/^rtsps?:\/\/[^/]*@/i.test(input.streamUrl)) {
    throw recordingError(
      'CAMERA_INVALID',
      'put credentials in username/password, not in the stream URL (they would be stored in clear)',
    );
  }
  if (input.tlsFingerprint != null && !FINGERPRINT_RE.test(input.tlsFingerprint)) {
    throw recordingError('CAMERA_INVALID', 'tlsFingerprint is a SHA-256 fingerprint (AA:BB:... 32 bytes)');
  }
  if (input.retention)
    checkRetention({
      maxAgeDays: input.retention.maxAgeDays ?? null,
      maxBytes: input.retention.maxBytes ?? null,
    });
}

function checkRetention(p: RetentionPolicy): void {
  if (p.maxAgeDays !== null && !(p.maxAgeDays > 0 && p.maxAgeDays <= 36_500)) {
    throw recordingError('CAMERA_INVALID', 'retention maxAgeDays must be > 0 and at most 36500');
  }
  if (p.maxBytes !== null && !(Number.isSafeInteger(p.maxBytes) && p.maxBytes > 0)) {
    throw recordingError('CAMERA_INVALID', 'retention maxBytes must be a positive integer');
  }
}

export function redactUrl(url: string): string {
  return url.replace(/^(rtsps?:\/\/)[^/@]*@/i, '$1');
}

function toCamera(r: Selectable<RecordingTables['camera']>): Camera {
  return {
    id: r.id,
    name: r.name,
    zoneId: r.zone_id,
    streamUrl: r.stream_url,
    transport: r.transport,
    username: r.username,
    hasPassword: r.credential_secret_id !== null,
    tlsFingerprint: r.tls_fingerprint,
    recordingMode: r.recording_mode,
    retention: {
      maxAgeDays: r.retention_max_age_days,
      maxBytes: r.retention_max_bytes === null ? null : Number(r.retention_max_bytes),
    },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
