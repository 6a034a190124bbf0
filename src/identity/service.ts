import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditActor, AuditEventInput, AuditSink } from '../audit/index.js';
import { tablesOf, type Database } from '../db/index.js';
import { PalisadeError } from '../errors/index.js';
import { AccountStore, type Account } from './accounts.js';
import { OidcLogin, type OidcIdentity, type OidcSettings } from './oidc.js';
import { PasswordHasher, PasswordRules, type PasswordPolicy } from './passwords.js';
import { RecoveryCodes } from './recovery.js';
import type { SecretBox } from './secret-box.js';
import {
  csrfMatches,
  csrfTokenFor,
  SessionStore,
  type EndReason,
  type Session,
  type SessionPolicy,
  type SessionState,
} from './sessions.js';
import type { IdentityTables } from './tables.js';
import { LoginThrottle, type LockoutPolicy } from './throttle.js';
import { ApiTokens } from './tokens.js';
import { TotpFactor, type TotpEnrolment } from './totp.js';
import { WebAuthnFactor, type RelyingParty } from './webauthn.js';

export interface IdentityPolicy {
  password: PasswordPolicy;
  /** Global switch; per-role relaxation comes through `RolePolicy.mfaRequiredFor`. */
  mfaRequired: boolean;
  session: SessionPolicy;
  lockout: LockoutPolicy;
  notice: string;
  tokenMaxLifetimeDays: number;
}

/** What identity needs to know from access without deciding permissions itself. */
export interface RolePolicy {
  mfaRequiredFor(userId: string): Promise<boolean>;
  /** Replaces the grants derived from the IdP's groups for this user. */
  applyIdpGroups(userId: string, issuer: string, groups: string[]): Promise<void>;
}

export interface IdentityOptions {
  database: Database;
  audit: AuditSink;
  box: SecretBox;
  policy: IdentityPolicy;
  relyingParty: RelyingParty;
  roles: RolePolicy;
  oidc?: OidcSettings | undefined;
  /** Milliseconds since the epoch; tests step it to exercise TOTP time windows. */
  clock?: () => number;
}

/** Who is calling, as established by a session or an API token. */
export interface Principal {
  userId: string;
  username: string;
  displayName: string;
  kind: 'human' | 'service';
  /** e.g. `password+totp`, `oidc+mfa`, `api-token`. */
  auth: string;
  address: string;
  sessionId?: string;
  sessionState?: SessionState;
  tokenId?: string;
  /** Permissions an API token is narrowed to; null when not narrowed. */
  tokenPermissions?: string[] | null;
}

export interface RequestContext {
  address: string;
  userAgent: string;
}

export interface SignInStep {
  token: string;
  csrfToken: string;
  session: Session;
  /** What the client must do next; `active` means signed in. */
  state: SessionState;
}

export type AuthenticationResult =
  | { principal: Principal }
  | {
      failure: 'unauthenticated' | 'expired' | 'csrf' | 'step-required';
      message: string;
      state?: SessionState;
    };

const ONE_TIME_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/**
 * Sign-in and everything around it: passwords, second factors, OIDC, sessions, API tokens and account
 * administration. Every outcome is appended to the audit log before the caller sees it.
 */
export class IdentityService {
  readonly accounts: AccountStore;
  readonly sessions: SessionStore;
  readonly throttle: LoginThrottle;
  readonly totp: TotpFactor;
  readonly webauthn: WebAuthnFactor;
  readonly recovery: RecoveryCodes;
  readonly tokens: ApiTokens;
  readonly oidc: OidcLogin | undefined;
  readonly rules: PasswordRules;
  private readonly hasher = new PasswordHasher();
  private readonly db: Kysely<IdentityTables>;
  private readonly audit: AuditSink;
  private readonly roles: RolePolicy;
  readonly policy: IdentityPolicy;
  private readonly clock: () => number;

  constructor(options: IdentityOptions) {
    this.clock = options.clock ?? Date.now;
    this.db = tablesOf<IdentityTables>(options.database);
    this.audit = options.audit;
    this.roles = options.roles;
    this.policy = options.policy;
    this.accounts = new AccountStore(this.db);
    this.sessions = new SessionStore(this.db, options.policy.session);
    this.throttle = new LoginThrottle(this.db, options.policy.lockout);
    this.totp = new TotpFactor(this.db, options.box, 'Palisade');
    this.webauthn = new WebAuthnFactor(this.db, options.relyingParty);
    this.recovery = new RecoveryCodes(this.db);
    this.tokens = new ApiTokens(this.db, options.policy.tokenMaxLifetimeDays);
    this.rules = new PasswordRules(options.policy.password);
    this.oidc = options.oidc ? new OidcLogin(this.db, options.oidc) : undefined;
  }

