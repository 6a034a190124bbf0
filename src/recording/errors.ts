import { PalisadeError } from '../errors/index.js';

/** Recording failures with stable codes (docs/recording.md). */
export const RECORDING_ERRORS = {
  CAMERA_NOT_FOUND: 404,
  CAMERA_EXISTS: 409,
  CAMERA_INVALID: 400,
  ZONE_NOT_FOUND: 404,
  SEGMENT_NOT_FOUND: 404,
  RECORDING_RANGE_INVALID: 400,
  RECORDING_NOT_RUNNING: 409,
  RECORDING_STORAGE_FULL: 507,
} as const;

export type RecordingErrorCode = keyof typeof RECORDING_ERRORS;

export function recordingError(
  code: RecordingErrorCode,
  message: string,
  details?: Record<string, unknown>,
): PalisadeError {
  return new PalisadeError(code, message, {
    status: RECORDING_ERRORS[code],
    ...(details ? { details } : {}),
  });
}
