import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { openKeysAndAudit, openState, startPalisade } from '../src/app/index.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/log/index.js';
import { tempDir } from './support/tmp.js';

const logger = createLogger('silent');

describe('the server and its audit log', () => {
  it('records system.started and system.stopped, and signs checkpoints periodically and at a clean stop', async () => {
    const config = loadConfig({
      overrides: { dataDir: tempDir(), http: { port: 0 }, audit: { checkpointIntervalSeconds: 1 } },
    });
    const palisade = await startPalisade(config, logger);
    let size: number;
    try {
      const started = await palisade.audit.query({ actionPrefix: 'system.started' });
      assert.equal(started.events.length, 1);
      assert.equal(started.events[0]!.event.details?.url, palisade.url);
      await palisade.audit.append({
        action: 'config.changed',
        outcome: 'success',
        actor: { type: 'user', id: 'admin' },
        details: { key: 'http.rateLimit.max' },
      });
      size = await palisade.audit.size();
      // The periodic signer catches up within an interval or two.
      let latest = await palisade.audit.latestCheckpoint();
      for (let i = 0; i < 40 && (latest?.size ?? 0) < size; i++) {
        await sleep(100);
        latest = await palisade.audit.latestCheckpoint();
      }
      assert.equal(latest?.size, size, 'a checkpoint covering every event was signed without being asked');
    } finally {
      await palisade.stop();
    }

    const { database, instanceId } = await openState(config, logger);
    const custody = await openKeysAndAudit(config, database, instanceId, logger, {
      periodicCheckpoints: false,
    });
    const audit = custody.audit;
    try {
      const events = (await audit.query()).events.map((e) => e.event.action);
      // First start also creates the first administrator (audited before the server starts).
      assert.deepEqual(events, ['user.created', 'system.started', 'config.changed', 'system.stopped']);
      assert.equal(size, 3);
      assert.equal((await audit.latestCheckpoint())?.size, 4, 'the last checkpoint covers the stop');
      assert.equal(audit.origin, `palisade/${instanceId}/audit`);
      assert.equal((await audit.verify()).ok, true);
    } finally {
      await custody.close();
      await database.close();
    }
  });

  it('refuses a configured origin different from the one the log was created with', async () => {
    const dataDir = tempDir();
    const first = await startPalisade(loadConfig({ overrides: { dataDir, http: { port: 0 } } }), logger);
    await first.stop();
    await assert.rejects(
      startPalisade(
        loadConfig({ overrides: { dataDir, http: { port: 0 }, audit: { origin: 'plant.example/audit' } } }),
        logger,
      ),
      { code: 'AUDIT_ORIGIN_MISMATCH' },
    );
  });
});
