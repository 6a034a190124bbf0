import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { PalisadeError } from '../errors/index.js';
import type { Account } from './accounts.js';
import { clearSessionCookie, contextOf, principalOf, SESSION_COOKIE, setSessionCookie } from './request.js';
import type { IdentityService, SignInStep } from './service.js';
import { csrfTokenFor, type Session } from './sessions.js';

const Err = { $ref: 'ErrorBody#' };
const errors = { 400: Err, 401: Err, 403: Err, 404: Err, 409: Err, 429: Err };

const SessionState = Type.Union(
  ['active', 'needs-password-change', 'needs-mfa', 'needs-mfa-enrolment'].map((s) => Type.Literal(s)),
);
const UserSummary = Type.Object({ id: Type.String(), username: Type.String(), displayName: Type.String() });
const StepBody = Type.Object({
  state: SessionState,
  csrfToken: Type.String(),
  user: UserSummary,
  expiresAt: Type.String(),
});
const StateBody = Type.Object({ state: SessionState });
const Code = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const Password = Type.String({ minLength: 1, maxLength: 1024 });

export const AccountBody = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
  kind: Type.Union([Type.Literal('human'), Type.Literal('service')]),
  mustChangePassword: Type.Boolean(),
  disabled: Type.Boolean(),
  sso: Type.Boolean(),
  createdAt: Type.String(),
  lastLoginAt: Type.Union([Type.String(), Type.Null()]),
});

const SessionBody = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  state: SessionState,
  authMethods: Type.String(),
  createdAt: Type.String(),
  lastSeenAt: Type.String(),
  expiresAt: Type.String(),
  address: Type.String(),
  userAgent: Type.String(),
  current: Type.Boolean(),
});

export function accountJson(a: Account) {
  return {
    id: a.id,
    username: a.username,
    displayName: a.displayName,
    kind: a.kind,
    mustChangePassword: a.mustChangePassword,
    disabled: a.disabled,
    sso: a.oidc !== null,
    createdAt: a.createdAt,
    lastLoginAt: a.lastLoginAt,
  };
}

const ALL_STEPS = ['needs-password-change', 'needs-mfa', 'needs-mfa-enrolment'] as const;

/**
 * Sign-in, second factors, the caller's own sessions, and account administration. Permission checks
 * happen in the guard from each route's `access` declaration; handlers only act.
 */
