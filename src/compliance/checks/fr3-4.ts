import { LISTENERS, attestation, automated, field, list, listeners, pending } from './common.js';
import { MIN_KEY_SECURITY_BITS } from './fr1.js';
import { met, notAssessed, notMet, type Check, type CheckOutcome, type FactReader } from './types.js';

/** TLS 1.3 suites (all AEAD) recognised by NIST SP 800-52r2 and BSI TR-02102-2. */
export const APPROVED_TLS13_SUITES = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
];
/** A checkpoint older than this leaves recent audit records without a signature over them. */
export const MAX_CHECKPOINT_AGE_SECONDS = 3600;
const AUTHENTICATED_AT_REST = /^AES-(128|256)-GCM$|^ChaCha20-Poly1305$/i;
const LOCAL_DB_TRANSPORTS = ['local-file', 'unix-socket', 'plaintext-loopback', 'tls'];

/** Traffic protection for SR 3.1 and SR 4.1: every listener speaks TLS and the database link is local or TLS. */
function protectedInTransit(f: FactReader, tls13Only: boolean): CheckOutcome {
  const problems: string[] = [];
  for (const l of listeners(f)) {
    if (l.transport !== 'tls' || !l.tls) problems.push(`${l.key} accepts plaintext`);
    else if (tls13Only && l.tls.versions.some((v) => v !== 'TLSv1.3'))
      problems.push(`${l.key} accepts ${l.tls.versions.join(', ')}`);
  }
  const db = field(f, 'database.transport', 'kind', 'string');
  if (!LOCAL_DB_TRANSPORTS.includes(db)) problems.push(`the database connection is ${db}`);
  if (problems.length > 0) {
    return notMet(
      list(problems),
      db === 'plaintext-network'
        ? 'enable TLS on the PostgreSQL server and add sslmode=verify-full to database.url'
        : 'serve every listener with TLS 1.3 only',
    );
  }
  return met(
    `every listener speaks ${tls13Only ? 'TLS 1.3 only (AEAD ciphers)' : 'TLS'} and the database link is ${db}`,
  );
}

