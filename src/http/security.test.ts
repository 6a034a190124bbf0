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

  it('lists every route with an input that has no schema, including routes added by plugins', async () => {
    const tls = await ensureTlsMaterial({ dataDir: tempDir() });
    const app = await server(tls, [
      async (instance) => {
        instance.post('/api/loose', async () => ({}));
        instance.get('/api/items/:id', { schema: { querystring: NO_QUERY } }, async () => ({}));
        instance.put(
          '/api/items/:id',
          {
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
        'POST /api/loose': ['body', 'querystring'],
        'GET /api/items/:id': ['params'],
        'PUT /api/items/:id': [],
      });
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
