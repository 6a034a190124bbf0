import { PalisadeError } from '../errors/index.js';
import type { RequirementId, SecurityLevel, SlVector } from './catalogue/index.js';

/**
 * The inputs the engine takes besides facts: zones with their target levels, attestations and
 * compensating countermeasures. Zones belong to the network module; the engine receives them.
 */

export interface Zone {
  id: string;
  name: string;
  /** SL-T: one target level per FR, FR1 first. */
  slTarget: SlVector;
}

export interface Person {
  id: string;
  name: string;
}

export interface AttachmentRef {
  name: string;
  /** Lower-case hex SHA-256 of the bytes. */
  sha256: string;
  size: number;
}

/** A named person's statement that an organisational requirement is met, or does not apply, until expiry. */
export interface Attestation {
  id: string;
  requirement: RequirementId;
  /** The zone it speaks for; null for every zone. */
  zone: string | null;
  verdict: 'met' | 'not-applicable';
  statement: string;
  attestedBy: Person;
  attachments: AttachmentRef[];
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

/**
 * An alternative measure a named person records for a requirement the system does not meet itself
 * (for example TLS terminated on an HSM-backed proxy). It makes the requirement count as met for SL-A,
 * always shown as "compensated" so nobody mistakes it for an observed result.
 */
export interface Countermeasure {
  id: string;
  requirement: RequirementId;
  zone: string | null;
  description: string;
  recordedBy: Person;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

/** Whether a dated record counts at `now`. */
export function inForce(
  record: { createdAt: string; expiresAt: string; revokedAt: string | null },
  now: Date,
): boolean {
  const t = now.getTime();
  return record.revokedAt === null && Date.parse(record.createdAt) <= t && t < Date.parse(record.expiresAt);
}

export function toSlVector(value: unknown, what: string): SlVector {
  if (
    !Array.isArray(value) ||
    value.length !== 7 ||
    !value.every((n) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 4)
  ) {
    throw new PalisadeError(
      'COMPLIANCE_INVALID_TARGET',
      `${what}: a target is seven levels 0-4 (FR1..FR7), got ${JSON.stringify(value)}`,
      {
        status: 400,
      },
    );
  }
  return value.map((n) => n as SecurityLevel) as SlVector;
}
