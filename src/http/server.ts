import { constants as cryptoConstants } from 'node:crypto';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from '../log/index.js';
import { PalisadeError, describeError } from '../errors/index.js';
import { ErrorBodySchema, errorBody, handleError } from './errors.js';
import { consoleRoutes } from './console.js';
import { installGuard, type Guard } from './guard.js';
import { recordBuild } from './security.js';
import { NO_QUERY, strictInputs } from './strict-inputs.js';

export interface ReadinessCheck {
  name: string;
  /** Resolves when healthy; rejects with a reason otherwise. */
  check(): Promise<void>;
}

export interface HttpServerOptions {
  tls: { certPem: string; keyPem: string };
  logger: Logger;
  version: string;
  bodyLimitBytes: number;
  rateLimit: { max: number; windowMs: number };
  readiness: ReadinessCheck[];
  /** Decides every request that is not public; see RouteAccess. */
  guard: Guard;
  /** Route plugins of the domain modules, registered after the shared hooks. */
  routes?: FastifyPluginAsync[];
  /** The built web console (`web/dist`), served at `/`; see console.ts. */
  consoleDir?: string;
}

/**
 * Builds the HTTPS server: TLS 1.3 only, security headers, limits, uniform errors, OpenAPI, and the
 * liveness/readiness probes. Domain routes arrive as plugins; this file holds no domain logic.
 */
export async function buildHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  // Typed as Fastify's base logger so the instance keeps the default FastifyInstance type.
  const logger: FastifyBaseLogger = options.logger;
  const app = Fastify({
    https: {
      cert: options.tls.certPem,
      key: options.tls.keyPem,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      // Renegotiation does not exist in TLS 1.3, but say so explicitly for scanners reading the config.
      secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
    },
    loggerInstance: logger,
    bodyLimit: options.bodyLimitBytes,
    requestIdHeader: false,
    connectionTimeout: 0,
    keepAliveTimeout: 10_000,
    requestTimeout: 30_000,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });
  app.server.headersTimeout = 15_000;
  // Remembers the TLS settings and every route as registered, for describeHttpSecurity().
  app.addHook('onRoute', strictInputs);
  recordBuild(app, {
    certPem: options.tls.certPem,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    rateLimit: options.rateLimit,
  });

  app.addSchema(ErrorBodySchema);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(errorBody('NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0] ?? ''}`));
  });

  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
      },
    },
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
    crossOriginEmbedderPolicy: false,
    frameguard: { action: 'deny' },
  });
  app.addHook('onSend', async (_request, reply) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  await app.register(rateLimit, {
    global: true,
    max: options.rateLimit.max,
    timeWindow: options.rateLimit.windowMs,
    errorResponseBuilder: (_request, context) =>
      new PalisadeError('RATE_LIMITED', `too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`, {
        status: 429,
      }),
  });

  await app.register(cookie);
  // WebSocket routes (the live view) go through the same hooks as any route: rate limit, guard.
  // Clients send nothing of size, so incoming messages are capped small.
  await app.register(websocket, { options: { maxPayload: 4096 } });
  installGuard(app, options.guard);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Palisade API',
        version: options.version,
        description: 'Video management for critical infrastructure. Errors use the ErrorBody shape.',
      },
      servers: [],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (json.$id as string | undefined) ?? `def-${i}`,
    },
  });

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the process is up and serving HTTP',
        tags: ['health'],
        querystring: NO_QUERY,
        response: { 200: { type: 'object', properties: { status: { type: 'string', const: 'ok' } } } },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: every dependency (the database first) answers',
        tags: ['health'],
        querystring: NO_QUERY,
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string', const: 'ready' },
              checks: { type: 'object', additionalProperties: { type: 'string' } },
            },
          },
          503: { $ref: 'ErrorBody#' },
        },
      },
    },
    async (request, reply) => {
      const checks: Record<string, string> = {};
      for (const probe of options.readiness) {
        try {
          await probe.check();
          checks[probe.name] = 'ok';
        } catch (err) {
          request.log.warn({ check: probe.name, reason: describeError(err) }, 'not ready');
          return reply.status(503).send(errorBody('NOT_READY', `${probe.name}: ${describeError(err)}`));
        }
      }
      return { status: 'ready' as const, checks };
    },
  );

  app.get(
    '/api/openapi.json',
    { schema: { hide: true, querystring: NO_QUERY }, config: { access: { authenticated: true } } },
    async () => app.swagger(),
  );

  for (const plugin of options.routes ?? []) await app.register(plugin);
  if (options.consoleDir !== undefined) await app.register(consoleRoutes(options.consoleDir));
  return app;
}
