import type { JsonValue } from '../audit/index.js';
import type { Kysely } from 'kysely';
import type { IdentityService } from './service.js';
import type { IdentityTables } from './tables.js';

/**
 * What identity reports to the compliance engine (structurally a compliance `FactSource`; identity does
 * not import the engine). Values are read from the running policy and the account tables at collection
 * time; the few that are properties of the code (session id entropy, cookie flags) say what the code
 * does and are covered by identity's own tests.
 */
export interface IdentityFactOptions {
  identity: IdentityService;
  db: Kysely<IdentityTables>;
  /** Roles whose members may sign in without a second factor (from access). */
  mfaExemptRoles(): Promise<string[]>;
  /** Routes reachable without authentication, and whether every other route is guarded (from http). */
  routes(): { publicRoutes: string[]; allGuarded: boolean };
  oidc: { enabled: boolean; mfaEvidenceRequired: boolean };
}

/** Account names that do not belong to one person; a log entry by them identifies nobody. */
const GENERIC_NAMES = new Set([
  'admin',
  'administrator',
  'root',
  'operator',
  'guest',
  'user',
  'test',
  'shared',
  'security',
  'viewer',
  'auditor',
]);

export function identityFactSource(o: IdentityFactOptions) {
  return {
    name: 'identity',
    namespace: 'identity',
    async collect(): Promise<{ key: string; value: JsonValue; observedAt: Date }[]> {
      const at = new Date();
      const policy = o.identity.policy;
      const accounts = (await o.identity.accounts.list()).filter((a) => !a.disabled);
      const humans = accounts.filter((a) => a.kind === 'human');
      const hashes = await o.db
        .selectFrom('user_account')
        .select('password_hash')
        .where('password_hash', 'is not', null)
        .execute();
      const algorithms = [
        ...new Set(hashes.map((h) => /^\$([a-z0-9]+)\$/.exec(h.password_hash ?? '')?.[1] ?? 'unknown')),
      ];
      let covered = 0;
      for (const h of humans) {
        if ((h.oidc !== null && o.oidc.mfaEvidenceRequired) || (await o.identity.hasSecondFactor(h.id)))
          covered++;
      }
      const exempt = policy.mfaRequired ? await o.mfaExemptRoles() : ['*'];
      const routes = o.routes();
      const s = policy.session;
      return [
        { key: 'identity.authentication.enforced', value: routes.allGuarded, observedAt: at },
        { key: 'identity.authentication.publicRoutes', value: routes.publicRoutes, observedAt: at },
        {
          key: 'identity.accounts.uniqueHumanIdentities',
          value: humans.length > 0 && humans.every((h) => !GENERIC_NAMES.has(h.username)),
          observedAt: at,
        },
        {
          key: 'identity.accounts.management',
          value: { create: true, disable: true, remove: true, audited: true },
          observedAt: at,
        },
        {
          key: 'identity.accounts.initialCredentialsUnchanged',
          value: humans.filter((h) => h.mustChangePassword).length,
          observedAt: at,
        },
        {
          key: 'identity.password.hashAlgorithm',
          value: algorithms.length === 1 ? algorithms[0]! : algorithms.join(',') || 'argon2id',
          observedAt: at,
        },
        { key: 'identity.password.minLength', value: policy.password.minLength, observedAt: at },
        { key: 'identity.password.maxAgeDays', value: policy.password.maxAgeDays ?? null, observedAt: at },
        { key: 'identity.password.historyCount', value: policy.password.historyCount, observedAt: at },
        { key: 'identity.mfa.required', value: policy.mfaRequired && exempt.length === 0, observedAt: at },
        { key: 'identity.mfa.exemptRoles', value: exempt, observedAt: at },
        {
          key: 'identity.mfa.coverage',
          value: humans.length === 0 ? 0 : covered / humans.length,
          observedAt: at,
        },
        { key: 'identity.mfa.networkExemptions', value: [], observedAt: at },
        { key: 'identity.oidc.enabled', value: o.oidc.enabled, observedAt: at },
        { key: 'identity.oidc.mfaEvidenceRequired', value: o.oidc.mfaEvidenceRequired, observedAt: at },
        { key: 'identity.login.genericFailure', value: true, observedAt: at },
        { key: 'identity.login.noticeConfigured', value: policy.notice.trim() !== '', observedAt: at },
        { key: 'identity.lockout.enabled', value: true, observedAt: at },
        { key: 'identity.lockout.threshold', value: policy.lockout.accountMaxFailures, observedAt: at },
        { key: 'identity.session.idleTimeoutSeconds', value: s.idleTimeoutSeconds, observedAt: at },
        { key: 'identity.session.absoluteLifetimeSeconds', value: s.absoluteLifetimeSeconds, observedAt: at },
        { key: 'identity.session.adminTermination', value: true, observedAt: at },
        { key: 'identity.session.concurrentLimit', value: s.maxConcurrent, observedAt: at },
        {
          key: 'identity.session.cookie',
          value: { secure: true, httpOnly: true, sameSite: 'strict' },
          observedAt: at,
        },
        { key: 'identity.session.csrfProtection', value: true, observedAt: at },
        { key: 'identity.session.invalidatedOnLogout', value: true, observedAt: at },
        { key: 'identity.session.idEntropyBits', value: 256, observedAt: at },
        { key: 'identity.session.idSource', value: 'csprng', observedAt: at },
        { key: 'identity.serviceAccounts.tokenAuthentication', value: true, observedAt: at },
        // API tokens can only be issued to a named service account, and each request is attributed to it.
        { key: 'identity.serviceAccounts.individual', value: true, observedAt: at },
        {
          key: 'identity.serviceAccounts.tokenMaxAgeDays',
          value: policy.tokenMaxLifetimeDays,
          observedAt: at,
        },
      ];
    },
  };
}
