import type { AuditActor, AuditSink, JsonValue } from '../audit/index.js';
import type { Database } from '../db/index.js';
import { PalisadeError } from '../errors/index.js';
import { actorOf, Approvals, type ApprovalRequest } from './approvals.js';
import { decide, type Decision, type Subject, type Target } from './decide.js';
import { PRIVILEGED_PERMISSIONS, type Permission } from './permissions.js';
import type { RoleDefinition } from './roles.js';
import { describeScope, parseScope, type Scope } from './scope.js';
import { AccessStore, type Grant } from './store.js';

/** A change that either happened, or waits for a second person. */
export type ChangeOutcome<T> = { done: T } | { pending: ApprovalRequest };

type RoleChange =
  | { op: 'grant.add'; userId: string; roleId: string; scope: string }
  | { op: 'grant.remove'; grantId: string }
  | { op: 'role.create'; id: string; name: string; description: string; permissions: string[] }
  | {
      op: 'role.update';
      id: string;
      name?: string;
      description?: string;
      permissions?: string[];
      mfaRequired?: boolean;
    }
  | { op: 'role.delete'; id: string };

/**
 * Roles, grants and the decision function, with separation of duties: role changes can be placed
 * under dual approval by policy, and granting oneself a privileged permission (keys, roles, accounts)
 * always needs a second administrator.
 */
export class AccessService {
  readonly store: AccessStore;
  readonly approvals: Approvals;

  constructor(
    database: Database,
    private readonly audit: AuditSink,
    policy: { actions: readonly string[]; expirySeconds: number },
  ) {
    this.store = new AccessStore(database);
    this.approvals = new Approvals(database, audit, policy);
    this.approvals.register('role.change', async (payload, { requestedBy, approvedBy }) =>
      this.apply(payload as RoleChange, { type: 'user', id: requestedBy }, approvedBy.userId),
    );
  }

  /** Builds the subject the decision function sees for an authenticated user. */
  async subject(
    input: Omit<Subject, 'grants' | 'tokenPermissions'> & { tokenPermissions?: string[] | null },
  ): Promise<Subject> {
    const grants = await this.store.effectiveGrants(input.userId);
    return {
      ...input,
      grants,
      tokenPermissions: input.tokenPermissions ? new Set(input.tokenPermissions as Permission[]) : undefined,
    };
  }

  /** Decides and, on denial, audits before answering. */
  async authorize(
    subject: Subject,
    permission: Permission,
    target: Target,
    route: string,
  ): Promise<Decision> {
    const decision = decide(subject, permission, target);
    if (!decision.allowed) {
      await this.audit.append({
        action: 'access.denied',
        outcome: 'denied',
        actor: actorOf(subject),
        ...(typeof target === 'object' && {
          target: {
            type: target.kind,
            id: target.id,
            ...(target.kind !== 'site' && { zone: target.kind === 'zone' ? target.id : target.zoneId }),
          },
        }),
        reason: decision.reason,
        details: { permission, route },
      });
    }
    return decision;
  }

  async createRole(
    by: Subject,
    input: { id: string; name: string; description: string; permissions: string[] },
  ): Promise<ChangeOutcome<JsonValue>> {
    return this.change(by, { op: 'role.create', ...input }, `create role ${input.id}`);
  }

  async updateRole(
    by: Subject,
    id: string,
    change: { name?: string; description?: string; permissions?: string[]; mfaRequired?: boolean },
  ): Promise<ChangeOutcome<JsonValue>> {
    return this.change(by, { op: 'role.update', id, ...change }, `change role ${id}`);
  }

  async deleteRole(by: Subject, id: string): Promise<ChangeOutcome<JsonValue>> {
    return this.change(by, { op: 'role.delete', id }, `delete role ${id}`);
  }

  async addGrant(
    by: Subject,
    input: { userId: string; roleId: string; scope: string },
  ): Promise<ChangeOutcome<JsonValue>> {
    const role = await this.store.role(input.roleId);
    if (!role) throw new PalisadeError('ROLE_NOT_FOUND', `no role ${input.roleId}`, { status: 404 });
    if (!parseScope(input.scope)) {
      throw new PalisadeError('SCOPE_INVALID', 'a scope is all, site:<id>, zone:<id> or camera-group:<id>', {
        status: 400,
      });
    }
    const selfPrivileged =
      input.userId === by.userId && role.permissions.some((p) => PRIVILEGED_PERMISSIONS.has(p));
    return this.change(
      by,
      { op: 'grant.add', ...input },
      `grant ${role.id} on ${input.scope} to user ${input.userId}`,
      selfPrivileged,
    );
  }

