import { readFileSync } from 'node:fs';
import type { Kysely } from 'kysely';
import * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { PalisadeError, describeError } from '../errors/index.js';
import type { IdentityTables } from './tables.js';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  redirectUri: string;
  caFile?: string | undefined;
  allowHttp: boolean;
  scopes: string;
  usernameClaim: string;
  groupsClaim: string;
  mfa: 'require-idp' | 'idp-or-local';
  acceptedAmr: string[];
  acceptedAcr: string[];
}

/** What Palisade learnt about the person from the IdP's validated ID token. */
export interface OidcIdentity {
  issuer: string;
  subject: string;
  username: string;
  displayName: string;
  groups: string[];
  amr: string[];
  acr: string | undefined;
  /** True when amr or acr shows a multi-factor authentication the policy accepts. */
  mfaEvidence: boolean;
}

const STATE_TTL_MS = 10 * 60_000;

/**
 * OpenID Connect sign-in: authorization code flow with PKCE (S256), state and nonce, ID-token
 * validation by openid-client. The per-login secrets (state, nonce, verifier) are kept in the database
 * so that any node can finish a login another node started.
 */
export class OidcLogin {
  private config: Promise<client.Configuration> | undefined;

  constructor(
    private readonly db: Kysely<IdentityTables>,
    readonly settings: OidcSettings,
  ) {}

  private configuration(): Promise<client.Configuration> {
    this.config ??= this.discover().catch((err: unknown) => {
      this.config = undefined;
      throw err;
    });
    return this.config;
  }

  private async discover(): Promise<client.Configuration> {
    const s = this.settings;
    const options: client.DiscoveryRequestOptions = {};
    if (s.caFile !== undefined) {
      const dispatcher = new Agent({ connect: { ca: readFileSync(s.caFile, 'utf8') } });
      options[client.customFetch] = ((url: string, init: Record<string, unknown>) =>
        undiciFetch(url, { ...init, dispatcher })) as unknown as client.CustomFetch;
    }
    // Deprecated on purpose upstream: plain http is for loopback tests only, behind an explicit setting.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    if (s.allowHttp) options.execute = [client.allowInsecureRequests];
    try {
      const auth = s.clientSecret === undefined ? client.None() : client.ClientSecretBasic(s.clientSecret);
      return await client.discovery(new URL(s.issuer), s.clientId, undefined, auth, options);
    } catch (err) {
      throw new PalisadeError(
        'OIDC_UNAVAILABLE',
        `cannot reach the identity provider ${s.issuer}: ${describeError(err)}`,
        {
          status: 502,
          cause: err,
        },
      );
    }
  }

  /** Begins a login: returns the IdP URL to send the browser to. */
  async start(): Promise<string> {
    const config = await this.configuration();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const verifier = client.randomPKCECodeVerifier();
    const now = new Date();
    await this.db
      .deleteFrom('oidc_login')
      .where('created_at', '<', new Date(now.getTime() - STATE_TTL_MS).toISOString())
      .execute();
    await this.db
      .insertInto('oidc_login')
      .values({ state, nonce, code_verifier: verifier, created_at: now.toISOString() })
      .execute();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUri,
      scope: this.settings.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return url.toString();
  }

  /** Finishes a login from the callback URL; throws OIDC_LOGIN_FAILED with the reason. */
  async finish(callbackUrl: URL): Promise<OidcIdentity> {
    const state = callbackUrl.searchParams.get('state') ?? '';
    const pending = await this.db
      .deleteFrom('oidc_login')
      .where('state', '=', state)
      .returningAll()
      .executeTakeFirst();
    if (!pending || Date.parse(pending.created_at) < Date.now() - STATE_TTL_MS) {
      throw new PalisadeError('OIDC_LOGIN_FAILED', 'unknown or expired sign-in attempt; start again', {
        status: 400,
      });
    }
    const error = callbackUrl.searchParams.get('error');
    if (error) {
      const description = callbackUrl.searchParams.get('error_description') ?? '';
      throw new PalisadeError(
        'OIDC_LOGIN_FAILED',
        `the identity provider refused: ${error} ${description}`.trim(),
        { status: 400 },
      );
    }
    const config = await this.configuration();
    let claims: client.IDToken;
    try {
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.code_verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const c = tokens.claims();
      if (!c) throw new Error('no ID token');
      claims = c;
    } catch (err) {
      throw new PalisadeError(
        'OIDC_LOGIN_FAILED',
        `the identity provider's answer did not validate: ${describeError(err)}`,
        {
          status: 400,
          cause: err,
        },
      );
    }
    const s = this.settings;
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : [];
    const acr = typeof claims.acr === 'string' ? claims.acr : undefined;
    const groupsValue = claims[s.groupsClaim];
    const groups = Array.isArray(groupsValue)
      ? groupsValue.filter((g): g is string => typeof g === 'string')
      : typeof groupsValue === 'string'
        ? [groupsValue]
        : [];
    const usernameValue = claims[s.usernameClaim];
    const username =
      typeof usernameValue === 'string' && usernameValue.length > 0 ? usernameValue : claims.sub;
    const nameValue = claims.name;
    return {
      issuer: claims.iss,
      subject: claims.sub,
      username,
      displayName: typeof nameValue === 'string' ? nameValue : username,
      groups,
      amr,
      acr,
      mfaEvidence:
        amr.some((m) => s.acceptedAmr.includes(m)) || (acr !== undefined && s.acceptedAcr.includes(acr)),
    };
  }
}
