import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { JsonValue } from '../audit/index.js';
import { permissionsOf, scopesFor } from './decide.js';
import { PERMISSIONS } from './permissions.js';
import { describeScope } from './scope.js';
import { subjectOf } from './request.js';
import { grantJson, roleJson, type AccessService, type ChangeOutcome } from './service.js';
import type { ApprovalRequest } from './approvals.js';

const Err = { $ref: 'ErrorBody#' };
const errors = { 400: Err, 401: Err, 403: Err, 404: Err, 409: Err };
const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

const RoleBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  permissions: Type.Array(Type.String()),
  builtIn: Type.Boolean(),
  mfaRequired: Type.Boolean(),
});
const GrantBody = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  roleId: Type.String(),
  scope: Type.String(),
  createdAt: Type.String(),
  createdBy: Type.String(),
});
const ApprovalBody = Type.Object({
  id: Type.String(),
  action: Type.String(),
  summary: Type.String(),
  requestedBy: Type.String(),
  requestedAt: Type.String(),
  expiresAt: Type.String(),
  status: Type.String(),
  decidedBy: Type.Union([Type.String(), Type.Null()]),
  decidedAt: Type.Union([Type.String(), Type.Null()]),
  decisionReason: Type.Union([Type.String(), Type.Null()]),
  result: Type.Any(),
});
/** 200 with the result when applied; 202 with the approval request when a second person must approve. */
const ChangeBody = Type.Object({ result: Type.Optional(Type.Any()), approval: Type.Optional(ApprovalBody) });

function approvalJson(a: ApprovalRequest) {
  const { payload: _payload, ...rest } = a;
  return rest;
}

async function sendChange(reply: FastifyReply, outcome: ChangeOutcome<JsonValue>) {
  if ('pending' in outcome) return reply.status(202).send({ approval: approvalJson(outcome.pending) });
  return reply.status(200).send({ result: outcome.done });
}

