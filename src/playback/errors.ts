import { PalisadeError } from '../errors/index.js';

/** Playback and evidence failures with stable codes (docs/playback.md). */
export const PLAYBACK_ERRORS = {
  PLAYBACK_RANGE_INVALID: 400,
  PLAYBACK_RANGE_TOO_LONG: 400,
  PLAYBACK_NO_VIDEO: 404,
  PLAYBACK_TOKEN_INVALID: 403,
  PLAYBACK_TOKEN_EXPIRED: 403,
  PLAYBACK_RANGE_NOT_SATISFIABLE: 416,
  PLAYBACK_PARAMETERS_CHANGED: 409,
  PLAYBACK_ORIGIN_REFUSED: 403,
  LIVE_NOT_AVAILABLE: 409,
  EVIDENCE_REQUEST_INVALID: 400,
  EVIDENCE_NOT_FOUND: 404,
  EVIDENCE_NOT_READY: 409,
  EVIDENCE_FAILED: 500,
  EVIDENCE_PACKAGE_INVALID: 422,
} as const;

export type PlaybackErrorCode = keyof typeof PLAYBACK_ERRORS;

export function playbackError(
  code: PlaybackErrorCode,
  message: string,
  details?: Record<string, unknown>,
): PalisadeError {
  return new PalisadeError(code, message, {
    status: PLAYBACK_ERRORS[code],
    ...(details ? { details } : {}),
  });
}
