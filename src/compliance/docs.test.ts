import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CHECKS, FACT_KEYS, REQUIREMENTS } from './index.js';

const DOC = readFileSync(new URL('../../../docs/compliance.md', import.meta.url), 'utf8');

describe('docs/compliance.md', () => {
  it('documents every fact key the checks read, and every key read is in FACT_KEYS', () => {
    for (const key of Object.keys(FACT_KEYS)) assert.ok(DOC.includes(`| \`${key}\` |`), `${key} documented`);
    for (const check of CHECKS) {
      if (check.kind !== 'automated') continue;
      for (const key of check.reads)
        assert.ok(Object.hasOwn(FACT_KEYS, key), `${check.requirement} reads undocumented ${key}`);
    }
  });

  it('states the number of observed, attested and pending requirements correctly', () => {
    const count = (kind: string) => CHECKS.filter((c) => c.kind === kind).length;
    assert.ok(
      DOC.includes(
        `${count('automated')} requirements are automated checks over facts, ${count('attestation')} are attested, and ${count('pending')} wait`,
      ),
    );
  });

  it('lists every requirement with how it is assessed', () => {
    const byId = new Map(CHECKS.map((c) => [c.requirement, c]));
    for (const r of REQUIREMENTS) {
      const row = DOC.split('\n').find(
        (line) => line.startsWith(`| ${r.id} |`) && line.includes(`| ${r.title} |`),
      );
      assert.ok(row, `${r.id} listed`);
      const kind = byId.get(r.id)!.kind;
      const label = kind === 'automated' ? 'observed' : kind === 'attestation' ? 'attested' : 'pending';
      assert.ok(row.includes(`| ${label}`), `${r.id} assessed ${label}`);
    }
  });
});
