export {
  openDatabase,
  tablesOf,
  redactUrl,
  SQLITE_FILE,
  type Database,
  type DialectName,
  type FoundationTables,
  type ConnectOptions,
} from './connect.js';
export { migrate, currentVersion, type Migration, type MigrationReport } from './migrate.js';
export { foundationMigrations, type InstanceTables } from './foundation.js';
export { describeDatabaseSecurity, type DatabaseSecurityDescription } from './security.js';
