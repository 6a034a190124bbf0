import assert from 'node:assert/strict';
import { unlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startPalisade } from '../src/app/index.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/log/index.js';
import { createPgDatabase, dropPgDatabase, PG_SKIP_REASON, PG_ADMIN_URL } from './support/dialects.js';
import { httpsRequest } from './support/https.js';
import { startTcpProxy } from './support/tcp-proxy.js';
import { tempDir } from './support/tmp.js';

const logger = createLogger('silent');

async function readyStatus(url: string, ca: string): Promise<{ status: number; code?: string }> {
  const res = await httpsRequest(`${url}/readyz`, { ca });
  return res.status === 200
    ? { status: 200 }
    : { status: res.status, code: res.json<{ error: { code: string } }>().error.code };
}

describe('readiness follows the database', () => {
  it('sqlite: /readyz fails once the database file is gone', async () => {
    const dataDir = tempDir();
    const palisade = await startPalisade(loadConfig({ overrides: { dataDir, http: { port: 0 } } }), logger);
    try {
      assert.deepEqual(await readyStatus(palisade.url, palisade.tls.certPem), { status: 200 });
      unlinkSync(path.join(dataDir, 'palisade.db'));
      assert.deepEqual(await readyStatus(palisade.url, palisade.tls.certPem), {
        status: 503,
        code: 'NOT_READY',
      });
      const health = await httpsRequest(`${palisade.url}/healthz`, { ca: palisade.tls.certPem });
      assert.equal(health.status, 200, 'liveness is independent of the database');
    } finally {
      await palisade.stop();
    }
  });

  it(
    'postgres: /readyz fails while the server is unreachable and recovers after',
    { skip: PG_ADMIN_URL === undefined ? PG_SKIP_REASON : false },
    async () => {
      const dbUrl = new URL(await createPgDatabase());
      const proxy = await startTcpProxy(dbUrl.hostname, Number(dbUrl.port || 5432));
      const viaProxy = new URL(dbUrl);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const config = loadConfig({
        overrides: { dataDir: tempDir(), http: { port: 0 }, database: { url: viaProxy.toString() } },
      });
      const palisade = await startPalisade(config, logger);
      try {
        assert.equal(palisade.database.dialect, 'postgres');
        assert.deepEqual(await readyStatus(palisade.url, palisade.tls.certPem), { status: 200 });
        await proxy.cut();
        assert.deepEqual(await readyStatus(palisade.url, palisade.tls.certPem), {
          status: 503,
          code: 'NOT_READY',
        });
        await proxy.restore();
        assert.deepEqual(await readyStatus(palisade.url, palisade.tls.certPem), { status: 200 });
      } finally {
        await palisade.stop();
        await proxy.close();
        await dropPgDatabase(dbUrl.toString());
      }
    },
  );
});
