import type { FastifyRequest, RouteOptions, preValidationHookHandler } from 'fastify';

/** The schema of a route that takes no query parameters: anything sent is refused, not ignored. */
export const NO_QUERY = { type: 'object', properties: {}, additionalProperties: false } as const;

/** The body of a POST/PUT/PATCH route that takes none: nothing, or an empty JSON object. */
export const NO_BODY = { type: 'object', properties: {}, additionalProperties: false } as const;

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** An absent body on a route that takes none is read as `{}`, so that clients may send either. */
const emptyBody: preValidationHookHandler = function (request: FastifyRequest, _reply, done) {
  request.body ??= {};
  done();
};

/**
 * Input validation by default (SR 3.5): a route that declares no query schema takes no query, a
 * POST/PUT/PATCH route that declares no body takes none, and path parameters are bounded strings. A
 * route declares what it accepts; everything else is refused with REQUEST_INVALID.
 */
export function strictInputs(route: RouteOptions): void {
  const schema = (route.schema ??= {});
  schema.querystring ??= NO_QUERY;
  const methods = [route.method].flat().map((m) => m.toUpperCase());
  if (methods.some((m) => BODY_METHODS.has(m)) && schema.body === undefined) {
    schema.body = NO_BODY;
    route.preValidation = [...[route.preValidation ?? []].flat(), emptyBody];
  }
  const names = [...route.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  if (names.length > 0 && schema.params === undefined) {
    schema.params = {
      type: 'object',
      required: names,
      properties: Object.fromEntries(names.map((n) => [n, { type: 'string', minLength: 1, maxLength: 256 }])),
    };
  }
}
