import { createHash, randomUUID } from 'node:crypto';
import type { Database } from '../db/index.js';
import { PalisadeError } from '../errors/index.js';
import { requirementById } from './catalogue/index.js';
import { CHECKS, type Check } from './checks/index.js';
import type { ComplianceTables } from './migrations.js';
import type { Attestation, Countermeasure, Person } from './records.js';

/** Limits on what a person can record; attachments are supporting documents, not archives. */
export const ATTESTATION_LIMITS = {
  statementChars: 4000,
  personChars: 200,
  zoneChars: 200,
  attachments: 10,
  attachmentBytes: 16 * 1024 * 1024,
  attachmentNameChars: 100,
  /** Attestations and countermeasures must be renewed at least every three years. */
  maxValidityDays: 3 * 366,
} as const;

const ATTACHMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._ -]*$/;

export interface AttestationInput {
  requirement: string;
  zone?: string | null;
  verdict: 'met' | 'not-applicable';
  statement: string;
  attestedBy: Person;
  expiresAt: string | Date;
  attachments?: { name: string; bytes: Uint8Array }[];
}

export interface CountermeasureInput {
  requirement: string;
  zone?: string | null;
  description: string;
  recordedBy: Person;
  expiresAt: string | Date;
}

function invalid(message: string): PalisadeError {
  return new PalisadeError('COMPLIANCE_RECORD_INVALID', message, { status: 400 });
}

/** Attestations and countermeasures, persisted in the compliance tables. */
export class ComplianceStore {
  readonly #database: Database;
  readonly #checks: Map<string, Check>;

  constructor(database: Database, checks: readonly Check[] = CHECKS) {
    this.#database = database;
    this.#checks = new Map(checks.map((c) => [c.requirement, c]));
  }

