import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/support/tmp.js';
import { PalisadeError } from '../errors/index.js';
import { createLogger } from '../log/index.js';
import { buildHttpServer, ensureTlsMaterial } from './index.js';

async function serverFor(consoleDir: string) {
  return buildHttpServer({
    tls: await ensureTlsMaterial({ dataDir: tempDir() }),
    logger: createLogger('silent'),
    version: '0.0.0-test',
    bodyLimitBytes: 2048,
    rateLimit: { max: 1000, windowMs: 60_000 },
    readiness: [],
    // Nobody is signed in: only public routes answer.
    guard: async () => {
      throw new PalisadeError('AUTH_REQUIRED', 'sign in first', { status: 401 });
    },
    routes: [
      async (app) => {
        app.get('/api/secret', { config: { access: { authenticated: true } } }, async () => ({ ok: true }));
      },
    ],
    consoleDir,
  });
}

describe('web console files', () => {
  it('serves the built files to anyone, and nothing else: index no-store, hashed assets immutable', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(
      path.join(dir, 'index.html'),
      '<!doctype html><script type="module" src="/assets/index-abc.js"></script>',
    );
    writeFileSync(path.join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(path.join(dir, 'assets', 'notes.exe'), 'MZ');
    writeFileSync(path.join(dir, 'favicon.svg'), '<svg/>');
    const app = await serverFor(dir);
    try {
      const index = await app.inject({ url: '/' });
      assert.equal(index.statusCode, 200);
      assert.equal(index.headers['cache-control'], 'no-store');
      assert.match(String(index.headers['content-type']), /^text\/html/);
      assert.match(String(index.headers['content-security-policy']), /default-src 'self'/);

      const js = await app.inject({ url: '/assets/index-abc.js' });
      assert.equal(js.statusCode, 200);
      assert.equal(js.body, 'console.log(1)');
      assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');

      assert.equal((await app.inject({ url: '/favicon.svg' })).statusCode, 200);
      for (const url of [
        '/assets/notes.exe',
        '/assets/missing.js',
        '/assets/..%2Findex.html',
        '/index.html',
      ]) {
        const res = await app.inject({ url });
        assert.equal(res.statusCode, 404, url);
        assert.ok(res.json<{ error: { code: string } }>().error.code, `${url}: the uniform error shape`);
      }
      assert.equal((await app.inject({ url: '/api/secret' })).statusCode, 401, 'the API stays protected');
    } finally {
      await app.close();
    }
  });

  it('says how to build the console when it is missing', async () => {
    const app = await serverFor(path.join(tempDir(), 'no-such-dist'));
    try {
      const res = await app.inject({ url: '/' });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'CONSOLE_NOT_BUILT');
    } finally {
      await app.close();
    }
  });
});
