import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FactRegistry, MAX_FACT_VALUE_BYTES, type FactSource, type Observation } from './index.js';

const at = '2026-01-02T03:04:05.000Z';

function source(name: string, namespace: string, collect: () => Promise<Observation[]>): FactSource {
  return { name, namespace, collect };
}

describe('fact registry', () => {
  it('collects every source, stamps each fact with its source, and lists the namespaces present', async () => {
    const registry = new FactRegistry()
      .register(
        source('identity.policy', 'identity', async () => [
          { key: 'identity.mfa.required', value: true, observedAt: at },
        ]),
      )
      .register(
        source('keys.provider', 'keys', async () => [
          { key: 'keys.provider.kind', value: 'pkcs11', observedAt: new Date(at) },
          {
            key: 'keys.atRest.coverage',
            value: { video: true, secrets: true },
            observedAt: at,
            zone: 'cameras',
          },
        ]),
      );
    const c = await registry.collect({ now: new Date(at) });
    assert.deepEqual(c.errors, []);
    assert.deepEqual(c.namespaces, ['identity', 'keys']);
    assert.deepEqual(c.sources, { identity: ['identity.policy'], keys: ['keys.provider'] });
    assert.deepEqual(c.facts, [
      { key: 'identity.mfa.required', value: true, observedAt: at, source: 'identity.policy' },
      { key: 'keys.provider.kind', value: 'pkcs11', observedAt: at, source: 'keys.provider' },
      {
        key: 'keys.atRest.coverage',
        value: { video: true, secrets: true },
        observedAt: at,
        source: 'keys.provider',
        zone: 'cameras',
      },
    ]);
  });

  it('names a failing or silent source and keeps the others', async () => {
    const registry = new FactRegistry()
      .register(source('audit.log', 'audit', async () => Promise.reject(new Error('disk gone'))))
      .register(source('slow', 'time', () => new Promise(() => undefined)))
      .register(
        source('ok', 'access', async () => [{ key: 'access.denyByDefault', value: true, observedAt: at }]),
      );
    const c = await registry.collect({ timeoutMs: 50 });
    assert.deepEqual(
      c.facts.map((f) => f.key),
      ['access.denyByDefault'],
    );
    assert.deepEqual(
      c.errors.map((e) => [e.source, e.message]),
      [
        ['audit.log', 'failed to report: disk gone'],
        ['slow', 'failed to report: slow did not answer within 50 ms'],
      ],
    );
    // A failing module is still present: its checks say which source failed, not "module missing".
    assert.deepEqual(c.namespaces, ['access', 'audit', 'time']);
  });

  it('refuses facts outside the source namespace, malformed keys, non-JSON values, bad times and oversize values', async () => {
    class Weird {
      x = 1;
    }
    const registry = new FactRegistry().register(
      source('identity', 'identity', async () => [
        { key: 'access.denyByDefault', value: true, observedAt: at },
        { key: 'identity', value: true, observedAt: at },
        { key: 'identity.Bad Key', value: true, observedAt: at },
        { key: 'identity.nan', value: Number.NaN, observedAt: at },
        { key: 'identity.obj', value: new Weird() as never, observedAt: at },
        { key: 'identity.fn', value: (() => 1) as never, observedAt: at },
        { key: 'identity.when', value: 1, observedAt: 'yesterday' },
        { key: 'identity.big', value: 'x'.repeat(MAX_FACT_VALUE_BYTES + 1), observedAt: at },
        { key: 'identity.zone', value: 1, observedAt: at, zone: '' },
        null as never,
        { key: 'identity.ok', value: [1, 'two', null, { three: false }], observedAt: at },
      ]),
    );
    const c = await registry.collect();
    assert.deepEqual(
      c.facts.map((f) => f.key),
      ['identity.ok'],
    );
    const messages = c.errors.map((e) => e.message);
    assert.equal(messages.length, 10);
    assert.match(messages[0]!, /may only report identity\.\* facts/);
    assert.match(messages[1]!, /invalid fact key "identity"/);
    assert.match(messages[3]!, /not plain JSON/);
    assert.match(messages[4]!, /not plain JSON/);
    assert.match(messages[5]!, /not plain JSON/);
    assert.match(messages[6]!, /observedAt/);
    assert.match(messages[7]!, /larger than/);
    assert.match(messages[8]!, /invalid zone/);
  });

  it('drops both copies when two sources report the same fact for the same scope', async () => {
    const registry = new FactRegistry()
      .register(source('a', 'audit', async () => [{ key: 'audit.log.enabled', value: true, observedAt: at }]))
      .register(
        source('b', 'audit', async () => [
          { key: 'audit.log.enabled', value: false, observedAt: at },
          { key: 'audit.log.enabled', value: false, observedAt: at, zone: 'z1' },
        ]),
      );
    const c = await registry.collect();
    assert.deepEqual(
      c.facts.map((f) => [f.key, f.zone]),
      [['audit.log.enabled', 'z1']],
    );
    assert.match(c.errors[0]!.message, /also reported by a; both dropped/);
  });

  it('refuses a second source with the same name, and a namespace that is not one word', () => {
    const registry = new FactRegistry().register(source('x', 'audit', async () => []));
    assert.throws(() => registry.register(source('x', 'keys', async () => [])), /registered twice/);
    assert.throws(() => registry.register(source('y', 'Bad.ns', async () => [])), /namespace/);
  });
});
