import { createHash } from 'node:crypto';
import { isPalisadeError } from '../errors/index.js';
import type { Keyring } from '../keys/index.js';
import type { BlobStore } from '../storage/index.js';
import { leafBytes, type IntegrityLeaf, type VideoIntegrityLog } from './integrity.js';
import { recoverSegments } from './recovery.js';
import { toSegment, type Segment, type SegmentIndex } from './segment-index.js';

export type CheckProblemKind =
  | 'blob-missing'
  | 'blob-size'
  | 'blob-hash'
  | 'blob-unreadable'
  | 'key-destroyed'
  | 'not-in-integrity-log'
  | 'integrity-mismatch'
  | 'integrity-orphan'
  | 'open-segment'
  | 'orphan-blob'
  | 'deleted-blob-present'
  | 'pending-blob';

export interface CheckProblem {
  kind: CheckProblemKind;
  message: string;
  segment?: string;
  blobKey?: string;
  repaired: boolean;
}

export interface CheckReport {
  segments: number;
  blobs: number;
  integrityEntries: number;
  problems: CheckProblem[];
  /** No problem left unrepaired. */
  clean: boolean;
}

export interface CheckDeps {
  keyring: Keyring;
  store: BlobStore;
  index: SegmentIndex;
  integrity: VideoIntegrityLog;
}

/**
 * `palisade check`: the segment index, the blobs and the video integrity log must agree. Every complete
 * segment's blob exists with the indexed size and SHA-256 and opens under its data key; its leaf in the
 * integrity log says exactly what the index says; every leaf names an indexed segment; no blob is
 * unaccounted for. With `repair`, what can be repaired safely is: open segments are recovered, blobs of
 * deleted segments and pending leftovers are removed, a segment whose key retention already destroyed is
 * finished off. Video that might still be evidence is never deleted on a guess: a complete segment whose
 * blob is damaged is reported, not removed.
 */
export async function checkRecordings(
  deps: CheckDeps,
  options: { repair?: boolean } = {},
): Promise<CheckReport> {
  const repair = options.repair === true;
  const problems: CheckProblem[] = [];
  const add = (p: Omit<CheckProblem, 'repaired'>, repaired = false) => problems.push({ ...p, repaired });

  // Open segments: a recorder that is not running left them; recovery ends or discards them.
  const open = await deps.index.byState('open');
  if (open.length > 0) {
    if (repair) await recoverSegments(deps);
    for (const s of open) {
      add(
        {
          kind: 'open-segment',
          segment: s.id,
          blobKey: s.blobKey,
          message: `segment ${s.id} was left open by a recorder that stopped`,
        },
        repair,
      );
    }
  }

  const rows = (await deps.index.db.selectFrom('recording_segment').selectAll().execute()).map(toSegment);
  const byId = new Map(rows.map((s) => [s.id, s]));
  const byBlob = new Map(rows.map((s) => [s.blobKey, s]));
  const complete = rows.filter((s) => s.state === 'complete');

  for (const s of complete) await checkSegment(deps, s, add, repair);

  // The integrity log: every leaf names a segment the index knows, saying the same thing.
  const size = await deps.integrity.size();
  const seen = new Set<string>();
  for await (const e of deps.integrity.entries(0, size)) {
    let leaf: IntegrityLeaf;
    try {
      leaf = JSON.parse(e.data.toString('utf8')) as IntegrityLeaf;
    } catch {
      add({ kind: 'integrity-mismatch', message: `integrity log entry ${e.index} is not a segment leaf` });
      continue;
    }
    const s = byId.get(leaf.segment);
    if (!s) {
      add({
        kind: 'integrity-orphan',
        message: `integrity log entry ${e.index} names segment ${leaf.segment}, which the index does not have`,
      });
      continue;
    }
    seen.add(s.id);
    if (s.state !== 'complete') continue; // deleted later (retention, user): the leaf still proves it existed
    if (s.integrityIndex !== e.index || !e.data.equals(leafBytes(leafOf(s)))) {
      add({
        kind: 'integrity-mismatch',
        segment: s.id,
        message: `segment ${s.id}: the index and integrity log entry ${e.index} disagree`,
      });
    }
  }
  for (const s of complete) {
    if (!seen.has(s.id))
      add({
        kind: 'not-in-integrity-log',
        segment: s.id,
        message: `segment ${s.id} has no leaf in the integrity log`,
      });
  }

  // Blobs nobody accounts for, and blobs of deleted segments.
  let blobs = 0;
  for await (const b of deps.store.list('')) {
    blobs++;
    const s = byBlob.get(b.key);
    if (s?.state === 'complete') continue;
    if (s && (s.state === 'deleted' || s.state === 'discarded')) {
      if (repair) {
        await deps.keyring.destroyDataKeys([s.id]).catch(() => undefined);
        await deps.store.delete(b.key);
      }
      add(
        {
          kind: 'deleted-blob-present',
          segment: s.id,
          blobKey: b.key,
          message: `blob of ${s.state} segment ${s.id} is still stored`,
        },
        repair,
      );
      continue;
    }
    if (!s) {
      // Undecryptable without a live data key: only then is it safe to remove.
      const objectId = b.key
        .split('/')
        .pop()!
        .replace(/\.pseg$/, '');
      const key = await deps.keyring.dataKeyInfo(objectId).catch(() => undefined);
      const removable = key === undefined || key.destroyedAt !== null;
      if (repair && removable) await deps.store.delete(b.key);
      add(
        {
          kind: 'orphan-blob',
          blobKey: b.key,
          message: `blob ${b.key} belongs to no indexed segment${removable ? '' : ' (its data key is live: kept for inspection)'}`,
        },
        repair && removable,
      );
    }
  }
  for (const key of await deps.store.pending()) {
    if (open.some((s) => s.blobKey === key)) continue;
    if (repair) await (await deps.store.resume(key)).abort();
    add(
      { kind: 'pending-blob', blobKey: key, message: `an unfinished blob ${key} belongs to no open segment` },
      repair,
    );
  }

  return {
    segments: rows.length,
    blobs,
    integrityEntries: size,
    problems,
    clean: problems.every((p) => p.repaired),
  };
}

