import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AccessService } from '../access/index.js';
import type { AuditSink } from '../audit/index.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/index.js';
import { PalisadeError } from '../errors/index.js';
import type { Keyring } from '../keys/index.js';
import {
  IdentityService,
  type IdentityPolicy,
  type OidcSettings,
  type RelyingParty,
  type SecretBox,
} from '../identity/index.js';

export function identityPolicy(config: Config): IdentityPolicy {
  const i = config.identity;
  return {
    password: i.password,
    mfaRequired: i.mfa.required,
    session: i.session,
    lockout: i.lockout,
    notice: i.notice,
    tokenMaxLifetimeDays: i.tokens.maxLifetimeDays,
  };
}

/**
 * The origin users reach Palisade at. WebAuthn credentials and OIDC redirects are bound to it, so it
 * is fixed by `http.publicUrl`; without it, `https://localhost:<port>` (the port known once listening).
 */
export class PublicOrigin {
  private value: string | undefined;

  constructor(configured: string | undefined) {
    this.value = configured;
  }

  /** Called once the server listens, for the default origin. */
  bind(port: number): void {
    this.value ??= `https://localhost:${port}`;
  }

  get origin(): string {
    if (this.value === undefined)
      throw new PalisadeError('INTERNAL_ERROR', 'public origin used before the server listens');
    return this.value;
  }
}

export function relyingParty(origin: PublicOrigin): RelyingParty {
  return {
    name: 'Palisade',
    get origin() {
      return origin.origin;
    },
    get id() {
      return new URL(origin.origin).hostname;
    },
  };
}

function oidcSettings(
  config: Config,
  origin: PublicOrigin,
  env: NodeJS.ProcessEnv,
): OidcSettings | undefined {
  const o = config.identity.oidc;
  if (!o) return undefined;
  let clientSecret: string | undefined;
  if (o.clientSecretFile !== undefined) clientSecret = readFileSync(o.clientSecretFile, 'utf8').trim();
  else if (o.clientSecretEnv !== undefined) {
    clientSecret = env[o.clientSecretEnv];
    if (clientSecret === undefined) {
      throw new PalisadeError(
        'CONFIG_INVALID',
        `identity.oidc.clientSecretEnv: environment variable ${o.clientSecretEnv} is not set`,
      );
    }
  }
  if (o.issuer.startsWith('http://') && !o.allowHttp) {
    throw new PalisadeError(
      'CONFIG_INVALID',
      'identity.oidc.issuer: plain http is refused; use https (or allowHttp for loopback tests)',
    );
  }
  return {
    issuer: o.issuer,
    clientId: o.clientId,
    clientSecret,
    get redirectUri() {
      return `${origin.origin}/api/auth/oidc/callback`;
    },
    caFile: o.caFile,
    allowHttp: o.allowHttp,
    scopes: o.scopes,
    usernameClaim: o.usernameClaim,
    groupsClaim: o.groupsClaim,
    mfa: o.mfa,
    acceptedAmr: o.acceptedAmr,
    acceptedAcr: o.acceptedAcr,
  };
}

export function createIdentity(deps: {
  config: Config;
  database: Database;
  audit: AuditSink;
  access: AccessService;
  box: SecretBox;
  origin: PublicOrigin;
  env?: NodeJS.ProcessEnv;
}): IdentityService {
  const { config, access } = deps;
  const mapping = config.identity.oidc?.roleMapping ?? [];
  return new IdentityService({
    database: deps.database,
    audit: deps.audit,
    box: deps.box,
    policy: identityPolicy(config),
    relyingParty: relyingParty(deps.origin),
    roles: {
      mfaRequiredFor: (userId) => access.store.mfaRequiredFor(userId),
      applyIdpGroups: (userId, issuer, groups) => access.applyIdpGroups(userId, issuer, groups, mapping),
    },
    oidc: oidcSettings(config, deps.origin, deps.env ?? process.env),
  });
}

/**
 * Identity's secrets (TOTP shared secrets) as sealed secrets of the keyring: each is stored under a
 * fresh name beginning with its label, and identity keeps only the secret's id. Opening checks the
 * label, so an id copied onto another account's row does not open.
 */
export function keyringSecretBox(keyring: Keyring): SecretBox {
  return {
    async seal(plaintext, label) {
      const kind = label.split(':')[0] ?? 'identity';
      const info = await keyring.secrets.create({
        name: `${label}/${randomUUID()}`,
        kind: `${kind}-secret`,
        value: plaintext,
      });
      return info.id;
    },
    async open(id, label) {
      const info = await keyring.secrets.info(id);
      if (!info.name.startsWith(`${label}/`)) {
        throw new PalisadeError('SECRET_MISMATCH', 'a sealed secret was presented for another owner');
      }
      return keyring.secrets.open(id);
    },
    async discard(id) {
      await keyring.secrets.delete(id);
    },
  };
}
