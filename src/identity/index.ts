export { identityMigration, passwordHistoryMigration } from './migrations.js';
export { identityRoutes, accountJson } from './routes.js';
export {
  IdentityService,
  generateOneTimePassword,
  type AuthenticationResult,
  type IdentityOptions,
  type IdentityPolicy,
  type Principal,
  type RequestContext,
  type RolePolicy,
  type SignInStep,
} from './service.js';
export { principalOf, contextOf, SESSION_COOKIE } from './request.js';
export type { SecretBox } from './secret-box.js';
export type { SessionState, SessionPolicy, Session } from './sessions.js';
export type { Account, AccountKind } from './accounts.js';
export type { OidcSettings } from './oidc.js';
export type { RelyingParty } from './webauthn.js';
export type { IdentityTables } from './tables.js';
export { identityFactSource, type IdentityFactOptions } from './facts.js';
