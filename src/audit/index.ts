export { AUDIT_ACTIONS, isAuditAction, type AuditAction } from './actions.js';
export type {
  ActorType,
  AuditActor,
  AuditEvent,
  AuditEventInput,
  AuditSink,
  AuditOutcome,
  AuditTarget,
  JsonValue,
} from './event.js';
