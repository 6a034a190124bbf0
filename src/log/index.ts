import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths redacted from every log line. Secrets must never reach logs even at debug level; this list is
 * the safety net beneath the rule that code never logs them in the first place.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.newPassword',
  '*.secret',
  '*.clientSecret',
  '*.token',
  '*.apiToken',
  '*.privateKey',
  '*.keyPem',
  '*.pin',
  '*.totp',
  '*.totpCode',
  '*.recoveryCode',
  'password',
  'secret',
  'token',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'palisade' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
}

/** Structured JSON logs on stderr, so stdout stays free for what a command reports to its user. */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(loggerOptions(level), destination as pino.DestinationStream);
}
