import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { AuditActor, AuditLog } from '../../audit/index.js';
import { tablesOf, type Database } from '../../db/index.js';
import { describeError } from '../../errors/index.js';
import type { Keyring } from '../../keys/index.js';
import type { Logger } from '../../log/index.js';
import { redactUrl, type Camera, type Recorder, type Segment } from '../../recording/index.js';
import { playbackError } from '../errors.js';
import { checkRange, type PlaybackService } from '../service.js';
import type { ExportState, PlaybackTables } from '../tables.js';
import type { ManifestApproval } from './manifest.js';
import { writeEvidencePackage, type PackageResult, type PackageSegment } from './package.js';

/** The key that signs evidence packages (keys/ signing key, in the HSM when one is configured). */
export const EVIDENCE_KEY_NAME = 'evidence-pack';

export interface EvidenceExport {
  id: string;
  cameraId: string;
  zoneId: string;
  from: string;
  to: string;
  reason: string;
  caseId: string | null;
  requestedBy: string;
  requestedByName: string | null;
  state: ExportState;
  approvalId: string | null;
  size: number | null;
  sha256: string | null;
  error: string | null;
  createdAt: string;
  completedAt: string | null;
}

export interface EvidenceDeps {
  database: Database;
  recorder: Recorder;
  keyring: Keyring;
  audit: AuditLog;
  playback: PlaybackService;
  version: string;
  siteOf(zoneId: string): Promise<string | undefined>;
  /** The approval record to put in the manifest (access/'s dual approval), when there is one. */
  approval?(id: string): Promise<ManifestApproval | undefined>;
  logger?: Logger;
}

export interface ExportRequest {
  camera: Camera;
  fromMs: number;
  toMs: number;
  reason: string;
  caseId: string | null;
  actor: AuditActor;
}

const iso = (ms: number) => new Date(ms).toISOString();

function toExport(r: Selectable<PlaybackTables['evidence_export']>): EvidenceExport {
  return {
    id: r.id,
    cameraId: r.camera_id,
    zoneId: r.zone_id,
    from: iso(Number(r.from_ms)),
    to: iso(Number(r.to_ms)),
    reason: r.reason,
    caseId: r.case_id,
    requestedBy: r.requested_by,
    requestedByName: r.requested_by_name,
    state: r.state,
    approvalId: r.approval_id,
    size: r.size === null ? null : Number(r.size),
    sha256: r.sha256,
    error: r.error,
    createdAt: r.created_at,
    completedAt: r.completed_at,
  };
}

/**
 * Evidence exports: requested (and, under dual approval, approved) through the API or produced by the
 * CLI; built by `writeEvidencePackage`; kept sealed in the blob store (a package holds data keys) and
 * decrypted only when its requester downloads it.
 */
export class EvidenceService {
  readonly db: Kysely<PlaybackTables>;
  readonly #running = new Set<Promise<unknown>>();

  constructor(readonly deps: EvidenceDeps) {
    this.db = tablesOf<PlaybackTables>(deps.database);
  }

  async get(id: string): Promise<EvidenceExport | undefined> {
    const r = await this.db.selectFrom('evidence_export').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toExport(r) : undefined;
  }

