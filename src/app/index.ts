export {
  startPalisade,
  openState,
  prepareDataDir,
  assembleServer,
  type RunningPalisade,
} from './palisade.js';
export {
  databaseFactSource,
  defaultZones,
  factSources,
  httpFactSource,
  openCompliance,
  type ComplianceContext,
} from './compliance.js';
export { MIGRATIONS } from './migrations.js';
export { VERSION } from './version.js';
