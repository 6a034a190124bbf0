import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { DIALECTS } from '../../test/support/dialects.js';
import { PROVIDERS, keysFixture } from '../../test/support/keys.js';
import { tempDir } from '../../test/support/tmp.js';
import { PalisadeError } from '../errors/index.js';
import { buildHttpServer, ensureTlsMaterial } from '../http/index.js';
import { createLogger } from '../log/index.js';
import { keysRoutes } from './routes.js';

const VALUE = 'siem-token-9f8e7d6c5b4a';

describe('keys and secrets routes', () => {
  it('serve status, rotation and secrets to an authorised caller, never a secret value, nothing to others', async () => {
    const f = await keysFixture(DIALECTS[0]!, PROVIDERS[0]!);
    let logged = '';
    const logger = createLogger(
      'trace',
      new Writable({
        write(chunk: Buffer, _e, done) {
          logged += chunk.toString();
          done();
        },
      }),
    );
    const asked: string[] = [];
    const destructions: string[] = [];
    const tls = await ensureTlsMaterial({ dataDir: tempDir(), hostnames: ['127.0.0.1'] });
    const app = await buildHttpServer({
      tls,
      logger,
      version: 'test',
      bodyLimitBytes: 1024 * 1024,
      rateLimit: { max: 1000, windowMs: 60_000 },
      readiness: [],
      // Stands in for identity + access: the bearer "operator" holds every permission asked for.
      guard: async (request, access) => {
        asked.push(`${request.method} ${request.routeOptions.url ?? ''} ${access.permission ?? ''}`);
        if (request.headers.authorization !== 'Bearer operator') {
          throw new PalisadeError('AUTH_REQUIRED', 'sign in first', { status: 401 });
        }
      },
      routes: [
        keysRoutes({
          keyring: f.keyring,
          actor: () => ({ type: 'user', id: 'u-ops', auth: 'api-token' }),
          requestKekDestruction: async (_request, zone, reason) => {
            destructions.push(`${zone}: ${reason}`);
            return { id: 'approval-1', status: 'pending' };
          },
        }),
      ],
    });
    const auth = { authorization: 'Bearer operator' };
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/api/keys/status' })).statusCode, 401);
      assert.equal((await app.inject({ method: 'GET', url: '/api/secrets' })).statusCode, 401);
      assert.equal((await app.inject({ method: 'DELETE', url: '/api/secrets/anything' })).statusCode, 401);

      const created = await app.inject({
        method: 'POST',
        url: '/api/secrets',
        headers: auth,
        payload: { name: 'siem/splunk', kind: 'siem-token', value: VALUE, zone: 'zone-siem' },
      });
      assert.equal(created.statusCode, 201);
      const info = created.json<{ id: string; kekId: string }>();
      assert.equal(info.kekId, 'zone-siem');
      const listed = await app.inject({ method: 'GET', url: '/api/secrets', headers: auth });
      assert.equal(listed.statusCode, 200);
      assert.ok(!created.body.includes(VALUE) && !listed.body.includes(VALUE), 'the value is never returned');
      assert.equal((await f.keyring.secrets.open(info.id)).toString(), VALUE);
      assert.equal(
        (
          await app.inject({
            method: 'POST',
            url: '/api/secrets',
            headers: auth,
            payload: { name: 'x', kind: 'k' },
          })
        ).statusCode,
        400,
      );

      const sealer = await f.keyring.createSealer({ objectId: 'seg-1', kekId: 'zone-a' });
      sealer.final();
      const rotated = await app.inject({
        method: 'POST',
        url: '/api/keys/keks/zone-a/rotate',
        headers: auth,
      });
      assert.equal(rotated.statusCode, 202);
      assert.deepEqual(
        (({ zone, fromVersion, toVersion }) => ({ zone, fromVersion, toVersion }))(
          rotated.json<Record<string, unknown>>(),
        ),
        { zone: 'zone-a', fromVersion: 1, toVersion: 2 },
      );
      // The background re-wrap finishes shortly.
      for (let i = 0; i < 100 && (await f.keyring.rewrapJobs({ state: 'running' })).length > 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const jobs = (await app.inject({ method: 'GET', url: '/api/keys/jobs', headers: auth })).json<
        { state: string; done: number }[]
      >();
      assert.deepEqual(
        jobs.map((j) => [j.state, j.done]),
        [['completed', 1]],
      );
      const status = await app.inject({ method: 'GET', url: '/api/keys/status', headers: auth });
      assert.equal(status.statusCode, 200);
      assert.equal(status.json<{ provider: { kind: string } }>().provider.kind, 'local');

      assert.equal(
        (await app.inject({ method: 'DELETE', url: `/api/secrets/${info.id}`, headers: auth })).statusCode,
        204,
      );
      assert.equal(
        (await app.inject({ method: 'DELETE', url: `/api/secrets/${info.id}`, headers: auth })).statusCode,
        404,
      );
      assert.ok(asked.includes('POST /api/keys/keks/:zone/rotate keys.manage'), 'rotation needs keys.manage');
      assert.ok(asked.includes('GET /api/keys/status keys.view'), 'reading the status needs keys.view');

      // Destruction only files a request for a second person's approval; nothing is destroyed.
      const destroy = await app.inject({
        method: 'POST',
        url: '/api/keys/keks/zone-a/destroy',
        headers: auth,
        payload: { reason: 'zone decommissioned' },
      });
      assert.equal(destroy.statusCode, 202);
      assert.deepEqual(destroy.json(), { approval: { id: 'approval-1', status: 'pending' } });
      assert.deepEqual(destructions, ['zone-a: zone decommissioned']);
      assert.ok((await f.keyring.activeKek('zone-a')) !== undefined, 'the KEK is still there');
      assert.ok(!logged.includes(VALUE), 'the value is in no log line');
    } finally {
      await app.close();
      await f.close();
    }
  });
});
