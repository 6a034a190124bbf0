import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { issueServerCertificate } from '../../test/support/pki.js';
import { tempDir } from '../../test/support/tmp.js';
import { createLogger } from '../log/index.js';
import {
  NO_QUERY,
  buildHttpServer,
  describeCertificate,
  describeHttpSecurity,
  ensureTlsMaterial,
} from './index.js';

async function server(
  tls: { certPem: string; keyPem: string },
  routes: Parameters<typeof buildHttpServer>[0]['routes'] = [],
) {
  return buildHttpServer({
    tls,
    logger: createLogger('silent'),
    version: '0.0.0-test',
    bodyLimitBytes: 4096,
    rateLimit: { max: 100, windowMs: 60_000 },
    readiness: [],
    guard: async () => undefined,
    routes,
  });
}

describe('HTTP security description', () => {
  it('observes TLS by handshake once listening: TLS 1.3 accepted, TLS 1.2 refused, the suite used', async () => {
    const tls = await ensureTlsMaterial({ dataDir: tempDir() });
    const app = await server(tls);
    try {
      const before = await describeHttpSecurity(app);
      assert.equal(before.listener.address, null);
      assert.deepEqual(before.listener.tls, {
        versions: ['TLSv1.3'],
        refusedVersions: [],
        cipher: null,
        observedBy: 'server-options',
      });

      await app.listen({ host: '127.0.0.1', port: 0 });
      const d = await describeHttpSecurity(app);
      assert.equal(d.listener.address, `127.0.0.1:${(app.server.address() as { port: number }).port}`);
      assert.equal(d.listener.tls.observedBy, 'handshake');
      assert.deepEqual(d.listener.tls.versions, ['TLSv1.3']);
      assert.deepEqual(d.listener.tls.refusedVersions, ['TLSv1.2']);
      assert.ok(
        ['TLS_AES_256_GCM_SHA384', 'TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256'].includes(
          d.listener.tls.cipher!,
        ),
      );
      assert.equal(d.listener.certificate.fingerprint256, tls.fingerprint256);
      assert.equal(
        d.listener.certificate.selfSigned,
        true,
        'the generated certificate is recognised as self-signed',
      );
      assert.equal(d.listener.certificate.keyDetail, 'P-256');
      assert.equal(d.listener.certificate.securityBits, 128);

      assert.match(d.headers['content-security-policy'] ?? '', /script-src 'self'/);
      assert.match(d.headers['strict-transport-security'] ?? '', /max-age=31536000/);
      assert.deepEqual(d.limits, {
        bodyLimitBytes: 4096,
        requestTimeoutMs: 30_000,
        headersTimeoutMs: 15_000,
        keepAliveTimeoutMs: 10_000,
        rateLimit: { max: 100, windowMs: 60_000, enforced: true },
      });
      assert.deepEqual(d.errors, { uniformShape: true, internalDetailsHidden: true });
    } finally {
      await app.close();
    }
  });

  it('gives every route, plugins included, a schema for each input: undeclared input is refused (SR 3.5)', async () => {
    const tls = await ensureTlsMaterial({ dataDir: tempDir() });
    const app = await server(tls, [
      async (instance) => {
        const config = { access: { public: true as const } };
        instance.post('/api/loose', { config }, async () => ({}));
        instance.get('/api/items/:id', { config, schema: { querystring: NO_QUERY } }, async () => ({}));
        instance.put(
          '/api/items/:id',
          {
            config,
            schema: {
              querystring: NO_QUERY,
              params: { type: 'object', properties: { id: { type: 'string' } } },
              body: { type: 'object' },
            },
          },
          async () => ({}),
        );
      },
    ]);
    try {
      const d = await describeHttpSecurity(app);
      const byRoute = Object.fromEntries(d.routes.map((r) => [`${r.method} ${r.url}`, r.unvalidated]));
      assert.deepEqual(byRoute, {
        'GET /healthz': [],
        'GET /readyz': [],
        'GET /api/openapi.json': [],
        'POST /api/loose': [],
        'GET /api/items/:id': [],
        'PUT /api/items/:id': [],
      });
      // The defaults are real validation: what a route does not declare is refused.
      const status = async (method: 'GET' | 'POST', url: string, payload?: unknown) =>
        (await app.inject({ method, url, ...(payload !== undefined && { payload: payload as object }) }))
          .statusCode;
      assert.equal(await status('POST', '/api/loose'), 200, 'no body at all is fine');
      assert.equal(await status('POST', '/api/loose', {}), 200);
      assert.equal(await status('POST', '/api/loose', { unexpected: 1 }), 400);
      assert.equal(await status('POST', '/api/loose?debug=1'), 400);
      assert.equal(await status('GET', '/api/items/a1'), 200);
      assert.equal(await status('GET', `/api/items/${'x'.repeat(300)}`), 414, 'path parameters are bounded');
    } finally {
      await app.close();
    }
  });

  it('recognises a CA-issued certificate and rates key strength', async () => {
    const ec = await issueServerCertificate('P-256');
    const c = describeCertificate(ec.certPem);
    assert.equal(c.selfSigned, false);
    assert.equal(c.issuer, 'CN=Plant Test Root CA');
    assert.equal(c.subject, 'CN=vms.plant.example');
    const rsa = describeCertificate((await issueServerCertificate('RSA-2048')).certPem);
    assert.equal(rsa.keyDetail, 'RSA 2048');
    assert.equal(rsa.securityBits, 112);
    assert.equal(describeCertificate(ec.caPem).selfSigned, true);
  });

  it('refuses to describe a Fastify instance it did not build', async () => {
    await assert.rejects(describeHttpSecurity(Fastify()), /not built by buildHttpServer/);
  });
});
