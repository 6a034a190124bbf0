import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DIALECTS } from '../../test/support/dialects.js';
import { openTestAuditLog, sampleEvent } from '../../test/support/audit.js';

for (const dialect of DIALECTS) {
  describe(`audit log on ${dialect.name}`, { skip: dialect.skip }, () => {
    it('smoke', async () => {
      const t = await dialect.create();
      const log = await openTestAuditLog(t.database, t.dataDir);
      try {
        const receipts = await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(sampleEvent(i))));
        assert.deepEqual(receipts.map((r) => r.index), Array.from({ length: 100 }, (_, i) => i));
        const cp = await log.signCheckpoint();
        assert.equal(cp.size, 100);
        const report = await log.verify();
        assert.equal(report.ok, true, JSON.stringify(report));
        const p = await log.inclusionProof(37);
        assert.equal(p.treeSize, 100);
        const page = await log.query({ actionPrefix: 'auth.login', limit: 10 });
        console.log(page.events.length, page.nextCursor, cp.note);
      } finally {
        await log.close();
        await t.drop();
      }
    });
  });
}
