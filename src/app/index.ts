export {
  startPalisade,
  assembleServer,
  openServices,
  openState,
  prepareDataDir,
  type PalisadeServices,
  type RunningPalisade,
} from './palisade.js';
export { openKeysAndAudit, auditOrigin, SYSTEM_ACTOR, type KeysAndAudit } from './audit.js';
export {
  complianceZones,
  createComplianceService,
  databaseFactSource,
  factSources,
  httpFactSource,
  type ComplianceService,
} from './compliance.js';
export { openCompliance, type ComplianceContext } from './compliance-context.js';
export { MIGRATIONS } from './migrations.js';
export { VERSION } from './version.js';
