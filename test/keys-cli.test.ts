import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { registerKeys } from '../src/cli/keys.js';
import { MIGRATIONS, openKeysAndAudit, openState } from '../src/app/index.js';
import { loadConfig } from '../src/config/index.js';
import { migrate, openDatabase } from '../src/db/index.js';
import { Keyring, openKeyProvider, bufferSource, type KeysStatus } from '../src/keys/index.js';
import { SOFTHSM_SKIP, softHsmToken } from './support/softhsm.js';
import { createLogger } from '../src/log/index.js';
import { tempDir } from './support/tmp.js';

/** Runs `palisade keys …` in process with the given wiring, collecting what it prints. */
async function keysCli(args: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const program = new Command('palisade').exitOverride();
  program.configureOutput({ writeErr: (t) => (err += t), writeOut: (t) => (out += t) });
  registerKeys(program, {
    out: (t) => (out += t),
    err: (t) => (err += t),
    interactive: false,
  });
  await program.parseAsync(args, { from: 'user' });
  return { out, err };
}

describe('palisade keys list|status|rotate on a SoftHSM2 token', { skip: SOFTHSM_SKIP }, () => {
  it('lists KEKs, reports status, rotates with progress, and everything still opens', async () => {
    const t = softHsmToken();
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const pinFile = path.join(dir, 'hsm-pin');
    writeFileSync(pinFile, `${t.pin}\n`, { mode: 0o600 });
    const configFile = path.join(dir, 'palisade.yaml');
    writeFileSync(
      configFile,
      [
        `dataDir: ${dataDir}`,
        'keys:',
        '  provider: pkcs11',
        '  rewrapBatchSize: 50',
        '  pkcs11:',
        `    module: ${t.module}`,
        `    tokenLabel: ${t.tokenLabel}`,
        `    pinFile: ${pinFile}`,
        '',
      ].join('\n'),
    );

    // Some recorded objects in zone-a, sealed through the same configuration.
    const config = loadConfig({ file: configFile, env: {} });
    const database = openDatabase({ dataDir });
    await migrate(database, MIGRATIONS);
    const provider = await openKeyProvider(config.keys, { dataDir });
    const keyring = new Keyring({ database, provider, audit: async () => undefined });
    const sealed = new Map<string, Buffer>();
    for (let i = 0; i < 120; i++) {
      const sealer = await keyring.createSealer({ objectId: `seg-${i}`, kekId: 'zone-a' });
      sealed.set(`seg-${i}`, Buffer.concat([...sealer.update(Buffer.from(`video ${i}`)), ...sealer.final()]));
    }

    const list = await keysCli(['keys', 'list', '--config', configFile]);
    assert.match(list.out, /^ZONE\s+VERSION\s+STATE\s+PROVIDER\s+AGE\s+DATA KEYS\s+CREATED$/m);
    assert.match(list.out, /^zone-a\s+v1\s+active\s+pkcs11\s+0d\s+120\s/m);

    const rotate = await keysCli(['keys', 'rotate', 'zone-a', '--config', configFile]);
    assert.match(rotate.out, /^zone-a: v1 -> v2 \(pkcs11\), 120 data keys to re-wrap$/m);
    assert.match(rotate.out, /^zone-a: re-wrap completed, 120 re-wrapped, 0 could not be opened$/m);
    assert.match(rotate.err, /re-wrapping zone-a -> v2: 120 \/ 120 \(100%\)/);
    // Each step is in the audit log, attributed to the operator at the console.
    const state = await openState(config, createLogger('silent'));
    const custody = await openKeysAndAudit(config, state.database, state.instanceId, createLogger('silent'), {
      periodicCheckpoints: false,
    });
    const events = (await custody.audit.query({ actionPrefix: 'keys.' })).events.map((e) => e.event);
    await custody.close();
    await state.database.close();
    assert.deepEqual(
      events.map((e) => e.action).filter((a) => a !== 'keys.kek.created'),
      ['keys.kek.rotated', 'keys.rewrap.started', 'keys.rewrap.completed'],
    );
    assert.equal(events.find((e) => e.action === 'keys.kek.rotated')!.actor.auth, 'local-cli');

    const status = await keysCli(['keys', 'status', '--json', '--config', configFile]);
    const s = JSON.parse(status.out) as KeysStatus;
    assert.equal(s.provider.kind, 'pkcs11');
    assert.equal(s.provider.hardwareBacked, false);
    assert.deepEqual(
      s.keks.map((k) => [k.version, k.state, k.liveDataKeys]),
      [
        [1, 'retired', 0],
        [2, 'active', 120],
      ],
    );
    const human = await keysCli(['keys', 'status', '--config', configFile]);
    assert.match(human.out, /^Hardware-backed: no$/m);
    assert.match(human.out, /^Data keys: 120 live, 0 destroyed, 0 re-wrap errors$/m);

    assert.equal(
      (await keysCli(['keys', 'rotate', '--resume', '--config', configFile])).out,
      'no re-wrap job is running\n',
    );
    await assert.rejects(keysCli(['keys', 'rotate', '--config', configFile]), /name the zone/);

    for (const [id, bytes] of sealed) {
      const reader = await keyring.openObject({ objectId: id, source: bufferSource(bytes) });
      assert.equal((await reader.read(0, reader.size)).toString(), `video ${id.slice(4)}`);
    }
    await provider.close();
    await database.close();
  });
});
