import { LISTENERS, attestation, automated, list, listeners } from './common.js';
import { met, notMet, type Check, type CheckOutcome, type FactReader } from './types.js';

/** The shortest minimum password length accepted: NIST SP 800-63B asks 8; the hardening guide asks 12. */
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_LIFETIME_DAYS = 365;
export const MAX_LOCKOUT_THRESHOLD = 10;
/** 112 bits is the floor NIST SP 800-57 accepts today (RSA 2048, P-224); P-256 and Ed25519 give 128. */
export const MIN_KEY_SECURITY_BITS = 112;

const MFA_KEYS = [
  'identity.mfa.required',
  'identity.mfa.exemptRoles',
  'identity.mfa.coverage',
  'identity.oidc.enabled',
  'identity.oidc.mfaEvidenceRequired',
];

/** The MFA policy common to SR 1.1 RE2 and RE3: who can still sign in with one factor. */
function mfaForEveryone(facts: FactReader): CheckOutcome {
  const required = facts.boolean('identity.mfa.required');
  const exempt = facts.strings('identity.mfa.exemptRoles');
  const coverage = facts.number('identity.mfa.coverage');
  const oidc = facts.boolean('identity.oidc.enabled');
  const oidcMfa = oidc ? facts.boolean('identity.oidc.mfaEvidenceRequired') : true;
  if (!required || exempt.length > 0) {
    return notMet(
      exempt.length > 0 ? `MFA is not required for role(s) ${list(exempt)}` : 'MFA is not required by policy',
      exempt.length > 0
        ? `require MFA for role(s) ${list(exempt)} (remove them from the MFA exemptions)`
        : 'require MFA for every human role',
    );
  }
  if (oidc && !oidcMfa) {
    return notMet(
      'OIDC sign-ins are accepted without MFA evidence from the identity provider',
      'require MFA evidence (amr/acr) from the OIDC identity provider',
    );
  }
  if (coverage < 1) {
    return notMet(
      `${Math.round(coverage * 1000) / 10}% of human accounts can satisfy MFA`,
      'have every remaining human account enrol a second factor (or sign in through the IdP with MFA)',
    );
  }
  return met(
    `MFA is required for every human role and every human account can satisfy it${oidc ? ', including OIDC sign-ins' : ''}`,
  );
}

function lifetimeOk(days: number | null): boolean {
  return days !== null && days >= 1 && days <= MAX_LIFETIME_DAYS;
}

function humanPasswordLifetime(facts: FactReader): CheckOutcome {
  const maxAge = facts.numberOrNull('identity.password.maxAgeDays');
  const history = facts.number('identity.password.historyCount');
  if (!lifetimeOk(maxAge)) {
    return notMet(
      maxAge === null ? 'human passwords never expire' : `maximum password age is ${maxAge} days`,
      `set a maximum password age of at most ${MAX_LIFETIME_DAYS} days`,
    );
  }
  if (history < 1) {
    return notMet('a password can be reused immediately', 'keep a password history of at least 1');
  }
  return met(`human passwords expire after ${maxAge} days and the last ${history} cannot be reused`);
}

