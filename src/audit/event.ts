import type { AuditAction } from './actions.js';

/** JSON values allowed in `details` (no undefined, no functions, finite numbers only). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type ActorType = 'user' | 'service' | 'device' | 'system';

export interface AuditActor {
  type: ActorType;
  /** Stable id: user id, service-account id, camera id, or a system component name. */
  id: string;
  /** Display name at the time of the event (user name), for humans reading the log. */
  name?: string;
  /** How the actor was authenticated, e.g. `password+totp`, `oidc`, `webauthn`, `api-token`, `none`. */
  auth?: string;
  /** Source network address, when the action came over the network. */
  address?: string;
}

export interface AuditTarget {
  /** What kind of thing was acted on: `user`, `camera`, `zone`, `session`, `kek`, `segment`, ... */
  type: string;
  id: string;
  /** The zone the target belongs to, when it has one (used for zone-scoped queries). */
  zone?: string;
}

export type AuditOutcome = 'success' | 'denied' | 'failure';

/** What a module hands to `AuditLog.append()`. */
export interface AuditEventInput {
  action: AuditAction;
  outcome: AuditOutcome;
  actor: AuditActor;
  target?: AuditTarget;
  /** Why the outcome was what it was, in plain words (required for denied and failure). */
  reason?: string;
  details?: { [key: string]: JsonValue };
  /** Milliseconds since the epoch; the log stamps the current time when omitted. */
  time?: number;
}

/** An event as stored: the input plus its schema version and a UTC timestamp with milliseconds. */
export interface AuditEvent {
  /** Event schema version. */
  v: 1;
  /** ISO 8601 UTC with milliseconds, e.g. `2026-11-27T22:03:04.591Z`. */
  time: string;
  action: AuditAction;
  outcome: AuditOutcome;
  actor: AuditActor;
  target?: AuditTarget;
  reason?: string;
  details?: { [key: string]: JsonValue };
}

/**
 * What other modules need of the audit log: `append` resolves only once the event is durable, so a
 * caller that awaits it before acknowledging an action has audited it first.
 */
export interface AuditSink {
  append(input: AuditEventInput): Promise<unknown>;
}
