import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { IdentityTables } from './tables.js';

export interface SessionPolicy {
  /** Inactivity after which the session is locked and must be signed into again (SR 2.5). */
  idleTimeoutSeconds: number;
  /** Lifetime after which the session ends whatever the activity. */
  absoluteLifetimeSeconds: number;
  /** Active sessions per user (SR 2.7). */
  maxConcurrent: number;
  /** What a sign-in beyond the limit does: end the oldest session, or be refused. */
  onLimit: 'evict-oldest' | 'reject';
}

/**
 * Where a session stands. Only `active` sessions reach the API; the others allow exactly the next step
 * of signing in (change the one-time password, pass or enrol a second factor).
 */
export type SessionState = 'active' | 'needs-password-change' | 'needs-mfa' | 'needs-mfa-enrolment';

export interface Session {
  id: string;
  userId: string;
  state: SessionState;
  authMethods: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  address: string;
  userAgent: string;
  challenge: string | null;
}

export type EndReason =
  'logout' | 'terminated' | 'idle-timeout' | 'lifetime' | 'password-changed' | 'session-limit' | 'disabled';

/** The session secret's fingerprint as stored: a database reader cannot turn it back into a cookie. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** The anti-CSRF token of a session, derived from its secret so nothing extra is stored. */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('palisade csrf v1').digest('base64url');
}

export function csrfMatches(sessionToken: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

const TOUCH_EVERY_MS = 15_000;

export class SessionStore {
  constructor(
    private readonly db: Kysely<IdentityTables>,
    readonly policy: SessionPolicy,
  ) {}

  /** Creates a session; the returned token (256 random bits) goes to the client and nowhere else. */
  async create(input: {
    userId: string;
    state: SessionState;
    authMethods: string;
    address: string;
    userAgent: string;
    now?: Date;
  }): Promise<{ token: string; session: Session }> {
    const now = input.now ?? new Date();
    const token = randomBytes(32).toString('base64url');
    const session: Session = {
      id: randomUUID(),
      userId: input.userId,
      state: input.state,
      authMethods: input.authMethods,
      createdAt: now.toISOString(),
      lastSeenAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.policy.absoluteLifetimeSeconds * 1000).toISOString(),
      address: input.address,
      userAgent: input.userAgent.slice(0, 256),
      challenge: null,
    };
    await this.db
      .insertInto('user_session')
      .values({
        id: session.id,
        token_hash: hashToken(token),
        user_id: session.userId,
        state: session.state,
        auth_methods: session.authMethods,
        created_at: session.createdAt,
        last_seen_at: session.lastSeenAt,
        expires_at: session.expiresAt,
        address: session.address,
        user_agent: session.userAgent,
        challenge: null,
      })
      .execute();
    return { token, session };
  }

  /**
   * Looks a presented token up. An unknown token gives `undefined`; a known but idle or over-age one is
   * deleted and reported as ended, so the caller can audit the expiry.
   */
  async resolve(
    token: string,
    now = new Date(),
  ): Promise<{ session: Session } | { ended: EndReason; session: Session } | undefined> {
    if (token.length === 0 || token.length > 128) return undefined;
    const row = await this.db
      .selectFrom('user_session')
      .selectAll()
      .where('token_hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row) return undefined;
    const session = toSession(row);
    const idleLimit = new Date(Date.parse(session.lastSeenAt) + this.policy.idleTimeoutSeconds * 1000);
    const ended: EndReason | undefined =
      session.expiresAt <= now.toISOString() ? 'lifetime' : idleLimit <= now ? 'idle-timeout' : undefined;
    if (ended) {
      await this.db.deleteFrom('user_session').where('id', '=', session.id).execute();
      return { ended, session };
    }
    if (now.getTime() - Date.parse(session.lastSeenAt) >= TOUCH_EVERY_MS) {
      session.lastSeenAt = now.toISOString();
      await this.db
        .updateTable('user_session')
        .set({ last_seen_at: session.lastSeenAt })
        .where('id', '=', session.id)
        .execute();
    }
    return { session };
  }

  async get(id: string): Promise<Session | undefined> {
    const row = await this.db.selectFrom('user_session').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toSession(row);
  }

  async setState(id: string, state: SessionState, authMethods: string): Promise<void> {
    await this.db
      .updateTable('user_session')
      .set({ state, auth_methods: authMethods, challenge: null })
      .where('id', '=', id)
      .execute();
  }

  async setChallenge(id: string, challenge: string | null): Promise<void> {
    await this.db.updateTable('user_session').set({ challenge }).where('id', '=', id).execute();
  }

  async listForUser(userId: string): Promise<Session[]> {
    const rows = await this.db
      .selectFrom('user_session')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute();
    return rows.map(toSession);
  }

  async listAll(): Promise<Session[]> {
    const rows = await this.db.selectFrom('user_session').selectAll().orderBy('created_at').execute();
    return rows.map(toSession);
  }

  /** Ends one session; returns whether it existed. */
  async end(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('user_session').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  /** Ends every session of a user (optionally but one); returns the ended ids. */
  async endAllForUser(userId: string, except?: string): Promise<string[]> {
    let q = this.db.deleteFrom('user_session').where('user_id', '=', userId);
    if (except !== undefined) q = q.where('id', '!=', except);
    const rows = await q.returning('id').execute();
    return rows.map((r) => r.id);
  }
}

function toSession(r: IdentityTables['user_session']): Session {
  return {
    id: r.id,
    userId: r.user_id,
    state: r.state as SessionState,
    authMethods: r.auth_methods,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    expiresAt: r.expires_at,
    address: r.address,
    userAgent: r.user_agent,
    challenge: r.challenge,
  };
}
