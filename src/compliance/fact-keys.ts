/**
 * The fact keys the checks read: the contract between the compliance engine and the modules that
 * report facts. A module that lands later implements a FactSource reporting these keys, and the checks
 * that read them light up without any change here. docs/compliance.md lists the same keys (a test keeps
 * the two in step).
 */

export type FactType = 'boolean' | 'number' | 'number|null' | 'string' | 'string[]' | 'object';

export interface FactKeyDoc {
  type: FactType;
  meaning: string;
}

export const FACT_KEYS: Readonly<Record<string, FactKeyDoc>> = {
  // Any module with a network listener (http now; RTSP and syslog listeners later).
  '*.listener.*': {
    type: 'object',
    meaning:
      'one network listener: `{ address, transport: "tls"|"plaintext", tls: { versions, refusedVersions, cipher, observedBy }, certificate: { subject, issuer, selfSigned, keyType, keyDetail, securityBits, notBefore, notAfter, fingerprint256 }, privateKey: { storage: "file"|"hardware" } }`',
  },

  // http (the HTTPS server)
  'http.routes': {
    type: 'object',
    meaning:
      '`{ total, unvalidated: ["METHOD /url: part", ...] }`: every route and which of its inputs (body, querystring, params) have no schema',
  },
  'http.headers': {
    type: 'object',
    meaning:
      'security headers observed on a real response: `{ contentSecurityPolicy, strictTransportSecurity, ... }`',
  },
  'http.limits': {
    type: 'object',
    meaning:
      '`{ bodyLimitBytes, requestTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs, rateLimit: { max, windowMs, enforced } }`',
  },
  'http.errors': {
    type: 'object',
    meaning:
      '`{ uniformShape, internalDetailsHidden }`: errors observed to use `{ error: { code, message } }` without internals',
  },

  // database
  'database.transport': {
    type: 'object',
    meaning:
      '`{ kind: "local-file"|"unix-socket"|"tls"|"plaintext-loopback"|"plaintext-network", tlsVersion?, cipher? }` observed on the live connection',
  },
  'database.durability': {
    type: 'object',
    meaning:
      '`{ dialect, durable, settings }`: commits survive power loss (SQLite synchronous=FULL; PostgreSQL fsync, synchronous_commit, full_page_writes)',
  },

  // time
  'time.sync': {
    type: 'object',
    meaning:
      '`{ status: "synchronized"|"unsynchronized"|"unknown", method, detail, authenticated: true|false|null }` from timedatectl, systemd-timesyncd or chrony',
  },

  // compliance itself
  'compliance.settingsExport': {
    type: 'string[]',
    meaning: 'machine-readable formats in which the current security settings can be exported',
  },

  // identity
  'identity.authentication.enforced': {
    type: 'boolean',
    meaning: 'every route other than the public ones requires an authenticated session or API token',
  },
  'identity.authentication.publicRoutes': {
    type: 'string[]',
    meaning: 'routes reachable without authentication',
  },
  'identity.accounts.uniqueHumanIdentities': {
    type: 'boolean',
    meaning: 'every human account belongs to one person (no shared or generic human accounts)',
  },
  'identity.accounts.management': {
    type: 'object',
    meaning:
      '`{ create, disable, remove, audited }`: administrators can manage accounts and every change is audited',
  },
  'identity.accounts.initialCredentialsUnchanged': {
    type: 'number',
    meaning: 'enabled accounts still using an initial or default credential',
  },
  'identity.password.hashAlgorithm': {
    type: 'string',
    meaning: 'how stored passwords are hashed, e.g. `argon2id`',
  },
  'identity.password.minLength': { type: 'number', meaning: 'minimum password length' },
  'identity.password.maxAgeDays': {
    type: 'number|null',
    meaning: 'maximum password lifetime for humans; null = none',
  },
  'identity.password.historyCount': { type: 'number', meaning: 'previous passwords that cannot be reused' },
  'identity.mfa.required': {
    type: 'boolean',
    meaning: 'policy requires a second factor for every human role',
  },
  'identity.mfa.exemptRoles': {
    type: 'string[]',
    meaning: 'roles whose members may sign in without a second factor',
  },
  'identity.mfa.coverage': {
    type: 'number',
    meaning:
      'share (0..1) of enabled human accounts able to satisfy MFA (enrolled factor or IdP with MFA evidence)',
  },
  'identity.mfa.networkExemptions': { type: 'string[]', meaning: 'networks (CIDR) on which MFA is waived' },
  'identity.oidc.enabled': { type: 'boolean', meaning: 'people sign in through an OIDC identity provider' },
  'identity.oidc.mfaEvidenceRequired': {
    type: 'boolean',
    meaning: 'an OIDC sign-in is refused unless the IdP reports MFA (`amr`/`acr`)',
  },
  'identity.login.genericFailure': {
    type: 'boolean',
    meaning:
      'a failed sign-in says only that it failed, never which part was wrong; secrets are never echoed',
  },
  'identity.login.noticeConfigured': {
    type: 'boolean',
    meaning: 'a system use notice is shown before sign-in',
  },
  'identity.lockout.enabled': {
    type: 'boolean',
    meaning: 'repeated failed sign-ins lock the account or source',
  },
  'identity.lockout.threshold': { type: 'number', meaning: 'failed attempts before lockout' },
  'identity.session.idleTimeoutSeconds': {
    type: 'number|null',
    meaning: 'idle time after which a session locks; null = never',
  },
  'identity.session.absoluteLifetimeSeconds': {
    type: 'number|null',
    meaning: 'maximum session lifetime; null = unlimited',
  },
  'identity.session.adminTermination': {
    type: 'boolean',
    meaning: 'an administrator can end any session remotely',
  },
  'identity.session.concurrentLimit': {
    type: 'number|null',
    meaning: 'sessions one account may hold at once; null = unlimited',
  },
  'identity.session.cookie': {
    type: 'object',
    meaning: 'session cookie flags `{ secure, httpOnly, sameSite }`',
  },
  'identity.session.csrfProtection': {
    type: 'boolean',
    meaning: 'state-changing requests need a CSRF token',
  },
  'identity.session.invalidatedOnLogout': {
    type: 'boolean',
    meaning: 'a session id stops working server-side when its session ends',
  },
  'identity.session.idEntropyBits': { type: 'number', meaning: 'random bits in a session identifier' },
  'identity.session.idSource': {
    type: 'string',
    meaning: 'where session ids come from, `csprng` for a cryptographic RNG',
  },
  'identity.serviceAccounts.tokenAuthentication': {
    type: 'boolean',
    meaning:
      'programs reach the API only with an API token of a service account; no anonymous machine access',
  },
  'identity.serviceAccounts.individual': {
    type: 'boolean',
    meaning: 'each integration has its own service account and token; tokens are never shared',
  },
  'identity.serviceAccounts.tokenMaxAgeDays': {
    type: 'number|null',
    meaning: 'maximum API token lifetime; null = unlimited',
  },

  // access
  'access.denyByDefault': { type: 'boolean', meaning: 'an action no grant allows is refused' },
  'access.enforcement.allRoutes': {
    type: 'boolean',
    meaning: 'every non-public route calls the access decision',
  },
  'access.enforcement.allSubjects': {
    type: 'boolean',
    meaning: 'the decision applies to people, service accounts and devices alike',
  },
  'access.permissions.viaRolesOnly': {
    type: 'boolean',
    meaning: 'permissions reach a subject only through roles',
  },
  'access.roles': { type: 'string[]', meaning: 'defined role names' },
  'access.supervisorOverride.enabled': {
    type: 'boolean',
    meaning: 'a supervisor can grant a time-limited, audited override',
  },
  'access.dualApproval.enabled': { type: 'boolean', meaning: 'dual approval is switched on' },
  'access.dualApproval.actions': { type: 'string[]', meaning: 'actions that need a second approver' },

  // audit
  'audit.log.enabled': { type: 'boolean', meaning: 'the audit log is recording' },
  'audit.log.healthy': { type: 'boolean', meaning: 'the last append succeeded and nothing is waiting' },
  'audit.log.appendOnly': {
    type: 'boolean',
    meaning: 'records can only be appended; the Merkle tree makes changes evident',
  },
  'audit.log.systemWide': { type: 'boolean', meaning: 'every module records into the one log' },
  'audit.events.actorAttributed': { type: 'boolean', meaning: 'every event names its authenticated actor' },
  'audit.timestamps.utc': {
    type: 'boolean',
    meaning: 'records carry UTC timestamps with millisecond precision',
  },
  'audit.checkpoint.signed': { type: 'boolean', meaning: 'checkpoints of the log are signed' },
  'audit.checkpoint.ageSeconds': { type: 'number', meaning: 'age of the newest signed checkpoint' },
  'audit.storage.headroomRatio': {
    type: 'number',
    meaning: 'free share (0..1) of the storage the audit log lives on',
  },
  'audit.storage.warningThresholdRatio': {
    type: 'number|null',
    meaning: 'free share below which a capacity warning is raised; null = no warning',
  },
  'audit.storage.writeOnce': { type: 'boolean', meaning: 'audit records are kept on write-once storage' },
  'audit.failure.mode': {
    type: 'string',
    meaning: '`block`: actions are refused when they cannot be audited; `continue` otherwise',
  },
  'audit.access.restricted': {
    type: 'boolean',
    meaning: 'only holders of the audit read permission can read; nobody can modify',
  },
  'audit.query.available': { type: 'boolean', meaning: 'authorised users can search and read the log' },
  'audit.export.programmatic': {
    type: 'boolean',
    meaning: 'the log can be read through the API and exported',
  },
  'audit.integrity.alerts': {
    type: 'boolean',
    meaning: 'a failed integrity verification raises an alert event',
  },

  // keys
  'keys.provider.kind': { type: 'string', meaning: '`pkcs11` (HSM) or `keyfile`' },
  'keys.provider.hardwareBacked': {
    type: 'boolean',
    meaning: 'keys live in a hardware device (a hardware PKCS#11 slot; SoftHSM2 and the key file are not)',
  },
  'keys.provider.description': { type: 'string', meaning: 'the provider in one line, for people' },
  'keys.kek.oldestAgeDays': {
    type: 'number',
    meaning: 'age in days of the oldest active key-encryption key',
  },
  'keys.kek.maxAgeDays': {
    type: 'number',
    meaning: 'age after which a key-encryption key is due for rotation',
  },
  'keys.secrets.sealed': { type: 'number', meaning: 'secrets stored sealed by the key provider' },
  'keys.atRest.algorithm': { type: 'string', meaning: 'encryption of data at rest, e.g. `AES-256-GCM`' },
  'keys.atRest.coverage': { type: 'object', meaning: '`{ secrets }`: secrets are encrypted at rest' },

  // recording and the camera inventory
  'recording.encryptionAtRest.coverage': {
    type: 'number',
    meaning: 'share (0..1) of recorded segments sealed with a live data key (1 when nothing is recorded)',
  },
  'devices.inventory.count': { type: 'number', meaning: 'cameras in the inventory (per zone when zoned)' },
  'devices.inventory.cameras': {
    type: 'object',
    meaning:
      'the inventory: id, name, zone, stream URL (without credentials) and recording mode of each camera',
  },
  'keys.cryptoShredding.enabled': {
    type: 'boolean',
    meaning: 'destroying a data key makes its data unrecoverable',
  },
};

/** The namespace a key belongs to (its first segment); `*.listener.*` belongs to every namespace. */
export function namespaceOf(key: string): string {
  return key.split('.')[0] ?? key;
}
