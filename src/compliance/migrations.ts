import type { Migration } from '../db/index.js';

/**
 * Attestations, their attachments and compensating countermeasures. Records are never updated except
 * to revoke them; a changed statement is a new record, so the history stays readable.
 */
export type ComplianceTables = {
  compliance_attestation: {
    id: string;
    requirement: string;
    zone_id: string | null;
    verdict: string;
    statement: string;
    attested_by_id: string;
    attested_by_name: string;
    created_at: string;
    expires_at: string;
    revoked_at: string | null;
    revoked_by: string | null;
  };
  compliance_attachment: {
    attestation_id: string;
    name: string;
    sha256: string;
    size: number;
    content: Buffer;
  };
  compliance_countermeasure: {
    id: string;
    requirement: string;
    zone_id: string | null;
    description: string;
    recorded_by_id: string;
    recorded_by_name: string;
    created_at: string;
    expires_at: string;
    revoked_at: string | null;
    revoked_by: string | null;
  };
};

/** Attestations, their attachments and compensating countermeasures. */
export const complianceMigration = (version: number): Migration => ({
  version,
  name: 'compliance attestations and countermeasures',
  async up(db, dialect) {
    await db.schema
      .createTable('compliance_attestation')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('requirement', 'text', (c) => c.notNull())
      .addColumn('zone_id', 'text')
      .addColumn('verdict', 'text', (c) => c.notNull())
      .addColumn('statement', 'text', (c) => c.notNull())
      .addColumn('attested_by_id', 'text', (c) => c.notNull())
      .addColumn('attested_by_name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .addColumn('revoked_by', 'text')
      .execute();
    await db.schema
      .createIndex('compliance_attestation_requirement')
      .on('compliance_attestation')
      .column('requirement')
      .execute();
    await db.schema
      .createTable('compliance_attachment')
      .addColumn('attestation_id', 'text', (c) => c.notNull().references('compliance_attestation.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('content', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
      .addPrimaryKeyConstraint('compliance_attachment_pk', ['attestation_id', 'name'])
      .execute();
    await db.schema
      .createTable('compliance_countermeasure')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('requirement', 'text', (c) => c.notNull())
      .addColumn('zone_id', 'text')
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('recorded_by_id', 'text', (c) => c.notNull())
      .addColumn('recorded_by_name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .addColumn('revoked_by', 'text')
      .execute();
  },
});