  // ---------------------------------------------------------------- first start

  /**
   * No default credentials: on first start an `admin` account gets a random one-time password that is
   * returned (to be printed once) and must be changed at first sign-in. Returns undefined when any
   * human account already exists.
   */
  async ensureFirstAdministrator(
    grant: (userId: string) => Promise<void>,
  ): Promise<{ username: string; oneTimePassword: string } | undefined> {
    if ((await this.accounts.count('human')) > 0) return undefined;
    const oneTimePassword = generateOneTimePassword();
    const account = await this.accounts.create({
      username: 'admin',
      displayName: 'Administrator',
      kind: 'human',
      passwordHash: await this.hasher.hash(oneTimePassword),
      mustChangePassword: true,
    });
    await grant(account.id);
    await this.audit.append({
      action: 'user.created',
      outcome: 'success',
      actor: { type: 'system', id: 'palisade.init' },
      target: { type: 'user', id: account.id },
      details: { username: account.username, firstAdministrator: true },
    });
    return { username: account.username, oneTimePassword };
  }

  // ---------------------------------------------------------------- password sign-in

  async passwordLogin(
    input: { username: string; password: string; noticeAccepted: boolean } & RequestContext,
  ): Promise<SignInStep> {
    const username = input.username.trim().slice(0, 128);
    const actor: AuditActor = {
      type: 'user',
      id: 'unknown',
      name: username,
      auth: 'password',
      address: input.address,
    };
    if (this.policy.notice !== '' && !input.noticeAccepted) {
      await this.record('auth.login.failed', 'failure', actor, 'the system use notice was not accepted');
      throw new PalisadeError('AUTH_NOTICE_REQUIRED', 'accept the system use notice to sign in', {
        status: 400,
      });
    }
    const lock = await this.throttle.state(username, input.address);
    if (lock.locked) {
      await this.record('auth.login.failed', 'denied', actor, `locked out (${lock.by}) until ${lock.until}`);
      throw lockedError(lock.until!);
    }
    const account = await this.accounts.byUsername(username);
    if (account) actor.id = account.id;
    const stored =
      account && account.kind === 'human' && !account.disabled
        ? await this.accounts.passwordHash(account.id)
        : null;
    const ok = await this.hasher.verify(stored, input.password);
    if (!ok || !account) {
      await this.failAndMaybeLock(username, input.address, actor, account, 'wrong user name or password');
      throw new PalisadeError('AUTH_FAILED', 'wrong user name or password', { status: 401 });
    }
    await this.throttle.recordSuccess(username);
    const state = await this.stateAfterPassword(account);
    return this.openSession(account, state, 'password', input, actor);
  }

  private async stateAfterPassword(account: Account): Promise<SessionState> {
    if (account.mustChangePassword || this.passwordExpired(account)) return 'needs-password-change';
    if (!(await this.mfaRequired(account.id))) return 'active';
    return (await this.hasSecondFactor(account.id)) ? 'needs-mfa' : 'needs-mfa-enrolment';
  }

  /** Whether the password is older than `password.maxAgeDays` (SR 1.7 RE1): it must be changed now. */
  private passwordExpired(account: Account): boolean {
    const maxAge = this.policy.password.maxAgeDays;
    if (maxAge === undefined || account.passwordChangedAt === null) return false;
    return Date.now() - Date.parse(account.passwordChangedAt) > maxAge * 86_400_000;
  }

  async mfaRequired(userId: string): Promise<boolean> {
    return this.policy.mfaRequired && (await this.roles.mfaRequiredFor(userId));
  }

  async hasSecondFactor(userId: string): Promise<boolean> {
    return (await this.totp.isEnrolled(userId)) || (await this.webauthn.credentials(userId)).length > 0;
  }