export const FR1_CHECKS: Check[] = [
  automated('SR 1.1', ['identity.authentication.enforced', 'identity.authentication.publicRoutes'], (f) => {
    const enforced = f.boolean('identity.authentication.enforced');
    const publicRoutes = f.strings('identity.authentication.publicRoutes');
    return enforced
      ? met(
          `every route requires authentication except ${publicRoutes.length > 0 ? list(publicRoutes) : 'none'}`,
        )
      : notMet(
          'some routes can be used without authentication',
          'require authentication on every non-probe route',
        );
  }),
  automated('SR 1.1 RE1', ['identity.accounts.uniqueHumanIdentities'], (f) =>
    f.boolean('identity.accounts.uniqueHumanIdentities')
      ? met('every human account belongs to one person')
      : notMet(
          'shared or generic human accounts exist',
          'replace shared accounts with one account per person',
        ),
  ),
  automated('SR 1.1 RE2', MFA_KEYS, mfaForEveryone),
  automated('SR 1.1 RE3', [...MFA_KEYS, 'identity.mfa.networkExemptions'], (f) => {
    const base = mfaForEveryone(f);
    if (base.status !== 'met') return base;
    const nets = f.strings('identity.mfa.networkExemptions');
    return nets.length > 0
      ? notMet(`MFA is waived on ${list(nets)}`, 'remove the MFA network exemptions')
      : met(`${base.reason}, on every network`);
  }),
  automated('SR 1.2', ['identity.serviceAccounts.tokenAuthentication'], (f) =>
    f.boolean('identity.serviceAccounts.tokenAuthentication')
      ? met('programs reach the API only with a service account token')
      : notMet(
          'programs can reach the API without their own credential',
          'issue a service account token to every integration',
        ),
  ),
  automated('SR 1.2 RE1', ['identity.serviceAccounts.individual'], (f) =>
    f.boolean('identity.serviceAccounts.individual')
      ? met('each integration has its own service account and token')
      : notMet(
          'service account tokens are shared between integrations',
          'give each integration its own service account',
        ),
  ),
  automated('SR 1.3', ['identity.accounts.management'], (f) => {
    const m = f.object('identity.accounts.management');
    const missing = ['create', 'disable', 'remove', 'audited'].filter((k) => m[k] !== true);
    return missing.length === 0
      ? met('administrators can create, disable and remove accounts, and every change is audited')
      : notMet(
          `account management lacks: ${missing.join(', ')}`,
          'use a Palisade version whose identity module supports full account management',
        );
  }),
  automated('SR 1.3 RE1', ['identity.oidc.enabled'], (f) =>
    f.boolean('identity.oidc.enabled')
      ? met('people sign in through the central OIDC identity provider')
      : notMet(
          'accounts are managed locally only',
          'configure OIDC single sign-on so accounts are managed in the central identity provider',
        ),
  ),
  attestation(
    'SR 1.4',
    'identifiers (user names, service account names, role names) are assigned, reviewed and retired under a documented procedure',
  ),
  automated(
    'SR 1.5',
    ['identity.password.hashAlgorithm', 'identity.accounts.initialCredentialsUnchanged'],
    (f) => {
      const algorithm = f.string('identity.password.hashAlgorithm');
      const initial = f.number('identity.accounts.initialCredentialsUnchanged');
      if (!['argon2id', 'scrypt'].includes(algorithm)) {
        return notMet(`passwords are hashed with ${algorithm}`, 'store passwords with argon2id');
      }
      if (initial > 0) {
        return notMet(
          `${initial} enabled account(s) still use their initial credential`,
          'make those accounts change their initial credential, or disable them',
        );
      }
      return met(`passwords are stored as ${algorithm} hashes and no account keeps an initial credential`);
    },
  ),
  automated('SR 1.5 RE1', ['keys.provider.kind', 'keys.provider.hardwareBacked'], (f) => {
    const kind = f.string('keys.provider.kind');
    if (kind !== 'pkcs11')
      return notMet(`the key provider is ${kind}`, 'configure the PKCS#11 (HSM) key provider');
    return f.boolean('keys.provider.hardwareBacked')
      ? met('keys and credentials of programs are protected by a hardware PKCS#11 token')
      : notMet(
          'the PKCS#11 token is a software token',
          'use a hardware HSM (the PKCS#11 slot must be a hardware slot)',
        );
  }),
  attestation(
    'SR 1.6',
    'every wireless network in the zone identifies and authenticates whoever connects (or there is no wireless access)',
    true,
  ),
  attestation(
    'SR 1.6 RE1',
    'every wireless user and device is identified individually (or there is no wireless access)',
    true,
  ),
  automated('SR 1.7', ['identity.password.minLength'], (f) => {
    const min = f.number('identity.password.minLength');
    return min >= MIN_PASSWORD_LENGTH
      ? met(`passwords must have at least ${min} characters`)
      : notMet(
          `passwords may have as few as ${min} characters`,
          `set the minimum password length to ${MIN_PASSWORD_LENGTH} or more`,
        );
  }),
  automated(
    'SR 1.7 RE1',
    ['identity.password.maxAgeDays', 'identity.password.historyCount'],
    humanPasswordLifetime,
  ),
  automated(
    'SR 1.7 RE2',
    [
      'identity.password.maxAgeDays',
      'identity.password.historyCount',
      'identity.serviceAccounts.tokenMaxAgeDays',
    ],
    (f) => {
      const human = humanPasswordLifetime(f);
      if (human.status !== 'met') return human;
      const tokenAge = f.numberOrNull('identity.serviceAccounts.tokenMaxAgeDays');
      return lifetimeOk(tokenAge)
        ? met(`${human.reason}; API tokens expire after ${tokenAge} days`)
        : notMet(
            tokenAge === null ? 'API tokens never expire' : `API tokens live ${tokenAge} days`,
            `set a maximum API token lifetime of at most ${MAX_LIFETIME_DAYS} days`,
          );
    },
  ),
  automated('SR 1.8', [LISTENERS], (f) => {
    const now = f.now.getTime();
    const bad: string[] = [];
    for (const l of listeners(f)) {
      if (!l.certificate) continue;
      if (l.certificate.selfSigned) bad.push(`${l.key} uses a self-signed certificate`);
      else if (Date.parse(l.certificate.notAfter) < now)
        bad.push(`${l.key}'s certificate expired ${l.certificate.notAfter}`);
    }
    return bad.length === 0
      ? met('every TLS listener presents a certificate issued by a CA')
      : notMet(list(bad), 'set http.tls.certFile and http.tls.keyFile to a certificate issued by your PKI');
  }),
  automated('SR 1.9', [LISTENERS], (f) => {
    const now = f.now.getTime();
    const bad: string[] = [];
    for (const l of listeners(f)) {
      const c = l.certificate;
      if (!c) continue;
      if (c.securityBits < MIN_KEY_SECURITY_BITS)
        bad.push(`${l.key} has a ${c.keyDetail} key (${c.securityBits}-bit security)`);
      if (Date.parse(c.notAfter) < now || Date.parse(c.notBefore) > now)
        bad.push(`${l.key}'s certificate is outside its validity period`);
    }
    return bad.length === 0
      ? met(
          `every TLS certificate key gives at least ${MIN_KEY_SECURITY_BITS}-bit security and is within its validity period`,
        )
      : notMet(list(bad), 'use an ECDSA P-256 (or stronger) or RSA 3072 certificate that is currently valid');
  }),
  automated('SR 1.9 RE1', ['keys.provider.kind', 'keys.provider.hardwareBacked', LISTENERS], (f) => {
    const kind = f.string('keys.provider.kind');
    const soft = listeners(f).filter((l) => l.transport === 'tls' && l.privateKeyStorage !== 'hardware');
    if (kind !== 'pkcs11')
      return notMet(`the key provider is ${kind}`, 'configure the PKCS#11 (HSM) key provider');
    if (!f.boolean('keys.provider.hardwareBacked'))
      return notMet(
        'the PKCS#11 token is a software token',
        'use a hardware HSM (the PKCS#11 slot must be a hardware slot)',
      );
    return soft.length === 0
      ? met('authentication keys are held in hardware')
      : notMet(
          `the TLS private key of ${list(soft.map((l) => l.key))} is held in a file`,
          'terminate TLS on an HSM-backed proxy and record it as a compensating countermeasure (Palisade cannot yet use a TLS key inside the HSM)',
        );
  }),
  automated('SR 1.10', ['identity.login.genericFailure'], (f) =>
    f.boolean('identity.login.genericFailure')
      ? met('a failed sign-in reveals neither the secret nor which part was wrong')
      : notMet(
          'sign-in errors say which part of a credential was wrong',
          'use the generic sign-in failure message',
        ),
  ),
  automated('SR 1.11', ['identity.lockout.enabled', 'identity.lockout.threshold'], (f) => {
    if (!f.boolean('identity.lockout.enabled'))
      return notMet('failed sign-ins never lock out', 'enable sign-in lockout');
    const n = f.number('identity.lockout.threshold');
    return n >= 1 && n <= MAX_LOCKOUT_THRESHOLD
      ? met(`sign-in locks after ${n} failed attempts`)
      : notMet(
          `lockout starts only after ${n} failed attempts`,
          `set the lockout threshold to ${MAX_LOCKOUT_THRESHOLD} or fewer`,
        );
  }),
  automated('SR 1.12', ['identity.login.noticeConfigured'], (f) =>
    f.boolean('identity.login.noticeConfigured')
      ? met('a system use notice is shown before sign-in')
      : notMet(
          'no system use notice is shown',
          'configure the sign-in notice text (authorised use only, activity is monitored)',
        ),
  ),
  attestation(
    'SR 1.13',
    'every access path from untrusted networks (VPN, remote support, cloud) is known, monitored and controlled (or there is none)',
    true,
  ),
  attestation(
    'SR 1.13 RE1',
    'access from untrusted networks is explicitly approved each time (or there is none)',
    true,
  ),
];