  get #db() {
    return this.#database.kysely.withTables<ComplianceTables>();
  }

  async recordAttestation(input: AttestationInput, now = new Date()): Promise<Attestation> {
    const check = this.#checks.get(input.requirement);
    if (!check) throw invalid(`requirement: no such requirement ${JSON.stringify(input.requirement)}`);
    if (check.kind !== 'attestation') {
      throw invalid(
        `requirement: ${input.requirement} is assessed ${check.kind === 'automated' ? 'from observed facts' : `by the ${check.namespace} module`}, not by attestation; record a compensating countermeasure instead`,
      );
    }
    // Callers pass what a person typed or sent; the type does not guarantee it.
    if (!['met', 'not-applicable'].includes(input.verdict))
      throw invalid('verdict: must be met or not-applicable');
    if (input.verdict === 'not-applicable' && !check.notApplicableAllowed) {
      throw invalid(`verdict: ${input.requirement} cannot be declared not applicable`);
    }
    const statement = text(input.statement, 'statement', ATTESTATION_LIMITS.statementChars);
    const person = checkPerson(input.attestedBy, 'attestedBy');
    const zone = checkZone(input.zone);
    const expiresAt = checkExpiry(input.expiresAt, now);
    const attachments = input.attachments ?? [];
    if (attachments.length > ATTESTATION_LIMITS.attachments) {
      throw invalid(`attachments: at most ${ATTESTATION_LIMITS.attachments}`);
    }
    const names = new Set<string>();
    for (const a of attachments) {
      if (
        typeof a.name !== 'string' ||
        !ATTACHMENT_NAME.test(a.name) ||
        a.name.length > ATTESTATION_LIMITS.attachmentNameChars
      ) {
        throw invalid(
          `attachments: ${JSON.stringify(a.name)} is not a plain file name (letters, digits, . _ - and space, up to ${ATTESTATION_LIMITS.attachmentNameChars})`,
        );
      }
      if (names.has(a.name)) throw invalid(`attachments: ${a.name} given twice`);
      names.add(a.name);
      if (a.bytes.byteLength > ATTESTATION_LIMITS.attachmentBytes) {
        throw invalid(`attachments: ${a.name} is larger than ${ATTESTATION_LIMITS.attachmentBytes} bytes`);
      }
    }

    const record: Attestation = {
      id: randomUUID(),
      requirement: input.requirement,
      zone,
      verdict: input.verdict,
      statement,
      attestedBy: person,
      attachments: attachments.map((a) => ({
        name: a.name,
        sha256: sha256(a.bytes),
        size: a.bytes.byteLength,
      })),
      createdAt: now.toISOString(),
      expiresAt,
      revokedAt: null,
    };
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .insertInto('compliance_attestation')
        .values({
          id: record.id,
          requirement: record.requirement,
          zone_id: record.zone,
          verdict: record.verdict,
          statement: record.statement,
          attested_by_id: person.id,
          attested_by_name: person.name,
          created_at: record.createdAt,
          expires_at: record.expiresAt,
          revoked_at: null,
          revoked_by: null,
        })
        .execute();
      for (const [i, a] of attachments.entries()) {
        await trx
          .insertInto('compliance_attachment')
          .values({
            attestation_id: record.id,
            name: a.name,
            sha256: record.attachments[i]!.sha256,
            size: a.bytes.byteLength,
            content: Buffer.from(a.bytes),
          })
          .execute();
      }
    });
    return record;
  }

  async recordCountermeasure(input: CountermeasureInput, now = new Date()): Promise<Countermeasure> {
    if (!requirementById(input.requirement)) {
      throw invalid(`requirement: no such requirement ${JSON.stringify(input.requirement)}`);
    }
    const record: Countermeasure = {
      id: randomUUID(),
      requirement: input.requirement,
      zone: checkZone(input.zone),
      description: text(input.description, 'description', ATTESTATION_LIMITS.statementChars),
      recordedBy: checkPerson(input.recordedBy, 'recordedBy'),
      createdAt: now.toISOString(),
      expiresAt: checkExpiry(input.expiresAt, now),
      revokedAt: null,
    };
    await this.#db
      .insertInto('compliance_countermeasure')
      .values({
        id: record.id,
        requirement: record.requirement,
        zone_id: record.zone,
        description: record.description,
        recorded_by_id: record.recordedBy.id,
        recorded_by_name: record.recordedBy.name,
        created_at: record.createdAt,
        expires_at: record.expiresAt,
        revoked_at: null,
        revoked_by: null,
      })
      .execute();
    return record;
  }

  /** Every attestation ever recorded (the engine decides which are in force). */
  async listAttestations(): Promise<Attestation[]> {
    const rows = await this.#db
      .selectFrom('compliance_attestation')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    const files = await this.#db
      .selectFrom('compliance_attachment')
      .select(['attestation_id', 'name', 'sha256', 'size'])
      .orderBy('name')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      requirement: r.requirement,
      zone: r.zone_id,
      verdict: r.verdict === 'not-applicable' ? 'not-applicable' : 'met',
      statement: r.statement,
      attestedBy: { id: r.attested_by_id, name: r.attested_by_name },
      attachments: files
        .filter((f) => f.attestation_id === r.id)
        .map((f) => ({ name: f.name, sha256: f.sha256, size: f.size })),
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at,
    }));
  }

  async listCountermeasures(): Promise<Countermeasure[]> {
    const rows = await this.#db
      .selectFrom('compliance_countermeasure')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      requirement: r.requirement,
      zone: r.zone_id,
      description: r.description,
      recordedBy: { id: r.recorded_by_id, name: r.recorded_by_name },
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at,
    }));
  }

  /** The stored bytes of one attachment, checked against the hash recorded with it. */
  async attachment(attestationId: string, name: string): Promise<Buffer> {
    const row = await this.#db
      .selectFrom('compliance_attachment')
      .selectAll()
      .where('attestation_id', '=', attestationId)
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row)
      throw new PalisadeError(
        'COMPLIANCE_NOT_FOUND',
        `no attachment ${name} on attestation ${attestationId}`,
        { status: 404 },
      );
    const bytes = Buffer.from(row.content);
    if (sha256(bytes) !== row.sha256) {
      throw new PalisadeError(
        'COMPLIANCE_ATTACHMENT_CORRUPT',
        `attachment ${name} of attestation ${attestationId} no longer matches its SHA-256`,
      );
    }
    return bytes;
  }

  async revokeAttestation(id: string, by: Person, now = new Date()): Promise<void> {
    await this.#revoke('compliance_attestation', id, by, now);
  }

  async revokeCountermeasure(id: string, by: Person, now = new Date()): Promise<void> {
    await this.#revoke('compliance_countermeasure', id, by, now);
  }

  async #revoke(
    table: 'compliance_attestation' | 'compliance_countermeasure',
    id: string,
    by: Person,
    now: Date,
  ): Promise<void> {
    const person = checkPerson(by, 'revokedBy');
    const result = await this.#db
      .updateTable(table)
      .set({ revoked_at: now.toISOString(), revoked_by: `${person.id} (${person.name})` })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) {
      throw new PalisadeError('COMPLIANCE_NOT_FOUND', `no record ${id} in force to revoke`, { status: 404 });
    }
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function text(value: unknown, what: string, max: number): string {
  if (typeof value !== 'string' || value.trim().length === 0) throw invalid(`${what}: required`);
  if (value.length > max) throw invalid(`${what}: at most ${max} characters`);
  return value.trim();
}

function checkPerson(person: Person | undefined, what: string): Person {
  if (!person) throw invalid(`${what}: required`);
  return {
    id: text(person.id, `${what}.id`, ATTESTATION_LIMITS.personChars),
    name: text(person.name, `${what}.name`, ATTESTATION_LIMITS.personChars),
  };
}

function checkZone(zone: string | null | undefined): string | null {
  if (zone === undefined || zone === null) return null;
  return text(zone, 'zone', ATTESTATION_LIMITS.zoneChars);
}

function checkExpiry(value: string | Date, now: Date): string {
  const t = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(t)) throw invalid('expiresAt: not a date');
  if (t <= now.getTime()) throw invalid('expiresAt: must be in the future');
  if (t > now.getTime() + ATTESTATION_LIMITS.maxValidityDays * 86_400_000) {
    throw invalid(`expiresAt: at most ${ATTESTATION_LIMITS.maxValidityDays} days ahead`);
  }
  return new Date(t).toISOString();
}
