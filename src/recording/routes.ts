import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AuditActor } from '../audit/index.js';
import { CAMERA_ID_PATTERN, type Camera } from './cameras.js';
import { recordingError } from './errors.js';
import type { Recorder } from './recorder.js';

const Err = { $ref: 'ErrorBody#' };
const errors = { 400: Err, 401: Err, 403: Err, 404: Err, 409: Err };
const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

const Retention = Type.Object(
  {
    maxAgeDays: Type.Optional(
      Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 36_500 }), Type.Null()]),
    ),
    maxBytes: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
  },
  { additionalProperties: false },
);

const HealthBody = Type.Object({
  cameraId: Type.String(),
  state: Type.String({ description: 'stopped, starting, recording, reconnecting or failed' }),
  lastError: Type.Union([
    Type.Object({ code: Type.String(), message: Type.String(), at: Type.String() }),
    Type.Null(),
  ]),
  since: Type.String(),
  bitrate: Type.Number(),
  fps: Type.Number(),
  lastKeyFrameAt: Type.Union([Type.String(), Type.Null()]),
  video: Type.Union([
    Type.Object({ codec: Type.String(), width: Type.Integer(), height: Type.Integer() }),
    Type.Null(),
  ]),
  currentSegment: Type.Union([Type.String(), Type.Null()]),
  segmentsWritten: Type.Integer(),
  framesRecorded: Type.Integer(),
  reconnects: Type.Integer(),
  attempts: Type.Integer(),
  gaps: Type.Integer(),
  liveSubscribers: Type.Integer(),
  gapSecondsLast24h: Type.Number(),
});

const CameraBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  zoneId: Type.String(),
  streamUrl: Type.String(),
  transport: Type.String(),
  username: Type.Union([Type.String(), Type.Null()]),
  hasPassword: Type.Boolean({ description: 'credentials are write-only: never returned' }),
  tlsFingerprint: Type.Union([Type.String(), Type.Null()]),
  recordingMode: Type.String(),
  retention: Type.Object({
    maxAgeDays: Type.Union([Type.Number(), Type.Null()]),
    maxBytes: Type.Union([Type.Number(), Type.Null()]),
  }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  health: Type.Optional(HealthBody),
});

const SegmentBody = Type.Object({
  id: Type.String(),
  cameraId: Type.String(),
  start: Type.String(),
  end: Type.String(),
  mediaStart: Type.Number(),
  mediaEnd: Type.Number(),
  frames: Type.Integer(),
  keyFrames: Type.Array(Type.Array(Type.Number()), {
    description: '[mediaOffset90k, byteOffset] per key-frame fragment',
  }),
  codec: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
  bytes: Type.Number({ description: 'sealed size' }),
  sha256: Type.String({ description: 'SHA-256 of the sealed bytes' }),
  kekId: Type.String(),
  integrityIndex: Type.Number({ description: 'leaf index in the video integrity log' }),
  recovered: Type.Boolean(),
});

const Url = Type.String({ minLength: 8, maxLength: 2048, pattern: '^rtsps?://' });
const Fingerprint = Type.String({ pattern: '^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$' });

/** What the routes need from the layers above recording/ (access decides, identity knows the caller). */
export interface RecordingRouteDeps {
  recorder: Recorder;
  /** The zone's site, to build the camera resource access decides on. */
  siteOf(zoneId: string): Promise<string | undefined>;
  /** Camera ids, among `cameras`, on which the caller holds `camera.view`. */
  visible(request: FastifyRequest, cameras: { id: string; zoneId: string; siteId: string }[]): Set<string>;
  actor(request: FastifyRequest): AuditActor;
  /** A second permission a route needs beyond its declared one (403, audited, when missing). */
  requirePermission(
    request: FastifyRequest,
    permission: 'recording.manage',
    camera: { kind: 'camera'; id: string; zoneId: string; siteId: string; groupIds: string[] },
  ): Promise<void>;
  /** Dual approval: undefined when deleting recordings needs no second person. */
  approval?: {
    required(): boolean;
    request(
      request: FastifyRequest,
      input: { summary: string; payload: { cameraId: string; from: string; to: string } },
    ): Promise<{ id: string; expiresAt: string }>;
  };
}

