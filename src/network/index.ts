export { networkMigration } from './migrations.js';
export { networkRoutes, type NetworkRouteDeps } from './routes.js';
export type { NetworkTables } from './tables.js';
export {
  DEFAULT_SITE,
  DEFAULT_ZONE_ID,
  ID_PATTERN,
  parseSlVector,
  ZoneDirectory,
  type SecurityLevelVector,
  type Site,
  type Zone,
} from './zones.js';
