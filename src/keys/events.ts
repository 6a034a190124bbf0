import type { AuditActor, AuditTarget, JsonValue } from '../audit/index.js';

/** The audit actions `keys/` emits (names from the catalogue in audit/actions.ts). */
export type KeyAuditAction =
  | 'keys.kek.created'
  | 'keys.kek.rotated'
  | 'keys.kek.destroyed'
  | 'keys.dek.destroyed'
  | 'keys.dek.disclosed'
  | 'keys.rewrap.started'
  | 'keys.rewrap.completed'
  | 'secret.created'
  | 'secret.deleted';

/**
 * An event for the audit log: an `AuditEventInput` whose actor may be missing (the composition root
 * fills in the system actor). Details never carry key material or secret values.
 */
export interface KeyAuditEvent {
  action: KeyAuditAction;
  outcome: 'success' | 'failure';
  actor?: AuditActor;
  target: AuditTarget;
  reason?: string;
  details?: { [key: string]: JsonValue };
}

/**
 * Where `keys/` reports security-relevant actions. Every operation awaits it before returning, so an
 * action is acknowledged only once its event is durable; a sink that throws fails the operation
 * (after the fact for destructive ones, which cannot be undone: their failure event says so).
 */
export type KeyAuditSink = (event: KeyAuditEvent) => Promise<void>;

/** Who asked for an operation; passed through to the audit event. */
export interface ActionContext {
  actor?: AuditActor;
}
