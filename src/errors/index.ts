/**
 * The one error type that crosses module boundaries. Every failure a user can see carries a stable,
 * machine-readable `code` (UPPER_SNAKE, never renamed once released) and a plain-words message; the
 * HTTP layer maps `status` onto the response and the CLI prints `code: message`.
 */
export class PalisadeError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: string,
    message: string,
    options: { status?: number; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PalisadeError';
    this.code = code;
    this.status = options.status ?? 500;
    this.details = options.details;
  }
}

export function isPalisadeError(value: unknown): value is PalisadeError {
  return value instanceof PalisadeError;
}

/** A short description of any thrown value, for messages that must never leak a stack. */
export function describeError(value: unknown): string {
  if (value instanceof Error) return value.message;
  return String(value);
}
