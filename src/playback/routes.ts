import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
// Brings in the `wsHandler` route option (the plugin itself is registered by http/).
import type {} from '@fastify/websocket';
import type { WebSocket } from 'ws';
import type { AuditActor, AuditSink } from '../audit/index.js';
import { AgeEncryption } from '../keys/index.js';
import type { Logger } from '../log/index.js';
import type { Camera, Recorder } from '../recording/index.js';
import { playbackError } from './errors.js';
import type { EvidenceExport, EvidenceService } from './evidence/service.js';
import { serveLive } from './live.js';
import { initLength } from './timeline.js';
import { parseInstant, type Playback, type PlaybackService } from './service.js';

const Err = { $ref: 'ErrorBody#' };
const errors = { 400: Err, 401: Err, 403: Err, 404: Err, 409: Err };
const CameraParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const ExportParams = Type.Object({ exportId: Type.String({ minLength: 1, maxLength: 64 }) });
const Instant = (what: string) =>
  Type.String({ minLength: 1, maxLength: 64, description: `${what}: ISO 8601 or ms since the epoch` });
const Range = Type.Object({ from: Instant('start'), to: Instant('end') }, { additionalProperties: false });

type CameraResource = { kind: 'camera'; id: string; zoneId: string; siteId: string; groupIds: string[] };

/** What the routes need from the layers above playback/ (identity knows the caller, access decides). */
export interface PlaybackRouteDeps {
  playback: PlaybackService;
  evidence: EvidenceService;
  recorder: Recorder;
  audit: AuditSink;
  siteOf(zoneId: string): Promise<string | undefined>;
  actor(request: FastifyRequest): AuditActor;
  userId(request: FastifyRequest): string;
  /** Camera ids, among `cameras`, on which the caller holds `video.export` (for the export listing). */
  visible(request: FastifyRequest, cameras: { id: string; zoneId: string; siteId: string }[]): Set<string>;
  /** True when the caller signed in with a browser session cookie (not an API token). */
  browserSession(request: FastifyRequest): boolean;
  /** The origin users reach the console at (`https://host:port`). */
  publicOrigin(): string;
  /** Runs the request's access rule again (a live view re-checks its viewer periodically). */
  recheck(request: FastifyRequest): Promise<void>;
  /** Dual approval of evidence exports: undefined when the installation has none. */
  approval?: {
    required(): boolean;
    request(
      request: FastifyRequest,
      input: { summary: string; payload: { exportId: string } },
    ): Promise<{ id: string; expiresAt: string }>;
  };
  logger?: Logger;
}

const PlaybackBody = Type.Object({
  playback: Type.String({ description: 'playback id, as audited' }),
  camera: Type.String(),
  from: Type.String(),
  to: Type.String(),
  startsAt: Type.String({
    description: 'wall clock of the key frame playback starts at (at or before from)',
  }),
  expiresAt: Type.String({ description: 'the token stops working then: fetch a new playback' }),
  token: Type.String({ description: 'media requests carry it as ?token=' }),
  playlist: Type.String({ description: 'the same playback as an HLS playlist' }),
  runs: Type.Array(
    Type.Object({
      segments: Type.Array(
        Type.Object({
          id: Type.String(),
          url: Type.String({ description: 'media URL (byte ranges of the decrypted fMP4)' }),
          codec: Type.String(),
          mime: Type.String(),
          width: Type.Integer(),
          height: Type.Integer(),
          init: Type.Object({ offset: Type.Integer(), length: Type.Integer() }),
          gops: Type.Array(
            Type.Object({
              offset: Type.Integer(),
              length: Type.Integer(),
              start: Type.String({ description: 'wall clock of the key frame' }),
              duration: Type.Number({ description: 'seconds' }),
            }),
          ),
        }),
      ),
    }),
    { description: 'continuous stretches; a new run follows a gap or a change of stream parameters' },
  ),
});

