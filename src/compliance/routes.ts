import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { PalisadeError } from '../errors/index.js';
import { REQUIREMENT_ID_PATTERN, type EffectiveCatalogue } from './catalogue/index.js';
import type { ComplianceEvaluation, ZoneEvaluation } from './engine.js';
import type { Person } from './records.js';
import { ATTESTATION_LIMITS, type ComplianceStore } from './store.js';

/**
 * The compliance API as a Fastify plugin. Every route declares the permission it needs in
 * `config.access`; the server's guard enforces it. Reading never changes anything; the only writes are
 * the compliance module's own records, each recorded in the audit log (through `recorded`) before the
 * answer goes out.
 */
export interface ComplianceRoutesOptions {
  /** Collects facts and evaluates now. */
  evaluate(): Promise<ComplianceEvaluation>;
  catalogue: EffectiveCatalogue;
  store: ComplianceStore;
  /** The authenticated person behind a request (set by the authentication hook). */
  subject(request: FastifyRequest): Person | undefined;
  /** Appends the audit event of a record change; awaited before answering. */
  recorded(
    request: FastifyRequest,
    action: ComplianceRecordAction,
    details: Record<string, string | null>,
  ): Promise<void>;
  /** Writes a signed evidence pack and returns its zip (deleted by `cleanup` once sent). */
  pack(request: FastifyRequest): Promise<{ zip: string; cleanup(): Promise<void> }>;
}

export type ComplianceRecordAction =
  | 'compliance.attestation.recorded'
  | 'compliance.attestation.revoked'
  | 'compliance.countermeasure.recorded'
  | 'compliance.countermeasure.revoked';

const NO_QUERY = { type: 'object', properties: {}, additionalProperties: false } as const;
const ZONE_QUERY = {
  type: 'object',
  properties: { zone: { type: 'string', minLength: 1, maxLength: 200 } },
  additionalProperties: false,
} as const;
const ID_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
  additionalProperties: false,
} as const;
const REQUIREMENT = { type: 'string', pattern: REQUIREMENT_ID_PATTERN.source } as const;
const EXPIRY = { type: 'string', format: 'date-time' } as const;
const ZONE = { type: ['string', 'null'], minLength: 1, maxLength: ATTESTATION_LIMITS.zoneChars } as const;
const ERRORS = {
  400: { $ref: 'ErrorBody#' },
  401: { $ref: 'ErrorBody#' },
  404: { $ref: 'ErrorBody#' },
} as const;

const AttestationBody = {
  type: 'object',
  required: ['requirement', 'verdict', 'statement', 'expiresAt'],
  additionalProperties: false,
  properties: {
    requirement: REQUIREMENT,
    zone: ZONE,
    verdict: { type: 'string', enum: ['met', 'not-applicable'] },
    statement: { type: 'string', minLength: 1, maxLength: ATTESTATION_LIMITS.statementChars },
    expiresAt: EXPIRY,
    attachments: {
      type: 'array',
      maxItems: ATTESTATION_LIMITS.attachments,
      items: {
        type: 'object',
        required: ['name', 'contentBase64'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: ATTESTATION_LIMITS.attachmentNameChars },
          contentBase64: { type: 'string', pattern: '^[A-Za-z0-9+/]*={0,2}$' },
        },
      },
    },
  },
} as const;

const CountermeasureBody = {
  type: 'object',
  required: ['requirement', 'description', 'expiresAt'],
  additionalProperties: false,
  properties: {
    requirement: REQUIREMENT,
    zone: ZONE,
    description: { type: 'string', minLength: 1, maxLength: ATTESTATION_LIMITS.statementChars },
    expiresAt: EXPIRY,
  },
} as const;

interface AttestationRequest {
  requirement: string;
  zone?: string | null;
  verdict: 'met' | 'not-applicable';
  statement: string;
  expiresAt: string;
  attachments?: { name: string; contentBase64: string }[];
}

interface CountermeasureRequest {
  requirement: string;
  zone?: string | null;
  description: string;
  expiresAt: string;
}

function pickZones(evaluation: ComplianceEvaluation, zone: string | undefined): ZoneEvaluation[] {
  if (zone === undefined) return evaluation.zones;
  const found = evaluation.zones.filter((z) => z.zone.id === zone);
  if (found.length === 0)
    throw new PalisadeError('COMPLIANCE_UNKNOWN_ZONE', `no zone ${zone}`, { status: 404 });
  return found;
}

