import { sql } from 'kysely';
import { PalisadeError } from '../errors/index.js';
import { keyError } from './errors.js';
import { now, rowToKek, type KekVersion, type KeysContext } from './data-keys.js';
import type { ActionContext } from './events.js';
import type { RewrapJobState } from './tables.js';
import { dekContext } from './wrapped-key.js';

export interface RewrapJob {
  jobId: string;
  kekId: string;
  targetVersion: number;
  state: RewrapJobState;
  total: number;
  done: number;
  failed: number;
  startedAt: string;
  updatedAt: string;
  completedAt: string | null;
}

export interface RewrapProgress {
  jobId: string;
  kekId: string;
  targetVersion: number;
  done: number;
  failed: number;
  total: number;
}

export interface RewrapOptions extends ActionContext {
  /** Data keys per batch (one transaction each); default 500. */
  batchSize?: number;
  /** Called after every committed batch. */
  onProgress?: (progress: RewrapProgress) => void;
  /** Stops after the current batch; the job stays `running` and resumes on the next call. */
  signal?: AbortSignal;
}

export interface RewrapResult {
  /** `completed`, or `paused` when stopped by the signal, or `none` when no job was running. */
  outcome: 'completed' | 'paused' | 'none';
  job?: RewrapJob;
}

export function rowToJob(row: {
  job_id: string;
  kek_id: string;
  target_version: number;
  state: RewrapJobState;
  total: number;
  done: number;
  failed: number;
  started_at: string;
  updated_at: string;
  completed_at: string | null;
}): RewrapJob {
  return {
    jobId: row.job_id,
    kekId: row.kek_id,
    targetVersion: row.target_version,
    state: row.state,
    total: row.total,
    done: row.done,
    failed: row.failed,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    completedAt: row.completed_at,
  };
}

/**
 * Re-wraps every live data key of `kekId` that sits below the job's target version onto the target
 * version, in batches. Video is never touched: only the 62-byte wrapped keys change.
 *
 * Resumable by construction: a batch's new wrapped keys, their version and the job's progress commit
 * in one transaction, and the next batch is simply "the keys still below the target", so a process
 * killed at any point resumes where the database says it was. A key that cannot be opened (its old
 * KEK gone, or the wrapped bytes damaged) is marked with the error and skipped, never retried forever.
 * Two processes running the same job cannot corrupt anything: each update is conditional on the
 * version it read, so the slower one's work is discarded.
 */
export async function runRewrap(
  ctx: KeysContext,
  kekId: string,
  options: RewrapOptions = {},
): Promise<RewrapResult> {
  if (ctx.rewrapping.has(kekId)) {
    throw keyError('REWRAP_RUNNING', `a re-wrap of "${kekId}" is already running in this process`);
  }
  ctx.rewrapping.add(kekId);
  try {
    return await rewrapLoop(ctx, kekId, options);
  } finally {
    ctx.rewrapping.delete(kekId);
  }
}

