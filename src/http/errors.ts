import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isPalisadeError } from '../errors/index.js';

/** The one error body every route returns: `{ error: { code, message } }`. */
export interface ErrorBody {
  error: { code: string; message: string };
}

export const ErrorBodySchema = {
  $id: 'ErrorBody',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

/** Fastify's own error codes, mapped onto our stable ones. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'REQUEST_INVALID',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'REQUEST_INVALID',
  FST_ERR_CTP_INVALID_JSON_BODY: 'REQUEST_INVALID',
  FST_ERR_VALIDATION: 'REQUEST_INVALID',
};

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

export function handleError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  if (isPalisadeError(err)) {
    if (err.status >= 500) request.log.error({ err }, 'request failed');
    void reply.status(err.status).send(errorBody(err.code, err.message));
    return;
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    void reply
      .status(400)
      .send(errorBody('REQUEST_INVALID', `${fe.validationContext ?? 'request'} ${fe.message}`));
    return;
  }
  const status = fe.statusCode ?? 500;
  if (status === 429) {
    void reply.status(429).send(errorBody('RATE_LIMITED', fe.message));
    return;
  }
  if (status >= 400 && status < 500) {
    const code = FASTIFY_CODES[fe.code] ?? 'REQUEST_INVALID';
    void reply.status(status).send(errorBody(code, fe.message));
    return;
  }
  // Unknown failures never leak internals to the client; the log carries the detail.
  request.log.error({ err }, 'unhandled error');
  void reply
    .status(500)
    .send(errorBody('INTERNAL_ERROR', `internal error (request ${request.id}); see the server log`));
}
