import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CHECKS,
  REQUIREMENTS,
  effectiveCatalogue,
  evaluateCompliance,
  type Attestation,
  type Check,
  type CheckStatus,
  type Countermeasure,
  type Fact,
  type FactCollection,
  type SlVector,
  type Zone,
} from './index.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const ZONE: Zone = { id: 'plant', name: 'Plant', slTarget: [3, 3, 3, 3, 3, 3, 3] };

function facts(
  list: Fact[] = [],
  namespaces: string[] = [],
  errors: FactCollection['errors'] = [],
): FactCollection {
  const sources: Record<string, string[]> = {};
  for (const ns of namespaces) sources[ns] = [`${ns}.source`];
  return { collectedAt: NOW.toISOString(), facts: list, errors, namespaces, sources };
}

function fact(key: string, value: Fact['value'], zone?: string): Fact {
  return {
    key,
    value,
    observedAt: '2026-06-01T11:59:00.000Z',
    source: `${key.split('.')[0]!}.source`,
    ...(zone ? { zone } : {}),
  };
}

/** One automated check per requirement that returns the given status (default met). */
function synthetic(statuses: Record<string, CheckStatus> = {}, replace: Check[] = []): Check[] {
  return REQUIREMENTS.map(
    (r): Check =>
      replace.find((c) => c.requirement === r.id) ?? {
        kind: 'automated',
        requirement: r.id,
        reads: [],
        evaluate: () => {
          const status = statuses[r.id] ?? 'met';
          return status === 'not-met'
            ? { status, reason: `${r.id} fails`, remedy: `fix ${r.id}` }
            : { status, reason: `${r.id} ${status}` };
        },
      },
  );
}

const realCheck = (id: string) => CHECKS.find((c) => c.requirement === id)!;

function evaluate(options: {
  statuses?: Record<string, CheckStatus>;
  checks?: Check[];
  facts?: FactCollection;
  zones?: Zone[];
  overrides?: Record<string, number | 'omitted'>;
  attestations?: Attestation[];
  countermeasures?: Countermeasure[];
}) {
  return evaluateCompliance({
    catalogue: effectiveCatalogue(options.overrides ?? {}),
    checks: options.checks ?? synthetic(options.statuses),
    facts: options.facts ?? facts(),
    zones: options.zones ?? [ZONE],
    attestations: options.attestations ?? [],
    countermeasures: options.countermeasures ?? [],
    now: NOW,
  });
}

const person = { id: 'u-17', name: 'Asha Rao' };

function attestation(requirement: string, extra: Partial<Attestation> = {}): Attestation {
  return {
    id: `att-${requirement}`,
    requirement,
    zone: null,
    verdict: 'met',
    statement: 'documented in procedure P-12',
    attestedBy: person,
    attachments: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2027-01-01T00:00:00.000Z',
    revokedAt: null,
    ...extra,
  };
}

function countermeasure(requirement: string, extra: Partial<Countermeasure> = {}): Countermeasure {
  return {
    id: `cm-${requirement}`,
    requirement,
    zone: null,
    description: 'TLS terminated on an HSM-backed proxy',
    recordedBy: person,
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2027-01-01T00:00:00.000Z',
    revokedAt: null,
    ...extra,
  };
}

