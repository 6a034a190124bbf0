import type { FastifyRequest } from 'fastify';
import { PalisadeError } from '../errors/index.js';
import type { Subject } from './decide.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the guard: the caller with their grants, for routes that filter by scope. */
    subject?: Subject;
  }
}

export function subjectOf(request: FastifyRequest): Subject {
  if (!request.subject) throw new PalisadeError('AUTH_REQUIRED', 'sign in first', { status: 401 });
  return request.subject;
}
