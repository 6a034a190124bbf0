import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import pkcs11js from 'pkcs11js';
import { PROVIDERS } from '../../test/support/keys.js';
import { SOFTHSM_SKIP, softHsmToken } from '../../test/support/softhsm.js';
import { tempDir } from '../../test/support/tmp.js';
import { PalisadeError } from '../errors/index.js';
import { LocalKeyProvider } from './local-provider.js';
import { Pkcs11KeyProvider } from './pkcs11-provider.js';
import { dekContext } from './wrapped-key.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof PalisadeError, `expected a PalisadeError, got ${String(err)}`);
    return err.code;
  }
  return 'SUCCEEDED';
}

for (const pc of PROVIDERS) {
  describe(`${pc.name} key provider`, { skip: pc.skip }, () => {
    it('wraps and unwraps a data key; the context, the KEK and every byte of the blob are bound', async () => {
      const provider = await pc.open(tempDir());
      try {
        const a = await provider.createKek('palisade-kek:test-a:v1');
        const b = await provider.createKek('palisade-kek:test-b:v1');
        assert.notEqual(a, b);
        const dek = randomBytes(32);
        const ctx = dekContext('test-a', 1, 'object-1');
        const wrapped = await provider.wrapDek(a, dek, ctx);
        assert.equal(wrapped.length, 62);
        assert.ok(!wrapped.includes(dek.subarray(0, 8)), 'the data key does not show through');
        assert.deepEqual(await provider.unwrapDek(a, wrapped, ctx), dek);
        // Two wraps of the same key differ (random IV).
        assert.notDeepEqual(await provider.wrapDek(a, dek, ctx), wrapped);

        assert.equal(await codeOf(provider.unwrapDek(b, wrapped, ctx)), 'DEK_UNWRAP_FAILED', 'another KEK');
        assert.equal(
          await codeOf(provider.unwrapDek(a, wrapped, dekContext('test-a', 1, 'object-2'))),
          'DEK_UNWRAP_FAILED',
          'another object',
        );
        assert.equal(
          await codeOf(provider.unwrapDek(a, wrapped, dekContext('test-a', 2, 'object-1'))),
          'DEK_UNWRAP_FAILED',
          'another version',
        );
        for (const at of [2, 13, 14, 45, 46, 61]) {
          const bad = Buffer.from(wrapped);
          bad[at]! ^= 0x80;
          assert.equal(await codeOf(provider.unwrapDek(a, bad, ctx)), 'DEK_UNWRAP_FAILED', `byte ${at}`);
        }
        assert.equal(
          await codeOf(provider.unwrapDek(a, wrapped.subarray(0, 61), ctx)),
          'DEK_UNWRAP_FAILED',
          'short blob',
        );
      } finally {
        await provider.close();
      }
    });

    it('destroys a KEK: it is gone from the provider and nothing it wrapped opens again', async () => {
      const provider = await pc.open(tempDir());
      try {
        const ref = await provider.createKek('palisade-kek:doomed:v1');
        const ctx = dekContext('doomed', 1, 'o');
        const wrapped = await provider.wrapDek(ref, randomBytes(32), ctx);
        assert.equal(await provider.hasKek(ref), true);
        assert.equal(await provider.destroyKek(ref), true);
        assert.equal(await provider.hasKek(ref), false);
        assert.equal(await codeOf(provider.unwrapDek(ref, wrapped, ctx)), 'KEK_NOT_FOUND');
        assert.equal(await provider.destroyKek(ref), false, 'destroying again reports it was already gone');
      } finally {
        await provider.close();
      }
    });

    it('reports how the KEK is protected', async () => {
      const provider = await pc.open(tempDir());
      try {
        const protection = await provider.kekProtection(await provider.createKek('palisade-kek:p:v1'));
        if (pc.name === 'pkcs11') {
          assert.deepEqual(protection, {
            sensitive: true,
            extractable: false,
            alwaysSensitive: true,
            neverExtractable: true,
          });
          assert.equal(provider.info.hardwareBacked, false, 'SoftHSM is a software token');
          assert.match(provider.info.description, /SoftHSM.*software token/);
        } else {
          assert.equal(protection.sensitive, false);
          assert.equal(provider.info.hardwareBacked, false);
        }
      } finally {
        await provider.close();
      }
    });

    it('generates an Ed25519 signing key inside the provider; signatures verify independently', async () => {
      const dir = tempDir();
      const provider = await pc.open(dir);
      const name = `audit-checkpoint-${randomBytes(3).toString('hex')}`;
      let publicKey: Uint8Array;
      try {
        const signer = await provider.signer(name);
        assert.equal(signer.name, name);
        assert.equal(signer.algorithm, 'Ed25519');
        assert.equal(signer.publicKey.length, 32);
        publicKey = signer.publicKey;
        const message = new TextEncoder().encode('palisade.example/audit\n42\nbase64root=\n');
        const signature = await signer.sign(message);
        assert.equal(signature.length, 64);
        const key = createPublicKey({ key: Buffer.from(signer.spki), format: 'der', type: 'spki' });
        assert.equal(verify(null, message, key, signature), true);
        assert.equal(verify(null, Buffer.from('something else'), key, signature), false);
        const jwk = key.export({ format: 'jwk' });
        assert.equal(
          Buffer.from(jwk.x!, 'base64url').toString('hex'),
          Buffer.from(signer.publicKey).toString('hex'),
        );
        assert.equal(await codeOf(provider.signer(`never-made-${name}`, { create: false })), 'KEK_NOT_FOUND');
        assert.equal(await codeOf(provider.signer('no spaces allowed')), 'KEY_NAME_INVALID');
      } finally {
        await provider.close();
      }
      // The same name gives the same key after a restart.
      const again = await pc.open(dir);
      try {
        assert.deepEqual((await again.signer(name, { create: false })).publicKey, publicKey);
      } finally {
        await again.close();
      }
    });

    it('never shows key material in util.inspect or JSON', async () => {
      const dir = tempDir();
      const provider = await pc.open(dir);
      try {
        const ref = await provider.createKek('palisade-kek:shown:v1');
        await provider.signer('shown');
        const shown = inspect(provider, { showHidden: true, depth: Infinity }) + JSON.stringify(provider);
        assert.match(shown, /Provider/);
        if (pc.name === 'local') {
          const file = JSON.parse(readFileSync(path.join(dir, 'keys', 'local-keys.json'), 'utf8')) as {
            keks: Record<string, { key: string }>;
            signingKeys: Record<string, { pkcs8: string }>;
          };
          const kek = Buffer.from(file.keks[ref]!.key, 'base64');
          for (const form of [
            file.keks[ref]!.key,
            kek.toString('hex'),
            kek.toString('base64url'),
            file.signingKeys.shown!.pkcs8.slice(-40),
          ]) {
            assert.ok(!shown.includes(form), 'a key appears in the inspected provider');
          }
        }
      } finally {
        await provider.close();
      }
    });
  });
}

