import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { PalisadeError } from '../errors/index.js';
import type { IdentityTables } from './tables.js';

/** Tokens look like `plsd_<id>_<secret>` so that secret scanners can recognise a leaked one. */
const PREFIX = 'plsd_';

export interface ApiTokenInfo {
  id: string;
  userId: string;
  name: string;
  permissions: string[] | null;
  expiresAt: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/**
 * API tokens of service accounts: 256-bit secrets shown once, stored as SHA-256, expiring, revocable,
 * optionally narrowed to a subset of the account's permissions.
 */
export class ApiTokens {
  constructor(
    private readonly db: Kysely<IdentityTables>,
    private readonly maxLifetimeDays: number,
  ) {}

  async issue(input: {
    userId: string;
    name: string;
    permissions: string[] | null;
    lifetimeDays: number;
    createdBy: string;
  }): Promise<{ token: string; info: ApiTokenInfo }> {
    if (input.lifetimeDays < 1 || input.lifetimeDays > this.maxLifetimeDays) {
      throw new PalisadeError('TOKEN_LIFETIME', `a token lives 1 to ${this.maxLifetimeDays} days`, {
        status: 400,
      });
    }
    const id = randomUUID().replaceAll('-', '');
    const secret = randomBytes(32).toString('base64url');
    const now = new Date();
    const info: ApiTokenInfo = {
      id,
      userId: input.userId,
      name: input.name,
      permissions: input.permissions,
      expiresAt: new Date(now.getTime() + input.lifetimeDays * 86_400_000).toISOString(),
      createdAt: now.toISOString(),
      createdBy: input.createdBy,
      revokedAt: null,
      lastUsedAt: null,
    };
    await this.db
      .insertInto('api_token')
      .values({
        id,
        user_id: info.userId,
        name: info.name,
        token_hash: digest(secret),
        permissions: info.permissions === null ? null : JSON.stringify(info.permissions),
        expires_at: info.expiresAt,
        created_at: info.createdAt,
        created_by: info.createdBy,
        revoked_at: null,
        last_used_at: null,
      })
      .execute();
    return { token: `${PREFIX}${id}_${secret}`, info };
  }

  /** Resolves a presented token; undefined when unknown, revoked or expired. */
  async resolve(token: string, now = new Date()): Promise<ApiTokenInfo | undefined> {
    const m = /^plsd_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return undefined;
    const row = await this.db
      .selectFrom('api_token')
      .selectAll()
      .where('id', '=', m[1]!)
      .where('token_hash', '=', digest(m[2]!))
      .executeTakeFirst();
    if (!row || row.revoked_at !== null || row.expires_at <= now.toISOString()) return undefined;
    await this.db
      .updateTable('api_token')
      .set({ last_used_at: now.toISOString() })
      .where('id', '=', row.id)
      .execute();
    return toInfo(row);
  }

  async list(userId?: string): Promise<ApiTokenInfo[]> {
    let q = this.db.selectFrom('api_token').selectAll().orderBy('created_at');
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    return (await q.execute()).map(toInfo);
  }

  async get(id: string): Promise<ApiTokenInfo | undefined> {
    const row = await this.db.selectFrom('api_token').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toInfo(row);
  }

  async revoke(id: string): Promise<boolean> {
    const r = await this.db
      .updateTable('api_token')
      .set({ revoked_at: new Date().toISOString() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function toInfo(r: IdentityTables['api_token']): ApiTokenInfo {
  return {
    id: r.id,
    userId: r.user_id,
    name: r.name,
    permissions: r.permissions === null ? null : (JSON.parse(r.permissions) as string[]),
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    createdBy: r.created_by,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
  };
}
