import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DIALECTS } from '../../test/support/dialects.js';
import { PROVIDERS, keysFixture } from '../../test/support/keys.js';
import { PalisadeError } from '../errors/index.js';
import type { KeysContext } from './data-keys.js';
import { openDataKey } from './data-keys.js';
import { objectIdOf } from './secrets.js';
import type { KeysTables } from './tables.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof PalisadeError, `expected a PalisadeError, got ${String(err)}`);
    return err.code;
  }
  return 'SUCCEEDED';
}

for (const dialect of DIALECTS) {
  for (const pc of PROVIDERS) {
    describe(
      `secrets at rest on ${dialect.name} with the ${pc.name} provider`,
      { skip: dialect.skip ?? pc.skip },
      () => {
        it('seals a secret once, lists it without its value, opens it for the component that needs it', async () => {
          const f = await keysFixture(dialect, pc);
          try {
            const info = await f.keyring.secrets.create(
              {
                name: 'camera/cam-7/onvif',
                kind: 'camera-credential',
                value: 'admin:Tr0ub4dor&3',
                kekId: 'zone-cams',
              },
              { actor: { type: 'user', id: 'u-1' } },
            );
            assert.deepEqual(Object.keys(info).sort(), ['createdAt', 'id', 'kekId', 'kind', 'name']);
            assert.equal(info.kekId, 'zone-cams');
            assert.deepEqual(await f.keyring.secrets.list(), [info]);
            assert.deepEqual(await f.keyring.secrets.info('camera/cam-7/onvif'), info);
            assert.equal((await f.keyring.secrets.open(info.id)).toString(), 'admin:Tr0ub4dor&3');
            assert.equal(
              (await f.keyring.secrets.open('camera/cam-7/onvif')).toString(),
              'admin:Tr0ub4dor&3',
            );
            const created = f.events.find((e) => e.action === 'secret.created')!;
            assert.deepEqual(created.target, { type: 'secret', id: info.id, zone: 'zone-cams' });
            assert.deepEqual(created.details, {
              name: 'camera/cam-7/onvif',
              kind: 'camera-credential',
              kekId: 'zone-cams',
            });
            assert.ok(!JSON.stringify(f.events).includes('Tr0ub4dor'), 'the value is in no audit event');
          } finally {
            await f.close();
          }
        });

        it('refuses duplicates and bad input with stable codes', async () => {
          const f = await keysFixture(dialect, pc);
          try {
            await f.keyring.secrets.create({ name: 'siem/splunk', kind: 'siem-token', value: 'abc' });
            const dup = f.keyring.secrets.create({ name: 'siem/splunk', kind: 'siem-token', value: 'def' });
            assert.equal(await codeOf(dup), 'SECRET_EXISTS');
            for (const bad of [
              { name: 'x', kind: 'siem-token', value: '' },
              { name: 'x', kind: 'siem-token', value: Buffer.alloc(64 * 1024 + 1) },
              { name: ' leading space', kind: 'siem-token', value: 'v' },
              { name: 'x', kind: 'Not A Kind', value: 'v' },
            ]) {
              assert.equal(
                await codeOf(f.keyring.secrets.create(bad)),
                'SECRET_INVALID',
                JSON.stringify(bad.name),
              );
            }
            assert.equal(await codeOf(f.keyring.secrets.open('nope')), 'SECRET_NOT_FOUND');
            // A 64 KiB binary secret round-trips exactly.
            const big = randomBytes(64 * 1024);
            await f.keyring.secrets.create({ name: 'oidc/client', kind: 'oidc-client-secret', value: big });
            assert.deepEqual(await f.keyring.secrets.open('oidc/client'), big);
          } finally {
            await f.close();
          }
        });

        it('deleting a secret destroys its data key: a copy of the sealed bytes stays shut', async () => {
          const f = await keysFixture(dialect, pc);
          try {
            const info = await f.keyring.secrets.create({
              name: 'cam/1',
              kind: 'camera-credential',
              value: 'pw-1',
            });
            await f.keyring.secrets.delete('cam/1', { actor: { type: 'user', id: 'u-3' } });
            assert.equal(await codeOf(f.keyring.secrets.open(info.id)), 'SECRET_NOT_FOUND');
            assert.deepEqual(await f.keyring.secrets.list(), []);
            const ctx: KeysContext = {
              db: f.db.database.kysely.withTables<KeysTables>(),
              dialect: dialect.name,
              provider: f.provider,
              providerFor: () => f.provider,
              audit: async () => undefined,
              rewrapping: new Set(),
            };
            assert.equal(await codeOf(openDataKey(ctx, objectIdOf(info.id))), 'DEK_DESTROYED');
            const deleted = f.events.at(-1)!;
            assert.equal(deleted.action, 'secret.deleted');
            assert.deepEqual(deleted.actor, { type: 'user', id: 'u-3' });
            // The name can be used again for a new secret.
            await f.keyring.secrets.create({ name: 'cam/1', kind: 'camera-credential', value: 'pw-2' });
            assert.equal((await f.keyring.secrets.open('cam/1')).toString(), 'pw-2');
          } finally {
            await f.close();
          }
        });

        it('secrets follow KEK rotation like video', async () => {
          const f = await keysFixture(dialect, pc);
          try {
            await f.keyring.secrets.create({ name: 'a', kind: 'siem-token', value: 'token-a' });
            await f.keyring.rotateKek('system');
            assert.equal((await f.keyring.rewrap('system')).job?.done, 1);
            await f.keyring.destroyKekVersion('system', 1);
            assert.equal((await f.keyring.secrets.open('a')).toString(), 'token-a');
            assert.equal(
              await codeOf(f.keyring.destroyDataKeys([objectIdOf((await f.keyring.secrets.info('a')).id)])),
              'KEY_NAME_INVALID',
              'secrets are deleted through the secret store',
            );
          } finally {
            await f.close();
          }
        });
      },
    );
  }
}
