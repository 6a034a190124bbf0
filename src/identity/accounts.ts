import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { PalisadeError } from '../errors/index.js';
import type { IdentityTables } from './tables.js';

export type AccountKind = 'human' | 'service';

export interface Account {
  id: string;
  username: string;
  displayName: string;
  kind: AccountKind;
  hasPassword: boolean;
  mustChangePassword: boolean;
  /** When the password was last set (null without one). */
  passwordChangedAt: string | null;
  disabled: boolean;
  oidc: { issuer: string; subject: string } | null;
  createdAt: string;
  lastLoginAt: string | null;
}

export const USERNAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9._@-]{1,63}$';
const USERNAME_RE = new RegExp(USERNAME_PATTERN);

export function normaliseUsername(username: string): string {
  return username.trim().toLowerCase();
}

/** Accounts of people and of software (service accounts). Credentials live in their own tables. */
export class AccountStore {
  constructor(private readonly db: Kysely<IdentityTables>) {}

  async create(input: {
    username: string;
    displayName: string;
    kind: AccountKind;
    passwordHash?: string | null;
    mustChangePassword?: boolean;
    oidc?: { issuer: string; subject: string };
  }): Promise<Account> {
    if (!USERNAME_RE.test(input.username)) {
      throw new PalisadeError(
        'USERNAME_INVALID',
        'a user name is 2-64 letters, digits and . _ @ -, starting with a letter or digit',
        { status: 400 },
      );
    }
    const username = normaliseUsername(input.username);
    if (await this.byUsername(username)) {
      throw new PalisadeError('USER_EXISTS', `an account named ${username} already exists`, { status: 409 });
    }
    const now = new Date().toISOString();
    const row: IdentityTables['user_account'] = {
      id: randomUUID(),
      username,
      display_name: input.displayName,
      kind: input.kind,
      password_hash: input.passwordHash ?? null,
      password_changed_at: input.passwordHash ? now : null,
      must_change_password: input.mustChangePassword ? 1 : 0,
      disabled: 0,
      oidc_issuer: input.oidc?.issuer ?? null,
      oidc_subject: input.oidc?.subject ?? null,
      created_at: now,
      updated_at: now,
      last_login_at: null,
    };
    await this.db.insertInto('user_account').values(row).execute();
    return toAccount(row);
  }

  async byId(id: string): Promise<Account | undefined> {
    const row = await this.db.selectFrom('user_account').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toAccount(row);
  }

  async byUsername(username: string): Promise<Account | undefined> {
    const row = await this.db
      .selectFrom('user_account')
      .selectAll()
      .where('username', '=', normaliseUsername(username))
      .executeTakeFirst();
    return row && toAccount(row);
  }

  async byOidc(issuer: string, subject: string): Promise<Account | undefined> {
    const row = await this.db
      .selectFrom('user_account')
      .selectAll()
      .where('oidc_issuer', '=', issuer)
      .where('oidc_subject', '=', subject)
      .executeTakeFirst();
    return row && toAccount(row);
  }

  /** The stored hash, or null: only the password check needs it. */
  async passwordHash(id: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('user_account')
      .select('password_hash')
      .where('id', '=', id)
      .executeTakeFirst();
    return row?.password_hash ?? null;
  }

  async list(): Promise<Account[]> {
    const rows = await this.db.selectFrom('user_account').selectAll().orderBy('username').execute();
    return rows.map(toAccount);
  }

  async count(kind: AccountKind): Promise<number> {
    const row = await this.db
      .selectFrom('user_account')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('kind', '=', kind)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Sets the password; the one it replaces joins the account's history, of which the newest
   * `keepHistory` are kept (the reuse rule reads them; older ones are deleted).
   */
  async setPassword(id: string, passwordHash: string, mustChange: boolean, keepHistory = 0): Promise<void> {
    const now = new Date().toISOString();
    await this.db.transaction().execute(async (tx) => {
      const old = await tx
        .selectFrom('user_account')
        .select('password_hash')
        .where('id', '=', id)
        .executeTakeFirst();
      if (old?.password_hash)
        await tx
          .insertInto('password_history')
          .values({ user_id: id, password_hash: old.password_hash, retired_at: now })
          .execute();
      await tx
        .updateTable('user_account')
        .set({
          password_hash: passwordHash,
          password_changed_at: now,
          must_change_password: mustChange ? 1 : 0,
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
      const kept = await tx
        .selectFrom('password_history')
        .select('retired_at')
        .where('user_id', '=', id)
        .orderBy('retired_at', 'desc')
        .limit(1)
        .offset(Math.max(0, keepHistory - 1))
        .executeTakeFirst();
      // Rows older than the `keepHistory`-th newest go (all of them when nothing is to be kept).
      if (keepHistory === 0) await tx.deleteFrom('password_history').where('user_id', '=', id).execute();
      else if (kept)
        await tx
          .deleteFrom('password_history')
          .where('user_id', '=', id)
          .where('retired_at', '<', kept.retired_at)
          .execute();
    });
  }

  /** The newest `n` earlier password hashes of an account, newest first. */
  async previousPasswordHashes(id: string, n: number): Promise<string[]> {
    if (n <= 0) return [];
    const rows = await this.db
      .selectFrom('password_history')
      .select('password_hash')
      .where('user_id', '=', id)
      .orderBy('retired_at', 'desc')
      .limit(n)
      .execute();
    return rows.map((r) => r.password_hash);
  }

  async update(id: string, change: { displayName?: string; disabled?: boolean }): Promise<Account> {
    const set: Partial<IdentityTables['user_account']> = { updated_at: new Date().toISOString() };
    if (change.displayName !== undefined) set.display_name = change.displayName;
    if (change.disabled !== undefined) set.disabled = change.disabled ? 1 : 0;
    await this.db.updateTable('user_account').set(set).where('id', '=', id).execute();
    const account = await this.byId(id);
    if (!account) throw new PalisadeError('USER_NOT_FOUND', `no account ${id}`, { status: 404 });
    return account;
  }

  async touchLogin(id: string): Promise<void> {
    await this.db
      .updateTable('user_account')
      .set({ last_login_at: new Date().toISOString() })
      .where('id', '=', id)
      .execute();
  }

  async remove(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('user_account').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}

function toAccount(r: IdentityTables['user_account']): Account {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    kind: r.kind as AccountKind,
    hasPassword: r.password_hash !== null,
    mustChangePassword: r.must_change_password === 1,
    passwordChangedAt: r.password_changed_at,
    disabled: r.disabled === 1,
    oidc:
      r.oidc_issuer !== null && r.oidc_subject !== null
        ? { issuer: r.oidc_issuer, subject: r.oidc_subject }
        : null,
    createdAt: r.created_at,
    lastLoginAt: r.last_login_at,
  };
}
