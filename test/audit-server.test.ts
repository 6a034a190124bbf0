import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { openAudit, openState, startPalisade } from '../src/app/index.js';
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
    const started = await palisade.audit.query({ actionPrefix: 'system.started' });
    assert.equal(started.events.length, 1);
    assert.equal(started.events[0]!.event.details?.url, palisade.url);
    await palisade.audit.append({
      action: 'config.changed',
      outcome: 'success',
      actor: { type: 'user', id: 'admin' },
      details: { key: 'http.rateLimit.max' },
    });
    // The periodic signer catches up within an interval or two.
    let latest = await palisade.audit.latestCheckpoint();
    for (let i = 0; i < 40 && (latest?.size ?? 0) < 2; i++) {
      await sleep(100);
      latest = await palisade.audit.latestCheckpoint();
    }
    assert.equal(latest?.size, 2, 'a checkpoint covering both events was signed without being asked');
    await palisade.stop();

    const { database, instanceId } = await openState(config, logger);
    const audit = await openAudit(config, database, instanceId, logger, { periodicCheckpoints: false });
    try {
      const events = (await audit.query()).events.map((e) => e.event.action);
      assert.deepEqual(events, ['system.started', 'config.changed', 'system.stopped']);
      assert.equal((await audit.latestCheckpoint())?.size, 3, 'the last checkpoint covers the stop');
      assert.equal(audit.origin, `palisade/${instanceId}/audit`);
      assert.equal((await audit.verify()).ok, true);
    } finally {
      await audit.close();
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