describe('SL-A engine', () => {
  it('reaches SL 4 in every FR when everything is met, with nothing left to block', () => {
    const z = evaluate({}).zones[0]!;
    assert.deepEqual(z.slAchieved, [4, 4, 4, 4, 4, 4, 4]);
    assert.ok(z.gaps.every((g) => g.next === null && g.toTarget.length === 0));
    assert.ok(z.results.every((r) => r.basis === 'observed'));
  });

  it('stops an FR below the lowest level with an unmet requirement, and names it as the blocker', () => {
    const z = evaluate({ statuses: { 'SR 1.1 RE2': 'not-met' } }).zones[0]!;
    assert.deepEqual(z.slAchieved, [2, 4, 4, 4, 4, 4, 4]);
    const fr1 = z.gaps[0]!;
    assert.deepEqual(fr1.next!.level, 3);
    assert.deepEqual(
      fr1.next!.blockers.map((b) => [b.requirement, b.status, b.remedy]),
      [['SR 1.1 RE2', 'not-met', 'fix SR 1.1 RE2']],
    );
    assert.deepEqual(
      fr1.toTarget.map((b) => b.requirement),
      ['SR 1.1 RE2'],
    );
  });

  it('never counts "not assessed" as met: an unassessed base requirement holds its FR at 0', () => {
    const z = evaluate({ statuses: { 'SR 3.5': 'not-assessed' } }).zones[0]!;
    assert.equal(z.slAchieved[2], 0);
    assert.deepEqual(
      z.gaps[2]!.next?.blockers.map((b) => b.requirement),
      ['SR 3.5'],
    );
  });

  it('counts "not applicable" like met', () => {
    assert.deepEqual(
      evaluate({ statuses: { 'SR 2.2': 'not-applicable', 'SR 2.2 RE1': 'not-applicable' } }).zones[0]!
        .slAchieved,
      [4, 4, 4, 4, 4, 4, 4],
    );
  });

  it('equals, for any mix of results, the highest n with every requirement at n or below met (property)', () => {
    const status = fc.constantFrom<CheckStatus>('met', 'not-met', 'not-applicable', 'not-assessed');
    const ids = REQUIREMENTS.map((r) => r.id);
    fc.assert(
      fc.property(fc.array(status, { minLength: 100, maxLength: 100 }), (list) => {
        const statuses = Object.fromEntries(ids.map((id, i) => [id, list[i]!]));
        const z = evaluate({ statuses }).zones[0]!;
        for (const fr of [1, 2, 3, 4, 5, 6, 7]) {
          let expected = 0;
          for (const n of [1, 2, 3, 4]) {
            const ok = REQUIREMENTS.filter((r) => r.fr === fr && r.level <= n).every((r) =>
              ['met', 'not-applicable'].includes(statuses[r.id]!),
            );
            if (!ok) break;
            expected = n;
          }
          assert.equal(z.slAchieved[fr - 1], expected, `FR${fr}`);
          // The blockers of the next level are exactly the failing requirements gated there.
          const next = z.gaps[fr - 1]!.next;
          if (next) {
            const failing = REQUIREMENTS.filter(
              (r) =>
                r.fr === fr && r.level === next.level && !['met', 'not-applicable'].includes(statuses[r.id]!),
            );
            assert.deepEqual(next.blockers.map((b) => b.requirement).sort(), failing.map((r) => r.id).sort());
            assert.ok(next.blockers.length > 0);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('ranks blockers: settings to change (not met) before missing evidence (not assessed), then catalogue order', () => {
    const z = evaluate({
      statuses: {
        'SR 1.4': 'not-assessed',
        'SR 1.12': 'not-met',
        'SR 1.3': 'not-assessed',
        'SR 1.8': 'not-met',
      },
    }).zones[0]!;
    const g = z.gaps[0]!;
    assert.equal(g.achieved, 0);
    assert.deepEqual(
      g.next?.blockers.map((b) => b.requirement),
      ['SR 1.12', 'SR 1.3', 'SR 1.4'],
    );
    assert.deepEqual(
      g.toTarget.map((b) => b.requirement),
      ['SR 1.12', 'SR 1.3', 'SR 1.4', 'SR 1.8'],
    );
  });

  it('applies gating overrides: a disputed cell moved down caps lower, an omitted one stops counting', () => {
    const statuses: Record<string, CheckStatus> = { 'SR 3.4': 'not-met', 'SR 7.1 RE2': 'not-met' };
    const published = evaluate({ statuses });
    assert.deepEqual(published.zones[0]!.slAchieved, [4, 4, 1, 4, 4, 4, 2]);
    assert.deepEqual(published.overrides, []);
    const overridden = evaluate({ statuses, overrides: { 'SR 3.4': 1, 'SR 7.1 RE2': 'omitted' } });
    assert.deepEqual(overridden.zones[0]!.slAchieved, [4, 4, 0, 4, 4, 4, 4]);
    assert.deepEqual(overridden.overrides, [
      { requirement: 'SR 3.4', level: 1 },
      { requirement: 'SR 7.1 RE2', level: null },
    ]);
    assert.equal(overridden.zones[0]!.results.find((r) => r.requirement === 'SR 7.1 RE2')!.level, null);
  });

  it('rejects a zone target that is not seven levels 0-4', () => {
    assert.throws(
      () => evaluate({ zones: [{ id: 'z', name: 'z', slTarget: [1, 2, 3] as unknown as SlVector }] }),
      {
        code: 'COMPLIANCE_INVALID_TARGET',
      },
    );
  });
});

describe('compensating countermeasures', () => {
  it('count as met, keep the underlying result, and mark the FR level that relies on them', () => {
    const z = evaluate({
      statuses: { 'SR 1.9 RE1': 'not-met' },
      countermeasures: [countermeasure('SR 1.9 RE1')],
    }).zones[0]!;
    assert.deepEqual(z.slAchieved, [4, 4, 4, 4, 4, 4, 4]);
    assert.deepEqual(z.compensated, [true, false, false, false, false, false, false]);
    const r = z.results.find((x) => x.requirement === 'SR 1.9 RE1')!;
    assert.equal(r.status, 'met');
    assert.equal(r.basis, 'compensated');
    assert.equal(r.check.status, 'not-met');
    assert.equal(r.countermeasure?.description, 'TLS terminated on an HSM-backed proxy');
  });

  it('do not mark a level the countermeasure does not carry', () => {
    const z = evaluate({
      statuses: { 'SR 1.1 RE3': 'not-met', 'SR 1.7 RE1': 'not-met' },
      countermeasures: [countermeasure('SR 1.1 RE3')],
    }).zones[0]!;
    assert.equal(z.slAchieved[0], 2);
    assert.equal(z.compensated[0], false);
  });

  it('apply only in force and only to their zone', () => {
    const zones: Zone[] = [ZONE, { id: 'office', name: 'Office', slTarget: [1, 1, 1, 1, 1, 1, 1] }];
    const statuses: Record<string, CheckStatus> = { 'SR 2.7': 'not-met' };
    const run = (cm: Countermeasure) =>
      evaluate({ statuses, zones, countermeasures: [cm] }).zones.map((z) => z.slAchieved[1]);
    assert.deepEqual(run(countermeasure('SR 2.7', { zone: 'office' })), [2, 4]);
    assert.deepEqual(run(countermeasure('SR 2.7', { expiresAt: '2026-05-01T00:00:00.000Z' })), [2, 2]);
    assert.deepEqual(run(countermeasure('SR 2.7', { revokedAt: '2026-02-01T00:00:00.000Z' })), [2, 2]);
    assert.deepEqual(run(countermeasure('SR 2.7', { createdAt: '2026-07-01T00:00:00.000Z' })), [2, 2]);
  });
});

describe('attestations', () => {
  const checks = synthetic({}, [realCheck('SR 1.4'), realCheck('SR 1.6')]);
  const result = (atts: Attestation[], id = 'SR 1.4', zone = ZONE) =>
    evaluate({ checks, attestations: atts, zones: [zone] }).zones[0]!.results.find(
      (r) => r.requirement === id,
    )!;

  it('without one, an organisational requirement is not assessed and says what to attest', () => {
    const r = result([]);
    assert.equal(r.status, 'not-assessed');
    assert.equal(r.check.reason, 'no attestation recorded');
    assert.match(r.remedy!, /^attest that identifiers .* documented procedure$/);
  });

  it("in force, it is met on the attester's word, and the result names them", () => {
    const r = result([attestation('SR 1.4')]);
    assert.equal(r.status, 'met');
    assert.equal(r.basis, 'attested');
    assert.equal(r.check.reason, 'attested by Asha Rao: documented in procedure P-12');
    assert.equal(r.attestation?.id, 'att-SR 1.4');
  });

  it('expired, revoked or dated in the future, it does not count and the reason says which', () => {
    assert.match(
      result([attestation('SR 1.4', { expiresAt: '2026-03-01T00:00:00.000Z' })]).check.reason,
      /expired on 2026-03-01/,
    );
    assert.match(
      result([attestation('SR 1.4', { revokedAt: '2026-04-01T00:00:00.000Z' })]).check.reason,
      /revoked on 2026-04-01/,
    );
    assert.match(
      result([attestation('SR 1.4', { createdAt: '2026-09-01T00:00:00.000Z' })]).check.reason,
      /dated in the future/,
    );
    for (const r of [result([attestation('SR 1.4', { expiresAt: '2026-03-01T00:00:00.000Z' })])])
      assert.equal(r.status, 'not-assessed');
  });

  it("one about this zone wins over one about every zone; another zone's does not apply", () => {
    const global = attestation('SR 1.6', {
      id: 'g',
      statement: 'no wireless anywhere',
      verdict: 'not-applicable',
    });
    const local = attestation('SR 1.6', {
      id: 'l',
      zone: 'plant',
      statement: 'WPA3-Enterprise with 802.1X',
      createdAt: '2025-12-01T00:00:00.000Z',
    });
    const other = attestation('SR 1.6', { id: 'o', zone: 'office', statement: 'office Wi-Fi' });
    assert.equal(result([global, local, other], 'SR 1.6').attestation?.id, 'l');
    const onlyGlobal = result([global, other], 'SR 1.6');
    assert.equal(onlyGlobal.status, 'not-applicable');
    assert.equal(onlyGlobal.check.reason, 'attested by Asha Rao: no wireless anywhere');
    assert.equal(result([other], 'SR 1.6').status, 'not-assessed');
  });

  it('"not applicable" counts only where the requirement allows it', () => {
    assert.equal(result([attestation('SR 1.4', { verdict: 'not-applicable' })]).status, 'not-assessed');
    assert.match(
      result([attestation('SR 1.4', { verdict: 'not-applicable' })]).check.reason,
      /does not allow/,
    );
  });
});

describe('automated checks over facts', () => {
  it('a requirement whose facts no source reports is not assessed, names the absent module, and caps its FR', () => {
    const checks = synthetic({}, [realCheck('SR 2.7')]);
    const without = evaluate({ checks }).zones[0]!;
    const r = without.results.find((x) => x.requirement === 'SR 2.7')!;
    assert.equal(r.status, 'not-assessed');
    assert.equal(
      r.check.reason,
      'identity module not present: nothing reports identity.session.concurrentLimit',
    );
    assert.deepEqual(without.slAchieved, [4, 2, 4, 4, 4, 4, 4]);
    assert.deepEqual(
      without.gaps[1]!.next?.blockers.map((b) => b.requirement),
      ['SR 2.7'],
    );

    const limit = fact('identity.session.concurrentLimit', 3);
    const withFact = evaluate({ checks, facts: facts([limit], ['identity']) }).zones[0]!;
    assert.deepEqual(withFact.slAchieved, [4, 4, 4, 4, 4, 4, 4]);
    const met = withFact.results.find((x) => x.requirement === 'SR 2.7')!;
    assert.equal(met.check.reason, 'an account may hold at most 3 session(s) at once');
    assert.deepEqual(met.evidence, [limit], 'the evidence is exactly the fact the check read');
  });

  it('when the module is present but its source failed, the reason names the source and its error', () => {
    const checks = synthetic({}, [realCheck('SR 2.7')]);
    const f = facts(
      [],
      ['identity'],
      [{ source: 'identity.source', message: 'failed to report: database locked' }],
    );
    const r = evaluate({ checks, facts: f }).zones[0]!.results.find((x) => x.requirement === 'SR 2.7')!;
    assert.equal(
      r.check.reason,
      'no fact identity.session.concurrentLimit (identity.source: failed to report: database locked)',
    );
  });

  it('a fact of the wrong type is not evidence: not assessed, saying so', () => {
    const checks = synthetic({}, [realCheck('SR 2.7')]);
    const r = evaluate({
      checks,
      facts: facts([fact('identity.session.concurrentLimit', 'three')], ['identity']),
    }).zones[0]!.results.find((x) => x.requirement === 'SR 2.7')!;
    assert.equal(r.status, 'not-assessed');
    assert.equal(r.check.reason, 'fact identity.session.concurrentLimit is not a number or null');
  });

  it('a check that crashes is not assessed, never met', () => {
    const boom: Check = {
      kind: 'automated',
      requirement: 'SR 3.5',
      reads: [],
      evaluate: () => {
        throw new Error('bug');
      },
    };
    const z = evaluate({ checks: synthetic({}, [boom]) }).zones[0]!;
    assert.equal(z.results.find((x) => x.requirement === 'SR 3.5')!.check.reason, 'the check failed: bug');
    assert.equal(z.slAchieved[2], 0);
  });

  it('each zone sees its own zone-scoped facts over the global ones', () => {
    const checks = synthetic({}, [realCheck('SR 2.7')]);
    const zones: Zone[] = [ZONE, { id: 'office', name: 'Office', slTarget: [1, 1, 1, 1, 1, 1, 1] }];
    const f = facts(
      [fact('identity.session.concurrentLimit', 2), fact('identity.session.concurrentLimit', null, 'office')],
      ['identity'],
    );
    const e = evaluate({ checks, zones, facts: f });
    assert.deepEqual(
      e.zones.map((z) => z.slAchieved[1]),
      [4, 2],
    );
    assert.deepEqual(
      e.zones[1]!.results.find((x) => x.requirement === 'SR 2.7')!.evidence[0]!.zone,
      'office',
    );
  });

  it('judge dates against the evaluation time, not the wall clock', () => {
    const checks = synthetic({}, [realCheck('SR 1.8')]);
    const listener = (notAfter: string) =>
      fact('http.listener.https', {
        address: '127.0.0.1:8443',
        transport: 'tls',
        tls: {
          versions: ['TLSv1.3'],
          refusedVersions: ['TLSv1.2'],
          cipher: 'TLS_AES_256_GCM_SHA384',
          observedBy: 'handshake',
        },
        certificate: {
          subject: 'CN=vms.plant.example',
          issuer: 'CN=Plant CA',
          selfSigned: false,
          keyType: 'ec',
          keyDetail: 'P-256',
          securityBits: 128,
          notBefore: '2026-01-01T00:00:00.000Z',
          notAfter,
        },
        privateKey: { storage: 'file' },
      });
    const status = (notAfter: string) =>
      evaluate({ checks, facts: facts([listener(notAfter)], ['http']) }).zones[0]!.results.find(
        (x) => x.requirement === 'SR 1.8',
      )!;
    assert.equal(status('2026-12-31T00:00:00.000Z').status, 'met');
    const expired = status('2026-05-31T00:00:00.000Z');
    assert.equal(expired.status, 'not-met');
    assert.match(expired.check.reason, /certificate expired 2026-05-31/);
    assert.match(expired.remedy!, /http\.tls\.certFile/);
  });

  it('with no facts at all, every automated and pending requirement is not assessed and every FR is 0', () => {
    const e = evaluate({ checks: [...CHECKS] });
    const z = e.zones[0]!;
    assert.deepEqual(z.slAchieved, [0, 0, 0, 0, 0, 0, 0]);
    assert.ok(z.results.every((r) => r.status === 'not-assessed'));
    const pending = z.results.find((r) => r.requirement === 'SR 5.1')!;
    assert.equal(pending.kind, 'pending');
    assert.match(pending.check.reason, /^network module not present: /);
    const listenersMissing = z.results.find((r) => r.requirement === 'SR 3.1')!;
    assert.equal(listenersMissing.check.reason, 'no fact matches *.listener.*');
  });
});
