import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AUDIT_ACTIONS, type AuditAction } from './actions.js';
import { canonicalJson } from './canonical.js';
import type { AuditEventInput } from './event.js';
import { buildEvent } from './validate.js';

const text = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' });
const input: fc.Arbitrary<AuditEventInput> = fc.record(
  {
    action: fc.constantFrom(...(Object.keys(AUDIT_ACTIONS) as AuditAction[])),
    outcome: fc.constantFrom('success', 'denied', 'failure'),
    actor: fc.record(
      {
        type: fc.constantFrom('user', 'service', 'device', 'system'),
        id: text,
        name: text,
        auth: text,
        address: text,
      },
      { requiredKeys: ['type', 'id'] },
    ),
    target: fc.record({ type: text, id: text, zone: text }, { requiredKeys: ['type', 'id'] }),
    reason: text,
    details: fc.dictionary(text, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
    time: fc.integer({ min: 0, max: 253_402_300_799_999 }),
  },
  { requiredKeys: ['action', 'outcome', 'actor', 'reason'] },
) as fc.Arbitrary<AuditEventInput>;

describe('building the stored event', () => {
  it('writes exactly the RFC 8785 form of the event (the fast path agrees with the general canonicalizer)', () => {
    fc.assert(
      fc.property(input, (e) => {
        const { event, bytes } = buildEvent(e, 0);
        const text = bytes.toString('utf8');
        const parsed = JSON.parse(text) as Record<string, unknown>;
        assert.equal(text, canonicalJson(parsed), 'the bytes are canonical');
        const { details, ...rest } = parsed;
        assert.deepEqual(rest, JSON.parse(JSON.stringify(event)));
        assert.deepEqual(details, e.details === undefined ? undefined : JSON.parse(canonicalJson(e.details)));
        assert.equal(event.time, new Date(e.time ?? 0).toISOString());
      }),
      { numRuns: 500 },
    );
  });

  it('names the field at fault', () => {
    const base: AuditEventInput = {
      action: 'auth.login.failed',
      outcome: 'denied',
      reason: 'wrong password',
      actor: { type: 'user', id: 'u' },
    };
    assert.throws(
      () => buildEvent({ ...base, details: { a: { b: [1, NaN] } } }, 0),
      /^PalisadeError: details\.a\.b\[1\] is NaN/,
    );
    assert.throws(
      () => buildEvent({ ...base, actor: { type: 'user', id: 'x'.repeat(300) } }, 0),
      /actor\.id is longer than 256/,
    );
    assert.throws(
      () => buildEvent({ ...base, reason: undefined }, 0),
      /reason is required when the outcome is denied/,
    );
  });
});
