import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SOFTHSM_SKIP, softHsmToken } from '../../test/support/softhsm.js';
import { tempDir } from '../../test/support/tmp.js';
import { loadConfig } from '../config/index.js';
import { PalisadeError } from '../errors/index.js';
import { defaultLocalKeyFile, openKeyProvider } from './open-provider.js';

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof PalisadeError, `expected a PalisadeError, got ${String(err)}`);
    return err.code;
  }
  return 'SUCCEEDED';
}

describe('keys configuration', () => {
  it('defaults to the local key file in the data dir with 256 KiB chunks', async () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.keys.provider, 'local');
    assert.equal(config.keys.chunkSize, 262144);
    assert.equal(config.keys.pkcs11.sessions, 4);
    const dir = tempDir();
    const provider = await openKeyProvider(config.keys, { dataDir: dir });
    try {
      assert.equal(provider.info.kind, 'local');
      assert.ok(existsSync(defaultLocalKeyFile(dir)));
      assert.equal(defaultLocalKeyFile(dir), path.join(dir, 'keys', 'local-keys.json'));
    } finally {
      await provider.close();
    }
  });

  it('takes the HSM settings from the file and environment, but never a PIN in clear', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'palisade.yaml');
    writeFileSync(
      file,
      'keys:\n  provider: pkcs11\n  pkcs11:\n    module: /usr/lib/softhsm/libsofthsm2.so\n    tokenLabel: plant-a\n',
    );
    const env = { PALISADE_KEYS__PKCS11__PIN_ENV: 'HSM_PIN', PALISADE_KEYS__CHUNK_SIZE: '65536' };
    const config = loadConfig({ file, env });
    assert.equal(config.keys.provider, 'pkcs11');
    assert.equal(config.keys.pkcs11.tokenLabel, 'plant-a');
    assert.equal(config.keys.pkcs11.pinEnv, 'HSM_PIN');
    assert.equal(config.keys.chunkSize, 65536);

    writeFileSync(file, 'keys:\n  pkcs11:\n    pin: "1234"\n');
    assert.equal(await codeOf(() => loadConfig({ file, env: {} })), 'CONFIG_INVALID', 'no pin key exists');
    assert.equal(
      await codeOf(() => loadConfig({ env: { PALISADE_KEYS__PKCS11__PIN_ENV: 'PALISADE_PIN' } })),
      'CONFIG_INVALID',
      'a PALISADE_* variable would be read as configuration',
    );
    assert.equal(
      await codeOf(() => loadConfig({ env: { PALISADE_KEYS__CHUNK_SIZE: '5000' } })),
      'CONFIG_INVALID',
    );
    assert.equal(
      await codeOf(() => loadConfig({ env: { PALISADE_KEYS__PROVIDER: 'kms' } })),
      'CONFIG_INVALID',
    );
  });

  it('says what is missing for PKCS#11 and refuses a PIN file others can read', async () => {
    const dir = tempDir();
    const base = loadConfig({ env: { PALISADE_KEYS__PROVIDER: 'pkcs11' } }).keys;
    assert.equal(await codeOf(() => openKeyProvider(base, { dataDir: dir })), 'CONFIG_INVALID');
    const named = {
      ...base,
      pkcs11: { ...base.pkcs11, module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 't' },
    };
    assert.equal(await codeOf(() => openKeyProvider(named, { dataDir: dir, env: {} })), 'KEY_PIN_MISSING');
    const pinFile = path.join(dir, 'pin');
    writeFileSync(pinFile, '1234\n', { mode: 0o644 });
    const withFile = { ...named, pkcs11: { ...named.pkcs11, pinFile } };
    assert.equal(await codeOf(() => openKeyProvider(withFile, { dataDir: dir })), 'KEY_FILE_INSECURE');
    const withEnv = { ...named, pkcs11: { ...named.pkcs11, pinEnv: 'HSM_PIN' } };
    assert.equal(await codeOf(() => openKeyProvider(withEnv, { dataDir: dir, env: {} })), 'KEY_PIN_MISSING');
  });

  it(
    'opens the SoftHSM2 token with the PIN from a private file or from the environment',
    { skip: SOFTHSM_SKIP },
    async () => {
      const t = softHsmToken();
      const dir = tempDir();
      const pinFile = path.join(dir, 'pin');
      writeFileSync(pinFile, `${t.pin}\n`, { mode: 0o600 });
      const base = loadConfig({ env: {} }).keys;
      const pkcs11 = { ...base.pkcs11, module: t.module, tokenLabel: t.tokenLabel };
      for (const keys of [
        { ...base, provider: 'pkcs11' as const, pkcs11: { ...pkcs11, pinFile } },
        { ...base, provider: 'pkcs11' as const, pkcs11: { ...pkcs11, pinEnv: 'HSM_PIN' } },
      ]) {
        const provider = await openKeyProvider(keys, { dataDir: dir, env: { HSM_PIN: t.pin } });
        try {
          assert.equal(provider.info.kind, 'pkcs11');
          assert.equal(provider.info.tokenLabel, t.tokenLabel);
        } finally {
          await provider.close();
        }
      }
    },
  );
});
