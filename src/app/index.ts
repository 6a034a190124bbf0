export { startPalisade, openState, prepareDataDir, type RunningPalisade } from './palisade.js';
export { openAudit, auditOrigin, SYSTEM_ACTOR } from './audit.js';
export { MIGRATIONS } from './migrations.js';
export { VERSION } from './version.js';
