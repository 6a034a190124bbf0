import type { AuditActor, AuditSink } from '../audit/index.js';
import type { Keyring } from '../keys/index.js';
import type { BlobStore } from '../storage/index.js';
import type { Camera, RetentionPolicy } from './cameras.js';
import type { SegmentIndex } from './segment-index.js';

export interface RetentionDeps {
  keyring: Keyring;
  store: BlobStore;
  index: SegmentIndex;
  audit: AuditSink;
}

/** The policy in force for a camera: its own limits, else its zone's, else the configured default. */
export function effectivePolicy(
  camera: Pick<Camera, 'retention' | 'zoneId'>,
  zone: RetentionPolicy | undefined,
  fallback: RetentionPolicy,
): RetentionPolicy {
  return {
    maxAgeDays: camera.retention.maxAgeDays ?? zone?.maxAgeDays ?? fallback.maxAgeDays,
    maxBytes: camera.retention.maxBytes ?? zone?.maxBytes ?? fallback.maxBytes,
  };
}

/**
 * Removes segments: crypto-shreds their data keys first (from that moment the video is unrecoverable,
 * whatever copies of the blob exist), then deletes the blobs and marks the rows. A crash in between
 * leaves rows whose keys are gone; `palisade check --repair` and the next retention pass finish them.
 * At most 1000 data keys per keys/ call; one audit event per camera and pass.
 */
export async function removeSegments(
  deps: RetentionDeps,
  segments: readonly { id: string; cameraId: string; zoneId: string; blobKey: string }[],
  how: { reason: 'retention' | 'user'; actor: AuditActor; details?: Record<string, string | number> },
): Promise<number> {
  let removed = 0;
  for (let i = 0; i < segments.length; i += 1000) {
    const batch = segments.slice(i, i + 1000);
    await deps.keyring.destroyDataKeys(
      batch.map((s) => s.id),
      { actor: how.actor },
    );
    for (const s of batch) await deps.store.delete(s.blobKey);
    await deps.index.markRemoved(
      batch.map((s) => s.id),
      'deleted',
      how.reason,
    );
    removed += batch.length;
  }
  const byCamera = new Map<string, { zone: string; ids: string[] }>();
  for (const s of segments) {
    const e = byCamera.get(s.cameraId) ?? { zone: s.zoneId, ids: [] };
    e.ids.push(s.id);
    byCamera.set(s.cameraId, e);
  }
  for (const [camera, e] of byCamera) {
    await deps.audit.append({
      action: how.reason === 'retention' ? 'recording.retention.enforced' : 'recording.deleted',
      outcome: 'success',
      actor: how.actor,
      target: { type: 'camera', id: camera, zone: e.zone },
      details: {
        segments: e.ids.length,
        first: e.ids[0]!,
        last: e.ids[e.ids.length - 1]!,
        ...(how.details ?? {}),
      },
    });
  }
  return removed;
}

/** Segments of one camera that its policy expires at `nowMs`: too old, or beyond the byte cap (oldest first). */
export async function expiredSegments(
  index: SegmentIndex,
  cameraId: string,
  policy: RetentionPolicy,
  nowMs: number,
): Promise<{ id: string; cameraId: string; zoneId: string; blobKey: string }[]> {
  const rows = await index.db
    .selectFrom('recording_segment')
    .select(['id', 'camera_id', 'zone_id', 'blob_key', 'start_ms', 'end_ms', 'sealed_bytes'])
    .where('camera_id', '=', cameraId)
    .where('state', '=', 'complete')
    .orderBy('start_ms', 'desc')
    .execute();
  const out: { id: string; cameraId: string; zoneId: string; blobKey: string }[] = [];
  let total = 0;
  const cutoff = policy.maxAgeDays === null ? -Infinity : nowMs - policy.maxAgeDays * 86_400_000;
  for (const r of rows) {
    total += Number(r.sealed_bytes ?? 0);
    const tooOld = Number(r.end_ms ?? r.start_ms) < cutoff;
    const overCap = policy.maxBytes !== null && total > policy.maxBytes;
    if (tooOld || overCap)
      out.push({ id: r.id, cameraId: r.camera_id, zoneId: r.zone_id, blobKey: r.blob_key });
  }
  return out.reverse();
}
