import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PalisadeError } from '../errors/index.js';

/**
 * How a route declares who may call it. Every route must declare one of these; a route that declares
 * nothing is refused for everybody (deny by default).
 * - `public`: no credentials (health probes, the first sign-in step, the OIDC callback).
 * - `steps`: a signed-in session part-way through sign-in may call it (e.g. `needs-mfa`).
 * - `authenticated`: any fully signed-in caller (their own profile and sessions).
 * - `permission`: a permission from the access catalogue, checked against `target`.
 */
export interface RouteAccess {
  public?: true;
  authenticated?: true;
  steps?: readonly string[];
  permission?: string;
  /**
   * What the permission is checked against: `system` (needs an all-scope grant, the default), `some`
   * (held anywhere; listings filter by scope), or a function resolving the resource from the request.
   */
  target?: 'system' | 'some' | ((request: FastifyRequest) => Promise<unknown>);
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

/** Decides whether a request may reach its route; throws a 401/403 PalisadeError (after auditing) if not. */
export type Guard = (request: FastifyRequest, access: RouteAccess) => Promise<void>;

/** Routes the HTTP layer itself serves without credentials. */
const INFRASTRUCTURE_PUBLIC = new Set(['/healthz', '/readyz']);

/** Every route of a server with its declared access rule (undefined: none, refused), for reports. */
export interface RouteRule {
  method: string;
  url: string;
  access: Record<string, unknown> | undefined;
}

const tables = new WeakMap<FastifyInstance, RouteRule[]>();

export function routeAccessTable(app: FastifyInstance): RouteRule[] {
  return [...(tables.get(app) ?? [])];
}

export function installGuard(app: FastifyInstance, guard: Guard): void {
  const table: RouteRule[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (route) => {
    const access =
      route.config?.access ?? (INFRASTRUCTURE_PUBLIC.has(route.url) ? { public: true as const } : undefined);
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') table.push({ method, url: route.url, access: access && describeAccess(access) });
    }
    // Publish the access rule in the OpenAPI document so operators and tests can read it.
    if (access && route.schema) {
      (route.schema as Record<string, unknown>)['x-access'] = describeAccess(access);
    }
  });
  // preValidation: after the body is parsed (a target may need it), before validation, so that an
  // unauthenticated caller learns nothing from schema errors.
  app.addHook('preValidation', async (request) => {
    // The not-found handler answers 404 for everybody: it serves nothing.
    if (request.is404) return;
    const access =
      request.routeOptions.config.access ??
      (INFRASTRUCTURE_PUBLIC.has(request.routeOptions.url ?? '') ? { public: true as const } : undefined);
    if (access?.public) return;
    if (access === undefined) {
      throw new PalisadeError('ACCESS_UNDECLARED', 'this route declares no access rule and is refused', {
        status: 403,
      });
    }
    await guard(request, access);
  });
}

export function describeAccess(access: RouteAccess): Record<string, unknown> {
  if (access.public) return { public: true };
  return {
    ...(access.permission !== undefined && { permission: access.permission }),
    ...(access.permission !== undefined && {
      target: typeof access.target === 'function' ? 'resource' : (access.target ?? 'system'),
    }),
    ...(access.authenticated && { authenticated: true }),
    ...(access.steps && { steps: access.steps }),
  };
}
