import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { httpsRequest, tlsHandshake } from '../../test/support/https.js';
import { tempDir } from '../../test/support/tmp.js';
import { PalisadeError } from '../errors/index.js';
import { createLogger } from '../log/index.js';
import { buildHttpServer, ensureTlsMaterial, type TlsMaterial } from './index.js';

describe('HTTPS server', () => {
  let url = '';
  let port = 0;
  let tls: TlsMaterial;
  let databaseUp = true;
  let close: () => Promise<void>;

  before(async () => {
    tls = await ensureTlsMaterial({ dataDir: tempDir() });
    const app = await buildHttpServer({
      tls,
      logger: createLogger('silent'),
      version: '0.0.0-test',
      bodyLimitBytes: 2048,
      rateLimit: { max: 1000, windowMs: 60_000 },
      readiness: [
        {
          name: 'database',
          check: async () => {
            if (!databaseUp) throw new PalisadeError('DB_UNREACHABLE', 'connection refused');
          },
        },
      ],
      // Stands in for identity + access: a caller is whoever the x-test-user header names.
      guard: async (request, access) => {
        if (request.headers['x-test-user'] === undefined)
          throw new PalisadeError('AUTH_REQUIRED', 'sign in first', { status: 401 });
        if (access.permission === 'never') throw new PalisadeError('ACCESS_DENIED', 'no', { status: 403 });
      },
      routes: [
        async (instance) => {
          const open = { access: { public: true as const } };
          instance.post(
            '/api/echo',
            {
              config: open,
              schema: { body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } },
            },
            async (request) => request.body,
          );
          instance.get('/api/boom', { config: open }, async () => {
            throw new Error('secret internal detail');
          });
          instance.get(
            '/api/limited',
            { config: { ...open, rateLimit: { max: 3, timeWindow: 60_000 } } },
            async () => ({ ok: 1 }),
          );
          instance.get('/api/undeclared', async () => ({ leaked: true }));
          instance.get(
            '/api/guarded',
            { config: { access: { permission: 'camera.view' } }, schema: { summary: 'guarded' } },
            async () => ({ ok: true }),
          );
          instance.get('/api/forbidden', { config: { access: { permission: 'never' } } }, async () => ({
            leaked: true,
          }));
        },
      ],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
    url = `https://127.0.0.1:${port}`;
    close = () => app.close();
  });
  after(() => close());

  it('answers /healthz over TLS 1.3 with a certificate that verifies against its own fingerprinted cert', async () => {
    const res = await httpsRequest(`${url}/healthz`, { ca: tls.certPem });
    assert.equal(res.status, 200);
    assert.equal(res.protocol, 'TLSv1.3');
    assert.deepEqual(res.json(), { status: 'ok' });
    assert.match(tls.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('refuses TLS 1.2 and older clients', async () => {
    for (const version of ['TLSv1.2', 'TLSv1.1'] as const) {
      const err = await tlsHandshake('127.0.0.1', port, version, tls.certPem);
      assert.ok(err, `${version} handshake must fail`);
      assert.match(err.message, /protocol version|unsupported protocol|no protocols available/i);
    }
  });

  it('sends security headers: strict CSP, HSTS, no framing, no caching of API answers', async () => {
    const res = await httpsRequest(`${url}/healthz`, { ca: tls.certPem });
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /object-src 'none'/);
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
    assert.match(String(res.headers['strict-transport-security']), /max-age=31536000; includeSubDomains/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  it('/readyz follows the database', async () => {
    assert.equal((await httpsRequest(`${url}/readyz`, { ca: tls.certPem })).status, 200);
    databaseUp = false;
    try {
      const res = await httpsRequest(`${url}/readyz`, { ca: tls.certPem });
      assert.equal(res.status, 503);
      assert.deepEqual(res.json(), { error: { code: 'NOT_READY', message: 'database: connection refused' } });
    } finally {
      databaseUp = true;
    }
  });

  it('uses one error shape for unknown routes, invalid bodies, oversized bodies and crashes', async () => {
    const notFound = await httpsRequest(`${url}/api/nothing-here`, { ca: tls.certPem });
    assert.equal(notFound.status, 404);
    assert.equal(notFound.json<{ error: { code: string } }>().error.code, 'NOT_FOUND');

    const json = { 'content-type': 'application/json' };
    const invalid = await httpsRequest(`${url}/api/echo`, {
      ca: tls.certPem,
      method: 'POST',
      headers: json,
      body: '{"n":"x"}',
    });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json<{ error: { code: string } }>().error.code, 'REQUEST_INVALID');

    const malformed = await httpsRequest(`${url}/api/echo`, {
      ca: tls.certPem,
      method: 'POST',
      headers: json,
      body: '{"n":',
    });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json<{ error: { code: string } }>().error.code, 'REQUEST_INVALID');

    const big = JSON.stringify({ n: 1, pad: 'x'.repeat(4096) });
    const tooLarge = await httpsRequest(`${url}/api/echo`, {
      ca: tls.certPem,
      method: 'POST',
      headers: json,
      body: big,
    });
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.json<{ error: { code: string } }>().error.code, 'BODY_TOO_LARGE');

    const ok = await httpsRequest(`${url}/api/echo`, {
      ca: tls.certPem,
      method: 'POST',
      headers: json,
      body: '{"n":7}',
    });
    assert.deepEqual(ok.json(), { n: 7 });

    const boom = await httpsRequest(`${url}/api/boom`, { ca: tls.certPem });
    assert.equal(boom.status, 500);
    const body = boom.json<{ error: { code: string; message: string } }>();
    assert.equal(body.error.code, 'INTERNAL_ERROR');
    assert.ok(!body.error.message.includes('secret internal detail'), 'internals never reach the client');
  });

  it('rate-limits per client with the uniform error shape', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 5; i++)
      codes.push((await httpsRequest(`${url}/api/limited`, { ca: tls.certPem })).status);
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    const res = await httpsRequest(`${url}/api/limited`, { ca: tls.certPem });
    assert.equal(res.json<{ error: { code: string } }>().error.code, 'RATE_LIMITED');
  });

  it('publishes an OpenAPI 3.1 document to signed-in callers, with each route’s access rule', async () => {
    assert.equal((await httpsRequest(`${url}/api/openapi.json`, { ca: tls.certPem })).status, 401);
    const res = await httpsRequest(`${url}/api/openapi.json`, {
      ca: tls.certPem,
      headers: { 'x-test-user': 'u' },
    });
    assert.equal(res.status, 200);
    const doc = res.json<{
      openapi: string;
      paths: Record<string, Record<string, Record<string, unknown>>>;
    }>();
    assert.equal(doc.openapi, '3.1.0');
    for (const p of ['/healthz', '/readyz', '/api/echo']) assert.ok(p in doc.paths, `${p} documented`);
    assert.deepEqual(doc.paths['/api/guarded']!.get!['x-access'], {
      permission: 'camera.view',
      target: 'system',
    });
    assert.deepEqual(doc.paths['/healthz']!.get!['x-access'], { public: true });
  });

  it('deny by default: a route without an access rule is refused to everybody; the guard decides the rest', async () => {
    const h = { 'x-test-user': 'u' };
    const undeclared = await httpsRequest(`${url}/api/undeclared`, { ca: tls.certPem, headers: h });
    assert.equal(undeclared.status, 403);
    assert.equal(undeclared.json<{ error: { code: string } }>().error.code, 'ACCESS_UNDECLARED');
    assert.equal((await httpsRequest(`${url}/api/guarded`, { ca: tls.certPem })).status, 401);
    assert.equal((await httpsRequest(`${url}/api/guarded`, { ca: tls.certPem, headers: h })).status, 200);
    const forbidden = await httpsRequest(`${url}/api/forbidden`, { ca: tls.certPem, headers: h });
    assert.equal(forbidden.status, 403);
    assert.ok(!forbidden.body.includes('leaked'));
  });
});

describe('TLS material', () => {
  it('keeps the generated certificate across restarts and refuses half a configuration', async () => {
    const dir = tempDir();
    const first = await ensureTlsMaterial({ dataDir: dir });
    const second = await ensureTlsMaterial({ dataDir: dir });
    assert.equal(first.generated, true);
    assert.equal(second.generated, false);
    assert.equal(second.fingerprint256, first.fingerprint256);
    await assert.rejects(ensureTlsMaterial({ dataDir: dir, certFile: first.certFile }), {
      code: 'CONFIG_INVALID',
    });
  });
});
