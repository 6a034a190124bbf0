import type { Permission } from './permissions.js';
import { covers, describeScope, type Resource, type Scope } from './scope.js';

/** One grant as the decision function sees it: the role's permissions at the time, and the scope. */
export interface EffectiveGrant {
  grantId: string;
  roleId: string;
  permissions: ReadonlySet<Permission>;
  scope: Scope;
}

/** Who is asking. Built by the authentication hook from a session or an API token. */
export interface Subject {
  userId: string;
  username: string;
  kind: 'human' | 'service';
  grants: readonly EffectiveGrant[];
  /** An API token may narrow its service account's permissions; undefined means no narrowing. */
  tokenPermissions?: ReadonlySet<Permission> | undefined;
  /** How this request was authenticated, e.g. `session:password+totp`, `api-token`. */
  auth: string;
  address: string;
  sessionId?: string | undefined;
  tokenId?: string | undefined;
}

/**
 * What an action touches: a resource with a place in the site/zone/camera-group tree; `system` for
 * actions on things that belong to no zone (accounts, keys, the audit log), which need an `all` grant;
 * `some` for listings, allowed when the permission is held anywhere (the listing then filters by scope).
 */
export type Target = Resource | 'system' | 'some';

export interface Decision {
  allowed: boolean;
  /** Plain-words reason, recorded in the audit log for denials. */
  reason: string;
  grantId?: string;
}

/** The one authorization function. Deny unless a grant explicitly allows. */
export function decide(subject: Subject, permission: Permission, target: Target): Decision {
  if (subject.tokenPermissions !== undefined && !subject.tokenPermissions.has(permission)) {
    return { allowed: false, reason: `the API token does not carry ${permission}` };
  }
  const holding = subject.grants.filter((g) => g.permissions.has(permission));
  if (holding.length === 0) return { allowed: false, reason: `no role grants ${permission}` };
  for (const grant of holding) {
    const ok =
      target === 'some'
        ? true
        : target === 'system'
          ? grant.scope.kind === 'all'
          : covers(grant.scope, target);
    if (ok)
      return {
        allowed: true,
        reason: `granted by ${grant.roleId} on ${describeScope(grant.scope)}`,
        grantId: grant.grantId,
      };
  }
  const where = typeof target === 'string' ? 'system-wide' : `${target.kind} ${target.id}`;
  return {
    allowed: false,
    reason: `${permission} is granted only on ${holding.map((g) => describeScope(g.scope)).join(', ')}, not ${where}`,
  };
}

/** The scopes in which a subject holds a permission, for filtering listings. */
export function scopesFor(subject: Subject, permission: Permission): Scope[] {
  if (subject.tokenPermissions !== undefined && !subject.tokenPermissions.has(permission)) return [];
  return subject.grants.filter((g) => g.permissions.has(permission)).map((g) => g.scope);
}

export function permissionsOf(subject: Subject): Set<Permission> {
  const out = new Set<Permission>();
  for (const g of subject.grants) for (const p of g.permissions) out.add(p);
  if (subject.tokenPermissions) for (const p of out) if (!subject.tokenPermissions.has(p)) out.delete(p);
  return out;
}
