export { accessMigration } from './migrations.js';
export { accessRoutes } from './routes.js';
export { AccessService, grantJson, roleJson, type ChangeOutcome } from './service.js';
export { AccessStore, type Grant } from './store.js';
export {
  Approvals,
  APPROVABLE_ACTIONS,
  actorOf,
  type ApprovableAction,
  type ApprovalRequest,
  type ApprovalExecutor,
} from './approvals.js';
export {
  decide,
  permissionsOf,
  scopesFor,
  type Decision,
  type EffectiveGrant,
  type Subject,
  type Target,
} from './decide.js';
export {
  ALL_PERMISSIONS,
  GLOBAL_PERMISSIONS,
  PERMISSIONS,
  PRIVILEGED_PERMISSIONS,
  isPermission,
  type Permission,
} from './permissions.js';
export { BUILTIN_ROLES, BUILTIN_ROLE_IDS, type RoleDefinition } from './roles.js';
export { covers, describeScope, parseScope, type Resource, type Scope } from './scope.js';
export { subjectOf } from './request.js';
export type { AccessTables } from './tables.js';
export { accessFactSource } from './facts.js';