export const FR3_CHECKS: Check[] = [
  automated('SR 3.1', [LISTENERS, 'database.transport'], (f) => protectedInTransit(f, false)),
  automated('SR 3.1 RE1', [LISTENERS, 'database.transport'], (f) => protectedInTransit(f, true)),
  attestation(
    'SR 3.2',
    'the hosts running Palisade have malicious code protection (application allow-listing or anti-malware) that detects, reports and contains it',
  ),
  attestation('SR 3.2 RE1', 'files and media entering or leaving the zone are scanned for malicious code'),
  attestation('SR 3.2 RE2', 'malicious code protection is managed and reported centrally'),
  attestation(
    'SR 3.3',
    'security functions are verified at acceptance (FAT/SAT) and after maintenance, following a documented procedure',
  ),
  attestation(
    'SR 3.3 RE1',
    'security verification uses automated tools (for example this compliance engine and a TLS scanner) and their results are kept',
  ),
  attestation(
    'SR 3.3 RE2',
    'security verification also runs during normal operation, on a schedule, without disturbing it',
  ),
  automated('SR 3.4', ['keys.atRest.algorithm', 'audit.log.appendOnly'], (f) => {
    const algorithm = f.string('keys.atRest.algorithm');
    const appendOnly = f.boolean('audit.log.appendOnly');
    if (!AUTHENTICATED_AT_REST.test(algorithm))
      return notMet(
        `stored data is protected by ${algorithm}, which does not detect modification`,
        'use the AES-256-GCM segment format',
      );
    if (!appendOnly) return notMet('the audit log is not append-only', 'enable the tamper-evident audit log');
    return met(
      `stored video and secrets use ${algorithm}, which detects any modification, and the audit log is tamper-evident`,
    );
  }),
  automated('SR 3.4 RE1', ['audit.integrity.alerts'], (f) =>
    f.boolean('audit.integrity.alerts')
      ? met('a failed integrity verification raises an alert')
      : notMet('integrity failures are not reported automatically', 'enable integrity alerts'),
  ),
  automated('SR 3.5', ['http.routes'], (f) => {
    const total = field(f, 'http.routes', 'total', 'number');
    const routes = f.object('http.routes');
    const unvalidated = Array.isArray(routes.unvalidated) ? routes.unvalidated.map(String) : null;
    if (unvalidated === null) return notAssessed('http.routes has no list of unvalidated routes');
    return unvalidated.length === 0
      ? met(`all ${total} routes validate their body, query and parameters against a schema`)
      : notMet(
          `${unvalidated.length} of ${total} routes accept input without a schema: ${list(unvalidated)}`,
          'declare a JSON schema for every input of those routes (an empty strict object when a route takes none)',
        );
  }),
  attestation(
    'SR 3.6',
    'outputs that act on the physical process (PTZ, relays, I/O) go to a defined state when normal operation cannot continue (or Palisade drives no such output here)',
    true,
  ),
  automated('SR 3.7', ['http.errors'], (f) => {
    const uniform = field(f, 'http.errors', 'uniformShape', 'boolean');
    const hidden = field(f, 'http.errors', 'internalDetailsHidden', 'boolean');
    if (!uniform)
      return notMet('error responses do not follow one shape', 'install the uniform error handler');
    return hidden
      ? met('errors carry a stable code and a plain message; unexpected failures reveal no internals')
      : notMet(
          'unexpected failures may reveal internal details',
          'map unknown errors to INTERNAL_ERROR without internals',
        );
  }),
  automated('SR 3.8', ['identity.session.cookie', 'identity.session.csrfProtection', LISTENERS], (f) => {
    const secure = field(f, 'identity.session.cookie', 'secure', 'boolean');
    const httpOnly = field(f, 'identity.session.cookie', 'httpOnly', 'boolean');
    const sameSite = field(f, 'identity.session.cookie', 'sameSite', 'string');
    const csrf = f.boolean('identity.session.csrfProtection');
    const plain = listeners(f).filter((l) => l.transport !== 'tls');
    const problems: string[] = [];
    if (!secure || !httpOnly) problems.push('the session cookie lacks Secure or HttpOnly');
    if (!['strict', 'lax'].includes(sameSite.toLowerCase()))
      problems.push(`the session cookie is SameSite=${sameSite}`);
    if (!csrf) problems.push('state-changing requests need no CSRF token');
    if (plain.length > 0) problems.push(`${list(plain.map((l) => l.key))} serve without TLS`);
    return problems.length === 0
      ? met(
          `sessions travel only over TLS in a Secure, HttpOnly, SameSite=${sameSite} cookie with CSRF protection`,
        )
      : notMet(problems.join('; '), 'use the default session cookie settings and CSRF protection');
  }),
  automated('SR 3.8 RE1', ['identity.session.invalidatedOnLogout'], (f) =>
    f.boolean('identity.session.invalidatedOnLogout')
      ? met('a session id stops working on the server as soon as its session ends')
      : notMet('ended session ids keep working', 'use server-side sessions that are deleted when they end'),
  ),
  automated('SR 3.8 RE2', ['identity.session.idEntropyBits'], (f) => {
    const bits = f.number('identity.session.idEntropyBits');
    return bits >= 128
      ? met(`session ids carry ${bits} random bits, so they do not repeat`)
      : notMet(`session ids carry only ${bits} random bits`, 'use session ids of at least 128 random bits');
  }),
  automated('SR 3.8 RE3', ['identity.session.idSource', 'identity.session.idEntropyBits'], (f) => {
    const source = f.string('identity.session.idSource');
    const bits = f.number('identity.session.idEntropyBits');
    return source === 'csprng' && bits >= 128
      ? met(`session ids are ${bits} bits from a cryptographic random generator`)
      : notMet(
          `session ids come from ${source} with ${bits} bits`,
          'generate session ids with a CSPRNG, at least 128 bits',
        );
  }),
  automated(
    'SR 3.9',
    [
      'audit.log.appendOnly',
      'audit.checkpoint.signed',
      'audit.checkpoint.ageSeconds',
      'audit.access.restricted',
    ],
    (f) => {
      const problems: string[] = [];
      if (!f.boolean('audit.log.appendOnly')) problems.push('the audit log is not append-only');
      if (!f.boolean('audit.checkpoint.signed')) problems.push('audit checkpoints are not signed');
      const age = f.number('audit.checkpoint.ageSeconds');
      if (age > MAX_CHECKPOINT_AGE_SECONDS)
        problems.push(`the newest signed checkpoint is ${age} s old, so newer records are not yet covered`);
      if (!f.boolean('audit.access.restricted'))
        problems.push('audit records are readable without the audit permission');
      return problems.length === 0
        ? met(
            `audit records are append-only, covered by a checkpoint signed ${age} s ago, and readable only with the audit permission`,
          )
        : notMet(
            problems.join('; '),
            'enable the tamper-evident audit log with regular signed checkpoints and restrict audit reading to auditors',
          );
    },
  ),
  automated('SR 3.9 RE1', ['audit.storage.writeOnce'], (f) =>
    f.boolean('audit.storage.writeOnce')
      ? met('audit records are kept on write-once storage')
      : notMet(
          'audit records are on rewritable storage',
          'store audit segments on write-once (object-lock) storage',
        ),
  ),
];

