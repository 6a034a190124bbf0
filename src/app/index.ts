export { startPalisade, openState, prepareDataDir, type RunningPalisade } from './palisade.js';
export { MIGRATIONS } from './migrations.js';
export { VERSION } from './version.js';
