import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  EVIDENCE_FIELDS,
  MAX_EVIDENCE_CHARS,
  NDAA889_RULES,
  matchNdaa889,
  type DeviceEvidence,
} from './index.js';

describe('NDAA-889 matcher', () => {
  it('fires the covered-entity rule on the ONVIF manufacturer string and says where', () => {
    const r = matchNdaa889({
      manufacturer: 'Hangzhou Hikvision Digital Technology Co., Ltd.',
      model: 'DS-2CD2143G2-I',
    });
    assert.equal(r.verdict, 'covered');
    assert.deepEqual(
      r.matches.map((m) => [m.ruleId, m.relation, m.field, m.term]),
      [['hikvision', 'covered-entity', 'manufacturer', 'hikvision']],
    );
    assert.equal(r.matches[0]!.value, 'Hangzhou Hikvision Digital Technology Co., Ltd.');
  });

  it('treats commonly cited sub-brands as covered, in any named field', () => {
    assert.equal(matchNdaa889({ model: 'EZVIZ C6N' }).matches[0]?.ruleId, 'ezviz');
    assert.equal(matchNdaa889({ firmwareBanner: 'IMOU-Cloud/2.1' }).verdict, 'covered');
    assert.equal(
      matchNdaa889({ manufacturer: 'HIKMICRO' }).matches[0]?.entity,
      'Hangzhou Hikvision Digital Technology Company',
    );
    assert.equal(
      matchNdaa889({ onvifHardwareId: 'Dahua IPC-HFW2431S' }).matches[0]?.field,
      'onvifHardwareId',
    );
  });

  it('marks OEM relabels only as suspected, and only on the manufacturer or MAC vendor', () => {
    const lts = matchNdaa889({ manufacturer: 'LTS' });
    assert.equal(lts.verdict, 'suspected');
    assert.equal(lts.matches[0]?.relation, 'suspected-relabel');
    // "LTS" in a firmware banner is almost always a Linux release, not the relabeller.
    assert.equal(matchNdaa889({ firmwareBanner: 'Ubuntu 20.04 LTS' }).verdict, 'no-match');
    assert.equal(matchNdaa889({ macVendor: 'CP PLUS GmbH' }).matches[0]?.ruleId, 'cp-plus');
    assert.equal(matchNdaa889({ manufacturer: 'IC-Realtime' }).matches[0]?.ruleId, 'ic-realtime');
  });

  it('needs both the brand and the product line for the Honeywell Performance series', () => {
    assert.equal(matchNdaa889({ manufacturer: 'Honeywell', model: 'HC30W45R3' }).verdict, 'no-match');
    const r = matchNdaa889({ manufacturer: 'Honeywell', model: 'Performance Series H4W4PER2' });
    assert.equal(r.verdict, 'suspected');
    assert.deepEqual(r.matches[0]?.alsoMatched, { field: 'model', term: 'performance' });
  });

  it('matches whole words only, so look-alike names do not fire', () => {
    assert.equal(
      matchNdaa889({ manufacturer: 'Zteknik AB', firmwareBanner: 'Lorexian OS' }).verdict,
      'no-match',
    );
    assert.equal(
      matchNdaa889({ manufacturer: 'Axis Communications AB', model: 'P3265-LVE' }).verdict,
      'no-match',
    );
    // ZTE counts as the maker, not in a free-text banner where the letters can mean anything.
    assert.equal(matchNdaa889({ firmwareBanner: 'build ZTE' }).verdict, 'no-match');
    assert.equal(matchNdaa889({ macVendor: 'zte corporation' }).verdict, 'covered');
  });

  it('reports covered over suspected and lists every rule that fired', () => {
    const r = matchNdaa889({ manufacturer: 'Amcrest', firmwareBanner: 'Dahua DH-IPC V2.800' });
    assert.equal(r.verdict, 'covered');
    assert.deepEqual(r.matches.map((m) => m.ruleId).sort(), ['amcrest', 'dahua']);
  });

  it('cuts oversized evidence before matching and says which field was cut', () => {
    const r = matchNdaa889({ manufacturer: `${'x '.repeat(MAX_EVIDENCE_CHARS)} hikvision` });
    assert.deepEqual(r.truncated, ['manufacturer']);
    assert.equal(r.verdict, 'no-match', 'a name beyond the limit is not seen');
    assert.ok(r.matches.every((m) => m.value.length <= MAX_EVIDENCE_CHARS));
  });

  it('never throws and stays consistent on arbitrary evidence (fuzz)', () => {
    const field = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ maxLength: 3000 }),
      fc.constantFrom(...NDAA889_RULES.flatMap((r) => r.terms)),
    );
    const evidence = fc.record(Object.fromEntries(EVIDENCE_FIELDS.map((f) => [f, field])), {
      requiredKeys: [],
    }) as fc.Arbitrary<DeviceEvidence>;
    fc.assert(
      fc.property(evidence, (e) => {
        const r = matchNdaa889(e);
        const expected = r.matches.some((m) => m.status === 'covered')
          ? 'covered'
          : r.matches.length
            ? 'suspected'
            : 'no-match';
        assert.equal(r.verdict, expected);
        for (const m of r.matches) {
          assert.ok((e[m.field] ?? '').startsWith(m.value), 'the evidence quoted is what was given');
          const rule = NDAA889_RULES.find((x) => x.id === m.ruleId)!;
          assert.ok(rule.fields.includes(m.field), 'a rule fires only on its own fields');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('fires on any covered name appended to any benign manufacturer string (property)', () => {
    const covered = NDAA889_RULES.filter((r) => r.status === 'covered' && !r.requires);
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), fc.constantFrom(...covered), (prefix, rule) => {
        const r = matchNdaa889({ manufacturer: `${prefix} ${rule.terms[0]!}` });
        assert.equal(r.verdict, 'covered');
        assert.ok(r.matches.some((m) => m.ruleId === rule.id));
      }),
      { numRuns: 300 },
    );
  });
});
