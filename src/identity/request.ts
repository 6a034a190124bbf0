import type { FastifyReply, FastifyRequest } from 'fastify';
import { PalisadeError } from '../errors/index.js';
import type { Principal, RequestContext, SignInStep } from './service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the guard once the caller is authenticated. */
    principal?: Principal;
  }
}

/**
 * The session cookie. `__Host-` pins it to this origin over HTTPS with Path=/ and no Domain; HttpOnly
 * keeps it from scripts; SameSite=Strict keeps it off cross-site requests (CSRF tokens cover the rest).
 */
export const SESSION_COOKIE = '__Host-palisade-session';

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new PalisadeError('AUTH_REQUIRED', 'sign in first', { status: 401 });
  return request.principal;
}

export function contextOf(request: FastifyRequest): RequestContext {
  return { address: request.ip, userAgent: (request.headers['user-agent'] ?? '').slice(0, 256) };
}

export function setSessionCookie(reply: FastifyReply, step: SignInStep, lifetimeSeconds: number): void {
  void reply.setCookie(SESSION_COOKIE, step.token, {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'strict',
    maxAge: lifetimeSeconds,
  });
}

export function clearSessionCookie(reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'strict' });
}
