import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AuditActor } from '../audit/index.js';
import type { Keyring } from './keyring.js';
import { MAX_SECRET_BYTES } from './secrets.js';

/** What a caller must be allowed to do; the composition root maps these onto access/ permissions. */
export type KeysPermission = 'keys.read' | 'keys.rotate' | 'secrets.read' | 'secrets.write';

export interface KeysRoutesOptions {
  keyring: Keyring;
  /**
   * Decides whether the request may do `permission` (in `zone`, when the action has one) and returns
   * the actor for the audit event; throws a PalisadeError (401/403) otherwise. Required: there is no
   * default, so these routes are never served unauthenticated.
   */
  authorize: (request: FastifyRequest, permission: KeysPermission, zone?: string) => Promise<AuditActor>;
  /** Batch size of the background re-wrap a rotation starts. */
  rewrapBatchSize?: number;
}

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
 * HTTP routes for keys and secrets. Not registered by the server yet: the lead wires them with the
 * authentication hook and access decisions. KEK and data-key destruction have no route here: they are
 * irreversible and go through dual approval, which the composition root puts in front of them.
 * No route ever returns key material or a secret's value.
 */
export function keysRoutes(options: KeysRoutesOptions): FastifyPluginAsync {
  const { keyring, authorize } = options;
  return async (app) => {
    app.get(
      '/api/keys/status',
      { schema: { summary: 'Key provider, KEK versions and ages, data keys, re-wrap jobs', tags: ['keys'] } },
      async (request) => {
        await authorize(request, 'keys.read');
        return keyring.status();
      },
    );

    app.get(
      '/api/keys/jobs',
      { schema: { summary: 'Re-wrap jobs with their progress', tags: ['keys'] } },
      async (request) => {
        await authorize(request, 'keys.read');
        return keyring.rewrapJobs();
      },
    );

    app.post<{ Params: { zone: string } }>(
      '/api/keys/keks/:zone/rotate',
      {
        schema: {
          summary:
            'Create a new KEK version for a zone and start re-wrapping its data keys (video untouched)',
          tags: ['keys'],
          params: { type: 'object', required: ['zone'], properties: { zone: Zone } },
        },
      },
      async (request, reply) => {
        const actor = await authorize(request, 'keys.rotate', request.params.zone);
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

    app.get(
      '/api/secrets',
      {
        schema: {
          summary: 'Stored secrets (never their values)',
          tags: ['secrets'],
          response: { 200: { type: 'array', items: SecretInfo } },
        },
      },
      async (request) => {
        await authorize(request, 'secrets.read');
        return keyring.secrets.list();
      },
    );

    app.post<{ Body: { name: string; kind: string; value: string; zone?: string } }>(
      '/api/secrets',
      {
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
        const actor = await authorize(request, 'secrets.write', request.body.zone);
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
        // Authorise before the lookup, so an outsider cannot learn which secrets exist.
        const actor = await authorize(request, 'secrets.write');
        await keyring.secrets.delete(request.params.id, { actor });
        return reply.status(204).send();
      },
    );
  };
}
