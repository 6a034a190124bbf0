import { readFileSync } from 'node:fs';
import { hash, verify, Algorithm } from '@node-rs/argon2';
import { PalisadeError } from '../errors/index.js';
import { COMMON_PASSWORDS, COMMON_PASSWORD_STEMS } from './common-passwords.js';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  /** Extra refused passwords, one per line (organisation names, site names, ...). */
  denyListFile?: string | undefined;
  /** Days after which a human password must be changed at sign-in; undefined: never. */
  maxAgeDays?: number | undefined;
  /** How many recent passwords (the current one included) a new one may not repeat. */
  historyCount: number;
}

/**
 * argon2id at the OWASP-recommended minimum (19 MiB, 2 passes, 1 lane): ~70 ms per hash on this
 * hardware. Hashing is CPU- and memory-heavy, so concurrent hashes are capped (see HashLimiter) to keep
 * a password-spraying burst from starving the recorder.
 */
const ARGON2 = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export class PasswordPolicyError extends PalisadeError {
  constructor(message: string) {
    super('PASSWORD_POLICY', message, { status: 400 });
  }
}

export class PasswordRules {
  private readonly denied: Set<string>;
  private readonly stems: Set<string>;

  constructor(private readonly policy: PasswordPolicy) {
    this.denied = new Set(COMMON_PASSWORDS.map((p) => p.toLowerCase()));
    this.stems = new Set(COMMON_PASSWORD_STEMS);
    if (policy.denyListFile !== undefined) {
      const extra = readFileSync(policy.denyListFile, 'utf8');
      for (const line of extra.split(/\r?\n/)) {
        const word = line.trim().toLowerCase();
        if (word && !word.startsWith('#')) {
          this.denied.add(word);
          this.stems.add(word);
        }
      }
    }
  }

  get minLength(): number {
    return this.policy.minLength;
  }

  /** Throws PASSWORD_POLICY with a message the user can act on; returns normally when acceptable. */
  check(password: string, context: { username: string; displayName?: string }): void {
    const length = Array.from(password).length;
    if (length < this.policy.minLength) {
      throw new PasswordPolicyError(`the password must have at least ${this.policy.minLength} characters`);
    }
    if (length > this.policy.maxLength) {
      throw new PasswordPolicyError(`the password must have at most ${this.policy.maxLength} characters`);
    }
    const lower = password.toLowerCase();
    const names = [context.username, context.displayName ?? '']
      .flatMap((n) => [n, ...n.split(/[\s._@-]+/)])
      .map((n) => n.toLowerCase())
      .filter((n) => n.length >= 3);
    if (names.some((n) => lower.includes(n))) {
      throw new PasswordPolicyError('the password must not contain the user name');
    }
    if (this.denied.has(lower))
      throw new PasswordPolicyError('this password is on the list of commonly used passwords');
    // Padding a common word with digits and symbols does not make it strong: "Password2024!" is refused.
    const letters = lower.replace(/[^a-z]/g, '');
    const leet = lower
      .replace(/[@4]/g, 'a')
      .replace(/3/g, 'e')
      .replace(/[1!]/g, 'i')
      .replace(/0/g, 'o')
      .replace(/\$/g, 's')
      .replace(/[^a-z]/g, '');
    if (this.stems.has(letters) || this.stems.has(leet)) {
      throw new PasswordPolicyError('the password is a common word padded with digits or symbols');
    }
    if (new Set(password).size <= 3)
      throw new PasswordPolicyError('the password repeats too few different characters');
    if (isSequence(lower)) throw new PasswordPolicyError('the password is a simple sequence');
  }
}

function isSequence(text: string): boolean {
  const codes = Array.from(text, (c) => c.codePointAt(0)!);
  const step = codes[1]! - codes[0]!;
  if (Math.abs(step) !== 1) return false;
  return codes.every((c, i) => i === 0 || c - codes[i - 1]! === step);
}

/** Caps concurrent argon2 work; callers beyond the queue limit are refused rather than queued forever. */
export class HashLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency = 2,
    private readonly maxQueue = 64,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxQueue) {
        throw new PalisadeError('AUTH_BUSY', 'too many sign-in attempts in progress; try again in a moment', {
          status: 503,
        });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

export class PasswordHasher {
  /** A real hash of a random secret, verified against for unknown accounts so timing does not tell them apart. */
  private dummy: Promise<string> | undefined;

  constructor(private readonly limiter = new HashLimiter()) {}

  hash(password: string): Promise<string> {
    return this.limiter.run(() => hash(password, ARGON2));
  }

  async verify(stored: string | null, password: string): Promise<boolean> {
    const target = stored ?? (await (this.dummy ??= hash(crypto.randomUUID(), ARGON2)));
    const ok = await this.limiter.run(() => verify(target, password));
    return stored !== null && ok;
  }
}