  private async failAndMaybeLock(
    username: string,
    address: string,
    actor: AuditActor,
    account: Account | undefined,
    reason: string,
    action: 'auth.login.failed' | 'auth.mfa.failed' = 'auth.login.failed',
  ): Promise<void> {
    const lock = await this.throttle.recordFailure(username, address);
    await this.record(action, 'failure', actor, reason, { knownAccount: account !== undefined });
    if (lock.locked) {
      await this.record('auth.login.locked', 'denied', actor, `${lock.by} locked until ${lock.until}`, {
        lockedBy: lock.by ?? 'account',
        until: lock.until ?? '',
      });
    }
  }

  private async openSession(
    account: Account,
    state: SessionState,
    methods: string,
    ctx: RequestContext,
    actor: AuditActor,
  ): Promise<SignInStep> {
    const { token, session } = await this.sessions.create({
      userId: account.id,
      state,
      authMethods: methods,
      address: ctx.address,
      userAgent: ctx.userAgent,
    });
    await this.record(
      'session.created',
      'success',
      { ...actor, auth: methods },
      undefined,
      { sessionId: session.id, state },
      {
        type: 'session',
        id: session.id,
      },
    );
    if (state === 'active') await this.activate(account, session, methods, actor);
    return { token, csrfToken: csrfTokenFor(token), session, state };
  }

  /** The session has every factor it needs: enforce the concurrent-session limit and record the sign-in. */
  private async activate(
    account: Account,
    session: Session,
    methods: string,
    actor: AuditActor,
  ): Promise<void> {
    const limit = this.policy.session.maxConcurrent;
    const others = (await this.sessions.listForUser(account.id)).filter(
      (s) => s.state === 'active' && s.id !== session.id,
    );
    if (others.length >= limit) {
      if (this.policy.session.onLimit === 'reject') {
        await this.sessions.end(session.id);
        await this.record(
          'auth.login.rejected',
          'denied',
          actor,
          `the limit of ${limit} concurrent sessions is reached`,
        );
        throw new PalisadeError(
          'SESSION_LIMIT',
          `you already have ${limit} active sessions; sign out of one first`,
          { status: 409 },
        );
      }
      const evict = others.slice(0, others.length - limit + 1);
      for (const old of evict) {
        await this.sessions.end(old.id);
        await this.record(
          'session.terminated',
          'success',
          actor,
          'concurrent-session limit: oldest session ended',
          { sessionId: old.id },
          {
            type: 'session',
            id: old.id,
          },
        );
      }
    }
    await this.sessions.setState(session.id, 'active', methods);
    session.state = 'active';
    session.authMethods = methods;
    await this.accounts.touchLogin(account.id);
    await this.record(
      'auth.login.succeeded',
      'success',
      { ...actor, id: account.id, auth: methods },
      undefined,
      { sessionId: session.id },
      {
        type: 'session',
        id: session.id,
      },
    );
  }

  // ---------------------------------------------------------------- second factors during sign-in

  async totpLogin(principal: Principal, code: string): Promise<{ state: SessionState }> {
    await this.secondFactor(principal, 'totp', async (account) => {
      const result = await this.totp.verify(account.id, code.trim(), this.clock());
      if (result === 'ok') return undefined;
      return result === 'replayed'
        ? {
            reason: 'the TOTP code was already used (replay)',
            error: new PalisadeError('MFA_REPLAYED', 'this code was already used; wait for the next one', {
              status: 401,
            }),
          }
        : {
            reason: 'wrong TOTP code',
            error: new PalisadeError('MFA_FAILED', 'wrong code', { status: 401 }),
          };
    });
    return { state: 'active' };
  }

  async recoveryLogin(
    principal: Principal,
    code: string,
  ): Promise<{ state: SessionState; remaining: number }> {
    const { account, actor } = await this.secondFactor(principal, 'recovery-code', async (a) =>
      (await this.recovery.use(a.id, code))
        ? undefined
        : {
            reason: 'wrong or used recovery code',
            error: new PalisadeError('MFA_FAILED', 'wrong or already used recovery code', { status: 401 }),
          },
    );
    const remaining = await this.recovery.remaining(account.id);
    await this.record('auth.recovery-code.used', 'success', actor, undefined, { remaining });
    return { state: 'active', remaining };
  }

  async webauthnLoginOptions(principal: Principal): Promise<unknown> {
    const { account, session } = await this.pendingSession(principal, 'needs-mfa');
    const options = await this.webauthn.authenticationOptions(account.id);
    await this.sessions.setChallenge(session.id, options.challenge);
    return options;
  }