function parseTime(value: string | undefined, name: string): number {
  if (value === undefined)
    throw recordingError('RECORDING_RANGE_INVALID', `${name} is required (ISO 8601 or ms since the epoch)`);
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(n)) throw recordingError('RECORDING_RANGE_INVALID', `${name} is not a time: ${value}`);
  return n;
}

export function recordingRoutes(deps: RecordingRouteDeps): FastifyPluginAsync {
  const { recorder } = deps;
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    const cameraResource = async (camera: Camera) => ({
      kind: 'camera' as const,
      id: camera.id,
      zoneId: camera.zoneId,
      siteId: (await deps.siteOf(camera.zoneId)) ?? '',
      groupIds: [] as string[],
    });
    const cameraTarget = async (request: FastifyRequest) => {
      const id = (request.params as { id: string }).id;
      const camera = await recorder.cameras.get(id);
      // An unknown camera is in no zone: only an all-scope caller gets through (and then a 404), so a
      // scoped caller cannot probe which camera ids exist elsewhere.
      if (!camera) return { kind: 'camera' as const, id, zoneId: '', siteId: '', groupIds: [] as string[] };
      return cameraResource(camera);
    };
    const withHealth = async (c: Camera) => ({
      ...c,
      health: { ...recorder.healthOf(c), gapSecondsLast24h: await recorder.gapSeconds(c.id) },
    });

    app.get(
      '/api/cameras',
      {
        config: { access: { permission: 'camera.view', target: 'some' } },
        schema: {
          summary: 'Cameras the caller can see, with their health',
          tags: ['cameras'],
          response: { 200: Type.Array(CameraBody), ...errors },
        },
      },
      async (request) => {
        const all = await recorder.cameras.list();
        const withSites = await Promise.all(
          all.map(async (c) => ({ id: c.id, zoneId: c.zoneId, siteId: (await deps.siteOf(c.zoneId)) ?? '' })),
        );
        const visible = deps.visible(request, withSites);
        return Promise.all(all.filter((c) => visible.has(c.id)).map(withHealth));
      },
    );

    app.post(
      '/api/cameras',
      {
        config: {
          access: {
            permission: 'camera.manage',
            target: async (request) => {
              const zoneId = (request.body as { zoneId?: unknown } | undefined)?.zoneId;
              if (typeof zoneId !== 'string')
                throw recordingError('CAMERA_INVALID', 'body/zoneId is required');
              const siteId = await deps.siteOf(zoneId);
              if (siteId === undefined) throw recordingError('ZONE_NOT_FOUND', `no zone ${zoneId}`);
              return { kind: 'zone' as const, id: zoneId, siteId };
            },
          },
        },
        schema: {
          summary: 'Add a camera (credentials are sealed and never returned)',
          tags: ['cameras'],
          body: Type.Object(
            {
              id: Type.Optional(Type.String({ pattern: CAMERA_ID_PATTERN })),
              name: Type.String({ minLength: 1, maxLength: 128 }),
              zoneId: Type.String({ minLength: 1, maxLength: 64 }),
              streamUrl: Url,
              transport: Type.Optional(Type.Union([Type.Literal('tcp'), Type.Literal('udp')])),
              username: Type.Optional(Nullable(Type.String({ maxLength: 256 }))),
              password: Type.Optional(Nullable(Type.String({ maxLength: 1024 }))),
              tlsFingerprint: Type.Optional(Nullable(Fingerprint)),
              recordingMode: Type.Optional(Type.Union([Type.Literal('continuous'), Type.Literal('off')])),
              retention: Type.Optional(Retention),
            },
            { additionalProperties: false },
          ),
          response: { 201: CameraBody, ...errors },
        },
      },
      async (request, reply) => {
        const b = request.body;
        const c = await recorder.createCamera(
          {
            ...b,
            ...(b.retention
              ? {
                  retention: {
                    maxAgeDays: b.retention.maxAgeDays ?? null,
                    maxBytes: b.retention.maxBytes ?? null,
                  },
                }
              : {}),
          },
          deps.actor(request),
        );
        return reply.status(201).send(await withHealth(c));
      },
    );

    app.get(
      '/api/cameras/:id',
      {
        config: { access: { permission: 'camera.view', target: cameraTarget } },
        schema: {
          summary: 'One camera with its health',
          tags: ['cameras'],
          params: IdParam,
          response: { 200: CameraBody, ...errors },
        },
      },
      async (request) => withHealth(await recorder.cameras.require(request.params.id)),
    );

    app.get(
      '/api/cameras/:id/health',
      {
        config: { access: { permission: 'camera.view', target: cameraTarget } },
        schema: {
          summary:
            'Recording health: state (recording, reconnecting, failed: why), bitrate, fps, last key frame, gaps',
          tags: ['cameras'],
          params: IdParam,
          response: { 200: HealthBody, ...errors },
        },
      },
      async (request) => (await withHealth(await recorder.cameras.require(request.params.id))).health,
    );

    app.patch(
      '/api/cameras/:id',
      {
        config: { access: { permission: 'camera.manage', target: cameraTarget } },
        schema: {
          summary: 'Change a camera (a retention change needs recording.manage too)',
          tags: ['cameras'],
          params: IdParam,
          body: Type.Object(
            {
              name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
              streamUrl: Type.Optional(Url),
              transport: Type.Optional(Type.Union([Type.Literal('tcp'), Type.Literal('udp')])),
              username: Type.Optional(Nullable(Type.String({ maxLength: 256 }))),
              password: Type.Optional(Nullable(Type.String({ maxLength: 1024 }))),
              tlsFingerprint: Type.Optional(Nullable(Fingerprint)),
              retention: Type.Optional(Retention),
            },
            { additionalProperties: false },
          ),
          response: { 200: CameraBody, ...errors },
        },
      },
      async (request) => {
        const b = request.body;
        const camera = await recorder.cameras.require(request.params.id);
        if (b.retention !== undefined) {
          // Retention decides how long evidence exists: the same permission as starting and stopping.
          await deps.requirePermission(request, 'recording.manage', await cameraResource(camera));
        }
        const c = await recorder.updateCamera(
          request.params.id,
          {
            ...b,
            ...(b.retention
              ? {
                  retention: {
                    ...(b.retention.maxAgeDays !== undefined ? { maxAgeDays: b.retention.maxAgeDays } : {}),
                    ...(b.retention.maxBytes !== undefined ? { maxBytes: b.retention.maxBytes } : {}),
                  },
                }
              : {}),
          },
          deps.actor(request),
        );
        return withHealth(c);
      },
    );

    app.delete(
      '/api/cameras/:id',
      {
        config: { access: { permission: 'camera.manage', target: cameraTarget } },
        schema: {
          summary: 'Remove a camera from the inventory (its recorded video stays, under retention)',
          tags: ['cameras'],
          params: IdParam,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (request, reply) => {
        await recorder.removeCamera(request.params.id, deps.actor(request));
        return reply.status(204).send(null);
      },
    );

    for (const action of ['start', 'stop'] as const) {
      app.post(
        `/api/cameras/:id/recording/${action}`,
        {
          config: { access: { permission: 'recording.manage', target: cameraTarget } },
          schema: {
            summary: `${action === 'start' ? 'Start' : 'Stop'} recording a camera`,
            tags: ['recording'],
            params: IdParam,
            response: { 200: CameraBody, ...errors },
          },
        },
        async (request) => {
          const actor = deps.actor(request);
          const c =
            action === 'start'
              ? await recorder.startRecording(request.params.id, actor)
              : await recorder.stopRecording(request.params.id, actor);
          return withHealth(c);
        },
      );
    }

    app.get(
      '/api/cameras/:id/segments',
      {
        config: { access: { permission: 'camera.view', target: cameraTarget } },
        schema: {
          summary: 'Recorded segments overlapping [from, to), oldest first, and the gaps in between',
          tags: ['recording'],
          params: IdParam,
          querystring: Type.Object({
            from: Type.String({ description: 'ISO 8601 or ms since the epoch' }),
            to: Type.String({ description: 'ISO 8601 or ms since the epoch' }),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 })),
          }),
          response: {
            200: Type.Object({
              segments: Type.Array(SegmentBody),
              gaps: Type.Array(
                Type.Object({
                  start: Type.String(),
                  end: Type.Union([Type.String(), Type.Null()]),
                  reason: Type.String(),
                }),
              ),
            }),
            ...errors,
          },
        },
      },
      async (request) => {
        const from = parseTime(request.query.from, 'from');
        const to = parseTime(request.query.to, 'to');
        if (!(to > from)) throw recordingError('RECORDING_RANGE_INVALID', '`to` must be after `from`');
        const segs = await recorder.segments(request.params.id, from, to, request.query.limit);
        const gaps = await recorder.gaps(request.params.id, from, to);
        return {
          segments: segs.map((s) => ({
            id: s.id,
            cameraId: s.cameraId,
            start: new Date(s.startMs).toISOString(),
            end: new Date(s.endMs ?? s.startMs).toISOString(),
            mediaStart: s.mediaStart,
            mediaEnd: s.mediaEnd ?? s.mediaStart,
            frames: s.frames ?? 0,
            keyFrames: s.keyFrames,
            codec: s.codec,
            width: s.width,
            height: s.height,
            bytes: s.sealedBytes ?? 0,
            sha256: s.sha256 ?? '',
            kekId: s.kekId,
            integrityIndex: s.integrityIndex ?? -1,
            recovered: s.recovered,
          })),
          gaps: gaps.map((g) => ({
            start: new Date(g.startMs).toISOString(),
            end: g.endMs === null ? null : new Date(g.endMs).toISOString(),
            reason: g.reason,
          })),
        };
      },
    );

    app.delete(
      '/api/cameras/:id/segments',
      {
        config: { access: { permission: 'recording.delete', target: cameraTarget } },
        schema: {
          summary:
            'Delete (crypto-shred) the whole segments inside [from, to); 202 when dual approval is required',
          tags: ['recording'],
          params: IdParam,
          querystring: Type.Object({ from: Type.String(), to: Type.String() }),
          response: {
            200: Type.Object({ deleted: Type.Integer() }),
            202: Type.Object({ approvalId: Type.String(), expiresAt: Type.String() }),
            ...errors,
          },
        },
      },
      async (request, reply) => {
        const from = parseTime(request.query.from, 'from');
        const to = parseTime(request.query.to, 'to');
        if (!(to > from)) throw recordingError('RECORDING_RANGE_INVALID', '`to` must be after `from`');
        const id = request.params.id;
        if (deps.approval?.required()) {
          const pending = await deps.approval.request(request, {
            summary: `delete recordings of camera ${id} from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}`,
            payload: { cameraId: id, from: new Date(from).toISOString(), to: new Date(to).toISOString() },
          });
          return reply.status(202).send({ approvalId: pending.id, expiresAt: pending.expiresAt });
        }
        const deleted = await recorder.deleteRecordings(id, from, to, deps.actor(request));
        return { deleted };
      },
    );

    app.get(
      '/api/recording/status',
      {
        config: { access: { permission: 'camera.view', target: 'some' } },
        schema: {
          summary: 'Recorder status: storage capacity and state, camera counts, active alarms',
          tags: ['recording'],
          response: { 200: Type.Any(), ...errors },
        },
      },
      async () => recorder.status(),
    );
  };
}
