import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { DIALECTS } from '../../test/support/dialects.js';
import { MIGRATIONS } from '../app/index.js';
import { migrate } from '../db/index.js';
import { PalisadeError } from '../errors/index.js';
import {
  ATTESTATION_LIMITS,
  ComplianceStore,
  type ComplianceTables,
  effectiveCatalogue,
  evaluateCompliance,
  type AttestationInput,
} from './index.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const asha = { id: 'u-17', name: 'Asha Rao' };
const base: AttestationInput = {
  requirement: 'SR 1.4',
  verdict: 'met',
  statement: 'Identifiers follow procedure P-12, reviewed quarterly.',
  attestedBy: asha,
  expiresAt: '2027-06-01T00:00:00.000Z',
};

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof PalisadeError, String(err));
    assert.equal(err.code, 'COMPLIANCE_RECORD_INVALID');
    assert.equal(err.status, 400);
    assert.match(err.message, pattern);
    return true;
  });
}

for (const dialect of DIALECTS) {
  describe(`compliance store on ${dialect.name}`, { skip: dialect.skip }, () => {
    it('keeps attestations with their attachments byte for byte, and the engine counts them', async () => {
      const t = await dialect.create();
      try {
        await migrate(t.database, MIGRATIONS);
        const store = new ComplianceStore(t.database);
        const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(70_000, 7)]);
        const record = await store.recordAttestation(
          { ...base, zone: 'plant', attachments: [{ name: 'P-12 identifier procedure.pdf', bytes: pdf }] },
          NOW,
        );
        assert.equal(record.createdAt, NOW.toISOString());
        assert.deepEqual(record.attachments, [
          {
            name: 'P-12 identifier procedure.pdf',
            sha256: createHash('sha256').update(pdf).digest('hex'),
            size: pdf.length,
          },
        ]);
        assert.deepEqual(await store.listAttestations(), [record]);
        assert.ok((await store.attachment(record.id, 'P-12 identifier procedure.pdf')).equals(pdf));

        const evaluation = evaluateCompliance({
          catalogue: effectiveCatalogue(),
          facts: { collectedAt: NOW.toISOString(), facts: [], errors: [], namespaces: [], sources: {} },
          zones: [{ id: 'plant', name: 'Plant', slTarget: [1, 1, 1, 1, 1, 1, 1] }],
          attestations: await store.listAttestations(),
          now: NOW,
        });
        const r = evaluation.zones[0]!.results.find((x) => x.requirement === 'SR 1.4')!;
        assert.equal(r.status, 'met');
        assert.equal(r.basis, 'attested');
      } finally {
        await t.drop();
      }
    });

    it('refuses what an attestation cannot be, saying why', async () => {
      const t = await dialect.create();
      try {
        await migrate(t.database, MIGRATIONS);
        const store = new ComplianceStore(t.database);
        await rejects(
          store.recordAttestation({ ...base, requirement: 'SR 1.1' }, NOW),
          /assessed from observed facts, not by attestation; record a compensating countermeasure instead/,
        );
        await rejects(
          store.recordAttestation({ ...base, requirement: 'SR 5.1' }, NOW),
          /by the network module/,
        );
        await rejects(
          store.recordAttestation({ ...base, requirement: 'SR 9.1' }, NOW),
          /no such requirement/,
        );
        await rejects(
          store.recordAttestation({ ...base, verdict: 'not-applicable' }, NOW),
          /SR 1\.4 cannot be declared not applicable/,
        );
        await rejects(store.recordAttestation({ ...base, verdict: 'yes' as never }, NOW), /verdict/);
        await rejects(store.recordAttestation({ ...base, statement: '   ' }, NOW), /statement: required/);
        await rejects(
          store.recordAttestation({ ...base, attestedBy: { id: '', name: 'x' } }, NOW),
          /attestedBy\.id: required/,
        );
        await rejects(
          store.recordAttestation({ ...base, expiresAt: '2026-05-01T00:00:00Z' }, NOW),
          /must be in the future/,
        );
        await rejects(
          store.recordAttestation({ ...base, expiresAt: '2030-01-01T00:00:00Z' }, NOW),
          /at most 1098 days ahead/,
        );
        await rejects(store.recordAttestation({ ...base, expiresAt: 'soon' }, NOW), /not a date/);
        for (const name of ['../etc/passwd', '.hidden', 'a/b', '']) {
          await rejects(
            store.recordAttestation({ ...base, attachments: [{ name, bytes: Buffer.from('x') }] }, NOW),
            /not a plain file name/,
          );
        }
        await rejects(
          store.recordAttestation(
            {
              ...base,
              attachments: [
                { name: 'a.txt', bytes: Buffer.from('1') },
                { name: 'a.txt', bytes: Buffer.from('2') },
              ],
            },
            NOW,
          ),
          /given twice/,
        );
        await rejects(
          store.recordAttestation(
            {
              ...base,
              attachments: [{ name: 'big.bin', bytes: Buffer.alloc(ATTESTATION_LIMITS.attachmentBytes + 1) }],
            },
            NOW,
          ),
          /larger than/,
        );
        // A requirement that allows it may be declared not applicable.
        const na = await store.recordAttestation(
          {
            ...base,
            requirement: 'SR 1.6',
            verdict: 'not-applicable',
            statement: 'No wireless in the plant.',
          },
          NOW,
        );
        assert.equal(na.verdict, 'not-applicable');
        assert.equal((await store.listAttestations()).length, 1, 'nothing refused was stored');
      } finally {
        await t.drop();
      }
    });

    it('revokes once, and notices an attachment changed in the database', async () => {
      const t = await dialect.create();
      try {
        await migrate(t.database, MIGRATIONS);
        const store = new ComplianceStore(t.database);
        const a = await store.recordAttestation(
          { ...base, attachments: [{ name: 'p.txt', bytes: Buffer.from('procedure') }] },
          NOW,
        );
        await store.revokeAttestation(a.id, { id: 'u-2', name: 'Lead' }, new Date('2026-06-02T00:00:00Z'));
        assert.equal((await store.listAttestations())[0]!.revokedAt, '2026-06-02T00:00:00.000Z');
        await assert.rejects(store.revokeAttestation(a.id, asha), { code: 'COMPLIANCE_NOT_FOUND' });

        await t.database.kysely
          .withTables<ComplianceTables>()
          .updateTable('compliance_attachment')
          .set({ content: Buffer.from('procedurE') })
          .execute();
        await assert.rejects(store.attachment(a.id, 'p.txt'), { code: 'COMPLIANCE_ATTACHMENT_CORRUPT' });
        await assert.rejects(store.attachment(a.id, 'nope.txt'), { code: 'COMPLIANCE_NOT_FOUND' });
      } finally {
        await t.drop();
      }
    });

    it('records countermeasures for any requirement, and revokes them', async () => {
      const t = await dialect.create();
      try {
        await migrate(t.database, MIGRATIONS);
        const store = new ComplianceStore(t.database);
        const cm = await store.recordCountermeasure(
          {
            requirement: 'SR 1.9 RE1',
            zone: 'plant',
            description: 'TLS terminated on HSM-backed proxy, ref NET-7',
            recordedBy: asha,
            expiresAt: '2027-01-01T00:00:00Z',
          },
          NOW,
        );
        assert.deepEqual(await store.listCountermeasures(), [cm]);
        await rejects(
          store.recordCountermeasure(
            { requirement: 'SR 8.1', description: 'x', recordedBy: asha, expiresAt: '2027-01-01T00:00:00Z' },
            NOW,
          ),
          /no such requirement/,
        );
        await store.revokeCountermeasure(cm.id, asha, NOW);
        assert.notEqual((await store.listCountermeasures())[0]!.revokedAt, null);
      } finally {
        await t.drop();
      }
    });
  });
}