  async webauthnLogin(principal: Principal, response: unknown): Promise<{ state: SessionState }> {
    await this.secondFactor(principal, 'webauthn', async (account, session) => {
      if (session.challenge === null) {
        return {
          reason: 'WebAuthn: no challenge',
          error: new PalisadeError('MFA_NO_CHALLENGE', 'ask for WebAuthn options first', { status: 400 }),
        };
      }
      // The challenge is spent whatever the outcome: a captured assertion cannot be replayed.
      await this.sessions.setChallenge(session.id, null);
      const result = await this.webauthn.verify(account.id, response, session.challenge);
      return result.ok
        ? undefined
        : {
            reason: `WebAuthn: ${result.reason}`,
            error: new PalisadeError('MFA_FAILED', 'the security key response was not accepted', {
              status: 401,
            }),
          };
    });
    return { state: 'active' };
  }

  /**
   * The second step of signing in, whichever the factor: refused while the account or source is locked
   * out, a failure counts toward the lockout and is audited, a success activates the session.
   */
  private async secondFactor(
    principal: Principal,
    method: 'totp' | 'recovery-code' | 'webauthn',
    check: (
      account: Account,
      session: Session,
    ) => Promise<{ reason: string; error: PalisadeError } | undefined>,
  ): Promise<{ account: Account; actor: AuditActor }> {
    const { account, session } = await this.pendingSession(principal, 'needs-mfa');
    const methods = `${session.authMethods}+${method}`;
    const actor = this.actor(principal, methods);
    const lock = await this.throttle.state(account.username, principal.address);
    if (lock.locked) {
      await this.record('auth.mfa.failed', 'denied', actor, `locked out until ${lock.until}`);
      throw lockedError(lock.until!);
    }
    const failure = await check(account, session);
    if (failure) {
      await this.failAndMaybeLock(
        account.username,
        principal.address,
        actor,
        account,
        failure.reason,
        'auth.mfa.failed',
      );
      throw failure.error;
    }
    await this.throttle.recordSuccess(account.username);
    await this.activate(account, session, methods, actor);
    return { account, actor };
  }

  // ---------------------------------------------------------------- enrolment

  /** Enrolment is allowed while signing in (first login) or from an active session. */
  async beginTotp(principal: Principal): Promise<TotpEnrolment> {
    const { account } = await this.enrollingSession(principal);
    return this.totp.begin(account.id, account.username);
  }

  async confirmTotp(
    principal: Principal,
    code: string,
  ): Promise<{ state: SessionState; recoveryCodes: string[] }> {
    const { account, session } = await this.enrollingSession(principal);
    const actor = this.actor(principal, session.authMethods);
    const result = await this.totp.confirm(account.id, code.trim(), this.clock());
    if (result !== 'ok') {
      await this.record('auth.mfa.failed', 'failure', actor, 'TOTP enrolment: wrong code');
      throw new PalisadeError('MFA_FAILED', 'wrong code; check the authenticator app and the clock', {
        status: 400,
      });
    }
    // A confirmed authenticator app replaces any earlier one: a fresh set of recovery codes with it.
    const recoveryCodes = await this.recovery.generate(account.id);
    await this.enrolled(account, session, actor, 'totp');
    return { state: session.state, recoveryCodes };
  }

  /** A second factor was enrolled: audited, and an enrolment-step session becomes active with it. */
  private async enrolled(
    account: Account,
    session: Session,
    actor: AuditActor,
    factor: 'totp' | 'webauthn',
  ): Promise<void> {
    await this.record(
      'auth.mfa.enrolled',
      'success',
      actor,
      undefined,
      { factor },
      { type: 'user', id: account.id },
    );
    if (session.state === 'needs-mfa-enrolment')
      await this.activate(account, session, `${session.authMethods}+${factor}`, actor);
  }

  async webauthnRegistrationOptions(principal: Principal): Promise<unknown> {
    const { account, session } = await this.enrollingSession(principal);
    const options = await this.webauthn.registrationOptions(account);
    await this.sessions.setChallenge(session.id, options.challenge);
    return options;
  }

