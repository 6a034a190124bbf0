import { LISTENERS, attestation, automated, field, list, listeners, pending } from './common.js';
import { met, notMet, type Check, type CheckOutcome, type FactReader } from './types.js';

/** Largest request body SR 7.1 accepts as "bounded" (uploads of evidence use their own streaming routes). */
export const MAX_BODY_LIMIT_BYTES = 16 * 1024 * 1024;
/** Longest time a request may hold a connection before it is cut. */
export const MAX_REQUEST_TIMEOUT_MS = 120_000;

function boundedRequests(f: FactReader): CheckOutcome {
  const body = field(f, 'http.limits', 'bodyLimitBytes', 'number');
  const request = field(f, 'http.limits', 'requestTimeoutMs', 'number');
  const headers = field(f, 'http.limits', 'headersTimeoutMs', 'number');
  const problems: string[] = [];
  if (body <= 0 || body > MAX_BODY_LIMIT_BYTES)
    problems.push(`request bodies up to ${body} bytes are accepted`);
  if (request <= 0 || request > MAX_REQUEST_TIMEOUT_MS)
    problems.push(request <= 0 ? 'requests never time out' : `requests may take ${request} ms`);
  if (headers <= 0 || headers > MAX_REQUEST_TIMEOUT_MS)
    problems.push(headers <= 0 ? 'request headers never time out' : `headers may take ${headers} ms`);
  return problems.length === 0
    ? met(
        `request bodies are limited to ${body} bytes, headers to ${headers} ms and whole requests to ${request} ms`,
      )
    : notMet(
        problems.join('; '),
        `set http.bodyLimitBytes to at most ${MAX_BODY_LIMIT_BYTES} and keep the request timeouts`,
      );
}

function rateLimited(f: FactReader): CheckOutcome {
  const limits = f.object('http.limits');
  const rate = limits.rateLimit;
  if (
    typeof rate !== 'object' ||
    rate === null ||
    Array.isArray(rate) ||
    typeof rate.max !== 'number' ||
    typeof rate.windowMs !== 'number'
  ) {
    return notMet(
      'no per-client rate limit is in force',
      'set http.rateLimit.max and http.rateLimit.windowMs',
    );
  }
  return rate.enforced === true
    ? met(
        `each client may send ${rate.max} requests per ${rate.windowMs / 1000} s; the limit was observed on a live response`,
      )
    : notMet(
        'the rate limit is configured but was not observed on a response',
        'check that the rate limiter is registered on every route',
      );
}

export const FR5_CHECKS: Check[] = [
  pending('SR 5.1', 'network', 'cameras, recorders and operator workstations sit in separate zones'),
  pending(
    'SR 5.1 RE1',
    'network',
    'the camera network is physically separate (own switches or VLAN trunks to dedicated ports)',
  ),
  pending('SR 5.1 RE2', 'network', 'recording continues without services from non-control networks'),
  pending('SR 5.1 RE3', 'network', 'critical zones are isolated logically and physically'),
  pending('SR 5.2', 'network', 'traffic between zones flows only through declared conduits'),
  pending('SR 5.2 RE1', 'network', 'the generated nftables rules deny all traffic except declared conduits'),
  pending('SR 5.2 RE2', 'network', 'a zone can be isolated on demand (island mode)'),
  pending('SR 5.2 RE3', 'network', 'a failure of the boundary rules blocks traffic'),
  attestation(
    'SR 5.3',
    'general purpose messaging (e-mail, chat, social media) from outside does not reach the zone',
    true,
  ),
  attestation('SR 5.3 RE1', 'general purpose person-to-person communication is prohibited in the zone', true),
  pending(
    'SR 5.4',
    'network',
    'management, recording and viewing services are placed in separate partitions',
  ),
];

export const FR6_CHECKS: Check[] = [
  automated('SR 6.1', ['audit.query.available', 'audit.access.restricted'], (f) => {
    if (!f.boolean('audit.query.available'))
      return notMet('the audit log cannot be searched', 'enable audit queries');
    return f.boolean('audit.access.restricted')
      ? met('auditors can search and read the audit log, read only')
      : notMet('audit read access is not restricted', 'restrict audit reading to the audit permission');
  }),
  automated('SR 6.1 RE1', ['audit.export.programmatic'], (f) =>
    f.boolean('audit.export.programmatic')
      ? met('the audit log can be read through the API and exported')
      : notMet('the audit log has no programmatic access', 'enable the audit API and export'),
  ),
  pending('SR 6.2', 'siem', 'security events and flow violations are forwarded continuously to the SIEM'),
];

export const FR7_CHECKS: Check[] = [
  automated('SR 7.1', ['http.limits'], boundedRequests),
  automated('SR 7.1 RE1', ['http.limits'], rateLimited),
  pending('SR 7.1 RE2', 'network', 'egress rate limits keep Palisade from flooding cameras or other zones'),
  automated('SR 7.2', ['http.limits'], (f) => {
    const bounded = boundedRequests(f);
    if (bounded.status !== 'met') return bounded;
    const rate = rateLimited(f);
    return rate.status === 'met' ? met(`${bounded.reason}; ${rate.reason}`) : rate;
  }),
  attestation(
    'SR 7.3',
    'the database, configuration, keys (or HSM backup) and audit log are backed up on a schedule without stopping recording',
  ),
  attestation('SR 7.3 RE1', 'backups are restored in a test at least once a year and the result recorded'),
  attestation('SR 7.3 RE2', 'backups run automatically'),
  automated('SR 7.4', ['database.durability'], (f) => {
    const durable = field(f, 'database.durability', 'durable', 'boolean');
    const dialect = field(f, 'database.durability', 'dialect', 'string');
    return durable
      ? met(
          `${dialect} commits are durable, so after a crash or power loss the system restarts in its last acknowledged state`,
        )
      : notMet(
          `${dialect} may lose acknowledged commits on power loss`,
          dialect === 'postgres'
            ? 'turn fsync, synchronous_commit and full_page_writes on'
            : 'keep SQLite synchronous=FULL',
        );
  }),
  attestation(
    'SR 7.5',
    'a switch to or from emergency power (UPS, generator) leaves Palisade in a secure state',
  ),
  attestation('SR 7.6', 'Palisade is deployed following its hardening guide, and deviations are documented'),
  automated('SR 7.6 RE1', ['compliance.settingsExport'], (f) => {
    const formats = f.strings('compliance.settingsExport');
    return formats.includes('json')
      ? met(`the current security settings can be exported as ${formats.join(' and ')}`)
      : notMet('no machine-readable export of the settings', 'use palisade compliance status --json');
  }),
  automated('SR 7.7', [LISTENERS], (f) => {
    const all = listeners(f);
    const plain = all.filter((l) => l.transport !== 'tls');
    return plain.length === 0
      ? met(
          `Palisade listens only on ${list(all.map((l) => `${l.key}${l.address ? ` (${l.address})` : ''}`))}, all TLS`,
        )
      : notMet(`${list(plain.map((l) => l.key))} accept plaintext`, 'disable plaintext listeners');
  }),
  automated('SR 7.8', ['devices.inventory.count', 'devices.inventory.cameras'], (f) => {
    const count = f.number('devices.inventory.count');
    const cameras = f.value('devices.inventory.cameras');
    const listed = Array.isArray(cameras) ? cameras.length : -1;
    return listed === count
      ? met(`the inventory lists all ${count} camera(s) with zone, stream and recording mode`)
      : notMet(
          'the camera inventory cannot be reported',
          'keep every camera in the inventory (palisade cameras list)',
        );
  }),
];