  async removeGrant(by: Subject, grantId: string): Promise<ChangeOutcome<JsonValue>> {
    const grant = await this.store.grant(grantId);
    if (!grant) throw new PalisadeError('GRANT_NOT_FOUND', `no grant ${grantId}`, { status: 404 });
    return this.change(
      by,
      { op: 'grant.remove', grantId },
      `remove grant ${grant.roleId} on ${describeScope(grant.scope)} from user ${grant.userId}`,
    );
  }

  private async change(
    by: Subject,
    change: RoleChange,
    summary: string,
    forceApproval = false,
  ): Promise<ChangeOutcome<JsonValue>> {
    if (forceApproval || this.approvals.requires('role.change')) {
      return {
        pending: await this.approvals.request({
          action: 'role.change',
          summary,
          payload: change,
          by,
        }),
      };
    }
    return { done: await this.apply(change, actorOf(by), null) };
  }

  private async apply(change: RoleChange, actor: AuditActor, approvedBy: string | null): Promise<JsonValue> {
    const details: { [key: string]: JsonValue } = approvedBy === null ? {} : { approvedBy };
    switch (change.op) {
      case 'role.create': {
        const role = await this.store.createRole(change);
        await this.audit.append({
          action: 'role.created',
          outcome: 'success',
          actor,
          target: { type: 'role', id: role.id },
          details: { ...details, permissions: [...role.permissions] },
        });
        return roleJson(role);
      }
      case 'role.update': {
        const { op: _op, id, ...rest } = change;
        const role = await this.store.updateRole(id, rest);
        await this.audit.append({
          action: 'role.updated',
          outcome: 'success',
          actor,
          target: { type: 'role', id },
          details: { ...details, change: rest as JsonValue },
        });
        return roleJson(role);
      }
      case 'role.delete':
        await this.store.deleteRole(change.id);
        await this.audit.append({
          action: 'role.deleted',
          outcome: 'success',
          actor,
          target: { type: 'role', id: change.id },
          details,
        });
        return { deleted: change.id };
      case 'grant.add': {
        const scope = parseScope(change.scope)!;
        const grant = await this.store.addGrant({
          userId: change.userId,
          roleId: change.roleId,
          scope,
          createdBy: actor.id,
        });
        await this.audit.append({
          action: 'grant.added',
          outcome: 'success',
          actor,
          target: { type: 'user', id: change.userId, ...(scope.kind === 'zone' && { zone: scope.id }) },
          details: { ...details, grantId: grant.id, role: grant.roleId, scope: describeScope(scope) },
        });
        return grantJson(grant);
      }
      case 'grant.remove': {
        const grant = await this.store.grant(change.grantId);
        if (!grant) throw new PalisadeError('GRANT_NOT_FOUND', `no grant ${change.grantId}`, { status: 404 });
        await this.store.removeGrant(change.grantId);
        await this.audit.append({
          action: 'grant.removed',
          outcome: 'success',
          actor,
          target: { type: 'user', id: grant.userId },
          details: { ...details, grantId: grant.id, role: grant.roleId, scope: describeScope(grant.scope) },
        });
        return { removed: grant.id };
      }
    }
  }

  /** IdP group → role mapping, applied at every SSO sign-in (grants marked as managed by the IdP). */
  async applyIdpGroups(
    userId: string,
    issuer: string,
    groups: string[],
    mapping: readonly { group: string; role: string; scope: string }[],
  ): Promise<void> {
    const grants: { roleId: string; scope: Scope }[] = [];
    for (const m of mapping) {
      const scope = parseScope(m.scope);
      if (groups.includes(m.group) && scope) grants.push({ roleId: m.role, scope });
    }
    await this.store.replaceManagedGrants(userId, `oidc:${issuer}`, grants);
  }
}

export function roleJson(r: RoleDefinition) {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    permissions: [...r.permissions],
    builtIn: r.builtIn,
    mfaRequired: r.mfaRequired,
  };
}

export function grantJson(g: Grant) {
  return {
    id: g.id,
    userId: g.userId,
    roleId: g.roleId,
    scope: describeScope(g.scope),
    createdAt: g.createdAt,
    createdBy: g.createdBy,
  };
}
