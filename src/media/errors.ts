import { PalisadeError } from '../errors/index.js';

/**
 * Every error the media library raises, by stable code. docs/media.md describes each one and what a
 * user can do about it; the recorder maps them onto camera states ("wrong password", "stream not
 * found", ...). Never rename a code once released.
 */
export const MediaErrorCode = {
  /** The URL is not rtsp:// or rtsps://, or cannot be parsed. */
  BAD_URL: 'RTSP_BAD_URL',
  /** TCP connection refused, host unreachable, name not resolved. */
  CONNECT_FAILED: 'RTSP_CONNECT_FAILED',
  /** TLS handshake failed: certificate not trusted, pin mismatch, protocol version refused. */
  TLS_FAILED: 'RTSP_TLS_FAILED',
  /** The camera refused the credentials (or none were given). */
  AUTH_FAILED: 'RTSP_AUTH_FAILED',
  /** The camera offers only Basic authentication on a plaintext connection. */
  AUTH_INSECURE: 'RTSP_AUTH_INSECURE',
  /** 404 on DESCRIBE/SETUP: wrong path or stream disabled. */
  NOT_FOUND: 'RTSP_NOT_FOUND',
  /** Any other non-success status the session cannot continue after. */
  REQUEST_FAILED: 'RTSP_REQUEST_FAILED',
  /** Redirected more often than allowed, or to a non-RTSP location. */
  REDIRECT_FAILED: 'RTSP_REDIRECT_FAILED',
  /** The peer sent bytes that are not RTSP (bad status line, header, CSeq, Transport). */
  MALFORMED: 'RTSP_MALFORMED',
  /** A configured size or count limit was exceeded by the peer. */
  LIMIT_EXCEEDED: 'RTSP_LIMIT_EXCEEDED',
  /** No response to a request within the response timeout. */
  TIMEOUT: 'RTSP_TIMEOUT',
  /** Playing, but no media arrived within the stall timeout. */
  STALLED: 'RTSP_STALLED',
  /** The connection closed or reset while the session was open. */
  CONNECTION_LOST: 'RTSP_CONNECTION_LOST',
  /** The camera refused every transport offered (461), or answered with one we did not ask for. */
  UNSUPPORTED_TRANSPORT: 'RTSP_UNSUPPORTED_TRANSPORT',
  /** The session was closed by its owner; not a failure. */
  CLOSED: 'RTSP_CLOSED',
  /** The SDP is not parseable, or too large. */
  SDP_INVALID: 'SDP_INVALID',
  /** No H.264 or H.265 video track in the SDP (the message lists what is there). */
  UNSUPPORTED_CODEC: 'MEDIA_UNSUPPORTED_CODEC',
  /** A parameter set (SPS/PPS/VPS) cannot be parsed. */
  BITSTREAM_INVALID: 'MEDIA_BITSTREAM_INVALID',
  /** An RTP or RTCP packet is malformed (counted, not fatal, in a session). */
  RTP_INVALID: 'RTP_INVALID',
  /** The fMP4 reader met a box it cannot make sense of. */
  FMP4_INVALID: 'FMP4_INVALID',
  /** The fMP4 writer was given something it cannot write (no samples, unknown codec). */
  FMP4_WRITE_FAILED: 'FMP4_WRITE_FAILED',
} as const;
export type MediaErrorCode = (typeof MediaErrorCode)[keyof typeof MediaErrorCode];

/** HTTP-ish status for the API layer: 502 for a misbehaving camera, 504 for timeouts, 401 for auth. */
const STATUS: Partial<Record<MediaErrorCode, number>> = {
  RTSP_BAD_URL: 400,
  RTSP_AUTH_FAILED: 502,
  RTSP_NOT_FOUND: 502,
  RTSP_TIMEOUT: 504,
  RTSP_STALLED: 504,
  FMP4_INVALID: 422,
  FMP4_WRITE_FAILED: 500,
};

export function mediaError(
  code: MediaErrorCode,
  message: string,
  details?: Record<string, unknown>,
  cause?: unknown,
): PalisadeError {
  return new PalisadeError(code, message, {
    status: STATUS[code] ?? 502,
    ...(details === undefined ? {} : { details }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The error for an exceeded limit: names the limit, so a user can tell a hostile camera from a big one. */
export function limitExceeded(limit: string, value: number, max: number): PalisadeError {
  return mediaError(MediaErrorCode.LIMIT_EXCEEDED, `${limit} exceeded: ${value} > ${max}`, {
    limit,
    value,
    max,
  });
}