export function complianceRoutes(options: ComplianceRoutesOptions): FastifyPluginAsync {
  const who = (request: FastifyRequest): Person => {
    const person = options.subject(request);
    if (!person)
      throw new PalisadeError('UNAUTHENTICATED', 'sign in to record compliance statements', { status: 401 });
    return person;
  };

  return async (app) => {
    /** `POST …/:id/revoke` for a statement kind: revoked by the caller, audited, 204. */
    const revokeRoute = (
      kind: 'attestations' | 'countermeasures',
      summary: string,
      revoke: (id: string, by: Person) => Promise<unknown>,
      action: ComplianceRecordAction,
    ) =>
      app.post<{ Params: { id: string } }>(
        `/api/compliance/${kind}/:id/revoke`,
        {
          config: { access: { permission: 'compliance.attest' } },
          schema: {
            summary,
            tags: ['compliance'],
            params: ID_PARAMS,
            querystring: NO_QUERY,
            body: NO_QUERY,
            response: { 204: { type: 'null' }, ...ERRORS },
          },
        },
        async (request, reply) => {
          await revoke(request.params.id, who(request));
          await options.recorded(request, action, { id: request.params.id });
          return reply.status(204).send();
        },
      );

    app.get<{ Querystring: { zone?: string } }>(
      '/api/compliance/status',
      {
        config: { access: { permission: 'compliance.read' } },
        schema: {
          summary: 'SL-T against SL-A per zone, and the gap list',
          tags: ['compliance'],
          querystring: ZONE_QUERY,
          response: { 200: { type: 'object', additionalProperties: true }, ...ERRORS },
        },
      },
      async (request) => {
        const evaluation = await options.evaluate();
        return {
          evaluatedAt: evaluation.evaluatedAt,
          catalogueVersion: evaluation.catalogueVersion,
          overrides: evaluation.overrides,
          zones: pickZones(evaluation, request.query.zone).map((z) => ({
            id: z.zone.id,
            name: z.zone.name,
            slTarget: z.slTarget,
            slAchieved: z.slAchieved,
            compensated: z.compensated,
            gaps: z.gaps,
          })),
          factErrors: evaluation.facts.errors,
        };
      },
    );

    app.get<{ Querystring: { zone?: string } }>(
      '/api/compliance/results',
      {
        config: { access: { permission: 'compliance.read' } },
        schema: {
          summary: 'Every requirement result with its evidence, per zone, and the facts collected',
          tags: ['compliance'],
          querystring: ZONE_QUERY,
          response: { 200: { type: 'object', additionalProperties: true }, ...ERRORS },
        },
      },
      async (request) => {
        const evaluation = await options.evaluate();
        return { ...evaluation, zones: pickZones(evaluation, request.query.zone) };
      },
    );

    app.get(
      '/api/compliance/catalogue',
      {
        config: { access: { permission: 'compliance.read' } },
        schema: {
          summary: 'The requirement catalogue with the gating in force',
          tags: ['compliance'],
          querystring: NO_QUERY,
          response: { 200: { type: 'object', additionalProperties: true } },
        },
      },
      async () => options.catalogue,
    );

    app.get(
      '/api/compliance/attestations',
      {
        config: { access: { permission: 'compliance.read' } },
        schema: {
          summary: 'Every attestation, in force or not',
          tags: ['compliance'],
          querystring: NO_QUERY,
        },
      },
      async () => ({ attestations: await options.store.listAttestations() }),
    );

    app.post<{ Body: AttestationRequest }>(
      '/api/compliance/attestations',
      {
        config: { access: { permission: 'compliance.attest' } },
        schema: {
          summary: 'Record an attestation for an organisational requirement',
          tags: ['compliance'],
          querystring: NO_QUERY,
          body: AttestationBody,
          response: { 201: { type: 'object', additionalProperties: true }, ...ERRORS },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const record = await options.store.recordAttestation({
          requirement: body.requirement,
          zone: body.zone ?? null,
          verdict: body.verdict,
          statement: body.statement,
          attestedBy: who(request),
          expiresAt: body.expiresAt,
          attachments: (body.attachments ?? []).map((a) => ({
            name: a.name,
            bytes: Buffer.from(a.contentBase64, 'base64'),
          })),
        });
        await options.recorded(request, 'compliance.attestation.recorded', {
          id: record.id,
          requirement: record.requirement,
          zone: record.zone,
          verdict: record.verdict,
        });
        return reply.status(201).send(record);
      },
    );

    revokeRoute(
      'attestations',
      'Revoke an attestation',
      (id, by) => options.store.revokeAttestation(id, by),
      'compliance.attestation.revoked',
    );

    app.get(
      '/api/compliance/countermeasures',
      {
        config: { access: { permission: 'compliance.read' } },
        schema: { summary: 'Every compensating countermeasure', tags: ['compliance'], querystring: NO_QUERY },
      },
      async () => ({ countermeasures: await options.store.listCountermeasures() }),
    );

    app.post<{ Body: CountermeasureRequest }>(
      '/api/compliance/countermeasures',
      {
        config: { access: { permission: 'compliance.attest' } },
        schema: {
          summary: 'Record a compensating countermeasure',
          tags: ['compliance'],
          querystring: NO_QUERY,
          body: CountermeasureBody,
          response: { 201: { type: 'object', additionalProperties: true }, ...ERRORS },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const record = await options.store.recordCountermeasure({
          requirement: body.requirement,
          zone: body.zone ?? null,
          description: body.description,
          recordedBy: who(request),
          expiresAt: body.expiresAt,
        });
        await options.recorded(request, 'compliance.countermeasure.recorded', {
          id: record.id,
          requirement: record.requirement,
          zone: record.zone,
        });
        return reply.status(201).send(record);
      },
    );

    revokeRoute(
      'countermeasures',
      'Revoke a compensating countermeasure',
      (id, by) => options.store.revokeCountermeasure(id, by),
      'compliance.countermeasure.revoked',
    );

    app.post(
      '/api/compliance/pack',
      {
        config: { access: { permission: 'compliance.read' } },
        schema: {
          summary:
            'Produce a signed evidence pack now and download it as a zip (verify with `palisade compliance verify`)',
          tags: ['compliance'],
          querystring: NO_QUERY,
          body: NO_QUERY,
          response: { 200: { type: 'string', format: 'binary' }, ...ERRORS },
        },
      },
      async (request, reply) => {
        const pack = await options.pack(request);
        const stream = createReadStream(pack.zip);
        stream.on('close', () => void pack.cleanup());
        return reply
          .header('content-type', 'application/zip')
          .header('content-disposition', `attachment; filename="${path.basename(pack.zip)}"`)
          .send(stream);
      },
    );
  };
}