describe('local key provider: the key file', () => {
  it('is created 0600 in a 0700 directory and refused when others can read it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'keys', 'local-keys.json');
    const provider = await LocalKeyProvider.open(file);
    await provider.createKek('palisade-kek:z:v1');
    await provider.close();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    chmodSync(file, 0o644);
    assert.equal(await codeOf(LocalKeyProvider.open(file)), 'KEY_FILE_INSECURE');
    chmodSync(file, 0o600);
    writeFileSync(file, '{"format":"something else"}');
    assert.equal(await codeOf(LocalKeyProvider.open(file)), 'KEY_FILE_INVALID');
  });

  it('two instances on one file (two processes) see each other’s keys and never lose one', async () => {
    const file = path.join(tempDir(), 'keys.json');
    const [a, b] = [await LocalKeyProvider.open(file), await LocalKeyProvider.open(file)];
    try {
      const refs = await Promise.all(
        [...Array(10).keys()].map((i) => (i % 2 ? a : b).createKek(`palisade-kek:k${i}:v1`)),
      );
      for (const ref of refs) {
        const ctx = dekContext('k', 1, 'o');
        const dek = randomBytes(32);
        assert.deepEqual(await b.unwrapDek(ref, await a.wrapDek(ref, dek, ctx), ctx), dek);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('PKCS#11 provider on SoftHSM2: the token', { skip: SOFTHSM_SKIP }, () => {
  it('a KEK value can never be read: CKA_VALUE gives CKR_ATTRIBUTE_SENSITIVE (own PKCS#11 session)', async () => {
    const t = softHsmToken();
    const provider = await Pkcs11KeyProvider.open({ module: t.module, tokenLabel: t.tokenLabel, pin: t.pin });
    try {
      const ref = await provider.createKek('palisade-kek:sensitive:v1');
      // An independent PKCS#11 client in this process (the module is already initialised and logged in).
      const lib = new pkcs11js.PKCS11();
      lib.load(t.module);
      try {
        lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
      } catch (err) {
        assert.match(String(err), /CKR_CRYPTOKI_ALREADY_INITIALIZED/);
      }
      const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === t.tokenLabel)!;
      const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      try {
        lib.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_ID, value: Buffer.from(ref, 'hex') }]);
        const [kek] = lib.C_FindObjects(session, 2);
        lib.C_FindObjectsFinal(session);
        assert.ok(kek, 'the KEK is in the token');
        assert.throws(
          () => lib.C_GetAttributeValue(session, kek, [{ type: pkcs11js.CKA_VALUE }]),
          (err: unknown) =>
            err instanceof pkcs11js.Pkcs11Error && err.code === pkcs11js.CKR_ATTRIBUTE_SENSITIVE,
        );
        // Nor can it leave wrapped under another key.
        const wrapping = lib.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
          { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
          { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
          { type: pkcs11js.CKA_TOKEN, value: false },
          { type: pkcs11js.CKA_WRAP, value: true },
        ]);
        assert.throws(
          () =>
            lib.C_WrapKey(
              session,
              { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD },
              wrapping,
              kek,
              Buffer.alloc(64),
            ),
          (err: unknown) =>
            err instanceof pkcs11js.Pkcs11Error && err.code === pkcs11js.CKR_KEY_UNEXTRACTABLE,
        );
      } finally {
        lib.C_CloseSession(session);
        lib.close();
      }
    } finally {
      await provider.close();
    }
  });

  it('OpenSC pkcs11-tool sees the KEK as sensitive and never extractable, and cannot read it', async () => {
    const t = softHsmToken();
    const provider = await Pkcs11KeyProvider.open({ module: t.module, tokenLabel: t.tokenLabel, pin: t.pin });
    try {
      const ref = await provider.createKek('palisade-kek:opensc:v1');
      const tool = (args: string[]) =>
        spawnSync(
          'pkcs11-tool',
          ['--module', t.module, '--token-label', t.tokenLabel, '--login', '--pin', t.pin, ...args],
          {
            encoding: 'utf8',
            env: { ...process.env, SOFTHSM2_CONF: t.conf },
          },
        );
      if (tool(['--show-info']).error) {
        assert.fail('pkcs11-tool is missing: apt-get install opensc (.ci/packages.txt)');
      }
      const list = tool(['--list-objects', '--type', 'secrkey', '--id', ref]);
      assert.match(list.stdout, /palisade-kek:opensc:v1/);
      assert.match(list.stdout, /Access:\s+sensitive, always sensitive, never extractable, local/);
      const read = tool(['--read-object', '--type', 'secrkey', '--id', ref]);
      assert.notEqual(read.status, 0);
      assert.match(read.stderr, /CKR_ATTRIBUTE_SENSITIVE/);
    } finally {
      await provider.close();
    }
  });

  it('a missing token is named; a wrong PIN is KEY_PIN_INCORRECT (fresh process, not yet logged in)', async () => {
    const t = softHsmToken();
    assert.equal(
      await codeOf(Pkcs11KeyProvider.open({ module: t.module, tokenLabel: 'no-such-token', pin: t.pin })),
      'KEY_PROVIDER_UNAVAILABLE',
    );
    assert.equal(
      await codeOf(
        Pkcs11KeyProvider.open({ module: '/nonexistent/libpkcs11.so', tokenLabel: t.tokenLabel, pin: t.pin }),
      ),
      'KEY_PROVIDER_UNAVAILABLE',
    );
    const providerModule = fileURLToPath(new URL('./pkcs11-provider.js', import.meta.url));
    const script = `
      const { Pkcs11KeyProvider } = await import(${JSON.stringify(providerModule)});
      try { await Pkcs11KeyProvider.open({ module: ${JSON.stringify(t.module)}, tokenLabel: ${JSON.stringify(t.tokenLabel)}, pin: 'wrong-pin' }); console.log('OPENED'); }
      catch (err) { console.log(err.code); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, SOFTHSM2_CONF: t.conf },
    });
    assert.equal(r.stdout.trim(), 'KEY_PIN_INCORRECT', r.stderr);
  });
});
