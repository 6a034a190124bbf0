/**
 * What the console says when a request fails. The server's messages are already plain words; these
 * add what the person can do about it. The code stays visible (small) so support can find it.
 */
const ADVICE: Record<string, string> = {
  AUTH_REQUIRED: 'You are not signed in. Sign in to continue.',
  SESSION_EXPIRED: 'Your session ended (it was idle too long or reached its maximum age). Sign in again.',
  AUTH_STEP_REQUIRED: 'Finish signing in first.',
  AUTH_FAILED: 'Wrong user name or password.',
  AUTH_NOTICE_REQUIRED: 'Read and accept the system use notice before signing in.',
  AUTH_LOCKED:
    'Sign-in is locked for this account name or this computer after too many failed attempts. Wait for the lock to expire, or ask an administrator to unlock the account.',
  AUTH_BUSY: 'The server is checking many sign-ins at once. Try again in a few seconds.',
  AUTH_MFA_EVIDENCE_REQUIRED:
    'Your identity provider did not confirm a second factor. Sign in there with multi-factor authentication.',
  MFA_FAILED: 'That code or security key was not accepted. Check the code and try again.',
  MFA_REPLAYED: 'That code was already used. Wait for the next code in your authenticator app.',
  PASSWORD_POLICY: 'The new password does not meet the password policy.',
  CSRF_INVALID: 'The request could not be verified. Reload the page and try again.',
  ACCESS_DENIED: 'You do not have permission to do this.',
  APPROVAL_SELF: 'You cannot approve your own request: another person has to.',
  SESSION_LIMIT: 'You have reached the maximum number of sessions. Sign out elsewhere first.',
  RATE_LIMITED: 'Too many requests from this computer. Wait a moment.',
  BODY_TOO_LARGE: 'What you sent is too large.',
  REQUEST_INVALID: 'Some of what you entered is not valid.',
  NOT_FOUND: 'It no longer exists, or the link is wrong.',
  NOT_READY: 'The server is not ready (a dependency is unavailable).',
  INTERNAL_ERROR: 'Something went wrong on the server. Give the code and time to your administrator.',
  NETWORK: 'The server could not be reached. Check the connection.',
  AUDIT_EXPORT_BUSY: 'Another audit export is being prepared. Try again shortly.',
  AUDIT_EXPORT_NOT_FOUND: 'That export expired. Prepare a new one.',
  OIDC_LOGIN_FAILED: 'Single sign-on did not complete.',
  CAMERA_NOT_FOUND: 'That camera is no longer in the inventory.',
  CAMERA_EXISTS: 'A camera with this id already exists. Choose another id, or leave it empty.',
  CAMERA_INVALID: 'The camera settings are not valid.',
  ZONE_NOT_FOUND: 'That zone does not exist.',
  RECORDING_RANGE_INVALID: 'The time range is not valid: the end must be after the start.',
  RECORDING_STORAGE_FULL: 'The video storage is full: recording is stopped until space is freed.',
  PLAYBACK_RANGE_INVALID: 'The time range is not valid: the end must be after the start.',
  PLAYBACK_RANGE_TOO_LONG: 'The time range is too long. Choose a shorter one.',
  PLAYBACK_NO_VIDEO: 'Nothing was recorded in this range.',
  PLAYBACK_TOKEN_INVALID: 'This playback is no longer valid. Show the range again.',
  PLAYBACK_TOKEN_EXPIRED: 'This playback has expired. Show the range again.',
  PLAYBACK_PARAMETERS_CHANGED:
    'The camera changed resolution or codec inside this range. Export the parts before and after the change separately.',
  PLAYBACK_ORIGIN_REFUSED: 'The live view was refused because this page is not on the console’s address.',
  LIVE_NOT_AVAILABLE: 'The camera is not recording, so there is no live view.',
  EVIDENCE_REQUEST_INVALID: 'An evidence export needs a reason (and a valid case id, if given).',
  EVIDENCE_NOT_FOUND: 'That evidence export does not exist.',
  EVIDENCE_NOT_READY: 'The evidence package is not ready yet.',
  EVIDENCE_FAILED: 'Building the evidence package failed.',
  SECURITY_KEY:
    'The security key did not answer: the request was cancelled, timed out, or the key is not registered here.',
};

export class ApiError extends Error {
  constructor(
    readonly code: string,
    /** The server's own message (already plain words). */
    readonly detail: string,
    readonly status: number,
  ) {
    super(detail);
    this.name = 'ApiError';
  }

  /** One or two sentences for the person in front of the screen. */
  get plain(): string {
    const advice = ADVICE[this.code];
    if (advice === undefined) return this.detail;
    // Say the server's specifics too when they add something (e.g. which password rule failed).
    return this.detail && !advice.toLowerCase().includes(this.detail.toLowerCase())
      ? `${advice} ${capitalise(this.detail)}.`.replace(/\.\.$/, '.')
      : advice;
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DOMException) return new ApiError('SECURITY_KEY', err.message, 0);
  if (err instanceof TypeError) return new ApiError('NETWORK', err.message, 0);
  return new ApiError('INTERNAL_ERROR', err instanceof Error ? err.message : String(err), 0);
}
