import { PalisadeError } from '../errors/index.js';

/**
 * Every failure `keys/` can report, with its HTTP status and what it means. The codes are stable (they
 * are documented in docs/keys.md and tested one by one); each integrity failure of a sealed object has
 * its own code so an operator can tell truncation from tampering from a wrong key.
 */
export const KEY_ERRORS = {
  // providers
  KEY_PROVIDER_UNAVAILABLE: [503, 'the key provider (PKCS#11 module, token or key file) cannot be used'],
  KEY_PROVIDER_MISMATCH: [500, 'a key version belongs to a provider this Palisade is not configured with'],
  KEY_PIN_MISSING: [500, 'the PKCS#11 user PIN is not configured (pinFile or pinEnv)'],
  KEY_PIN_INCORRECT: [503, 'the token refused the PKCS#11 user PIN'],
  KEY_FILE_INSECURE: [
    500,
    'a key or PIN file is readable by other users or not owned by the service account',
  ],
  KEY_FILE_INVALID: [500, 'the local key file is not a Palisade key file'],
  KEY_NAME_INVALID: [400, 'a key-encryption key, signing key or object id has an invalid name'],
  // key-encryption keys
  KEK_NOT_FOUND: [404, 'no key-encryption key with that id, version or provider reference exists'],
  KEK_DESTROYED: [410, 'the key-encryption key was destroyed: data wrapped by it is unrecoverable'],
  KEK_ACTIVE: [
    409,
    'the active version of a key-encryption key cannot be destroyed on its own; rotate first',
  ],
  KEK_IN_USE: [409, 'the key-encryption key version still wraps live data keys; finish the re-wrap first'],
  KEK_CONFLICT: [409, 'another process created or rotated this key-encryption key at the same moment'],
  // data keys
  DEK_NOT_FOUND: [404, 'no data key is stored for that object'],
  DEK_EXISTS: [409, 'a data key is already stored for that object id'],
  DEK_DESTROYED: [
    410,
    'the data key of the object was destroyed (crypto-shredded): the object is unrecoverable',
  ],
  DEK_UNWRAP_FAILED: [
    422,
    'the wrapped data key does not open under its key-encryption key (wrong key or tampered)',
  ],
  // the sealed object format
  SEGMENT_HEADER_INVALID: [422, 'the sealed object does not start with a valid Palisade segment header'],
  SEGMENT_VERSION_UNSUPPORTED: [
    422,
    'the sealed object uses a format version or algorithm this build does not know',
  ],
  SEGMENT_WRONG_OBJECT: [422, 'the sealed object belongs to a different object id'],
  SEGMENT_WRONG_CAMERA: [422, 'the sealed object belongs to a different camera'],
  SEGMENT_WRONG_KEY: [422, 'the data key does not match the sealed object (key check value differs)'],
  SEGMENT_AUTH_FAILED: [422, 'the sealed object was modified: a header or chunk failed authentication'],
  SEGMENT_TRUNCATED: [422, 'the sealed object ends before its final chunk'],
  SEGMENT_CHUNK_REORDERED: [422, 'chunks of the sealed object are out of order'],
  SEGMENT_CHUNK_DUPLICATED: [422, 'a chunk of the sealed object appears more than once'],
  SEGMENT_TRAILING_DATA: [422, 'bytes follow the final chunk of the sealed object'],
  SEGMENT_RANGE_INVALID: [416, 'the requested byte range lies outside the object'],
  // rotation
  REWRAP_RUNNING: [409, 'a re-wrap job for this key-encryption key is already running in this process'],
  // secrets at rest
  SECRET_NOT_FOUND: [404, 'no secret with that id or name exists'],
  SECRET_EXISTS: [409, 'a secret with that name already exists'],
  SECRET_INVALID: [400, 'the secret name, kind or value is not acceptable'],
  // encryption to a recipient (age v1)
  AGE_RECIPIENT_INVALID: [400, 'a recipient is not an age X25519 public key (age1…)'],
  AGE_IDENTITY_INVALID: [400, 'an identity file holds something other than AGE-SECRET-KEY-1… lines'],
  AGE_HEADER_INVALID: [422, 'the age header is malformed, too long, or was modified (MAC mismatch)'],
  AGE_NO_IDENTITY_MATCHED: [422, 'the file is not encrypted to any of the identities given'],
  AGE_PAYLOAD_CORRUPT: [422, 'a payload chunk of the age file was modified, moved or replaced'],
  AGE_TRUNCATED: [422, 'the age file ends before its final chunk'],
} as const satisfies Record<string, readonly [number, string]>;

export type KeyErrorCode = keyof typeof KEY_ERRORS;

export function keyError(
  code: KeyErrorCode,
  message: string,
  options: { cause?: unknown; details?: Record<string, unknown> } = {},
): PalisadeError {
  return new PalisadeError(code, message, { ...options, status: KEY_ERRORS[code][0] });
}
