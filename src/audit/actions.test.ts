import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AUDIT_ACTIONS, isAuditAction } from './actions.js';

describe('action catalogue', () => {
  it('uses stable dotted lower-case names (the query prefix filter relies on their alphabet)', () => {
    for (const name of Object.keys(AUDIT_ACTIONS)) assert.match(name, /^[a-z0-9-]+(\.[a-z0-9-]+)+$/, name);
    assert.equal(isAuditAction('auth.login.failed'), true);
    assert.equal(isAuditAction('toString'), false, 'inherited properties are not actions');
  });

  it('is documented in docs/audit-log.md, entry for entry', () => {
    const doc = readFileSync(new URL('../../../docs/audit-log.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Action catalogue'), doc.indexOf('## Canonical bytes'));
    const documented = [...section.matchAll(/^\| `([a-z0-9.-]+)` \| /gm)].map((m) => m[1]!);
    assert.deepEqual(documented.sort(), Object.keys(AUDIT_ACTIONS).sort());
  });
});