export function accessRoutes(access: AccessService): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const roles = { access: { permission: 'roles.manage' } };

    app.get(
      '/api/permissions',
      {
        config: { access: { authenticated: true } },
        schema: {
          summary: 'The permission catalogue',
          tags: ['access'],
          response: {
            200: Type.Array(Type.Object({ id: Type.String(), description: Type.String() })),
            ...errors,
          },
        },
      },
      async () => Object.entries(PERMISSIONS).map(([id, description]) => ({ id, description })),
    );

    app.get(
      '/api/me/permissions',
      {
        config: { access: { authenticated: true } },
        schema: {
          summary:
            "The caller's effective permissions, each with the scopes it holds it on, and its grants. For clients that show only what the caller may do; every route still decides for itself",
          tags: ['me'],
          response: {
            200: Type.Object({
              userId: Type.String(),
              username: Type.String(),
              kind: Type.String(),
              permissions: Type.Record(Type.String(), Type.Array(Type.String()), {
                description: 'permission -> scopes (all, site:<id>, zone:<id>, camera-group:<id>)',
              }),
              grants: Type.Array(
                Type.Object({ grantId: Type.String(), role: Type.String(), scope: Type.String() }),
              ),
            }),
            ...errors,
          },
        },
      },
      async (request) => {
        const subject = subjectOf(request);
        const permissions: Record<string, string[]> = {};
        for (const permission of permissionsOf(subject)) {
          permissions[permission] = [...new Set(scopesFor(subject, permission).map(describeScope))];
        }
        return {
          userId: subject.userId,
          username: subject.username,
          kind: subject.kind,
          permissions,
          grants: subject.grants.map((g) => ({
            grantId: g.grantId,
            role: g.roleId,
            scope: describeScope(g.scope),
          })),
        };
      },
    );

    app.get(
      '/api/me/approvals',
      {
        config: { access: { authenticated: true } },
        schema: {
          summary: 'Dual-approval requests the caller made, newest first, with their status',
          tags: ['me'],
          response: { 200: Type.Array(ApprovalBody), ...errors },
        },
      },
      async (request) =>
        (await access.approvals.list(undefined, subjectOf(request).userId)).map(approvalJson),
    );

    app.get(
      '/api/roles',
      {
        config: roles,
        schema: {
          summary: 'Built-in and custom roles',
          tags: ['access'],
          response: { 200: Type.Array(RoleBody), ...errors },
        },
      },
      async () => (await access.store.roles()).map(roleJson),
    );

    app.post(
      '/api/roles',
      {
        config: roles,
        schema: {
          summary: 'Create a custom role (may wait for dual approval: 202)',
          tags: ['access'],
          body: Type.Object(
            {
              id: Type.String({ minLength: 1, maxLength: 63 }),
              name: Type.String({ minLength: 1, maxLength: 64 }),
              description: Type.String({ maxLength: 500, default: '' }),
              permissions: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 }),
            },
            { additionalProperties: false },
          ),
          response: { 200: ChangeBody, 202: ChangeBody, ...errors },
        },
      },
      async (request, reply) => sendChange(reply, await access.createRole(subjectOf(request), request.body)),
    );

    app.patch(
      '/api/roles/:id',
      {
        config: roles,
        schema: {
          summary:
            'Change a role; built-in roles only change their MFA policy (relaxing it lowers the compliance level)',
          tags: ['access'],
          params: IdParam,
          body: Type.Object(
            {
              name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
              description: Type.Optional(Type.String({ maxLength: 500 })),
              permissions: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 })),
              mfaRequired: Type.Optional(Type.Boolean()),
            },
            { additionalProperties: false },
          ),
          response: { 200: ChangeBody, 202: ChangeBody, ...errors },
        },
      },
      async (request, reply) =>
        sendChange(reply, await access.updateRole(subjectOf(request), request.params.id, request.body)),
    );

    app.delete(
      '/api/roles/:id',
      {
        config: roles,
        schema: {
          summary: 'Delete a custom role',
          tags: ['access'],
          params: IdParam,
          response: { 200: ChangeBody, 202: ChangeBody, ...errors },
        },
      },
      async (request, reply) =>
        sendChange(reply, await access.deleteRole(subjectOf(request), request.params.id)),
    );

    app.get(
      '/api/users/:id/grants',
      {
        config: roles,
        schema: {
          summary: "A user's grants",
          tags: ['access'],
          params: IdParam,
          response: { 200: Type.Array(GrantBody), ...errors },
        },
      },
      async (request) => (await access.store.grants(request.params.id)).map(grantJson),
    );

    app.post(
      '/api/users/:id/grants',
      {
        config: roles,
        schema: {
          summary:
            'Grant a role on a scope (all, site:<id>, zone:<id>, camera-group:<id>); self-grants of privileged roles wait for a second administrator',
          tags: ['access'],
          params: IdParam,
          body: Type.Object(
            {
              role: Type.String({ minLength: 1, maxLength: 63 }),
              scope: Type.String({ minLength: 3, maxLength: 80 }),
            },
            { additionalProperties: false },
          ),
          response: { 200: ChangeBody, 202: ChangeBody, ...errors },
        },
      },
      async (request, reply) =>
        sendChange(
          reply,
          await access.addGrant(subjectOf(request), {
            userId: request.params.id,
            roleId: request.body.role,
            scope: request.body.scope,
          }),
        ),
    );

    app.delete(
      '/api/grants/:id',
      {
        config: roles,
        schema: {
          summary: 'Remove a grant',
          tags: ['access'],
          params: IdParam,
          response: { 200: ChangeBody, 202: ChangeBody, ...errors },
        },
      },
      async (request, reply) =>
        sendChange(reply, await access.removeGrant(subjectOf(request), request.params.id)),
    );

    const decide = { access: { permission: 'approvals.decide' } };

    app.get(
      '/api/approvals',
      {
        config: decide,
        schema: {
          summary: 'Dual-approval requests',
          tags: ['approvals'],
          querystring: Type.Object({
            status: Type.Optional(
              Type.Union(
                ['pending', 'approved', 'rejected', 'expired', 'failed'].map((s) => Type.Literal(s)),
              ),
            ),
          }),
          response: { 200: Type.Array(ApprovalBody), ...errors },
        },
      },
      async (request) => (await access.approvals.list(request.query.status as never)).map(approvalJson),
    );

    app.post(
      '/api/approvals/:id/approve',
      {
        config: decide,
        schema: {
          summary: 'Approve a pending request (not your own); the action then runs',
          tags: ['approvals'],
          params: IdParam,
          body: Type.Object(
            { reason: Type.Optional(Type.String({ maxLength: 500 })) },
            { additionalProperties: false },
          ),
          response: { 200: ApprovalBody, ...errors },
        },
      },
      async (request) =>
        approvalJson(
          await access.approvals.approve(request.params.id, subjectOf(request), request.body.reason ?? ''),
        ),
    );

    app.post(
      '/api/approvals/:id/reject',
      {
        config: decide,
        schema: {
          summary: 'Reject a pending request',
          tags: ['approvals'],
          params: IdParam,
          body: Type.Object(
            { reason: Type.String({ minLength: 1, maxLength: 500 }) },
            { additionalProperties: false },
          ),
          response: { 200: ApprovalBody, ...errors },
        },
      },
      async (request) =>
        approvalJson(
          await access.approvals.reject(request.params.id, subjectOf(request), request.body.reason),
        ),
    );
  };
}