async function rewrapLoop(ctx: KeysContext, kekId: string, options: RewrapOptions): Promise<RewrapResult> {
  const jobRow = await ctx.db
    .selectFrom('key_rewrap_job')
    .selectAll()
    .where('kek_id', '=', kekId)
    .where('state', '=', 'running')
    .executeTakeFirst();
  if (!jobRow) return { outcome: 'none' };
  let job = rowToJob(jobRow);
  const batchSize = Math.max(1, Math.min(options.batchSize ?? 500, 5000));
  const versions = new Map<number, KekVersion>();
  for (const row of await ctx.db.selectFrom('key_kek').selectAll().where('kek_id', '=', kekId).execute()) {
    versions.set(row.version, rowToKek(row));
  }
  const target = versions.get(job.targetVersion);
  const overtaken = async (): Promise<RewrapResult> => {
    // A newer rotation or a destruction overtook this job: it has nothing left to do.
    await ctx.db
      .updateTable('key_rewrap_job')
      .set({ state: 'superseded', updated_at: now() })
      .where('job_id', '=', job.jobId)
      .where('state', '=', 'running')
      .execute();
    return { outcome: 'none', job: { ...job, state: 'superseded' } };
  };
  if (target?.state !== 'active') return overtaken();
  const targetProvider = ctx.providerFor(target.provider);

  await ctx.audit({
    action: 'keys.rewrap.started',
    outcome: 'success',
    ...actorOf(options),
    target: { type: 'kek', id: kekId, zone: kekId },
    details: {
      jobId: job.jobId,
      targetVersion: job.targetVersion,
      total: job.total,
      done: job.done,
      resumed: job.done + job.failed > 0,
    },
  });

  for (;;) {
    if (options.signal?.aborted) return { outcome: 'paused', job };
    const targetNow = await ctx.db
      .selectFrom('key_kek')
      .select('state')
      .where('kek_id', '=', kekId)
      .where('version', '=', job.targetVersion)
      .executeTakeFirst();
    if (targetNow?.state !== 'active') return overtaken();
    const rows = await ctx.db
      .selectFrom('key_data_key')
      .select(['object_id', 'kek_version', 'wrapped'])
      .where('kek_id', '=', kekId)
      .where('kek_version', '<', job.targetVersion)
      .where('destroyed_at', 'is', null)
      .where('rewrap_error', 'is', null)
      .orderBy('object_id')
      .limit(batchSize)
      .execute();
    if (rows.length === 0) break;

    const results = await Promise.all(
      rows.map(async (row) => {
        const from = row.kek_version;
        try {
          const old = versions.get(from);
          if (!old || old.state === 'destroyed') {
            throw keyError('KEK_DESTROYED', `key-encryption key "${kekId}" v${from} is destroyed`);
          }
          if (row.wrapped === null) throw keyError('DEK_DESTROYED', 'no wrapped key');
          const dek = await ctx
            .providerFor(old.provider)
            .unwrapDek(old.providerRef, row.wrapped, dekContext(kekId, from, row.object_id));
          try {
            const wrapped = await targetProvider.wrapDek(
              target.providerRef,
              dek,
              dekContext(kekId, target.version, row.object_id),
            );
            return { objectId: row.object_id, from, wrapped };
          } finally {
            dek.fill(0);
          }
        } catch (err) {
          // A provider that is down must stop the job (and leave it resumable), not mark every key.
          if (
            !(err instanceof PalisadeError) ||
            !['DEK_UNWRAP_FAILED', 'KEK_DESTROYED', 'KEK_NOT_FOUND', 'DEK_DESTROYED'].includes(err.code)
          ) {
            throw err;
          }
          return { objectId: row.object_id, from, error: err.code };
        }
      }),
    );

    const stamp = now();
    const counts = await ctx.db.transaction().execute(async (trx) => {
      const rewrapped = results.flatMap((r) => ('wrapped' in r ? [r] : []));
      let done = 0;
      let failed = 0;
      if (ctx.dialect === 'postgres' && rewrapped.length > 0) {
        // One statement per batch saves a round trip per key. Conditional on the version each key
        // was read at, so a concurrent change (another job, a destruction) is never overwritten.
        const values = sql.join(
          rewrapped.map((r) => sql`(${r.objectId}, cast(${r.from} as integer), cast(${r.wrapped} as bytea))`),
        );
        const res = await sql`update key_data_key
            set kek_version = ${job.targetVersion}, wrapped = v.column3, rewrapped_at = ${stamp}
            from (values ${values}) as v
            where key_data_key.object_id = v.column1
              and key_data_key.kek_version = v.column2
              and key_data_key.destroyed_at is null`.execute(trx);
        done = Number(res.numAffectedRows ?? 0n);
      } else {
        // SQLite runs in process: one indexed update per key is cheap (and its planner would scan
        // the table for an UPDATE … FROM VALUES).
        for (const r of rewrapped) {
          const res = await trx
            .updateTable('key_data_key')
            .set({ kek_version: job.targetVersion, wrapped: r.wrapped, rewrapped_at: stamp })
            .where('object_id', '=', r.objectId)
            .where('kek_version', '=', r.from)
            .where('destroyed_at', 'is', null)
            .executeTakeFirst();
          done += Number(res.numUpdatedRows);
        }
      }
      for (const r of results) {
        if ('wrapped' in r) continue;
        const res = await trx
          .updateTable('key_data_key')
          .set({ rewrap_error: r.error })
          .where('object_id', '=', r.objectId)
          .where('kek_version', '=', r.from)
          .where('destroyed_at', 'is', null)
          .executeTakeFirst();
        failed += Number(res.numUpdatedRows);
      }
      await trx
        .updateTable('key_rewrap_job')
        .set((eb) => ({
          done: eb('done', '+', done),
          failed: eb('failed', '+', failed),
          updated_at: stamp,
        }))
        .where('job_id', '=', job.jobId)
        .execute();
      return { done, failed };
    });
    job = { ...job, done: job.done + counts.done, failed: job.failed + counts.failed, updatedAt: stamp };
    options.onProgress?.({
      jobId: job.jobId,
      kekId,
      targetVersion: job.targetVersion,
      done: job.done,
      failed: job.failed,
      total: Math.max(job.total, job.done + job.failed),
    });
  }

  const completedAt = now();
  const total = Math.max(job.total, job.done + job.failed);
  await ctx.db
    .updateTable('key_rewrap_job')
    .set({ state: 'completed', completed_at: completedAt, updated_at: completedAt, total })
    .where('job_id', '=', job.jobId)
    .where('state', '=', 'running')
    .execute();
  job = { ...job, state: 'completed', completedAt, total };
  await ctx.audit({
    action: 'keys.rewrap.completed',
    outcome: job.failed > 0 ? 'failure' : 'success',
    ...actorOf(options),
    target: { type: 'kek', id: kekId, zone: kekId },
    ...(job.failed > 0
      ? { reason: `${job.failed} data keys could not be opened and keep their old KEK version` }
      : {}),
    details: {
      jobId: job.jobId,
      targetVersion: job.targetVersion,
      done: job.done,
      failed: job.failed,
      total,
    },
  });
  return { outcome: 'completed', job };
}

function actorOf(options: ActionContext): ActionContext {
  return options.actor ? { actor: options.actor } : {};
}