  async list(limit = 200): Promise<EvidenceExport[]> {
    const rows = await this.db
      .selectFrom('evidence_export')
      .selectAll()
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toExport);
  }

  /** Validates and records an export request (audited `evidence.export.requested`). */
  async request(
    input: ExportRequest & { userId: string; pendingApproval: boolean },
  ): Promise<EvidenceExport> {
    validate(input, this.deps.playback.settings.maxDownloadMinutes);
    const segments = await this.deps.recorder.segments(input.camera.id, input.fromMs, input.toMs);
    if (segments.length === 0)
      throw playbackError(
        'PLAYBACK_NO_VIDEO',
        `camera ${input.camera.id} has no recorded video in that range`,
      );
    const id = randomUUID();
    await this.deps.audit.append({
      action: 'evidence.export.requested',
      outcome: 'success',
      actor: input.actor,
      target: { type: 'camera', id: input.camera.id, zone: input.camera.zoneId },
      details: {
        export: id,
        from: iso(input.fromMs),
        to: iso(input.toMs),
        reason: input.reason,
        caseId: input.caseId,
        pendingApproval: input.pendingApproval,
      },
    });
    await this.db
      .insertInto('evidence_export')
      .values({
        id,
        camera_id: input.camera.id,
        zone_id: input.camera.zoneId,
        from_ms: input.fromMs,
        to_ms: input.toMs,
        reason: input.reason,
        case_id: input.caseId,
        requested_by: input.userId,
        requested_by_name: input.actor.name ?? null,
        state: input.pendingApproval ? 'pending-approval' : 'running',
        approval_id: null,
        blob_key: null,
        size: null,
        sha256: null,
        error: null,
        created_at: new Date().toISOString(),
        completed_at: null,
      })
      .execute();
    return (await this.get(id))!;
  }

  /** Runs an export in the background (the request was answered already); `idle()` waits for all. */
  start(id: string, actor: AuditActor): void {
    const p = this.run(id, actor).catch((err: unknown) =>
      this.deps.logger?.error({ export: id, reason: describeError(err) }, 'evidence export crashed'),
    );
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
  }

  /** Resolves once no export is running (the server waits for this before it closes the database). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  async setApproval(id: string, approvalId: string): Promise<void> {
    await this.db
      .updateTable('evidence_export')
      .set({ approval_id: approvalId })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Builds a requested export into a sealed blob (`evidence/<id>.pseg`, sealed under the camera's
   * zone KEK like the video itself) and marks it ready, or failed with the reason (audited).
   */
  async run(id: string, actor: AuditActor): Promise<EvidenceExport> {
    const row = await this.get(id);
    if (!row) throw playbackError('EVIDENCE_NOT_FOUND', `no evidence export ${id}`);
    await this.db.updateTable('evidence_export').set({ state: 'running' }).where('id', '=', id).execute();
    const objectId = `evidence-${id}`;
    const blobKey = `evidence/${id}.pseg`;
    const { keyring, recorder } = this.deps;
    try {
      const camera = await recorder.cameras.get(row.cameraId, { includeDeleted: true });
      if (!camera) throw playbackError('EVIDENCE_FAILED', `camera ${row.cameraId} is gone`);
      const sealer = await keyring.createSealer({ objectId, kekId: row.zoneId });
      const writer = await recorder.store.create(blobKey);
      let result: PackageResult;
      try {
        result = await this.build(
          {
            camera,
            fromMs: Date.parse(row.from),
            toMs: Date.parse(row.to),
            reason: row.reason,
            caseId: row.caseId,
            actor,
          },
          {
            exportId: id,
            approvalId: row.approvalId,
            exporter: { id: row.requestedBy, name: row.requestedByName },
          },
          async (chunk) => writer.append(sealer.update(chunk)),
        );
        await writer.append(sealer.final());
        await writer.commit();
      } catch (err) {
        await writer.abort().catch(() => undefined);
        await keyring.destroyDataKeys([objectId]).catch(() => undefined);
        throw err;
      }
      await this.db
        .updateTable('evidence_export')
        .set({
          state: 'ready',
          blob_key: blobKey,
          size: result.bytes,
          sha256: result.signature.manifestSha256,
          completed_at: new Date().toISOString(),
        })
        .where('id', '=', id)
        .execute();
    } catch (err) {
      const reason = describeError(err).slice(0, 500);
      this.deps.logger?.error({ export: id, reason }, 'evidence export failed');
      await this.db
        .updateTable('evidence_export')
        .set({ state: 'failed', error: reason, completed_at: new Date().toISOString() })
        .where('id', '=', id)
        .execute();
      await this.deps.audit
        .append({
          action: 'evidence.export.failed',
          outcome: 'failure',
          actor,
          target: { type: 'camera', id: row.cameraId, zone: row.zoneId },
          reason,
          details: { export: id },
        })
        .catch(() => undefined);
    }
    return (await this.get(id))!;
  }

  /**
   * Produces a package for [fromMs, toMs) into `sink` (the CLI writes a file; `run` seals a blob).
   * Audits `evidence.export.created` (camera, zone, range, the MP4's SHA-256) before the package is
   * complete, and puts that very entry, with its proof, into the package.
   */
  async build(
    input: ExportRequest,
    meta: { exportId: string; approvalId: string | null; exporter: { id: string; name: string | null } },
    sink: (chunk: Buffer) => Promise<void>,
    signedAt = new Date(),
  ): Promise<PackageResult> {
    validate(input, this.deps.playback.settings.maxDownloadMinutes);
    const { recorder, keyring, audit } = this.deps;
    const { camera, fromMs, toMs } = input;
    const segments = (await recorder.segments(camera.id, fromMs, toMs)).filter(
      (s) => s.keyFrames.length > 0 && s.integrityIndex !== null,
    );
    if (segments.length === 0)
      throw playbackError('PLAYBACK_NO_VIDEO', `camera ${camera.id} has no recorded video in that range`);
    const checkpoint = await recorder.integrity.signCheckpoint();
    const keys = await keyring.discloseDataKeys(
      segments.map((s) => s.id),
      `evidence export ${meta.exportId}`,
      { actor: input.actor },
    );
    try {
      const packaged: PackageSegment[] = [];
      for (const s of segments) {
        const proof = await recorder.integrity.inclusionProof(s.integrityIndex!, checkpoint.size);
        packaged.push({
          segment: s,
          dataKey: keys.get(s.id)!,
          proof: proof.proof,
          plaintext: () => this.deps.playback.plaintext(s),
          sealed: () => this.#sealed(s),
        });
      }
      const approval =
        meta.approvalId && this.deps.approval ? await this.deps.approval(meta.approvalId) : undefined;
      const signer = await keyring.signer(EVIDENCE_KEY_NAME);
      const gaps = await recorder.gaps(camera.id, fromMs, toMs);
      return await writeEvidencePackage(
        {
          exportId: meta.exportId,
          camera: {
            id: camera.id,
            name: camera.name,
            zoneId: camera.zoneId,
            siteId: (await this.deps.siteOf(camera.zoneId)) ?? '',
            streamUrl: redactUrl(camera.streamUrl),
            tlsFingerprint: camera.tlsFingerprint,
            vendor: null,
            model: null,
            firmware: null,
          },
          fromMs,
          toMs,
          segments: packaged,
          gaps: gaps.map((g) => ({
            start: iso(g.startMs),
            end: g.endMs === null ? null : iso(g.endMs),
            reason: g.reason,
          })),
          integrity: {
            origin: recorder.integrity.log.origin,
            verifierKey: recorder.integrity.log.verifierKey.text,
            checkpoint,
          },
          audit: async (video) => {
            const receipt = await audit.append({
              action: 'evidence.export.created',
              outcome: 'success',
              actor: input.actor,
              target: { type: 'camera', id: camera.id, zone: camera.zoneId },
              details: {
                export: meta.exportId,
                from: iso(fromMs),
                to: iso(toMs),
                reason: input.reason,
                caseId: input.caseId,
                segments: video.segments.length,
                frames: video.frames,
                videoSha256: video.sha256,
                videoBytes: video.size,
                approval: meta.approvalId,
              },
            });
            const cp = await audit.signCheckpoint();
            const proof = await audit.inclusionProof(receipt.index, cp.size);
            let entry: Buffer | undefined;
            for await (const e of audit.tree.entries(receipt.index, receipt.index + 1)) entry = e.data;
            return {
              entry: entry!,
              index: receipt.index,
              proof: proof.proof,
              checkpoint: cp,
              origin: audit.origin,
              verifierKey: audit.verifierKey,
            };
          },
          approvals: approval ? [approval] : [],
          exporter: { id: meta.exporter.id, name: meta.exporter.name, auth: input.actor.auth ?? null },
          reason: input.reason,
          caseId: input.caseId,
          version: this.deps.version,
          signer,
          signedAt,
        },
        sink,
      );
    } finally {
      for (const k of keys.values()) k.fill(0);
    }
  }

  async *#sealed(s: Segment): AsyncGenerator<Buffer> {
    const source = await this.deps.recorder.store.open(s.blobKey);
    try {
      for (let o = 0; o < source.size; o += 1 << 20)
        yield await source.read(o, Math.min(1 << 20, source.size - o));
    } finally {
      await source.close();
    }
  }

  /** The package as its requester downloads it: decrypted from the sealed blob, authenticated as read. */
  async open(id: string): Promise<{ export: EvidenceExport; size: number; stream: AsyncGenerator<Buffer> }> {
    const row = await this.db
      .selectFrom('evidence_export')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw playbackError('EVIDENCE_NOT_FOUND', `no evidence export ${id}`);
    if (row.state !== 'ready' || row.blob_key === null)
      throw playbackError('EVIDENCE_NOT_READY', `evidence export ${id} is ${row.state}`);
    const source = await this.deps.recorder.store.open(row.blob_key);
    try {
      const reader = await this.deps.keyring.openObject({ objectId: `evidence-${id}`, source });
      async function* stream(): AsyncGenerator<Buffer> {
        try {
          yield* reader.stream();
        } finally {
          await source.close();
        }
      }
      return { export: toExport(row), size: reader.size, stream: stream() };
    } catch (err) {
      await source.close();
      throw err;
    }
  }
}

function validate(
  input: { fromMs: number; toMs: number; reason: string; caseId: string | null },
  maxMinutes: number,
) {
  checkRange(input.fromMs, input.toMs, maxMinutes * 60_000, 'an evidence export');
  if (input.reason.trim().length === 0 || input.reason.length > 1000)
    throw playbackError(
      'EVIDENCE_REQUEST_INVALID',
      'an evidence export needs a reason (1 to 1000 characters)',
    );
  if (input.caseId !== null && (input.caseId.length === 0 || input.caseId.length > 200))
    throw playbackError('EVIDENCE_REQUEST_INVALID', 'a case id has 1 to 200 characters');
}