const ExportBody = Type.Object({
  id: Type.String(),
  cameraId: Type.String(),
  zoneId: Type.String(),
  from: Type.String(),
  to: Type.String(),
  reason: Type.String(),
  caseId: Type.Union([Type.String(), Type.Null()]),
  requestedBy: Type.String(),
  requestedByName: Type.Union([Type.String(), Type.Null()]),
  state: Type.String({ description: 'pending-approval, running, ready or failed' }),
  approvalId: Type.Union([Type.String(), Type.Null()]),
  size: Type.Union([Type.Number(), Type.Null()]),
  sha256: Type.Union([Type.String(), Type.Null()], { description: 'SHA-256 of the signed manifest' }),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  completedAt: Type.Union([Type.String(), Type.Null()]),
});

/** `bytes=a-b`, `bytes=a-` or `bytes=-n` (one range; a multi-range request gets the whole body). */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return undefined;
  let start: number;
  let end: number;
  if (a === '') {
    start = Math.max(0, size - Number(b));
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function playbackRoutes(deps: PlaybackRouteDeps): FastifyPluginAsync {
  const { playback, evidence, recorder } = deps;
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    const resource = async (cameraId: string, zoneId: string): Promise<CameraResource> => ({
      kind: 'camera',
      id: cameraId,
      zoneId,
      siteId: zoneId ? ((await deps.siteOf(zoneId)) ?? '') : '',
      groupIds: [],
    });
    // An unknown camera is in no zone: only an all-scope caller gets through (then a 404), so a scoped
    // caller cannot probe which camera ids exist elsewhere.
    const cameraTarget = async (request: FastifyRequest) => {
      const id = (request.params as { id: string }).id;
      const camera = await recorder.cameras.get(id, { includeDeleted: true });
      return resource(id, camera?.zoneId ?? '');
    };
    const exportTarget = async (request: FastifyRequest) => {
      const id = (request.params as { exportId: string }).exportId;
      const e = await evidence.get(id);
      return resource(e?.cameraId ?? '', e?.zoneId ?? '');
    };
    const camera = async (id: string): Promise<Camera> => {
      const c = await recorder.cameras.get(id, { includeDeleted: true });
      if (!c) throw playbackError('PLAYBACK_NO_VIDEO', `no camera ${id}`);
      return c;
    };
    const range = (q: { from: string; to: string }) => ({
      fromMs: parseInstant(q.from, 'from'),
      toMs: parseInstant(q.to, 'to'),
    });
    const mediaUrl = (cameraId: string, token: string) => (segmentId: string) =>
      `/api/cameras/${encodeURIComponent(cameraId)}/media/${encodeURIComponent(segmentId)}?token=${token}`;
    const start = async (request: FastifyRequest, id: string, q: { from: string; to: string }) =>
      playback.startPlayback({
        camera: await camera(id),
        ...range(q),
        userId: deps.userId(request),
        actor: deps.actor(request),
      });
    const describe = (p: Playback) => {
      const url = mediaUrl(p.timeline.cameraId, p.token);
      const q = `from=${encodeURIComponent(iso(p.grant.fromMs))}&to=${encodeURIComponent(iso(p.grant.toMs))}`;
      return {
        playback: p.grant.id,
        camera: p.grant.cameraId,
        from: iso(p.grant.fromMs),
        to: iso(p.grant.toMs),
        startsAt: iso(p.timeline.startMs!),
        expiresAt: iso(p.grant.expiresMs),
        token: p.token,
        playlist: `/api/cameras/${encodeURIComponent(p.grant.cameraId)}/playback.m3u8?${q}`,
        runs: p.timeline.runs.map((run) => {
          const segments: {
            id: string;
            url: string;
            codec: string;
            mime: string;
            width: number;
            height: number;
            init: { offset: number; length: number };
            gops: { offset: number; length: number; start: string; duration: number }[];
          }[] = [];
          for (const g of run.gops) {
            let s = segments.at(-1);
            if (s?.id !== g.segment.id) {
              s = {
                id: g.segment.id,
                url: url(g.segment.id),
                codec: g.segment.codec,
                mime: `video/mp4; codecs="${g.segment.codec}"`,
                width: g.segment.width,
                height: g.segment.height,
                init: { offset: 0, length: initLength(g.segment) },
                gops: [],
              };
              segments.push(s);
            }
            s.gops.push({
              offset: g.offset,
              length: g.length,
              start: iso(g.wallMs),
              duration: g.duration / 90_000,
            });
          }
          return { segments };
        }),
      };
    };

    app.get(
      '/api/cameras/:id/playback',
      {
        config: { access: { permission: 'video.playback', target: cameraTarget } },
        schema: {
          summary:
            'Start playback of recorded video in [from, to): audited; returns the GOPs as byte ranges and a media token',
          tags: ['playback'],
          params: CameraParams,
          querystring: Range,
          response: { 200: PlaybackBody, ...errors },
        },
      },
      async (request) => describe(await start(request, request.params.id, request.query)),
    );

    app.get(
      '/api/cameras/:id/playback.m3u8',
      {
        config: { access: { permission: 'video.playback', target: cameraTarget } },
        schema: {
          summary: 'Start playback of recorded video in [from, to) as an HLS (fMP4, version 7) VOD playlist',
          tags: ['playback'],
          params: CameraParams,
          querystring: Range,
          response: { 200: Type.String(), ...errors },
        },
      },
      async (request, reply) => {
        const p = await start(request, request.params.id, request.query);
        return reply
          .type('application/vnd.apple.mpegurl')
          .send(playback.playlist(p, mediaUrl(p.grant.cameraId, p.token)));
      },
    );

    app.get(
      '/api/cameras/:id/media/:segmentId',
      {
        config: { access: { permission: 'video.playback', target: cameraTarget } },
        schema: {
          summary:
            'Decrypted fMP4 of a recorded segment, with HTTP Range support; needs the token of a playback covering it',
          tags: ['playback'],
          params: Type.Object({
            id: Type.String({ minLength: 1, maxLength: 64 }),
            segmentId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }),
          }),
          querystring: Type.Object(
            { token: Type.String({ minLength: 1, maxLength: 1024 }) },
            { additionalProperties: false },
          ),
          response: { 200: Type.Any(), 206: Type.Any(), ...errors, 416: Err },
        },
      },
      async (request, reply) => {
        const opened = await playback.openMedia({
          cameraId: request.params.id,
          segmentId: request.params.segmentId,
          token: request.query.token,
          userId: deps.userId(request),
        });
        const r = parseRange(request.headers.range, opened.size);
        if (r === 'unsatisfiable') {
          await opened.close();
          void reply.header('content-range', `bytes */${opened.size}`);
          throw playbackError('PLAYBACK_RANGE_NOT_SATISFIABLE', `the segment has ${opened.size} bytes`);
        }
        const startByte = r?.start ?? 0;
        const endByte = r?.end ?? opened.size - 1;
        void reply
          .header('accept-ranges', 'bytes')
          .header('cache-control', 'no-store')
          .header('content-length', endByte - startByte + 1)
          .type('video/mp4');
        if (r) void reply.status(206).header('content-range', `bytes ${startByte}-${endByte}/${opened.size}`);
        if (request.method === 'HEAD') {
          await opened.close();
          return reply.send();
        }
        const body = opened.stream(startByte, endByte + 1);
        async function* closing() {
          try {
            yield* body;
          } finally {
            await opened.close();
          }
        }
        return reply.send(Readable.from(closing()));
      },
    );

    app.get(
      '/api/cameras/:id/download',
      {
        config: { access: { permission: 'video.export', target: cameraTarget } },
        schema: {
          summary: 'Recorded video in [from, to) as one MP4 file (init + re-based fragments; gaps closed up)',
          tags: ['playback'],
          params: CameraParams,
          querystring: Range,
          response: { 200: Type.Any(), ...errors },
        },
      },
      async (request, reply) => {
        const { fromMs, toMs } = range(request.query);
        const c = await camera(request.params.id);
        const dl = await playback.download({ camera: c, fromMs, toMs, actor: deps.actor(request) });
        const name = `${c.id}_${iso(fromMs).replace(/[:.]/g, '')}_${iso(toMs).replace(/[:.]/g, '')}.mp4`;
        return reply
          .type('video/mp4')
          .header('cache-control', 'no-store')
          .header('content-disposition', `attachment; filename="${name}"`)
          .send(Readable.from(dl.stream));
      },
    );

    const refuseOrigin = async (request: FastifyRequest) => {
      const origin = request.headers.origin;
      const expected = deps.publicOrigin();
      const browser = deps.browserSession(request);
      if ((browser && origin !== expected) || (origin !== undefined && origin !== expected)) {
        const message = `a live view from origin ${JSON.stringify(origin ?? null)} is refused; the console's origin is ${expected}`;
        await deps.audit.append({
          action: 'access.denied',
          outcome: 'denied',
          actor: deps.actor(request),
          reason: message,
          details: { route: `GET ${request.routeOptions.url ?? ''}`, code: 'PLAYBACK_ORIGIN_REFUSED' },
        });
        throw playbackError('PLAYBACK_ORIGIN_REFUSED', message);
      }
    };

    app.route({
      method: 'GET',
      url: '/api/cameras/:id/live',
      config: { access: { permission: 'video.live', target: cameraTarget } },
      schema: {
        summary:
          'Live view (WebSocket upgrade): an init segment, then one fMP4 fragment per frame; see docs/playback.md',
        tags: ['playback'],
        params: CameraParams,
        response: { 101: Type.Any(), ...errors, 426: Err },
      },
      preHandler: async (request) => {
        // A plain GET gets the 426 below; an upgrade must come from the console's origin first.
        if (!request.ws) return;
        await refuseOrigin(request);
        const id = request.params.id;
        await camera(id);
        if (recorder.health(id) === undefined)
          throw playbackError('LIVE_NOT_AVAILABLE', `camera ${id} is not recording: no live view`);
      },
      handler: async () => {
        throw playbackError('LIVE_NOT_AVAILABLE', 'the live view is a WebSocket: send an Upgrade request', {
          status: 426,
        });
      },
      wsHandler: async (socket: WebSocket, request: FastifyRequest) => {
        const c = await camera((request.params as { id: string }).id);
        await serveLive(socket, {
          camera: c,
          actor: deps.actor(request),
          recorder,
          audit: playback.deps.audit,
          settings: playback.settings,
          recheck: () => deps.recheck(request),
          ...(deps.logger ? { logger: deps.logger } : {}),
        });
      },
    });

    const exportJson = (e: EvidenceExport) => e;

    app.post(
      '/api/cameras/:id/evidence',
      {
        config: { access: { permission: 'video.export', target: cameraTarget } },
        schema: {
          summary:
            'Request an evidence export of [from, to): 201 (running) or 202 (waiting for a second approval)',
          tags: ['evidence'],
          params: CameraParams,
          body: Type.Object(
            {
              from: Instant('start'),
              to: Instant('end'),
              reason: Type.String({ minLength: 1, maxLength: 1000 }),
              caseId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({ export: ExportBody }),
            202: Type.Object({
              export: ExportBody,
              approval: Type.Object({ id: Type.String(), expiresAt: Type.String() }),
            }),
            ...errors,
          },
        },
      },
      async (request, reply) => {
        const b = request.body;
        const c = await camera(request.params.id);
        const pending = deps.approval?.required() ?? false;
        const actor = deps.actor(request);
        const e = await evidence.request({
          camera: c,
          fromMs: parseInstant(b.from, 'from'),
          toMs: parseInstant(b.to, 'to'),
          reason: b.reason,
          caseId: b.caseId ?? null,
          actor,
          userId: deps.userId(request),
          pendingApproval: pending,
        });
        if (pending && deps.approval) {
          const approval = await deps.approval.request(request, {
            summary: `evidence export of camera ${c.id} from ${e.from} to ${e.to}: ${e.reason}`,
            payload: { exportId: e.id },
          });
          await evidence.setApproval(e.id, approval.id);
          return reply.status(202).send({ export: exportJson((await evidence.get(e.id))!), approval });
        }
        evidence.start(e.id, actor);
        return reply.status(201).send({ export: exportJson(e) });
      },
    );

    app.get(
      '/api/evidence',
      {
        config: { access: { permission: 'video.export', target: 'some' } },
        schema: {
          summary: 'Evidence exports of cameras the caller may export, newest first',
          tags: ['evidence'],
          response: { 200: Type.Array(ExportBody), ...errors },
        },
      },
      async (request) => {
        const all = await evidence.list();
        const cams = await Promise.all(
          [...new Set(all.map((e) => `${e.cameraId}\n${e.zoneId}`))].map(async (k) => {
            const [id, zoneId] = k.split('\n') as [string, string];
            return { id, zoneId, siteId: (await deps.siteOf(zoneId)) ?? '' };
          }),
        );
        const visible = deps.visible(request, cams);
        return all.filter((e) => visible.has(e.cameraId)).map(exportJson);
      },
    );

    app.get(
      '/api/evidence/:exportId',
      {
        config: { access: { permission: 'video.export', target: exportTarget } },
        schema: {
          summary: 'One evidence export and its state',
          tags: ['evidence'],
          params: ExportParams,
          response: { 200: ExportBody, ...errors },
        },
      },
      async (request) => {
        const e = await evidence.get(request.params.exportId);
        if (!e) throw playbackError('EVIDENCE_NOT_FOUND', `no evidence export ${request.params.exportId}`);
        return exportJson(e);
      },
    );

    app.get(
      '/api/evidence/:exportId/package',
      {
        config: { access: { permission: 'video.export', target: exportTarget } },
        schema: {
          summary:
            'Download a ready evidence package (ZIP), or with `recipients` the package encrypted to them (age v1); audited',
          tags: ['evidence'],
          params: ExportParams,
          querystring: Type.Object(
            {
              recipients: Type.Optional(
                Type.String({
                  minLength: 1,
                  maxLength: 8192,
                  description:
                    'comma-separated age X25519 recipients (age1…): the package is encrypted to them',
                }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Any(), ...errors },
        },
      },
      async (request, reply) => {
        // Recipients are checked before the package is opened: a typo costs nothing.
        const recipients = request.query.recipients?.split(',').map((r) => r.trim());
        const encryption = recipients ? AgeEncryption.to(recipients) : undefined;
        const opened = await evidence.open(request.params.exportId);
        const e = opened.export;
        const size = encryption ? encryption.encryptedSize(opened.size) : opened.size;
        await deps.audit.append({
          action: 'evidence.export.downloaded',
          outcome: 'success',
          actor: deps.actor(request),
          target: { type: 'camera', id: e.cameraId, zone: e.zoneId },
          details: {
            export: e.id,
            from: e.from,
            to: e.to,
            bytes: size,
            ...(recipients ? { encryptedTo: recipients } : {}),
          },
        });
        return reply
          .type(encryption ? 'application/octet-stream' : 'application/zip')
          .header('cache-control', 'no-store')
          .header('content-length', size)
          .header(
            'content-disposition',
            `attachment; filename="evidence-${e.id}.zip${encryption ? '.age' : ''}"`,
          )
          .send(Readable.from(encryption ? encryption.encrypt(opened.stream) : opened.stream));
      },
    );
  };
}