export const FR4_CHECKS: Check[] = [
  automated('SR 4.1', [LISTENERS, 'database.transport'], (f) => protectedInTransit(f, false)),
  automated(
    'SR 4.1 RE1',
    ['keys.atRest.algorithm', 'keys.atRest.coverage', 'recording.encryptionAtRest.coverage'],
    (f) => {
      const algorithm = f.string('keys.atRest.algorithm');
      const video = f.number('recording.encryptionAtRest.coverage') === 1;
      const secrets = field(f, 'keys.atRest.coverage', 'secrets', 'boolean');
      const missing = [video ? null : 'video', secrets ? null : 'secrets'].filter((x) => x !== null);
      if (missing.length > 0)
        return notMet(
          `${missing.join(' and ')} stored without encryption`,
          'enable encryption at rest for video and secrets',
        );
      return AUTHENTICATED_AT_REST.test(algorithm)
        ? met(`video and secrets are encrypted at rest with ${algorithm}`)
        : notMet(`data at rest uses ${algorithm}`, 'use AES-256-GCM for data at rest');
    },
  ),
  pending('SR 4.1 RE2', 'network', 'conduits crossing zone boundaries carry only encrypted traffic'),
  automated('SR 4.2', ['keys.cryptoShredding.enabled'], (f) =>
    f.boolean('keys.cryptoShredding.enabled')
      ? met('destroying a data key makes its video unrecoverable, so retired data is purged')
      : notMet('retired data stays recoverable', 'enable crypto-shredding'),
  ),
  attestation(
    'SR 4.2 RE1',
    'hosts clear memory and swap before reuse (encrypted or disabled swap, no core dumps of Palisade processes)',
  ),
  automated('SR 4.3', [LISTENERS, 'keys.atRest.algorithm'], (f) => {
    const problems: string[] = [];
    const used: string[] = [];
    for (const l of listeners(f)) {
      if (l.transport !== 'tls' || !l.tls || !l.certificate) continue;
      const weak = l.tls.versions.filter((v) => v !== 'TLSv1.3' && v !== 'TLSv1.2');
      if (weak.length > 0) problems.push(`${l.key} accepts ${weak.join(', ')}`);
      if (
        l.tls.cipher !== null &&
        !APPROVED_TLS13_SUITES.includes(l.tls.cipher) &&
        l.tls.versions.every((v) => v === 'TLSv1.3')
      ) {
        problems.push(`${l.key} negotiated ${l.tls.cipher}`);
      }
      if (l.certificate.securityBits < MIN_KEY_SECURITY_BITS)
        problems.push(`${l.key} has a ${l.certificate.keyDetail} key`);
      used.push(
        `${l.key}: ${l.tls.versions.join('/')}${l.tls.cipher ? ` ${l.tls.cipher}` : ''}, ${l.certificate.keyDetail}`,
      );
    }
    const atRest = f.optional('keys.atRest.algorithm');
    if (typeof atRest === 'string') {
      if (!AUTHENTICATED_AT_REST.test(atRest)) problems.push(`data at rest uses ${atRest}`);
      used.push(`at rest: ${atRest}`);
    }
    if (problems.length > 0)
      return notMet(
        list(problems),
        'use TLS 1.3, certificate keys of at least P-256 or RSA 3072, and AES-256-GCM at rest',
      );
    const note = typeof atRest === 'string' ? '' : ' (no encryption at rest was reported)';
    return met(`only recognised algorithms and key sizes are in use: ${list(used)}${note}`);
  }),
];
