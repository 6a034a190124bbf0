import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { DIALECTS } from '../../test/support/dialects.js';
import { describeDatabaseSecurity, openDatabase } from './index.js';

for (const dialect of DIALECTS) {
  describe(`database security description on ${dialect.name}`, { skip: dialect.skip }, () => {
    it('reports how the connection travels and whether commits survive power loss, as the database says', async () => {
      const t = await dialect.create();
      try {
        const d = await describeDatabaseSecurity(t.database);
        assert.equal(d.dialect, dialect.name);
        if (dialect.name === 'sqlite') {
          assert.deepEqual(d.transport, { kind: 'local-file' });
          assert.deepEqual(d.durability, {
            durable: true,
            settings: { journal_mode: 'wal', synchronous: 'full' },
          });
        } else {
          // The test server listens on 127.0.0.1 without TLS.
          assert.deepEqual(d.transport, { kind: 'plaintext-loopback', serverAddress: '127.0.0.1' });
          assert.deepEqual(d.durability, {
            durable: true,
            settings: { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' },
          });
        }
      } finally {
        await t.drop();
      }
    });

    it('notices when commits are no longer durable', async () => {
      const t = await dialect.create();
      try {
        if (dialect.name === 'sqlite') {
          await sql`pragma synchronous = NORMAL`.execute(t.database.kysely);
          const d = await describeDatabaseSecurity(t.database);
          assert.equal(d.durability.durable, false);
          assert.equal(d.durability.settings.synchronous, 'normal');
        } else {
          const name = new URL(t.url).pathname.slice(1);
          await sql.raw(`alter database ${name} set synchronous_commit = off`).execute(t.database.kysely);
          const fresh = openDatabase({ url: t.url, dataDir: t.dataDir, poolSize: 1 });
          try {
            const d = await describeDatabaseSecurity(fresh);
            assert.equal(d.durability.durable, false);
            assert.equal(d.durability.settings.synchronous_commit, 'off');
          } finally {
            await fresh.close();
          }
        }
      } finally {
        await t.drop();
      }
    });
  });
}
