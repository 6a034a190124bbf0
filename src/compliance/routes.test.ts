import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { DIALECTS } from '../../test/support/dialects.js';
import { tempDir } from '../../test/support/tmp.js';
import { MIGRATIONS } from '../app/index.js';
import { migrate } from '../db/index.js';
import { buildHttpServer, describeHttpSecurity, ensureTlsMaterial } from '../http/index.js';
import { createLogger } from '../log/index.js';
import {
  ComplianceStore,
  FactRegistry,
  complianceRoutes,
  effectiveCatalogue,
  evaluateCompliance,
} from './index.js';

/**
 * The compliance API on its own server (it is not registered in the running server until the
 * authentication and access hooks exist). The `x-test-user` header stands in for the authenticated
 * subject those hooks will provide.
 */
describe('compliance HTTP routes', () => {
  const dataDir = tempDir();
  let app: FastifyInstance;
  let drop: () => Promise<void>;
  const permissions = new Map<string, string | undefined>();
  const recorded: { action: string; details: Record<string, string | null> }[] = [];

  before(async () => {
    const t = await DIALECTS[0]!.create();
    drop = () => t.drop();
    await migrate(t.database, MIGRATIONS);
    const store = new ComplianceStore(t.database);
    const catalogue = effectiveCatalogue();
    app = await buildHttpServer({
      tls: await ensureTlsMaterial({ dataDir }),
      logger: createLogger('silent'),
      version: '0.0.0-test',
      bodyLimitBytes: 1024 * 1024,
      rateLimit: { max: 1000, windowMs: 60_000 },
      readiness: [],
      // Stands in for identity + access; the routes' own behaviour is under test here.
      guard: async () => undefined,
      routes: [
        async (instance) => {
          instance.addHook('onRoute', (r) => {
            const methods = Array.isArray(r.method) ? r.method : [r.method];
            for (const m of methods) permissions.set(`${m} ${r.url}`, r.config?.access?.permission);
          });
          await instance.register(
            complianceRoutes({
              catalogue,
              store,
              evaluate: async () =>
                evaluateCompliance({
                  catalogue,
                  facts: await new FactRegistry().collect(),
                  zones: [{ id: 'plant', name: 'Plant', slTarget: [2, 2, 2, 2, 2, 2, 2] }],
                  attestations: await store.listAttestations(),
                  countermeasures: await store.listCountermeasures(),
                }),
              subject: (request) => {
                const user = request.headers['x-test-user'];
                return typeof user === 'string' ? { id: user, name: `User ${user}` } : undefined;
              },
              recorded: async (_request, action, details) => void recorded.push({ action, details }),
              pack: async () => {
                throw new Error('not used here');
              },
            }),
          );
        },
      ],
    });
  });
  after(async () => {
    await app.close();
    await drop();
  });

  const json = (body: unknown, user?: string) => ({
    headers: { 'content-type': 'application/json', ...(user ? { 'x-test-user': user } : {}) },
    payload: JSON.stringify(body),
  });
  const expiresAt = new Date(Date.now() + 180 * 86_400_000).toISOString();

  it('names a permission on every route and validates every input (SR 3.5 of its own)', async () => {
    const d = await describeHttpSecurity(app);
    assert.deepEqual(
      d.routes.filter((r) => r.unvalidated.length > 0),
      [],
    );
    const own = [...permissions.entries()].filter(
      ([k]) => k.includes('/api/compliance/') && !k.startsWith('HEAD'),
    );
    assert.equal(own.length, 10);
    for (const [route, permission] of own) {
      const reads = route.startsWith('GET') || route === 'POST /api/compliance/pack';
      assert.equal(permission, reads ? 'compliance.read' : 'compliance.attest', route);
    }
  });

  it('appears in the OpenAPI document', async () => {
    const doc = (await app.inject({ url: '/api/openapi.json' })).json<{ paths: Record<string, unknown> }>();
    for (const p of [
      '/api/compliance/status',
      '/api/compliance/attestations',
      '/api/compliance/attestations/{id}/revoke',
    ]) {
      assert.ok(p in doc.paths, p);
    }
  });

  it('reports SL-T against SL-A per zone, and refuses an unknown zone or query parameter', async () => {
    const res = await app.inject({ url: '/api/compliance/status' });
    assert.equal(res.statusCode, 200);
    const body = res.json<{
      zones: { id: string; slTarget: number[]; slAchieved: number[]; gaps: unknown[] }[];
    }>();
    assert.deepEqual(
      body.zones.map((z) => [z.id, z.slTarget, z.slAchieved]),
      [['plant', [2, 2, 2, 2, 2, 2, 2], [0, 0, 0, 0, 0, 0, 0]]],
    );
    assert.equal(body.zones[0]!.gaps.length, 7);
    const unknown = await app.inject({ url: '/api/compliance/status?zone=office' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json<{ error: { code: string } }>().error.code, 'COMPLIANCE_UNKNOWN_ZONE');
    assert.equal((await app.inject({ url: '/api/compliance/status?zoen=plant' })).statusCode, 400);
    const results = await app.inject({ url: '/api/compliance/results?zone=plant' });
    assert.equal(results.json<{ zones: { results: unknown[] }[] }>().zones[0]!.results.length, 100);
    const catalogue = await app.inject({ url: '/api/compliance/catalogue' });
    assert.equal(catalogue.json<{ requirements: unknown[] }>().requirements.length, 100);
  });

  it('records an attestation for the signed-in person only, and the level follows', async () => {
    const body = {
      requirement: 'SR 7.5',
      verdict: 'met',
      statement: 'UPS tested 2026-03; switch-over keeps the recorder up',
      expiresAt,
      attachments: [{ name: 'ups-test.txt', contentBase64: Buffer.from('UPS test log').toString('base64') }],
    };
    const anonymous = await app.inject({
      method: 'POST',
      url: '/api/compliance/attestations',
      ...json(body),
    });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json<{ error: { code: string } }>().error.code, 'UNAUTHENTICATED');

    const created = await app.inject({
      method: 'POST',
      url: '/api/compliance/attestations',
      ...json(body, 'u-9'),
    });
    assert.equal(created.statusCode, 201);
    const record = created.json<{
      id: string;
      attestedBy: { id: string };
      attachments: { sha256: string }[];
    }>();
    assert.equal(record.attestedBy.id, 'u-9');
    assert.equal(record.attachments.length, 1);

    const listed = await app.inject({ url: '/api/compliance/attestations' });
    assert.equal(listed.json<{ attestations: unknown[] }>().attestations.length, 1);
    const results = await app.inject({ url: '/api/compliance/results' });
    const r = results
      .json<{ zones: { results: { requirement: string; status: string; basis: string }[] }[] }>()
      .zones[0]!.results.find((x) => x.requirement === 'SR 7.5')!;
    assert.deepEqual([r.status, r.basis], ['met', 'attested']);

    const revoked = await app.inject({
      method: 'POST',
      url: `/api/compliance/attestations/${record.id}/revoke`,
      ...json({}, 'u-1'),
    });
    assert.equal(revoked.statusCode, 204);
    const again = await app.inject({
      method: 'POST',
      url: `/api/compliance/attestations/${record.id}/revoke`,
      ...json({}, 'u-1'),
    });
    assert.equal(again.statusCode, 404);
    assert.deepEqual(
      recorded.map((r) => [r.action, r.details.id]),
      [
        ['compliance.attestation.recorded', record.id],
        ['compliance.attestation.revoked', record.id],
      ],
      'each record change is handed to the audit log',
    );
  });

  it('refuses malformed or misdirected statements with a stable code', async () => {
    const post = (body: unknown) =>
      app.inject({ method: 'POST', url: '/api/compliance/attestations', ...json(body, 'u-9') });
    const code = async (body: unknown) =>
      (await post(body)).json<{ error: { code: string; message: string } }>().error;
    const ok = { requirement: 'SR 7.5', verdict: 'met', statement: 'x', expiresAt };
    assert.equal((await code({ ...ok, extra: 1 })).code, 'REQUEST_INVALID');
    assert.equal((await code({ ...ok, requirement: 'SR 1' })).code, 'REQUEST_INVALID');
    assert.equal((await code({ ...ok, expiresAt: 'tomorrow' })).code, 'REQUEST_INVALID');
    const automated = await code({ ...ok, requirement: 'SR 3.5' });
    assert.equal(automated.code, 'COMPLIANCE_RECORD_INVALID');
    assert.match(automated.message, /assessed from observed facts/);
    assert.equal(
      (
        await app.inject({
          method: 'POST',
          url: '/api/compliance/attestations/not-a-uuid/revoke',
          ...json({}, 'u-1'),
        })
      ).statusCode,
      400,
    );
  });

  it('records and revokes a compensating countermeasure', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/compliance/countermeasures',
      ...json(
        {
          requirement: 'SR 5.1',
          zone: 'plant',
          description: 'plant firewall segments the camera VLAN, ruleset FW-2',
          expiresAt,
        },
        'u-3',
      ),
    });
    assert.equal(created.statusCode, 201);
    const { id } = created.json<{ id: string }>();
    const status = await app.inject({ url: '/api/compliance/results?zone=plant' });
    const r = status
      .json<{ zones: { results: { requirement: string; basis: string }[] }[] }>()
      .zones[0]!.results.find((x) => x.requirement === 'SR 5.1')!;
    assert.equal(r.basis, 'compensated');
    assert.equal(
      (
        await app.inject({
          method: 'POST',
          url: `/api/compliance/countermeasures/${id}/revoke`,
          ...json({}, 'u-3'),
        })
      ).statusCode,
      204,
    );
    assert.equal(
      (await app.inject({ url: '/api/compliance/countermeasures' })).json<{
        countermeasures: { revokedAt: string }[];
      }>().countermeasures[0]!.revokedAt.length > 0,
      true,
    );
  });
});
