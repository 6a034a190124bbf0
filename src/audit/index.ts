// The audit log: event schema and catalogue, append with group commit, query, signed checkpoints,
// proofs, export and offline verification. The transparency-log layer below it (tree, proofs,
// checkpoints, export) knows nothing of audit events and is shared with the video integrity log.
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
export {
  openAuditLog,
  AUDIT_LOG_NAME,
  type AuditLog,
  type AuditLogOptions,
  type AuditReceipt,
  type AuditRow,
} from './log.js';
export { DEFAULT_PAGE, MAX_PAGE, type AuditPage, type AuditQuery } from './query.js';
export { LIMITS as AUDIT_EVENT_LIMITS } from './validate.js';
export { canonicalJson, canonicalBytes } from './canonical.js';
export { auditMigrations, APPEND_ONLY_TABLES, type AuditTables, type TlogTables } from './schema.js';
export { auditRoutes, type AuditRoutesOptions } from './routes.js';

// Transparency-log layer.
export {
  openTransparencyLog,
  type AppendReceipt,
  type AppendedEntry,
  type ConsistencyProof,
  type InclusionProof,
  type StoredEntry,
  type TlogDb,
  type TransparencyLog,
  type TransparencyLogOptions,
} from './tlog.js';
export { HASH_SIZE, EMPTY_ROOT, leafHash, nodeHash, CompactRange, rootOf } from './merkle.js';
export { verifyInclusion, verifyConsistency, inclusionRanges, consistencyRanges } from './proof.js';
export {
  checkpointText,
  openCheckpoint,
  parseCheckpointText,
  checkOrigin,
  type Checkpoint,
} from './checkpoint.js';
export {
  parseNote,
  parseVerifierKey,
  verifierKeyOf,
  verifyNote,
  signNote,
  type VerifierKey,
} from './note.js';
export { openFileSigner, CHECKPOINT_KEY_FILE, type CheckpointSigner } from './signer.js';
export {
  exportLog,
  verifyExport,
  FILES as EXPORT_FILES,
  type ExportSummary,
  type VerifyOptions,
  type Progress,
} from './export.js';
export { verifyStoredLog, TreeVerifier, type VerifyFailure, type VerifyReport } from './verify.js';
export { auditFactSource, appendOnlyTriggersPresent } from './facts.js';
