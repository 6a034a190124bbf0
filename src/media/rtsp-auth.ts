import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MediaErrorCode, mediaError } from './errors.js';

/** One challenge from a WWW-Authenticate header (RFC 7235, RFC 7616 for Digest, RFC 7617 for Basic). */
export interface AuthChallenge {
  scheme: 'basic' | 'digest';
  realm: string;
  nonce: string | undefined;
  opaque: string | undefined;
  /** `MD5` or `SHA-256` (RFC 7616); `MD5` when absent. */
  algorithm: string;
  qop: string[];
  stale: boolean;
}

/** Parses every challenge in the given WWW-Authenticate header values; unknown schemes are skipped. */
export function parseChallenges(values: readonly string[]): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  for (const value of values) {
    // A header may carry several challenges: split before each `Scheme ` that starts one.
    for (const part of value.split(/,?\s*(?=\b(?:Basic|Digest)\s)/i)) {
      const m = /^\s*(Basic|Digest)\s+(.*)$/is.exec(part);
      if (!m) continue;
      const params = parseAuthParams(m[2]!);
      out.push({
        scheme: m[1]!.toLowerCase() as 'basic' | 'digest',
        realm: params.get('realm') ?? '',
        nonce: params.get('nonce'),
        opaque: params.get('opaque'),
        algorithm: (params.get('algorithm') ?? 'MD5').toUpperCase(),
        qop: (params.get('qop') ?? '')
          .split(',')
          .map((q) => q.trim().toLowerCase())
          .filter(Boolean),
        stale: (params.get('stale') ?? '').toLowerCase() === 'true',
      });
    }
  }
  return out;
}

/** `name=value` or `name="quoted value"` pairs separated by commas; names lower-cased. */
export function parseAuthParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  const re = /\s*([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null && m[0] !== '') {
    params.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? ''));
  }
  return params;
}

const DIGEST_HASH: Record<string, string> = { MD5: 'md5', 'SHA-256': 'sha256' };

