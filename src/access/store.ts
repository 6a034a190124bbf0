import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { tablesOf, type Database } from '../db/index.js';
import { PalisadeError } from '../errors/index.js';
import type { EffectiveGrant } from './decide.js';
import { GLOBAL_PERMISSIONS, isPermission, type Permission } from './permissions.js';
import { BUILTIN_ROLES, type RoleDefinition } from './roles.js';
import type { Scope } from './scope.js';
import type { AccessTables } from './tables.js';

export interface Grant {
  id: string;
  userId: string;
  roleId: string;
  scope: Scope;
  createdAt: string;
  createdBy: string;
}

const ROLE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Roles and grants as stored. Built-in roles are written from code at start so upgrades reach them. */
export class AccessStore {
  private readonly db: Kysely<AccessTables>;

  constructor(database: Database) {
    this.db = tablesOf<AccessTables>(database);
  }

  /** Writes the built-in roles' current permissions, keeping each one's stored MFA policy. */
  async syncBuiltInRoles(): Promise<void> {
    const now = new Date().toISOString();
    for (const role of BUILTIN_ROLES) {
      await this.db
        .insertInto('role')
        .values({
          id: role.id,
          name: role.name,
          description: role.description,
          permissions: JSON.stringify(role.permissions),
          built_in: 1,
          mfa_required: 1,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({
            name: role.name,
            description: role.description,
            permissions: JSON.stringify(role.permissions),
            built_in: 1,
          }),
        )
        .execute();
    }
  }

  async roles(): Promise<RoleDefinition[]> {
    const rows = await this.db
      .selectFrom('role')
      .selectAll()
      .orderBy('built_in', 'desc')
      .orderBy('id')
      .execute();
    return rows.map(toRole);
  }

  async role(id: string): Promise<RoleDefinition | undefined> {
    const row = await this.db.selectFrom('role').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRole(row);
  }

  async createRole(input: {
    id: string;
    name: string;
    description: string;
    permissions: string[];
  }): Promise<RoleDefinition> {
    if (!ROLE_ID.test(input.id)) {
      throw new PalisadeError('ROLE_INVALID', 'a role id is lower-case letters, digits and dashes', {
        status: 400,
      });
    }
    const permissions = checkPermissions(input.permissions);
    if (await this.role(input.id))
      throw new PalisadeError('ROLE_EXISTS', `role ${input.id} already exists`, { status: 409 });
    const now = new Date().toISOString();
    await this.db
      .insertInto('role')
      .values({
        id: input.id,
        name: input.name,
        description: input.description,
        permissions: JSON.stringify(permissions),
        built_in: 0,
        mfa_required: 1,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return (await this.role(input.id))!;
  }

  /** Changes a role. Built-in roles keep their permissions; only their MFA policy can change. */
  async updateRole(
    id: string,
    change: { name?: string; description?: string; permissions?: string[]; mfaRequired?: boolean },
  ): Promise<RoleDefinition> {
    const role = await this.role(id);
    if (!role) throw new PalisadeError('ROLE_NOT_FOUND', `no role ${id}`, { status: 404 });
    if (
      role.builtIn &&
      (change.permissions !== undefined || change.name !== undefined || change.description !== undefined)
    ) {
      throw new PalisadeError('ROLE_BUILT_IN', `built-in role ${id} can only have its MFA policy changed`, {
        status: 409,
      });
    }
    const set: Partial<AccessTables['role']> = { updated_at: new Date().toISOString() };
    if (change.name !== undefined) set.name = change.name;
    if (change.description !== undefined) set.description = change.description;
    if (change.permissions !== undefined)
      set.permissions = JSON.stringify(checkPermissions(change.permissions));
    if (change.mfaRequired !== undefined) set.mfa_required = change.mfaRequired ? 1 : 0;
    await this.db.updateTable('role').set(set).where('id', '=', id).execute();
    return (await this.role(id))!;
  }

  async deleteRole(id: string): Promise<void> {
    const role = await this.role(id);
    if (!role) throw new PalisadeError('ROLE_NOT_FOUND', `no role ${id}`, { status: 404 });
    if (role.builtIn)
      throw new PalisadeError('ROLE_BUILT_IN', `built-in role ${id} cannot be deleted`, { status: 409 });
    const used = await this.db
      .selectFrom('role_grant')
      .select('id')
      .where('role_id', '=', id)
      .executeTakeFirst();
    if (used)
      throw new PalisadeError('ROLE_IN_USE', `role ${id} is still granted; remove its grants first`, {
        status: 409,
      });
    await this.db.deleteFrom('role').where('id', '=', id).execute();
  }

  async grants(userId?: string): Promise<Grant[]> {
    let q = this.db.selectFrom('role_grant').selectAll().orderBy('created_at');
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    return (await q.execute()).map(toGrant);
  }

  async grant(id: string): Promise<Grant | undefined> {
    const row = await this.db.selectFrom('role_grant').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toGrant(row);
  }

  async addGrant(input: { userId: string; roleId: string; scope: Scope; createdBy: string }): Promise<Grant> {
    const role = await this.role(input.roleId);
    if (!role) throw new PalisadeError('ROLE_NOT_FOUND', `no role ${input.roleId}`, { status: 404 });
    if (input.scope.kind !== 'all') {
      const global = role.permissions.filter((p) => GLOBAL_PERMISSIONS.has(p));
      if (global.length > 0) {
        throw new PalisadeError(
          'GRANT_SCOPE_INVALID',
          `role ${role.id} carries system-wide permissions (${global.join(', ')}) and can only be granted on scope all`,
          { status: 400 },
        );
      }
    }
    const grant: Grant = {
      id: randomUUID(),
      userId: input.userId,
      roleId: input.roleId,
      scope: input.scope,
      createdAt: new Date().toISOString(),
      createdBy: input.createdBy,
    };
    await this.db
      .insertInto('role_grant')
      .values({
        id: grant.id,
        user_id: grant.userId,
        role_id: grant.roleId,
        scope_kind: grant.scope.kind,
        scope_id: grant.scope.kind === 'all' ? null : grant.scope.id,
        created_at: grant.createdAt,
        created_by: grant.createdBy,
      })
      .execute();
    return grant;
  }

  async removeGrant(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('role_grant').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  /** Replaces the grants an identity provider manages for a user (marked by `createdBy`). */
  async replaceManagedGrants(
    userId: string,
    createdBy: string,
    grants: { roleId: string; scope: Scope }[],
  ): Promise<void> {
    await this.db
      .deleteFrom('role_grant')
      .where('user_id', '=', userId)
      .where('created_by', '=', createdBy)
      .execute();
    for (const g of grants) {
      if (await this.role(g.roleId))
        await this.addGrant({ userId, roleId: g.roleId, scope: g.scope, createdBy });
    }
  }

  /** The grants the decision function sees: each with its role's permissions as they are now. */
  async effectiveGrants(userId: string): Promise<EffectiveGrant[]> {
    const rows = await this.db
      .selectFrom('role_grant')
      .innerJoin('role', 'role.id', 'role_grant.role_id')
      .select([
        'role_grant.id as id',
        'role_grant.role_id as role_id',
        'role_grant.scope_kind',
        'role_grant.scope_id',
        'role.permissions',
      ])
      .where('role_grant.user_id', '=', userId)
      .execute();
    return rows.map((r) => ({
      grantId: r.id,
      roleId: r.role_id,
      permissions: new Set(parsePermissions(r.permissions)),
      scope: toScope(r.scope_kind, r.scope_id),
    }));
  }

  /**
   * Whether a user must use a second factor: yes unless every role they hold has had MFA relaxed by
   * policy. A user with no roles still needs it (they may gain roles later).
   */
  async mfaRequiredFor(userId: string): Promise<boolean> {
    const rows = await this.db
      .selectFrom('role_grant')
      .innerJoin('role', 'role.id', 'role_grant.role_id')
      .select('role.mfa_required')
      .where('role_grant.user_id', '=', userId)
      .execute();
    return rows.length === 0 || rows.some((r) => r.mfa_required === 1);
  }
}

function checkPermissions(values: string[]): Permission[] {
  const unknown = values.filter((p) => !isPermission(p));
  if (unknown.length > 0) {
    throw new PalisadeError('PERMISSION_UNKNOWN', `unknown permission(s): ${unknown.join(', ')}`, {
      status: 400,
    });
  }
  return [...new Set(values as Permission[])];
}

function parsePermissions(json: string): Permission[] {
  return (JSON.parse(json) as string[]).filter(isPermission);
}

function toScope(kind: string, id: string | null): Scope {
  if (kind === 'all') return { kind: 'all' };
  // A scoped row without an id covers nothing rather than everything.
  return { kind: kind as 'site' | 'zone' | 'camera-group', id: id ?? '' };
}

function toRole(r: AccessTables['role']): RoleDefinition {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    permissions: parsePermissions(r.permissions),
    builtIn: r.built_in === 1,
    mfaRequired: r.mfa_required === 1,
  };
}

function toGrant(r: AccessTables['role_grant']): Grant {
  return {
    id: r.id,
    userId: r.user_id,
    roleId: r.role_id,
    scope: toScope(r.scope_kind, r.scope_id),
    createdAt: r.created_at,
    createdBy: r.created_by,
  };
}