  async registerWebauthn(
    principal: Principal,
    response: unknown,
    name: string,
  ): Promise<{ state: SessionState; recoveryCodes: string[] }> {
    const { account, session } = await this.enrollingSession(principal);
    const actor = this.actor(principal, session.authMethods);
    if (session.challenge === null)
      throw new PalisadeError('MFA_NO_CHALLENGE', 'ask for registration options first', { status: 400 });
    await this.sessions.setChallenge(session.id, null);
    const result = await this.webauthn.register(account.id, response, session.challenge, name);
    if (!result.ok) {
      await this.record('auth.mfa.failed', 'failure', actor, `WebAuthn registration: ${result.reason}`);
      throw new PalisadeError('MFA_FAILED', `the security key could not be registered: ${result.reason}`, {
        status: 400,
      });
    }
    // Another security key adds to the account: recovery codes only if it has none left.
    const recoveryCodes =
      (await this.recovery.remaining(account.id)) > 0 ? [] : await this.recovery.generate(account.id);
    await this.enrolled(account, session, actor, 'webauthn');
    return { state: session.state, recoveryCodes };
  }

  // ---------------------------------------------------------------- passwords

  /**
   * Changes the caller's password. Every session of the account ends (the old cookie stops working);
   * a fresh session is opened at the next sign-in step and returned.
   */
  async changePassword(
    principal: Principal,
    current: string,
    next: string,
    ctx: RequestContext,
  ): Promise<SignInStep> {
    const account = await this.accounts.byId(principal.userId);
    if (!account || principal.sessionId === undefined)
      throw new PalisadeError('AUTH_REQUIRED', 'sign in first', { status: 401 });
    const actor = this.actor(principal, principal.auth);
    const ok = await this.hasher.verify(await this.accounts.passwordHash(account.id), current);
    if (!ok) {
      await this.failAndMaybeLock(
        account.username,
        ctx.address,
        actor,
        account,
        'password change: wrong current password',
      );
      throw new PalisadeError('AUTH_FAILED', 'the current password is wrong', { status: 401 });
    }
    if (current === next)
      throw new PalisadeError('PASSWORD_POLICY', 'choose a password different from the current one', {
        status: 400,
      });
    this.rules.check(next, { username: account.username, displayName: account.displayName });
    // The current password is one of the last `historyCount`; the rest are in the history.
    const recent = this.policy.password.historyCount;
    for (const old of await this.accounts.previousPasswordHashes(account.id, recent - 1)) {
      if (await this.hasher.verify(old, next))
        throw new PalisadeError(
          'PASSWORD_POLICY',
          `choose a password different from your last ${recent} passwords`,
          { status: 400 },
        );
    }
    await this.accounts.setPassword(account.id, await this.hasher.hash(next), false, Math.max(0, recent - 1));
    const ended = await this.sessions.endAllForUser(account.id);
    await this.record(
      'auth.password.changed',
      'success',
      actor,
      undefined,
      { endedSessions: ended.length },
      { type: 'user', id: account.id },
    );
    const updated = (await this.accounts.byId(account.id))!;
    const methods = principal.sessionState === 'needs-password-change' ? 'password' : principal.auth;
    const state = await this.stateAfterPassword(updated);
    return this.openSession(updated, state, methods, ctx, actor);
  }

  // ---------------------------------------------------------------- OIDC

  async oidcStart(): Promise<string> {
    if (!this.oidc)
      throw new PalisadeError('OIDC_NOT_CONFIGURED', 'single sign-on is not configured', { status: 404 });
    return this.oidc.start();
  }

