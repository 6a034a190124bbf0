import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { openTestAuditLog, sampleEvent } from '../../test/support/audit.js';
import { DIALECTS } from '../../test/support/dialects.js';
import { openDatabase } from '../db/index.js';

const WRITER = fileURLToPath(new URL('../../test/support/audit-writer.js', import.meta.url));

for (const dialect of DIALECTS) {
  describe(`SIGKILL during a stream of appends on ${dialect.name}`, { skip: dialect.skip }, () => {
    it('loses no acknowledged event, and the log verifies and grows again after restart', async () => {
      const t = await dialect.create();
      await t.database.close();
      const child = spawn(process.execPath, [WRITER, t.url, t.dataDir, '16'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`too few acks in 30 s; stderr: ${err}`)), 30_000);
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          // Kill it in full flight, well into the stream.
          if (out.split('\n').length > 800) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('exit', (code) => reject(new Error(`writer exited early (${code}): ${err}`)));
      });
      child.kill('SIGKILL');
      await once(child, 'exit');
      // Everything already in the pipe is read; only complete lines are acknowledgements.
      const acks = out
        .split('\n')
        .filter((l) => /^\d+ \d+$/.test(l))
        .map((l) => l.split(' ').map(Number) as [number, number]);
      assert.ok(acks.length >= 800);

      const database = openDatabase({ url: t.url, dataDir: t.dataDir });
      const log = await openTestAuditLog(database, t.dataDir);
      try {
        const size = await log.size();
        assert.ok(size >= acks.length, `${size} entries for ${acks.length} acknowledged appends`);
        for (const [index, seq] of acks) {
          const stored = await log.get(index);
          assert.equal(stored?.event.details?.seq, seq, `acknowledged event ${seq} is at index ${index}`);
        }
        const report = await log.verify();
        assert.equal(report.ok, true, JSON.stringify(report.failure));
        assert.equal(report.entries, size);
        const next = await log.append(sampleEvent(9_999_999));
        assert.equal(next.index, size, 'appends continue right after the last committed entry');
        const again = await log.verify();
        assert.equal(again.ok, true, JSON.stringify(again.failure));
      } finally {
        await log.close();
        await database.close();
        await t.drop();
      }
    });
  });
}