export function identityRoutes(identity: IdentityService): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const lifetime = identity.policy.session.absoluteLifetimeSeconds;

    const stepReply = async (step: SignInStep) => {
      const account = (await identity.accounts.byId(step.session.userId))!;
      return {
        state: step.state,
        csrfToken: step.csrfToken,
        user: { id: account.id, username: account.username, displayName: account.displayName },
        expiresAt: step.session.expiresAt,
      };
    };

    app.get(
      '/api/auth/config',
      {
        config: { access: { public: true } },
        schema: {
          summary: 'What the sign-in page needs: the system use notice and the sign-in methods',
          tags: ['auth'],
          response: {
            200: Type.Object({
              notice: Type.String(),
              passwordMinLength: Type.Integer(),
              oidc: Type.Object({ enabled: Type.Boolean(), label: Type.String() }),
            }),
          },
        },
      },
      async () => ({
        notice: identity.policy.notice,
        passwordMinLength: identity.rules.minLength,
        oidc: { enabled: identity.oidc !== undefined, label: 'Sign in with single sign-on' },
      }),
    );

    app.post(
      '/api/auth/login',
      {
        config: { access: { public: true }, rateLimit: false },
        schema: {
          summary: 'Sign in with user name and password (first step)',
          tags: ['auth'],
          body: Type.Object(
            {
              username: Type.String({ minLength: 1, maxLength: 128 }),
              password: Password,
              noticeAccepted: Type.Boolean({ default: false }),
            },
            { additionalProperties: false },
          ),
          response: { 200: StepBody, ...errors, 503: Err },
        },
      },
      async (request, reply) => {
        const step = await identity.passwordLogin({ ...request.body, ...contextOf(request) });
        setSessionCookie(reply, step, lifetime);
        return stepReply(step);
      },
    );

    app.get(
      '/api/auth/oidc/start',
      {
        config: { access: { public: true } },
        schema: {
          summary: 'Start single sign-on: redirects to the identity provider',
          tags: ['auth'],
          response: { 302: Type.Null(), 404: Err, 502: Err },
        },
      },
      async (_request, reply) => reply.redirect(await identity.oidcStart(), 302),
    );

    app.get(
      '/api/auth/oidc/callback',
      {
        config: { access: { public: true } },
        schema: {
          summary: 'Where the identity provider sends the browser back',
          tags: ['auth'],
          querystring: Type.Object({}, { additionalProperties: Type.String({ maxLength: 4096 }) }),
          response: { 302: Type.Null() },
        },
      },
      async (request, reply) => {
        const url = new URL(request.url, `https://${request.hostname}`);
        try {
          const step = await identity.oidcFinish(url, contextOf(request));
          setSessionCookie(reply, step, lifetime);
          return await reply.redirect(`/#/signed-in?state=${step.state}`, 302);
        } catch (err) {
          const code = err instanceof PalisadeError ? err.code : 'OIDC_LOGIN_FAILED';
          return reply.redirect(`/#/sign-in?error=${encodeURIComponent(code)}`, 302);
        }
      },
    );

    app.post(
      '/api/auth/mfa/totp',
      {
        config: { access: { steps: ['needs-mfa'] }, rateLimit: false },
        schema: {
          summary: 'Second step: a TOTP code',
          tags: ['auth'],
          body: Code,
          response: { 200: StateBody, ...errors },
        },
      },
      async (request) => identity.totpLogin(principalOf(request), request.body.code),
    );

    app.post(
      '/api/auth/mfa/recovery',
      {
        config: { access: { steps: ['needs-mfa'] }, rateLimit: false },
        schema: {
          summary: 'Second step: a one-time recovery code',
          tags: ['auth'],
          body: Code,
          response: { 200: Type.Object({ state: SessionState, remaining: Type.Integer() }), ...errors },
        },
      },
      async (request) => identity.recoveryLogin(principalOf(request), request.body.code),
    );

    app.post(
      '/api/auth/mfa/webauthn/options',
      {
        config: { access: { steps: ['needs-mfa'] } },
        schema: {
          summary: 'Second step: WebAuthn assertion options',
          tags: ['auth'],
          response: { 200: Type.Any(), ...errors },
        },
      },
      async (request) => identity.webauthnLoginOptions(principalOf(request)),
    );

    app.post(
      '/api/auth/mfa/webauthn',
      {
        config: { access: { steps: ['needs-mfa'] }, rateLimit: false },
        schema: {
          summary: 'Second step: a WebAuthn assertion',
          tags: ['auth'],
          body: Type.Object({ response: Type.Any() }, { additionalProperties: false }),
          response: { 200: StateBody, ...errors },
        },
      },
      async (request) => identity.webauthnLogin(principalOf(request), request.body.response),
    );

    app.post(
      '/api/auth/password',
      {
        config: { access: { steps: ['needs-password-change'], authenticated: true }, rateLimit: false },
        schema: {
          summary: "Change the caller's password; ends every session of the account and opens a new one",
          tags: ['auth'],
          body: Type.Object(
            { currentPassword: Password, newPassword: Password },
            { additionalProperties: false },
          ),
          response: { 200: StepBody, ...errors },
        },
      },
      async (request, reply) => {
        const step = await identity.changePassword(
          principalOf(request),
          request.body.currentPassword,
          request.body.newPassword,
          contextOf(request),
        );
        setSessionCookie(reply, step, lifetime);
        return stepReply(step);
      },
    );

    app.post(
      '/api/auth/logout',
      {
        config: { access: { steps: ALL_STEPS, authenticated: true } },
        schema: {
          summary: 'Sign out: the session id stops working at once',
          tags: ['auth'],
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (request, reply) => {
        await identity.logout(principalOf(request));
        clearSessionCookie(reply);
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/api/session',
      {
        config: { access: { steps: ALL_STEPS, authenticated: true } },
        schema: {
          summary: 'The current session: who, how far signed in, and its CSRF token',
          tags: ['auth'],
          response: {
            200: Type.Object({
              user: UserSummary,
              state: SessionState,
              authMethods: Type.String(),
              csrfToken: Type.String(),
              expiresAt: Type.String(),
              mfaRequired: Type.Boolean(),
              hasSecondFactor: Type.Boolean(),
            }),
            ...errors,
          },
        },
      },
      async (request) => {
        const p = principalOf(request);
        if (p.sessionId === undefined)
          throw new PalisadeError('SESSION_REQUIRED', 'API tokens have no session', { status: 400 });
        const session = (await identity.sessions.get(p.sessionId))!;
        const token = request.cookies[SESSION_COOKIE]!;
        return {
          user: { id: p.userId, username: p.username, displayName: p.displayName },
          state: session.state,
          authMethods: session.authMethods,
          csrfToken: csrfTokenFor(token),
          expiresAt: session.expiresAt,
          mfaRequired: await identity.mfaRequired(p.userId),
          hasSecondFactor: await identity.hasSecondFactor(p.userId),
        };
      },
    );

    // ------------------------------------------------------------ the caller's own factors and sessions

    app.post(
      '/api/me/mfa/totp',
      {
        config: { access: { steps: ['needs-mfa-enrolment'], authenticated: true } },
        schema: {
          summary: 'Begin TOTP enrolment: returns the secret and otpauth URI once',
          tags: ['me'],
          response: { 200: Type.Object({ secret: Type.String(), uri: Type.String() }), ...errors },
        },
      },
      async (request) => identity.beginTotp(principalOf(request)),
    );

    app.post(
      '/api/me/mfa/totp/confirm',
      {
        config: { access: { steps: ['needs-mfa-enrolment'], authenticated: true } },
        schema: {
          summary: 'Confirm TOTP enrolment with a first code; returns one-time recovery codes',
          tags: ['me'],
          body: Code,
          response: {
            200: Type.Object({ state: SessionState, recoveryCodes: Type.Array(Type.String()) }),
            ...errors,
          },
        },
      },
      async (request) => identity.confirmTotp(principalOf(request), request.body.code),
    );

    app.post(
      '/api/me/mfa/webauthn/options',
      {
        config: { access: { steps: ['needs-mfa-enrolment'], authenticated: true } },
        schema: {
          summary: 'WebAuthn registration options',
          tags: ['me'],
          response: { 200: Type.Any(), ...errors },
        },
      },
      async (request) => identity.webauthnRegistrationOptions(principalOf(request)),
    );

    app.post(
      '/api/me/mfa/webauthn',
      {
        config: { access: { steps: ['needs-mfa-enrolment'], authenticated: true } },
        schema: {
          summary: 'Register a security key or passkey',
          tags: ['me'],
          body: Type.Object(
            { response: Type.Any(), name: Type.String({ maxLength: 64, default: '' }) },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ state: SessionState, recoveryCodes: Type.Array(Type.String()) }),
            ...errors,
          },
        },
      },
      async (request) =>
        identity.registerWebauthn(principalOf(request), request.body.response, request.body.name),
    );

    app.get(
      '/api/me/sessions',
      {
        config: { access: { authenticated: true } },
        schema: {
          summary: "The caller's sessions",
          tags: ['me'],
          response: { 200: Type.Array(SessionBody), ...errors },
        },
      },
      async (request) => {
        const p = principalOf(request);
        return (await identity.sessions.listForUser(p.userId)).map((s) => sessionJson(s, p.sessionId));
      },
    );

    app.delete(
      '/api/me/sessions/:id',
      {
        config: { access: { authenticated: true } },
        schema: {
          summary: "End one of the caller's sessions",
          tags: ['me'],
          params: IdParam,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (request, reply) => {
        await identity.terminateSession(principalOf(request), request.params.id, true);
        return reply.status(204).send(null);
      },
    );

    // ------------------------------------------------------------ administration

    const manage = { access: { permission: 'users.manage' } };

    app.get(
      '/api/users',
      {
        config: manage,
        schema: {
          summary: 'All accounts',
          tags: ['users'],
          response: { 200: Type.Array(AccountBody), ...errors },
        },
      },
      async () => (await identity.accounts.list()).map(accountJson),
    );

    app.post(
      '/api/users',
      {
        config: manage,
        schema: {
          summary:
            'Create a person’s account; returns a one-time password to hand over, changed at first sign-in',
          tags: ['users'],
          body: Type.Object(
            {
              username: Type.String({ minLength: 2, maxLength: 64 }),
              displayName: Type.String({ minLength: 1, maxLength: 128 }),
            },
            { additionalProperties: false },
          ),
          response: { 201: Type.Object({ user: AccountBody, oneTimePassword: Type.String() }), ...errors },
        },
      },
      async (request, reply) => {
        const { account, oneTimePassword } = await identity.createUser(principalOf(request), request.body);
        return reply.status(201).send({ user: accountJson(account), oneTimePassword });
      },
    );

    app.get(
      '/api/users/:id',
      {
        config: manage,
        schema: {
          summary: 'One account',
          tags: ['users'],
          params: IdParam,
          response: { 200: AccountBody, ...errors },
        },
      },
      async (request) => {
        const account = await identity.accounts.byId(request.params.id);
        if (!account)
          throw new PalisadeError('USER_NOT_FOUND', `no account ${request.params.id}`, { status: 404 });
        return accountJson(account);
      },
    );

    app.patch(
      '/api/users/:id',
      {
        config: manage,
        schema: {
          summary: 'Change an account’s display name or disable / enable it (disabling ends its sessions)',
          tags: ['users'],
          params: IdParam,
          body: Type.Object(
            {
              displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
              disabled: Type.Optional(Type.Boolean()),
            },
            { additionalProperties: false },
          ),
          response: { 200: AccountBody, ...errors },
        },
      },
      async (request) => {
        const by = principalOf(request);
        let account: Account | undefined;
        if (request.body.displayName !== undefined)
          account = await identity.updateUser(by, request.params.id, {
            displayName: request.body.displayName,
          });
        if (request.body.disabled !== undefined)
          account = await identity.setDisabled(by, request.params.id, request.body.disabled);
        account ??= await identity.accounts.byId(request.params.id);
        if (!account)
          throw new PalisadeError('USER_NOT_FOUND', `no account ${request.params.id}`, { status: 404 });
        return accountJson(account);
      },
    );

    app.delete(
      '/api/users/:id',
      {
        config: manage,
        schema: {
          summary: 'Delete an account',
          tags: ['users'],
          params: IdParam,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (request, reply) => {
        await identity.deleteUser(principalOf(request), request.params.id);
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/api/users/:id/password-reset',
      {
        config: manage,
        schema: {
          summary:
            'Reset a password: a one-time password, every session ended, change forced at next sign-in',
          tags: ['users'],
          params: IdParam,
          response: { 200: Type.Object({ oneTimePassword: Type.String() }), ...errors },
        },
      },
      async (request) => ({
        oneTimePassword: await identity.resetPassword(principalOf(request), request.params.id),
      }),
    );

    app.post(
      '/api/users/:id/unlock',
      {
        config: manage,
        schema: {
          summary: 'Clear a sign-in lockout',
          tags: ['users'],
          params: IdParam,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (request, reply) => {
        await identity.unlock(principalOf(request), request.params.id);
        return reply.status(204).send(null);
      },
    );

    app.delete(
      '/api/users/:id/mfa',
      {
        config: manage,
        schema: {
          summary: 'Remove all second factors (the user enrols again at next sign-in)',
          tags: ['users'],
          params: IdParam,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (request, reply) => {
        await identity.removeSecondFactors(principalOf(request), request.params.id);
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/api/service-accounts',
      {
        config: manage,
        schema: {
          summary: 'Create a service account (software client; authenticates with API tokens only)',
          tags: ['users'],
          body: Type.Object(
            {
              username: Type.String({ minLength: 2, maxLength: 64 }),
              displayName: Type.String({ minLength: 1, maxLength: 128 }),
            },
            { additionalProperties: false },
          ),
          response: { 201: AccountBody, ...errors },
        },
      },
      async (request, reply) =>
        reply
          .status(201)
          .send(accountJson(await identity.createServiceAccount(principalOf(request), request.body))),
    );

    const TokenBody = Type.Object({
      id: Type.String(),
      userId: Type.String(),
      name: Type.String(),
      permissions: Type.Union([Type.Array(Type.String()), Type.Null()]),
      expiresAt: Type.String(),
      createdAt: Type.String(),
      createdBy: Type.String(),
      revokedAt: Type.Union([Type.String(), Type.Null()]),
      lastUsedAt: Type.Union([Type.String(), Type.Null()]),
    });

    app.get(
      '/api/tokens',
      {
        config: manage,
        schema: {
          summary: 'API tokens (never their secrets)',
          tags: ['users'],
          response: { 200: Type.Array(TokenBody), ...errors },
        },
      },
      async () => identity.tokens.list(),
    );

    app.post(
      '/api/service-accounts/:id/tokens',
      {
        config: manage,
        schema: {
          summary: 'Issue an API token; the secret is shown once',
          tags: ['users'],
          params: IdParam,
          body: Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 64 }),
              permissions: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 })),
              lifetimeDays: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
            },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({ id: Type.String(), token: Type.String(), expiresAt: Type.String() }),
            ...errors,
          },
        },
      },
      async (request, reply) =>
        reply.status(201).send(
          await identity.issueToken(principalOf(request), {
            userId: request.params.id,
            name: request.body.name,
            permissions: request.body.permissions ?? null,
            lifetimeDays: request.body.lifetimeDays,
          }),
        ),
    );

    app.delete(
      '/api/tokens/:id',
      {
        config: manage,
        schema: {
          summary: 'Revoke an API token',
          tags: ['users'],
          params: IdParam,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (request, reply) => {
        await identity.revokeToken(principalOf(request), request.params.id);
        return reply.status(204).send(null);
      },
    );

    const sessionsManage = { access: { permission: 'sessions.manage' } };

    app.get(
      '/api/sessions',
      {
        config: sessionsManage,
        schema: {
          summary: 'Every session',
          tags: ['sessions'],
          response: { 200: Type.Array(SessionBody), ...errors },
        },
      },
      async (request) =>
        (await identity.sessions.listAll()).map((s) => sessionJson(s, principalOf(request).sessionId)),
    );

    app.delete(
      '/api/sessions/:id',
      {
        config: sessionsManage,
        schema: {
          summary: 'Terminate any session remotely (SR 2.6)',
          tags: ['sessions'],
          params: IdParam,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (request, reply) => {
        await identity.terminateSession(principalOf(request), request.params.id, false);
        return reply.status(204).send(null);
      },
    );
  };
}

function sessionJson(s: Session, current: string | undefined) {
  return {
    id: s.id,
    userId: s.userId,
    state: s.state,
    authMethods: s.authMethods,
    createdAt: s.createdAt,
    lastSeenAt: s.lastSeenAt,
    expiresAt: s.expiresAt,
    address: s.address,
    userAgent: s.userAgent,
    current: s.id === current,
  };
}