  async oidcFinish(callbackUrl: URL, ctx: RequestContext): Promise<SignInStep> {
    if (!this.oidc)
      throw new PalisadeError('OIDC_NOT_CONFIGURED', 'single sign-on is not configured', { status: 404 });
    const actor: AuditActor = { type: 'user', id: 'unknown', auth: 'oidc', address: ctx.address };
    let identity: OidcIdentity;
    try {
      identity = await this.oidc.finish(callbackUrl);
    } catch (err) {
      await this.record(
        'auth.login.failed',
        'failure',
        actor,
        err instanceof Error ? err.message : String(err),
      );
      throw err;
    }
    actor.name = identity.username;
    let account = await this.accounts.byOidc(identity.issuer, identity.subject);
    if (!account) {
      account = await this.accounts.create({
        username: identity.username.replace(/[^a-zA-Z0-9._@-]/g, '-').slice(0, 64),
        displayName: identity.displayName,
        kind: 'human',
        oidc: { issuer: identity.issuer, subject: identity.subject },
      });
      await this.record(
        'user.created',
        'success',
        actor,
        undefined,
        { username: account.username, via: 'oidc' },
        { type: 'user', id: account.id },
      );
    }
    actor.id = account.id;
    if (account.disabled) {
      await this.record('auth.login.rejected', 'denied', actor, 'the account is disabled');
      throw new PalisadeError('AUTH_FAILED', 'this account is disabled', { status: 403 });
    }
    await this.roles.applyIdpGroups(account.id, identity.issuer, identity.groups);
    const evidence = { amr: identity.amr, acr: identity.acr ?? null, groups: identity.groups };
    let state: SessionState = 'active';
    let methods = identity.mfaEvidence ? 'oidc+mfa' : 'oidc';
    if (!identity.mfaEvidence && (await this.mfaRequired(account.id))) {
      if (this.oidc.settings.mfa === 'idp-or-local' && (await this.hasSecondFactor(account.id))) {
        state = 'needs-mfa';
        methods = 'oidc';
      } else {
        await this.record(
          'auth.login.rejected',
          'denied',
          actor,
          `the identity provider reported no multi-factor authentication (amr=${JSON.stringify(identity.amr)}, acr=${identity.acr ?? 'none'}) and policy requires it`,
          evidence,
        );
        throw new PalisadeError(
          'AUTH_MFA_EVIDENCE_REQUIRED',
          'your identity provider did not confirm a second factor; sign in there with MFA',
          { status: 403 },
        );
      }
    }
    return this.openSession(account, state, methods, ctx, { ...actor, auth: methods });
  }

  // ---------------------------------------------------------------- request authentication

  /**
   * Resolves the credentials of a request. `allowPending` lists the sign-in states a route accepts
   * (the login steps); everything else needs an active session or a valid API token.
   */
  async authenticate(input: {
    cookieToken: string | undefined;
    bearer: string | undefined;
    csrfHeader: string | undefined;
    unsafeMethod: boolean;
    address: string;
    allowPending: readonly SessionState[];
  }): Promise<AuthenticationResult> {
    if (input.bearer !== undefined) {
      const token = await this.tokens.resolve(input.bearer);
      const account = token && (await this.accounts.byId(token.userId));
      if (!token || !account || account.disabled) {
        return { failure: 'unauthenticated', message: 'the API token is unknown, expired or revoked' };
      }
      return {
        principal: {
          userId: account.id,
          username: account.username,
          displayName: account.displayName,
          kind: account.kind,
          auth: 'api-token',
          address: input.address,
          tokenId: token.id,
          tokenPermissions: token.permissions,
        },
      };
    }
    if (input.cookieToken === undefined) return { failure: 'unauthenticated', message: 'sign in first' };
    const resolved = await this.sessions.resolve(input.cookieToken);
    if (!resolved) return { failure: 'unauthenticated', message: 'sign in first' };
    if ('ended' in resolved) {
      await this.record(
        'session.expired',
        'success',
        { type: 'user', id: resolved.session.userId, address: input.address },
        endText(resolved.ended),
        { sessionId: resolved.session.id },
        { type: 'session', id: resolved.session.id },
      );
      return { failure: 'expired', message: 'your session has ended; sign in again' };
    }
    const { session } = resolved;
    if (input.unsafeMethod && !csrfMatches(input.cookieToken, input.csrfHeader)) {
      return { failure: 'csrf', message: 'missing or wrong x-csrf-token header' };
    }
    const account = await this.accounts.byId(session.userId);
    if (!account || account.disabled) {
      await this.sessions.end(session.id);
      return { failure: 'unauthenticated', message: 'the account is disabled' };
    }
    if (session.state !== 'active' && !input.allowPending.includes(session.state)) {
      return {
        failure: 'step-required',
        message: `finish signing in first (${session.state})`,
        state: session.state,
      };
    }
    return {
      principal: {
        userId: account.id,
        username: account.username,
        displayName: account.displayName,
        kind: account.kind,
        auth: `session:${session.authMethods}`,
        address: input.address,
        sessionId: session.id,
        sessionState: session.state,
      },
    };
  }

  async logout(principal: Principal): Promise<void> {
    if (principal.sessionId === undefined) return;
    await this.sessions.end(principal.sessionId);
    await this.record(
      'auth.logout',
      'success',
      this.actor(principal, principal.auth),
      undefined,
      { sessionId: principal.sessionId },
      { type: 'session', id: principal.sessionId },
    );
  }

