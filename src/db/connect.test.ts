import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import {
  createPgDatabase,
  dropPgDatabase,
  PG_ADMIN_URL,
  PG_SKIP_REASON,
} from '../../test/support/dialects.js';
import { startTcpProxy } from '../../test/support/tcp-proxy.js';
import { tempDir } from '../../test/support/tmp.js';
import { openDatabase } from './index.js';

describe('PostgreSQL connection loss', { skip: PG_ADMIN_URL === undefined ? PG_SKIP_REASON : false }, () => {
  it('a query cut off mid-flight fails with an error; the process lives on and reconnects', async () => {
    const url = new URL(await createPgDatabase());
    const proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    const viaProxy = new URL(url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const database = openDatabase({ url: viaProxy.toString(), dataDir: tempDir() });
    let uncaught: unknown;
    const onUncaught = (err: unknown) => (uncaught = err);
    process.on('uncaughtException', onUncaught);
    try {
      await database.ping();
      const slow = sql`select pg_sleep(3)`.execute(database.kysely);
      await new Promise((r) => setTimeout(r, 300));
      await proxy.cut();
      await assert.rejects(slow, /terminated|ECONNRESET|Connection/i);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(uncaught, undefined, 'no uncaught exception');
      await proxy.restore();
      await database.ping();
    } finally {
      process.off('uncaughtException', onUncaught);
      await database.close();
      await proxy.close();
      await dropPgDatabase(url.toString());
    }
  });
});