function leafOf(s: Segment): IntegrityLeaf {
  return {
    v: 1,
    camera: s.cameraId,
    segment: s.id,
    start: new Date(s.startMs).toISOString(),
    end: new Date(s.endMs ?? s.startMs).toISOString(),
    sha256: s.sha256 ?? '',
    size: s.sealedBytes ?? 0,
  };
}

async function checkSegment(
  deps: CheckDeps,
  s: Segment,
  add: (p: Omit<CheckProblem, 'repaired'>, repaired?: boolean) => void,
  repair: boolean,
): Promise<void> {
  const info = await deps.store.stat(s.blobKey);
  const key = await deps.keyring.dataKeyInfo(s.id).catch(() => undefined);
  if (key?.destroyedAt) {
    // Retention (or a deletion) destroyed the key and stopped before deleting the blob and the row.
    if (repair) {
      await deps.store.delete(s.blobKey);
      await deps.index.markRemoved([s.id], 'deleted', 'retention');
    }
    add(
      {
        kind: 'key-destroyed',
        segment: s.id,
        blobKey: s.blobKey,
        message: `segment ${s.id}: its data key was destroyed; the deletion was not finished`,
      },
      repair,
    );
    return;
  }
  if (!info) {
    add({
      kind: 'blob-missing',
      segment: s.id,
      blobKey: s.blobKey,
      message: `segment ${s.id}: blob ${s.blobKey} is missing`,
    });
    return;
  }
  if (info.size !== s.sealedBytes) {
    add({
      kind: 'blob-size',
      segment: s.id,
      blobKey: s.blobKey,
      message: `segment ${s.id}: blob is ${info.size} bytes, the index says ${s.sealedBytes}`,
    });
    return;
  }
  const src = await deps.store.open(s.blobKey);
  try {
    const h = createHash('sha256');
    const step = 4 * 1024 * 1024;
    for (let off = 0; off < src.size; off += step)
      h.update(await src.read(off, Math.min(step, src.size - off)));
    if (h.digest('hex') !== s.sha256) {
      add({
        kind: 'blob-hash',
        segment: s.id,
        blobKey: s.blobKey,
        message: `segment ${s.id}: SHA-256 of the blob differs from the index (modified after recording)`,
      });
      return;
    }
    await deps.keyring.openObject({ objectId: s.id, cameraId: s.cameraId, source: src });
  } catch (err) {
    add({
      kind: 'blob-unreadable',
      segment: s.id,
      blobKey: s.blobKey,
      message: `segment ${s.id}: ${isPalisadeError(err) ? `${err.code}: ` : ''}${(err as Error).message}`,
    });
  } finally {
    await src.close();
  }
}
