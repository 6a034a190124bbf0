import { sql, type Kysely } from 'kysely';
import type { IdentityTables } from './tables.js';

export interface LockoutPolicy {
  /** Failed sign-ins for one account name within the window before it is locked. */
  accountMaxFailures: number;
  /** Failed sign-ins from one source address within the window before it is locked. */
  sourceMaxFailures: number;
  windowSeconds: number;
  /** First lock duration; each further lock of the same key doubles it, up to maxLockSeconds. */
  lockSeconds: number;
  maxLockSeconds: number;
}

export interface LockState {
  locked: boolean;
  /** Which key is locked: `account` or `source`. */
  by?: 'account' | 'source';
  until?: string;
}

/**
 * Unsuccessful-login control (IEC 62443-3-3 SR 1.11). Counters are keyed by the account *name* typed,
 * not by an account row, so an unknown name is throttled exactly like a real one and the answers never
 * tell them apart. State lives in the database: it survives restarts and is shared by all nodes.
 */
export class LoginThrottle {
  constructor(
    private readonly db: Kysely<IdentityTables>,
    private readonly policy: LockoutPolicy,
  ) {}

  static accountKey(username: string): string {
    return `account:${username.trim().toLowerCase()}`;
  }

  static sourceKey(address: string): string {
    return `source:${address}`;
  }

  async state(username: string, address: string, now = new Date()): Promise<LockState> {
    const rows = await this.db
      .selectFrom('login_throttle')
      .select(['key', 'locked_until'])
      .where('key', 'in', [LoginThrottle.accountKey(username), LoginThrottle.sourceKey(address)])
      .execute();
    const iso = now.toISOString();
    for (const row of rows) {
      if (row.locked_until !== null && row.locked_until > iso) {
        return {
          locked: true,
          by: row.key.startsWith('account:') ? 'account' : 'source',
          until: row.locked_until,
        };
      }
    }
    return { locked: false };
  }

  /** Counts a failure against the account name and the source; returns the lock it caused, if any. */
  async recordFailure(username: string, address: string, now = new Date()): Promise<LockState> {
    const account = await this.bump(LoginThrottle.accountKey(username), this.policy.accountMaxFailures, now);
    const source = await this.bump(LoginThrottle.sourceKey(address), this.policy.sourceMaxFailures, now);
    if (account) return { locked: true, by: 'account', until: account };
    if (source) return { locked: true, by: 'source', until: source };
    return { locked: false };
  }

  /** A successful sign-in clears the account's counter and its backoff; the source's stays. */
  async recordSuccess(username: string): Promise<void> {
    await this.db
      .deleteFrom('login_throttle')
      .where('key', '=', LoginThrottle.accountKey(username))
      .execute();
  }

  /** An administrator's unlock. */
  async unlock(username: string): Promise<void> {
    await this.recordSuccess(username);
  }

  private async bump(key: string, max: number, now: Date): Promise<string | undefined> {
    const iso = now.toISOString();
    const windowStart = new Date(now.getTime() - this.policy.windowSeconds * 1000).toISOString();
    const row = await this.db
      .insertInto('login_throttle')
      .values({ key, failures: 1, window_started_at: iso, locked_until: null, lock_count: 0 })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: sql<number>`case when login_throttle.window_started_at < ${windowStart} then 1 else login_throttle.failures + 1 end`,
          window_started_at: sql<string>`case when login_throttle.window_started_at < ${windowStart} then ${iso} else login_throttle.window_started_at end`,
        }),
      )
      .returning(['failures', 'lock_count'])
      .executeTakeFirstOrThrow();
    if (row.failures < max) return undefined;
    const seconds = Math.min(this.policy.lockSeconds * 2 ** row.lock_count, this.policy.maxLockSeconds);
    const until = new Date(now.getTime() + seconds * 1000).toISOString();
    const locked = await this.db
      .updateTable('login_throttle')
      .set({ locked_until: until, lock_count: row.lock_count + 1, failures: 0, window_started_at: iso })
      .where('key', '=', key)
      .where('failures', '>=', max)
      .executeTakeFirst();
    return locked.numUpdatedRows > 0n ? until : undefined;
  }
}