  async terminateSession(by: Principal, sessionId: string, ownOnly: boolean): Promise<void> {
    const session = await this.sessions.get(sessionId);
    if (!session || (ownOnly && session.userId !== by.userId)) {
      throw new PalisadeError('SESSION_NOT_FOUND', `no session ${sessionId}`, { status: 404 });
    }
    await this.sessions.end(sessionId);
    await this.record(
      'session.terminated',
      'success',
      this.actor(by, by.auth),
      ownOnly ? 'ended by its owner' : 'ended by an administrator',
      { sessionId, userId: session.userId },
      { type: 'session', id: sessionId },
    );
  }

  // ---------------------------------------------------------------- administration

  async createUser(
    by: Principal,
    input: { username: string; displayName: string },
  ): Promise<{ account: Account; oneTimePassword: string }> {
    const oneTimePassword = generateOneTimePassword();
    const account = await this.accounts.create({
      username: input.username,
      displayName: input.displayName,
      kind: 'human',
      passwordHash: await this.hasher.hash(oneTimePassword),
      mustChangePassword: true,
    });
    await this.record(
      'user.created',
      'success',
      this.actor(by, by.auth),
      undefined,
      { username: account.username },
      { type: 'user', id: account.id },
    );
    return { account, oneTimePassword };
  }

  async createServiceAccount(
    by: Principal,
    input: { username: string; displayName: string },
  ): Promise<Account> {
    const account = await this.accounts.create({ ...input, kind: 'service' });
    await this.record(
      'user.created',
      'success',
      this.actor(by, by.auth),
      undefined,
      { username: account.username, kind: 'service' },
      { type: 'user', id: account.id },
    );
    return account;
  }

  /** An administrator's reset: a one-time password, every session ended, change forced at next sign-in. */
  async resetPassword(by: Principal | AuditActor, userId: string): Promise<string> {
    const account = await this.requireAccount(userId);
    if (account.kind !== 'human')
      throw new PalisadeError('USER_KIND', 'service accounts use API tokens, not passwords', { status: 400 });
    const oneTimePassword = generateOneTimePassword();
    await this.accounts.setPassword(
      userId,
      await this.hasher.hash(oneTimePassword),
      true,
      Math.max(0, this.policy.password.historyCount - 1),
    );
    const ended = await this.sessions.endAllForUser(userId);
    await this.throttle.unlock(account.username);
    await this.record(
      'auth.password.reset',
      'success',
      'userId' in by ? this.actor(by, by.auth) : by,
      undefined,
      { endedSessions: ended.length },
      { type: 'user', id: userId },
    );
    return oneTimePassword;
  }

  async unlock(by: Principal, userId: string): Promise<void> {
    const account = await this.requireAccount(userId);
    await this.throttle.unlock(account.username);
    await this.record(
      'user.updated',
      'success',
      this.actor(by, by.auth),
      'lockout cleared',
      { unlocked: true },
      { type: 'user', id: userId },
    );
  }

  async setDisabled(by: Principal, userId: string, disabled: boolean): Promise<Account> {
    if (userId === by.userId && disabled)
      throw new PalisadeError('USER_SELF', 'you cannot disable your own account', { status: 409 });
    await this.requireAccount(userId);
    const account = await this.accounts.update(userId, { disabled });
    if (disabled) await this.sessions.endAllForUser(userId);
    await this.record(
      disabled ? 'user.disabled' : 'user.enabled',
      'success',
      this.actor(by, by.auth),
      undefined,
      undefined,
      { type: 'user', id: userId },
    );
    return account;
  }

  async updateUser(by: Principal, userId: string, change: { displayName?: string }): Promise<Account> {
    await this.requireAccount(userId);
    const account = await this.accounts.update(userId, change);
    await this.record(
      'user.updated',
      'success',
      this.actor(by, by.auth),
      undefined,
      { displayName: account.displayName },
      { type: 'user', id: userId },
    );
    return account;
  }

  async deleteUser(by: Principal, userId: string): Promise<void> {
    if (userId === by.userId)
      throw new PalisadeError('USER_SELF', 'you cannot delete your own account', { status: 409 });
    const account = await this.requireAccount(userId);
    await this.record(
      'user.deleted',
      'success',
      this.actor(by, by.auth),
      undefined,
      { username: account.username },
      { type: 'user', id: userId },
    );
    await this.accounts.remove(userId);
  }

