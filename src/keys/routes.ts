import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AuditActor } from '../audit/index.js';
import type { Keyring } from './keyring.js';
import { MAX_SECRET_BYTES } from './secrets.js';

export interface KeysRoutesOptions {
  keyring: Keyring;
  /** The authenticated caller, as the actor of the audit events (the server's guard has admitted them). */
  actor: (request: FastifyRequest) => AuditActor;
  /**
   * Asks for a KEK's destruction. Irreversible, so it always waits for a second person (dual approval);
   * resolves with the pending approval request.
   */
  requestKekDestruction: (request: FastifyRequest, zone: string, reason: string) => Promise<unknown>;
  /** Batch size of the background re-wrap a rotation starts. */
  rewrapBatchSize?: number;
}

const view = { access: { permission: 'keys.view' } };
const manage = { access: { permission: 'keys.manage' } };

const Zone = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' } as const;
const SecretInfo = {
  type: 'object',
  required: ['id', 'name', 'kind', 'kekId', 'createdAt'],
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    kind: { type: 'string' },
    kekId: { type: 'string' },
    createdAt: { type: 'string' },
  },
} as const;

/**
 * HTTP routes for keys and secrets. Each declares its permission (`keys.view` to read the key status,
 * `keys.manage` to change anything); KEK destruction only files a dual-approval request. No route ever
 * returns key material or a secret's value.
 */
export function keysRoutes(options: KeysRoutesOptions): FastifyPluginAsync {
  const { keyring, actor: actorOf } = options;
  return async (app) => {
    app.get(
      '/api/keys/status',
      {
        config: view,
        schema: { summary: 'Key provider, KEK versions and ages, data keys, re-wrap jobs', tags: ['keys'] },
      },
      async () => keyring.status(),
    );

    app.get(
      '/api/keys/jobs',
      { config: view, schema: { summary: 'Re-wrap jobs with their progress', tags: ['keys'] } },
      async () => keyring.rewrapJobs(),
    );

    app.post<{ Params: { zone: string } }>(
      '/api/keys/keks/:zone/rotate',
      {
        config: manage,
        schema: {
          summary:
            'Create a new KEK version for a zone and start re-wrapping its data keys (video untouched)',
          tags: ['keys'],
          params: { type: 'object', required: ['zone'], properties: { zone: Zone } },
        },
      },
      async (request, reply) => {
        const actor = actorOf(request);
        const { previous, current, job } = await keyring.rotateKek(request.params.zone, { actor });
        // The re-wrap runs in the background; GET /api/keys/jobs shows its progress. A failure leaves
        // the job running, resumable by `palisade keys rotate --resume` or the next start.
        keyring
          .rewrap(request.params.zone, { actor, batchSize: options.rewrapBatchSize })
          .catch((err: unknown) => {
            app.log.error({ err, zone: request.params.zone }, 're-wrap stopped');
          });
        return reply.status(202).send({
          zone: request.params.zone,
          fromVersion: previous.version,
          toVersion: current.version,
          job,
        });
      },
    );

    app.post<{ Params: { zone: string }; Body: { reason: string } }>(
      '/api/keys/keks/:zone/destroy',
      {
        config: manage,
        schema: {
          summary:
            "Ask to destroy a zone's KEK (crypto-shredding everything sealed under it): always waits for a second person's approval",
          tags: ['keys'],
          params: { type: 'object', required: ['zone'], properties: { zone: Zone } },
          body: {
            type: 'object',
            required: ['reason'],
            additionalProperties: false,
            properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
          },
        },
      },
      async (request, reply) =>
        reply.status(202).send({
          approval: await options.requestKekDestruction(request, request.params.zone, request.body.reason),
        }),
    );

    app.get(
      '/api/secrets',
      {
        config: view,
        schema: {
          summary: 'Stored secrets (never their values)',
          tags: ['secrets'],
          response: { 200: { type: 'array', items: SecretInfo } },
        },
      },
      async () => keyring.secrets.list(),
    );

    app.post<{ Body: { name: string; kind: string; value: string; zone?: string } }>(
      '/api/secrets',
      {
        config: manage,
        schema: {
          summary: 'Seal and store a secret; its value is never returned afterwards',
          tags: ['secrets'],
          body: {
            type: 'object',
            required: ['name', 'kind', 'value'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 200 },
              kind: { type: 'string', minLength: 1, maxLength: 64 },
              value: { type: 'string', minLength: 1, maxLength: MAX_SECRET_BYTES },
              zone: Zone,
            },
          },
          response: { 201: SecretInfo },
        },
      },
      async (request, reply) => {
        const actor = actorOf(request);
        const { name, kind, value, zone } = request.body;
        const info = await keyring.secrets.create(
          { name, kind, value, ...(zone ? { kekId: zone } : {}) },
          { actor },
        );
        return reply.status(201).send(info);
      },
    );

    app.delete<{ Params: { id: string } }>(
      '/api/secrets/:id',
      {
        config: manage,
        schema: {
          summary: 'Delete a secret and destroy its data key',
          tags: ['secrets'],
          params: {
            type: 'object',
            required: ['id'],
            properties: { id: { type: 'string', maxLength: 200 } },
          },
        },
      },
      async (request, reply) => {
        await keyring.secrets.delete(request.params.id, { actor: actorOf(request) });
        return reply.status(204).send();
      },
    );
  };
}
