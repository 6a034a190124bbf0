import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AuditActor, AuditSink } from '../audit/index.js';
import { PalisadeError } from '../errors/index.js';
import { ID_PATTERN, parseSlVector, type ZoneDirectory } from './zones.js';

const Err = { $ref: 'ErrorBody#' };
const errors = { 400: Err, 401: Err, 403: Err, 404: Err, 409: Err };
const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const SlVector = Type.Array(Type.Integer({ minimum: 0, maximum: 4 }), {
  minItems: 7,
  maxItems: 7,
  description: 'FR1..FR7',
});
const SiteBody = Type.Object({ id: Type.String(), name: Type.String(), description: Type.String() });
const ZoneBody = Type.Object({
  id: Type.String(),
  siteId: Type.String(),
  name: Type.String(),
  description: Type.String(),
  slTarget: SlVector,
});

/**
 * What the routes need from the layers above network/: the zones the caller may see (access decides)
 * and who the caller is for the audit log (identity knows).
 */
export interface NetworkRouteDeps {
  zones: ZoneDirectory;
  audit: AuditSink;
  /** Ids of the zones the caller holds `zone.view` on, among `zones`. */
  visible(request: FastifyRequest, zones: { id: string; siteId: string }[]): Set<string>;
  actor(request: FastifyRequest): AuditActor;
}

export function networkRoutes(deps: NetworkRouteDeps): FastifyPluginAsync {
  const { zones, audit } = deps;
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/api/sites',
      {
        config: { access: { permission: 'zone.view', target: 'some' } },
        schema: {
          summary: 'Sites the caller can see',
          tags: ['zones'],
          response: { 200: Type.Array(SiteBody), ...errors },
        },
      },
      async (request) => {
        const all = await zones.listZones();
        const visible = deps.visible(request, all);
        const siteIds = new Set(all.filter((z) => visible.has(z.id)).map((z) => z.siteId));
        return (await zones.listSites()).filter((s) => siteIds.has(s.id));
      },
    );

    app.post(
      '/api/sites',
      {
        config: { access: { permission: 'zone.manage' } },
        schema: {
          summary: 'Create a site',
          tags: ['zones'],
          body: Type.Object(
            {
              id: Type.String({ pattern: ID_PATTERN }),
              name: Type.String({ minLength: 1, maxLength: 128 }),
              description: Type.String({ maxLength: 1000, default: '' }),
            },
            { additionalProperties: false },
          ),
          response: { 201: SiteBody, ...errors },
        },
      },
      async (request, reply) => {
        const site = await zones.createSite(request.body);
        await audit.append({
          action: 'site.created',
          outcome: 'success',
          actor: deps.actor(request),
          target: { type: 'site', id: site.id },
        });
        return reply.status(201).send(site);
      },
    );

    app.get(
      '/api/zones',
      {
        config: { access: { permission: 'zone.view', target: 'some' } },
        schema: {
          summary: 'Zones the caller can see, with their target security levels',
          tags: ['zones'],
          response: { 200: Type.Array(ZoneBody), ...errors },
        },
      },
      async (request) => {
        const all = await zones.listZones();
        const visible = deps.visible(request, all);
        return all.filter((z) => visible.has(z.id));
      },
    );

    const zoneTarget = async (request: FastifyRequest) => {
      const id = (request.params as { id: string }).id;
      const zone = await zones.getZone(id);
      if (!zone) throw new PalisadeError('ZONE_NOT_FOUND', `no zone ${id}`, { status: 404 });
      return { kind: 'zone' as const, id: zone.id, siteId: zone.siteId };
    };

    app.get(
      '/api/zones/:id',
      {
        config: { access: { permission: 'zone.view', target: zoneTarget } },
        schema: {
          summary: 'One zone',
          tags: ['zones'],
          params: IdParam,
          response: { 200: ZoneBody, ...errors },
        },
      },
      async (request) => (await zones.getZone(request.params.id))!,
    );

    app.post(
      '/api/zones',
      {
        config: {
          access: {
            permission: 'zone.manage',
            target: async (request) => {
              const siteId = (request.body as { siteId?: unknown } | undefined)?.siteId;
              if (typeof siteId !== 'string')
                throw new PalisadeError('REQUEST_INVALID', 'body/siteId is required', { status: 400 });
              const site = await zones.getSite(siteId);
              if (!site) throw new PalisadeError('SITE_NOT_FOUND', `no site ${siteId}`, { status: 404 });
              return { kind: 'site' as const, id: site.id };
            },
          },
        },
        schema: {
          summary: 'Create a zone in a site with its target security level vector',
          tags: ['zones'],
          body: Type.Object(
            {
              id: Type.String({ pattern: ID_PATTERN }),
              siteId: Type.String({ pattern: ID_PATTERN }),
              name: Type.String({ minLength: 1, maxLength: 128 }),
              description: Type.String({ maxLength: 1000, default: '' }),
              slTarget: SlVector,
            },
            { additionalProperties: false },
          ),
          response: { 201: ZoneBody, ...errors },
        },
      },
      async (request, reply) => {
        const zone = await zones.createZone({
          ...request.body,
          slTarget: parseSlVector(request.body.slTarget),
        });
        await audit.append({
          action: 'zone.created',
          outcome: 'success',
          actor: deps.actor(request),
          target: { type: 'zone', id: zone.id, zone: zone.id },
          details: { siteId: zone.siteId, slTarget: zone.slTarget },
        });
        return reply.status(201).send(zone);
      },
    );

    app.patch(
      '/api/zones/:id',
      {
        config: { access: { permission: 'zone.manage', target: zoneTarget } },
        schema: {
          summary: "Change a zone's name, description or target security level",
          tags: ['zones'],
          params: IdParam,
          body: Type.Object(
            {
              name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
              description: Type.Optional(Type.String({ maxLength: 1000 })),
              slTarget: Type.Optional(SlVector),
            },
            { additionalProperties: false },
          ),
          response: { 200: ZoneBody, ...errors },
        },
      },
      async (request) => {
        const { slTarget, ...rest } = request.body;
        const zone = await zones.updateZone(request.params.id, {
          ...rest,
          ...(slTarget && { slTarget: parseSlVector(slTarget) }),
        });
        await audit.append({
          action: 'zone.updated',
          outcome: 'success',
          actor: deps.actor(request),
          target: { type: 'zone', id: zone.id, zone: zone.id },
          details: { change: request.body },
        });
        return zone;
      },
    );
  };
}
