import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { PalisadeError, isPalisadeError } from '../errors/index.js';
import type { Checkpoint } from './checkpoint.js';
import type { AuditActor } from './event.js';
import type { AuditLog } from './log.js';
import { MAX_PAGE, type AuditQuery } from './query.js';
import { tarFolder } from './tar.js';

export interface AuditRoutesOptions {
  log: AuditLog;
  /** Who is asking: the authentication hook's subject, as an audit actor. */
  actorOf: (request: FastifyRequest) => AuditActor;
  /**
   * Where exports wait for their download: each server makes its own private folder inside (removed at
   * close), so two processes on one data dir never touch each other's exports.
   */
  workDir: string;
}

/** How long a prepared export waits for its download before it is deleted. */
const EXPORT_TTL_MS = 15 * 60_000;

/**
 * Auditor routes under /api/audit: events, checkpoints and proofs. Every route requires the
 * `audit.read` permission (enforced by the authorization hook the server registers in front), and reads
 * of the log are themselves audited before the answer goes out.
 *
 * Hashes in JSON are lower-case hex; checkpoint notes carry their root in base64, as C2SP specifies.
 */
export const auditRoutes: FastifyPluginAsync<AuditRoutesOptions> = async (app, { log, actorOf, workDir }) => {
  const config = { access: { permission: 'audit.read' } };
  const tags = ['audit'];
  const errors = { 400: { $ref: 'ErrorBody#' }, 404: { $ref: 'ErrorBody#' }, 409: { $ref: 'ErrorBody#' } };

  const record = async (
    request: FastifyRequest,
    action: 'audit.queried' | 'audit.proof.served' | 'audit.checkpoint.signed' | 'audit.exported',
    details: Record<string, string | number | boolean | null>,
  ) => {
    await log.append({
      action,
      outcome: 'success',
      actor: { address: request.ip, ...actorOf(request) },
      target: { type: 'audit-log', id: log.origin },
      details,
    });
  };

  app.get<{ Querystring: AuditQuery }>(
    '/api/audit/events',
    {
      config,
      schema: {
        summary: 'Query audit events (filters combine with AND; paginated by cursor)',
        tags,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { type: 'string', maxLength: 64, description: 'earliest time, inclusive (ISO 8601 or ms)' },
            to: { type: 'string', maxLength: 64, description: 'latest time, exclusive (ISO 8601 or ms)' },
            actorId: { type: 'string', maxLength: 256 },
            actionPrefix: { type: 'string', maxLength: 128, pattern: '^[a-z0-9.-]+$' },
            targetType: { type: 'string', maxLength: 64 },
            targetId: { type: 'string', maxLength: 256 },
            zone: { type: 'string', maxLength: 256 },
            outcome: { type: 'string', enum: ['success', 'denied', 'failure'] },
            limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 100 },
            cursor: { type: 'string', maxLength: 64 },
            order: { type: 'string', enum: ['asc', 'desc'], default: 'asc' },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['events'],
            properties: {
              events: { type: 'array', items: indexedEventSchema },
              nextCursor: { type: 'string' },
            },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const page = await log.query(request.query);
      await record(request, 'audit.queried', {
        filter: JSON.stringify({ ...request.query, cursor: undefined }),
        returned: page.events.length,
      });
      return page;
    },
  );

  app.get<{ Params: { index: number } }>(
    '/api/audit/events/:index',
    {
      config,
      schema: {
        summary: 'One audit event by its index in the log, with its leaf hash',
        tags,
        params: {
          type: 'object',
          required: ['index'],
          properties: { index: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
        },
        response: {
          200: {
            type: 'object',
            required: ['index', 'event', 'leafHash'],
            properties: { ...indexedEventSchema.properties, leafHash: hexHash },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const found = await log.get(request.params.index);
      if (!found)
        throw new PalisadeError('NOT_FOUND', `no audit event ${request.params.index}`, { status: 404 });
      await record(request, 'audit.queried', { index: request.params.index, returned: 1 });
      return found;
    },
  );

  app.get(
    '/api/audit/checkpoint',
    {
      config,
      schema: {
        summary: 'The latest signed checkpoint (C2SP tlog-checkpoint) and the key that signs them',
        tags,
        response: { 200: checkpointSchema, ...errors },
      },
    },
    async () => {
      const checkpoint = await log.latestCheckpoint();
      if (!checkpoint)
        throw new PalisadeError('NOT_FOUND', 'no checkpoint has been signed yet', { status: 404 });
      return checkpointBody(checkpoint, log.verifierKey);
    },
  );

  app.post(
    '/api/audit/checkpoint',
    {
      config,
      schema: {
        summary: 'Sign a checkpoint of the log as it is now (refused if inconsistent with an earlier one)',
        tags,
        response: { 200: checkpointSchema, ...errors },
      },
    },
    async (request) => {
      // Recorded first, so that the checkpoint covers its own request.
      await record(request, 'audit.checkpoint.signed', { onDemand: true });
      return checkpointBody(await log.signCheckpoint(), log.verifierKey);
    },
  );

  app.get<{ Querystring: { index: number; treeSize?: number } }>(
    '/api/audit/proofs/inclusion',
    {
      config,
      schema: {
        summary: 'RFC 9162 inclusion proof of one entry (default tree: the latest checkpoint covering it)',
        tags,
        querystring: {
          type: 'object',
          required: ['index'],
          additionalProperties: false,
          properties: {
            index: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            treeSize: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['index', 'treeSize', 'leafHash', 'rootHash', 'proof'],
            properties: {
              index: { type: 'integer' },
              treeSize: { type: 'integer' },
              leafHash: hexHash,
              rootHash: hexHash,
              proof: { type: 'array', items: hexHash, description: 'leaf level first' },
              checkpoint: checkpointSchema,
            },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const p = await log.inclusionProof(request.query.index, request.query.treeSize);
      await record(request, 'audit.proof.served', {
        kind: 'inclusion',
        index: p.index,
        treeSize: p.treeSize,
      });
      return {
        index: p.index,
        treeSize: p.treeSize,
        leafHash: p.leafHash.toString('hex'),
        rootHash: p.rootHash.toString('hex'),
        proof: p.proof.map((h) => h.toString('hex')),
        ...(p.checkpoint ? { checkpoint: checkpointBody(p.checkpoint, log.verifierKey) } : {}),
      };
    },
  );

  app.get<{ Querystring: { from: number; to: number } }>(
    '/api/audit/proofs/consistency',
    {
      config,
      schema: {
        summary: 'RFC 9162 consistency proof between two tree sizes',
        tags,
        querystring: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: {
            from: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
            to: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['size1', 'size2', 'root1', 'root2', 'proof'],
            properties: {
              size1: { type: 'integer' },
              size2: { type: 'integer' },
              root1: hexHash,
              root2: hexHash,
              proof: { type: 'array', items: hexHash },
              checkpoint1: checkpointSchema,
              checkpoint2: checkpointSchema,
            },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const p = await log.consistencyProof(request.query.from, request.query.to);
      await record(request, 'audit.proof.served', { kind: 'consistency', size1: p.size1, size2: p.size2 });
      return {
        size1: p.size1,
        size2: p.size2,
        root1: p.root1.toString('hex'),
        root2: p.root2.toString('hex'),
        proof: p.proof.map((h) => h.toString('hex')),
        ...(p.checkpoint1 ? { checkpoint1: checkpointBody(p.checkpoint1, log.verifierKey) } : {}),
        ...(p.checkpoint2 ? { checkpoint2: checkpointBody(p.checkpoint2, log.verifierKey) } : {}),
      };
    },
  );

  // ------------------------------------------------------------ verification and export on request

  app.post(
    '/api/audit/verify',
    {
      config,
      schema: {
        summary:
          'Verify the stored log now: recompute the tree from every entry against every signed checkpoint. With `Accept: application/x-ndjson` the answer streams progress lines before the report',
        tags,
        response: { 200: { type: 'object', properties: { report: verifyReportSchema } }, ...errors },
      },
    },
    async (request, reply) =>
      answer(request, reply, async (progress) => {
        progress(0, await log.size());
        const report = await log.verify(progress);
        await log.append({
          action: 'audit.verified',
          outcome: report.ok ? 'success' : 'failure',
          ...(report.ok ? {} : { reason: report.failure?.reason ?? 'verification failed' }),
          actor: { address: request.ip, ...actorOf(request) },
          target: { type: 'audit-log', id: log.origin },
          details: {
            entries: report.entries,
            checkpoints: report.checkpoints,
            treeSize: report.treeSize,
            firstBadIndex: report.failure?.index ?? null,
          },
        });
        return { report };
      }),
  );

  const exports = new Map<
    string,
    { owner: string; folder: string; dir: string; timer: NodeJS.Timeout; summary: Record<string, unknown> }
  >();
  let preparing = false;
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  const exportsDir = await mkdtemp(path.join(workDir, 'audit-exports-'));
  app.addHook('onClose', async () => {
    for (const e of exports.values()) clearTimeout(e.timer);
    exports.clear();
    await rm(exportsDir, { recursive: true, force: true });
  });

  app.post(
    '/api/audit/exports',
    {
      config,
      schema: {
        summary:
          'Prepare an export of the log for auditors (the same folder as `palisade audit export`), to download as a tar from the returned link within 15 minutes. With `Accept: application/x-ndjson` the answer streams progress lines first',
        tags,
        response: { 200: { type: 'object', properties: { export: exportSchema } }, ...errors },
      },
    },
    async (request, reply) => {
      if (preparing)
        throw new PalisadeError('AUDIT_EXPORT_BUSY', 'another export is being prepared; try again shortly', {
          status: 409,
        });
      preparing = true;
      return answer(
        request,
        reply,
        async (progress) => {
          const id = randomUUID();
          const folder = path.join(exportsDir, id);
          await mkdir(folder, { recursive: true, mode: 0o700 });
          try {
            // Recorded first, so that the export covers its own request.
            await record(request, 'audit.exported', { exportId: id });
            progress(0, await log.size());
            const summary = await log.exportTo(path.join(folder, 'export'), progress);
            const top = `palisade-audit-export-${summary.checkpoint.size}`;
            const tar = await tarFolder(summary.dir, top);
            const body = {
              id,
              treeSize: summary.checkpoint.size,
              rootHash: summary.checkpoint.rootHash.toString('hex'),
              entries: summary.entries,
              checkpoints: summary.checkpoints,
              bytes: tar.size,
              fileName: `${top}.tar`,
              download: `/api/audit/exports/${id}`,
              expiresAt: new Date(Date.now() + EXPORT_TTL_MS).toISOString(),
            };
            const timer = setTimeout(() => {
              exports.delete(id);
              void rm(folder, { recursive: true, force: true });
            }, EXPORT_TTL_MS);
            timer.unref();
            exports.set(id, { owner: actorOf(request).id, folder, dir: summary.dir, timer, summary: body });
            return { export: body };
          } catch (err) {
            await rm(folder, { recursive: true, force: true });
            throw err;
          }
        },
        () => {
          preparing = false;
        },
      );
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/audit/exports/:id',
    {
      config,
      schema: {
        summary: 'Download a prepared export as a tar archive (only by the person who prepared it)',
        tags,
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        response: {
          200: { description: 'application/x-tar', type: 'string', format: 'binary' },
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const found = exports.get(request.params.id);
      // Someone else's export is answered like a missing one: ids are not shared.
      if (!found || found.owner !== actorOf(request).id)
        throw new PalisadeError(
          'AUDIT_EXPORT_NOT_FOUND',
          'no such export, or it expired (exports are kept 15 minutes); prepare a new one',
          { status: 404 },
        );
      const tar = await tarFolder(found.dir, String(found.summary.fileName).replace(/\.tar$/, ''));
      return reply
        .header('content-disposition', `attachment; filename="${String(found.summary.fileName)}"`)
        .header('content-length', tar.size)
        .type('application/x-tar')
        .send(tar.stream());
    },
  );
};

function checkpointBody(c: Checkpoint, verifierKey: string) {
  return { origin: c.origin, size: c.size, rootHash: c.rootHash.toString('hex'), note: c.note, verifierKey };
}

const hexHash = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;

const checkpointSchema = {
  type: 'object',
  required: ['origin', 'size', 'rootHash', 'note', 'verifierKey'],
  properties: {
    origin: { type: 'string' },
    size: { type: 'integer' },
    rootHash: hexHash,
    note: { type: 'string', description: 'the signed note, byte for byte' },
    verifierKey: { type: 'string', description: 'name+keyid+base64 key that verifies the note' },
  },
} as const;

const textField = { type: 'string' } as const;

const indexedEventSchema = {
  type: 'object',
  required: ['index', 'event'],
  properties: {
    index: { type: 'integer' },
    event: {
      type: 'object',
      required: ['v', 'time', 'action', 'outcome', 'actor'],
      properties: {
        v: { type: 'integer' },
        time: { type: 'string', description: 'ISO 8601 UTC with milliseconds' },
        action: textField,
        outcome: { type: 'string', enum: ['success', 'denied', 'failure'] },
        actor: {
          type: 'object',
          required: ['type', 'id'],
          properties: {
            type: textField,
            id: textField,
            name: textField,
            auth: textField,
            address: textField,
          },
        },
        target: {
          type: 'object',
          required: ['type', 'id'],
          properties: { type: textField, id: textField, zone: textField },
        },
        reason: textField,
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

type ProgressFn = (done: number, total: number) => void;

/**
 * Runs a long operation and answers with its result. A client that accepts `application/x-ndjson` gets
 * the answer as a stream of lines instead: `{"progress":{"done","total"}}` while it runs, then the
 * result object, or `{"error":{"code","message"}}` if it failed after the stream began.
 */
async function answer(
  request: FastifyRequest,
  reply: FastifyReply,
  run: (progress: ProgressFn) => Promise<Record<string, unknown>>,
  done: () => void = () => undefined,
): Promise<unknown> {
  if (!(request.headers.accept ?? '').includes('application/x-ndjson')) {
    try {
      return await run(() => undefined);
    } finally {
      done();
    }
  }
  const out = new PassThrough();
  void reply.type('application/x-ndjson; charset=utf-8').send(out);
  let last = 0;
  const progress: ProgressFn = (d, total) => {
    const now = Date.now();
    // At most a few lines a second, plus the first and the last.
    if (d !== 0 && d < total && now - last < 250) return;
    last = now;
    out.write(`${JSON.stringify({ progress: { done: d, total } })}\n`);
  };
  void (async () => {
    try {
      out.end(`${JSON.stringify(await run(progress))}\n`);
    } catch (err) {
      if (!isPalisadeError(err) || err.status >= 500) request.log.error({ err }, 'streamed operation failed');
      const error = isPalisadeError(err)
        ? { code: err.code, message: err.message }
        : { code: 'INTERNAL_ERROR', message: `internal error (request ${request.id})` };
      out.end(`${JSON.stringify({ error })}\n`);
    } finally {
      done();
    }
  })();
  return reply;
}

const verifyReportSchema = {
  type: 'object',
  required: ['ok', 'log', 'origin', 'entries', 'checkpoints', 'treeSize', 'rootHash'],
  properties: {
    ok: { type: 'boolean' },
    log: { type: 'string' },
    origin: { type: 'string' },
    keys: { type: 'array', items: { type: 'string' } },
    keysFrom: { type: 'string' },
    entries: { type: 'integer' },
    checkpoints: { type: 'integer' },
    treeSize: { type: 'integer' },
    rootHash: { type: 'string', description: 'base64, as in checkpoint notes' },
    failure: {
      type: 'object',
      properties: { index: { type: ['integer', 'null'] }, reason: { type: 'string' } },
    },
  },
} as const;

const exportSchema = {
  type: 'object',
  required: ['id', 'treeSize', 'rootHash', 'entries', 'bytes', 'fileName', 'download', 'expiresAt'],
  properties: {
    id: { type: 'string' },
    treeSize: { type: 'integer' },
    rootHash: { type: 'string', description: 'hex' },
    entries: { type: 'integer' },
    checkpoints: { type: 'integer' },
    bytes: { type: 'integer', description: 'size of the tar archive' },
    fileName: { type: 'string' },
    download: { type: 'string', description: 'the link that downloads the archive' },
    expiresAt: { type: 'string' },
  },
} as const;
