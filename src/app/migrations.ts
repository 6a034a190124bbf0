import { complianceMigrations } from '../compliance/index.js';
import { foundationMigrations, type Migration } from '../db/index.js';

/**
 * Every schema change in version order. A module adding tables appends its migrations here with the
 * next free version number; `migrate()` refuses gaps and reordering.
 */
export const MIGRATIONS: readonly Migration[] = [...foundationMigrations, ...complianceMigrations];
