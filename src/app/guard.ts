import type { FastifyRequest } from 'fastify';
import { type AccessService, type Permission, type Target } from '../access/index.js';
import type { AuditSink } from '../audit/index.js';
import { PalisadeError } from '../errors/index.js';
import type { Guard, RouteAccess } from '../http/index.js';
import { SESSION_COOKIE, type IdentityService, type SessionState } from '../identity/index.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The request guard: identity authenticates, access decides, and every refusal is audited before the
 * 401/403 leaves. This is the only place the two meet, which keeps identity/ free of permissions and
 * access/ free of credentials.
 */
export function createGuard(deps: {
  identity: IdentityService;
  access: AccessService;
  audit: AuditSink;
}): Guard {
  const { identity, access, audit } = deps;

  const refuse = async (
    request: FastifyRequest,
    code: string,
    message: string,
    status: number,
  ): Promise<never> => {
    await audit.append({
      action: 'access.denied',
      outcome: 'denied',
      actor: request.principal
        ? {
            type: request.principal.kind === 'service' ? 'service' : 'user',
            id: request.principal.userId,
            name: request.principal.username,
            auth: request.principal.auth,
            address: request.ip,
          }
        : { type: 'user', id: 'anonymous', auth: 'none', address: request.ip },
      reason: message,
      details: { route: `${request.method} ${request.routeOptions.url ?? request.url}`, code },
    });
    throw new PalisadeError(code, message, { status });
  };

  return async (request, rule: RouteAccess) => {
    const authorization = request.headers.authorization;
    const bearer = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
    const csrf = request.headers['x-csrf-token'];
    const result = await identity.authenticate({
      cookieToken: request.cookies[SESSION_COOKIE],
      bearer,
      csrfHeader: typeof csrf === 'string' ? csrf : undefined,
      unsafeMethod: !SAFE_METHODS.has(request.method),
      address: request.ip,
      allowPending: (rule.steps ?? []) as SessionState[],
    });
    if ('failure' in result) {
      switch (result.failure) {
        case 'csrf':
          return refuse(request, 'CSRF_INVALID', result.message, 403);
        case 'expired':
          return refuse(request, 'SESSION_EXPIRED', result.message, 401);
        case 'step-required':
          return refuse(request, 'AUTH_STEP_REQUIRED', result.message, 401);
        case 'unauthenticated':
          return refuse(request, 'AUTH_REQUIRED', result.message, 401);
      }
    }
    const principal = result.principal;
    request.principal = principal;
    // A session part-way through sign-in reaches only the routes that list its step.
    if (principal.sessionState !== undefined && principal.sessionState !== 'active') return;
    if (rule.permission === undefined && !rule.authenticated) {
      if (rule.steps) return;
      return refuse(request, 'ACCESS_UNDECLARED', 'this route declares no permission', 403);
    }
    // Built for `authenticated` routes too: the caller's own views (e.g. /api/me/permissions) read it.
    const subject = await access.subject({
      userId: principal.userId,
      username: principal.username,
      kind: principal.kind,
      auth: principal.auth,
      address: principal.address,
      sessionId: principal.sessionId,
      tokenId: principal.tokenId,
      tokenPermissions: principal.tokenPermissions ?? null,
    });
    request.subject = subject;
    if (rule.permission === undefined) return;
    // Refuse before resolving the resource, so that a caller without the permission anywhere cannot
    // learn from a 404 which resources exist.
    if (typeof rule.target === 'function') {
      const anywhere = await access.authorize(
        subject,
        rule.permission as Permission,
        'some',
        `${request.method} ${request.routeOptions.url ?? ''}`,
      );
      if (!anywhere.allowed)
        throw new PalisadeError('ACCESS_DENIED', `not allowed: ${anywhere.reason}`, { status: 403 });
    }
    const target: Target =
      typeof rule.target === 'function'
        ? ((await rule.target(request)) as Target)
        : (rule.target ?? 'system');
    const decision = await access.authorize(
      subject,
      rule.permission as Permission,
      target,
      `${request.method} ${request.routeOptions.url ?? ''}`,
    );
    if (!decision.allowed)
      throw new PalisadeError('ACCESS_DENIED', `not allowed: ${decision.reason}`, { status: 403 });
  };
}