function h(algorithm: string, text: string): string {
  return createHash(DIGEST_HASH[algorithm] ?? 'md5')
    .update(text, 'utf8')
    .digest('hex');
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Answers a camera's challenge on every request once it has been seen. Prefers Digest SHA-256, then
 * Digest MD5; Basic only over TLS unless the owner allows it, because it sends the password as is.
 */
export class ClientAuthenticator {
  private challenge: AuthChallenge | undefined;
  private nonceCount = 0;

  constructor(
    private readonly username: string,
    private readonly password: string,
    private readonly allowBasicInClear: boolean,
  ) {}

  get active(): boolean {
    return this.challenge !== undefined;
  }

  get isAnonymous(): boolean {
    return this.username === '';
  }

  /** Takes the challenges of a 401 and picks the one to answer; returns whether the nonce was stale. */
  accept(challenges: AuthChallenge[], secure: boolean): { stale: boolean } {
    const digest =
      challenges.find((c) => c.scheme === 'digest' && c.algorithm === 'SHA-256') ??
      challenges.find((c) => c.scheme === 'digest' && c.algorithm === 'MD5');
    const basic = challenges.find((c) => c.scheme === 'basic');
    const chosen = digest ?? basic;
    if (chosen === undefined) {
      throw mediaError(
        MediaErrorCode.AUTH_FAILED,
        challenges.length === 0
          ? 'the camera refused the request (401) without a usable challenge'
          : `the camera asks for an authentication scheme Palisade does not support (${challenges.map((c) => `${c.scheme} ${c.algorithm}`).join(', ')})`,
      );
    }
    if (chosen.scheme === 'basic' && !secure && !this.allowBasicInClear) {
      throw mediaError(
        MediaErrorCode.AUTH_INSECURE,
        'the camera offers only Basic authentication, which would send the password in clear text: enable Digest authentication or RTSPS on the camera, or allow Basic for this camera explicitly',
      );
    }
    this.challenge = chosen;
    this.nonceCount = 0;
    return { stale: chosen.stale };
  }

  /** The Authorization header for a request, or undefined before any challenge. */
  authorization(method: string, uri: string): string | undefined {
    const c = this.challenge;
    if (c === undefined) return undefined;
    if (c.scheme === 'basic') {
      return `Basic ${Buffer.from(`${this.username}:${this.password}`, 'utf8').toString('base64')}`;
    }
    const ha1 = h(c.algorithm, `${this.username}:${c.realm}:${this.password}`);
    const ha2 = h(c.algorithm, `${method}:${uri}`);
    const nonce = c.nonce ?? '';
    const parts = [
      `username=${quote(this.username)}`,
      `realm=${quote(c.realm)}`,
      `nonce=${quote(nonce)}`,
      `uri=${quote(uri)}`,
    ];
    if (c.qop.includes('auth')) {
      const nc = (++this.nonceCount).toString(16).padStart(8, '0');
      const cnonce = randomBytes(8).toString('hex');
      parts.push(
        `response=${quote(h(c.algorithm, `${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`))}`,
        'qop=auth',
        `nc=${nc}`,
        `cnonce=${quote(cnonce)}`,
      );
    } else {
      parts.push(`response=${quote(h(c.algorithm, `${ha1}:${nonce}:${ha2}`))}`);
    }
    if (c.algorithm !== 'MD5') parts.push(`algorithm=${c.algorithm}`);
    if (c.opaque !== undefined) parts.push(`opaque=${quote(c.opaque)}`);
    return `Digest ${parts.join(', ')}`;
  }
}

/**
 * Server side of Digest (used by the camera simulator): stateless nonces (a timestamp and its HMAC)
 * that expire, both SHA-256 and MD5 offered, `qop=auth`.
 */
export class DigestVerifier {
  private readonly secret = randomBytes(32);

  constructor(
    readonly realm: string,
    private readonly nonceLifetimeMs = 5 * 60_000,
  ) {}

  /** WWW-Authenticate values for a 401: SHA-256 first, then MD5 for older clients. */
  challenges(stale = false): string[] {
    const nonce = this.nonce(Date.now());
    const extra = stale ? ', stale=true' : '';
    return ['SHA-256', 'MD5'].map(
      (alg) =>
        `Digest realm=${quote(this.realm)}, nonce=${quote(nonce)}, algorithm=${alg}, qop="auth"${extra}`,
    );
  }

  /** Checks an Authorization header against the expected credentials. */
  verify(
    method: string,
    header: string | undefined,
    credentials: { username: string; password: string },
  ): 'ok' | 'stale' | 'refused' {
    if (header === undefined) return 'refused';
    const m = /^Digest\s+(.*)$/is.exec(header);
    if (!m) return 'refused';
    const p = parseAuthParams(m[1]!);
    const algorithm = (p.get('algorithm') ?? 'MD5').toUpperCase();
    const nonce = p.get('nonce') ?? '';
    const uri = p.get('uri') ?? '';
    const response = p.get('response') ?? '';
    if (DIGEST_HASH[algorithm] === undefined || p.get('realm') !== this.realm) return 'refused';
    if (p.get('username') !== credentials.username) return 'refused';
    const ha1 = h(algorithm, `${credentials.username}:${this.realm}:${credentials.password}`);
    const ha2 = h(algorithm, `${method}:${uri}`);
    const qop = p.get('qop');
    const expected =
      qop === 'auth'
        ? h(algorithm, `${ha1}:${nonce}:${p.get('nc') ?? ''}:${p.get('cnonce') ?? ''}:auth:${ha2}`)
        : h(algorithm, `${ha1}:${nonce}:${ha2}`);
    const a = Buffer.from(expected);
    const b = Buffer.from(response.toLowerCase());
    if (a.length !== b.length || !timingSafeEqual(a, b)) return 'refused';
    const issued = this.nonceTime(nonce);
    if (issued === undefined) return 'refused';
    return Date.now() - issued >= this.nonceLifetimeMs ? 'stale' : 'ok';
  }

  private nonce(time: number): string {
    const t = time.toString(16);
    return `${t}.${createHmac('sha256', this.secret).update(t).digest('base64url').slice(0, 22)}`;
  }

  private nonceTime(nonce: string): number | undefined {
    const t = nonce.split('.')[0] ?? '';
    if (!/^[0-9a-f]{1,13}$/.test(t)) return undefined;
    const a = Buffer.from(this.nonce(Number.parseInt(t, 16)));
    const b = Buffer.from(nonce);
    return a.length === b.length && timingSafeEqual(a, b) ? Number.parseInt(t, 16) : undefined;
  }
}