  async issueToken(
    by: Principal,
    input: { userId: string; name: string; permissions: string[] | null; lifetimeDays: number },
  ): Promise<{ token: string; id: string; expiresAt: string }> {
    const account = await this.requireAccount(input.userId);
    if (account.kind !== 'service')
      throw new PalisadeError('USER_KIND', 'API tokens are issued to service accounts only', { status: 400 });
    const { token, info } = await this.tokens.issue({ ...input, createdBy: by.userId });
    await this.record(
      'token.created',
      'success',
      this.actor(by, by.auth),
      undefined,
      { tokenId: info.id, name: info.name, expiresAt: info.expiresAt, permissions: info.permissions },
      { type: 'user', id: input.userId },
    );
    return { token, id: info.id, expiresAt: info.expiresAt };
  }

  async revokeToken(by: Principal, tokenId: string): Promise<void> {
    const token = await this.tokens.get(tokenId);
    if (!token) throw new PalisadeError('TOKEN_NOT_FOUND', `no token ${tokenId}`, { status: 404 });
    await this.tokens.revoke(tokenId);
    await this.record(
      'token.revoked',
      'success',
      this.actor(by, by.auth),
      undefined,
      { tokenId },
      { type: 'user', id: token.userId },
    );
  }

  async removeSecondFactors(by: Principal, userId: string): Promise<void> {
    await this.requireAccount(userId);
    await this.totp.remove(userId);
    for (const c of await this.webauthn.credentials(userId)) await this.webauthn.remove(userId, c.id);
    await this.record(
      'auth.mfa.removed',
      'success',
      this.actor(by, by.auth),
      'all second factors removed',
      undefined,
      { type: 'user', id: userId },
    );
  }

  // ---------------------------------------------------------------- helpers

  private async requireAccount(userId: string): Promise<Account> {
    const account = await this.accounts.byId(userId);
    if (!account) throw new PalisadeError('USER_NOT_FOUND', `no account ${userId}`, { status: 404 });
    return account;
  }

  private async pendingSession(
    principal: Principal,
    state: SessionState,
  ): Promise<{ account: Account; session: Session }> {
    const session =
      principal.sessionId === undefined ? undefined : await this.sessions.get(principal.sessionId);
    const account = await this.accounts.byId(principal.userId);
    if (!session || !account || session.state !== state) {
      throw new PalisadeError(
        'AUTH_STEP_INVALID',
        `this step is not expected now (${session?.state ?? 'no session'})`,
        { status: 409 },
      );
    }
    return { account, session };
  }

  private async enrollingSession(principal: Principal): Promise<{ account: Account; session: Session }> {
    const session =
      principal.sessionId === undefined ? undefined : await this.sessions.get(principal.sessionId);
    const account = await this.accounts.byId(principal.userId);
    if (!session || !account || (session.state !== 'active' && session.state !== 'needs-mfa-enrolment')) {
      throw new PalisadeError('AUTH_STEP_INVALID', 'second factors are enrolled from a signed-in session', {
        status: 409,
      });
    }
    return { account, session };
  }

  private actor(principal: Principal, auth: string): AuditActor {
    return {
      type: principal.kind === 'service' ? 'service' : 'user',
      id: principal.userId,
      name: principal.username,
      auth,
      address: principal.address,
    };
  }

  private async record(
    action: AuditEventInput['action'],
    outcome: AuditEventInput['outcome'],
    actor: AuditActor,
    reason?: string,
    details?: AuditEventInput['details'],
    target?: AuditEventInput['target'],
  ): Promise<void> {
    await this.audit.append({
      action,
      outcome,
      actor,
      ...(target && { target }),
      ...(reason !== undefined && { reason }),
      ...(details && { details }),
    });
  }
}

function lockedError(until: string): PalisadeError {
  return new PalisadeError('AUTH_LOCKED', `too many failed sign-ins; try again after ${until}`, {
    status: 429,
    details: { until },
  });
}

function endText(reason: EndReason): string {
  return reason === 'idle-timeout'
    ? 'idle timeout (session lock)'
    : reason === 'lifetime'
      ? 'absolute lifetime reached'
      : reason;
}

/** 20 characters from an unambiguous alphabet (~116 bits), grouped for reading aloud. */
export function generateOneTimePassword(): string {
  const bytes = randomBytes(20);
  const chars = [...bytes].map((b) => ONE_TIME_ALPHABET[b % ONE_TIME_ALPHABET.length]!).join('');
  return chars.match(/.{5}/g)!.join('-');
}
