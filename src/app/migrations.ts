import { accessMigration } from '../access/index.js';
import { auditMigrations } from '../audit/index.js';
import { complianceMigration } from '../compliance/index.js';
import { foundationMigrations, type Migration } from '../db/index.js';
import { identityMigration, passwordHistoryMigration } from '../identity/index.js';
import { networkMigration } from '../network/index.js';
import { playbackMigration } from '../playback/index.js';
import { recordingMigration } from '../recording/index.js';
import { keysMigration } from '../keys/index.js';

/**
 * Every schema change in version order. A module adding tables appends its migrations here with the
 * next free version number; `migrate()` refuses gaps and reordering.
 */
export const MIGRATIONS: readonly Migration[] = [
  ...foundationMigrations,
  ...auditMigrations,
  networkMigration(3),
  identityMigration(4),
  accessMigration(5),
  complianceMigration(6),
  keysMigration(7),
  recordingMigration(8),
  playbackMigration(9),
  passwordHistoryMigration(10),
];
