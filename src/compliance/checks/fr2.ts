import { LISTENERS, attestation, automated, field, list, listeners } from './common.js';
import { met, notMet, type Check, type CheckOutcome, type FactReader } from './types.js';

/** Longest idle time before a session locks that Palisade's checks accept. */
export const MAX_IDLE_SECONDS = 30 * 60;
/** Longest absolute session lifetime accepted for remote session termination. */
export const MAX_SESSION_LIFETIME_SECONDS = 24 * 3600;
/** Free share of audit storage below which SR 2.9 is not met. */
export const MIN_AUDIT_HEADROOM = 0.1;

/** SR 2.4: the browser may run only the server's own scripts, and no plug-ins. */
function restrictsMobileCode(f: FactReader): CheckOutcome {
  const csp = field(f, 'http.headers', 'contentSecurityPolicy', 'string');
  const directives = new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map((parts) => [parts[0]!.toLowerCase(), parts.slice(1)]),
  );
  const scripts = directives.get('script-src') ?? directives.get('default-src');
  const objects = directives.get('object-src') ?? directives.get('default-src');
  const problems: string[] = [];
  if (!scripts) problems.push('no script-src or default-src');
  else if (scripts.some((s) => s !== "'self'")) problems.push(`script sources are ${scripts.join(' ')}`);
  if (!objects || objects.join(' ') !== "'none'") problems.push("object-src is not 'none'");
  return problems.length === 0
    ? met(`the Content-Security-Policy lets the browser run only the server's own scripts and no plug-ins`)
    : notMet(
        `the Content-Security-Policy allows more: ${problems.join('; ')}`,
        "restore the default policy: script-src 'self', object-src 'none', no unsafe-inline or unsafe-eval",
      );
}

function attributable(f: FactReader, allSubjects: boolean): CheckOutcome {
  const appendOnly = f.boolean('audit.log.appendOnly');
  const signed = f.boolean('audit.checkpoint.signed');
  const attributed = f.boolean('audit.events.actorAttributed');
  const unique = f.boolean('identity.accounts.uniqueHumanIdentities');
  const problems: string[] = [];
  if (!appendOnly) problems.push('the audit log is not append-only');
  if (!signed) problems.push('audit checkpoints are not signed');
  if (!attributed) problems.push('some audit events name no actor');
  if (!unique) problems.push('shared human accounts exist');
  if (allSubjects && !f.boolean('identity.serviceAccounts.individual'))
    problems.push('service accounts are shared');
  return problems.length === 0
    ? met(
        `every action is attributed to an individual ${allSubjects ? 'subject (person or program)' : 'person'} in a signed, append-only log`,
      )
    : notMet(
        problems.join('; '),
        'fix each point: individual accounts, actor on every event, signed append-only audit log',
      );
}

export const FR2_CHECKS: Check[] = [
  automated('SR 2.1', ['access.denyByDefault', 'access.enforcement.allRoutes'], (f) => {
    if (!f.boolean('access.denyByDefault'))
      return notMet('actions are allowed unless denied', 'switch authorization to deny by default');
    return f.boolean('access.enforcement.allRoutes')
      ? met('every route asks the access decision, which denies by default')
      : notMet(
          'some routes skip the access decision',
          'route every non-public endpoint through the access decision',
        );
  }),
  automated('SR 2.1 RE1', ['access.enforcement.allSubjects'], (f) =>
    f.boolean('access.enforcement.allSubjects')
      ? met('the access decision applies to people, service accounts and devices')
      : notMet(
          'some kinds of subject bypass the access decision',
          'apply the access decision to service accounts and devices too',
        ),
  ),
  automated('SR 2.1 RE2', ['access.permissions.viaRolesOnly', 'access.roles'], (f) => {
    const roles = f.strings('access.roles');
    return f.boolean('access.permissions.viaRolesOnly') && roles.length > 0
      ? met(`permissions are granted only through roles (${list(roles)})`)
      : notMet('permissions are granted outside roles', 'grant permissions only through roles');
  }),
  automated('SR 2.1 RE3', ['access.supervisorOverride.enabled'], (f) =>
    f.boolean('access.supervisorOverride.enabled')
      ? met('a supervisor can grant a time-limited, audited override')
      : notMet('no supervisor override is available', 'enable supervisor override'),
  ),
  automated('SR 2.1 RE4', ['access.dualApproval.enabled', 'access.dualApproval.actions'], (f) => {
    const on = f.boolean('access.dualApproval.enabled');
    const actions = on ? f.strings('access.dualApproval.actions') : [];
    return on && actions.length > 0
      ? met(`dual approval is required for ${list(actions)}`)
      : notMet(
          'no action needs a second approver',
          'turn dual approval on for critical actions (key destruction, recording deletion, role changes)',
        );
  }),
  attestation(
    'SR 2.2',
    'wireless connections in the zone are limited to what is authorised and are monitored (or there is no wireless)',
    true,
  ),
  attestation(
    'SR 2.2 RE1',
    'unauthorised wireless devices near the zone are detected and reported (or there is no wireless)',
    true,
  ),
  attestation(
    'SR 2.3',
    'portable and mobile devices (laptops, USB media, phones) are restricted in the zone and their use is recorded',
    true,
  ),
  attestation(
    'SR 2.3 RE1',
    'portable devices must meet a security baseline before they may connect to the zone',
    true,
  ),
  automated('SR 2.4', ['http.headers'], restrictsMobileCode),
  automated('SR 2.4 RE1', ['http.headers', LISTENERS], (f) => {
    const base = restrictsMobileCode(f);
    if (base.status !== 'met') return base;
    const plain = listeners(f).filter((l) => l.transport !== 'tls');
    return plain.length === 0
      ? met(`${base.reason}, delivered only over authenticated TLS so its origin and integrity are verified`)
      : notMet(`${list(plain.map((l) => l.key))} serve without TLS`, 'serve the console only over TLS');
  }),
  automated('SR 2.5', ['identity.session.idleTimeoutSeconds'], (f) => {
    const idle = f.numberOrNull('identity.session.idleTimeoutSeconds');
    return idle !== null && idle > 0 && idle <= MAX_IDLE_SECONDS
      ? met(`idle sessions lock after ${idle} s`)
      : notMet(
          idle === null ? 'idle sessions never lock' : `idle sessions lock only after ${idle} s`,
          `set the idle timeout to ${MAX_IDLE_SECONDS} s or less`,
        );
  }),
  automated(
    'SR 2.6',
    [
      'identity.session.idleTimeoutSeconds',
      'identity.session.absoluteLifetimeSeconds',
      'identity.session.adminTermination',
    ],
    (f) => {
      const idle = f.numberOrNull('identity.session.idleTimeoutSeconds');
      const life = f.numberOrNull('identity.session.absoluteLifetimeSeconds');
      const admin = f.boolean('identity.session.adminTermination');
      if (idle === null) return notMet('sessions never end for inactivity', 'set an idle timeout');
      if (life === null || life > MAX_SESSION_LIFETIME_SECONDS) {
        return notMet(
          life === null ? 'sessions have no maximum lifetime' : `sessions live up to ${life} s`,
          `set a session lifetime of ${MAX_SESSION_LIFETIME_SECONDS} s or less`,
        );
      }
      return admin
        ? met(
            `sessions end after ${idle} s idle or ${life} s in total, and administrators can end any session`,
          )
        : notMet(
            'administrators cannot end sessions remotely',
            'use a Palisade version that lets administrators terminate sessions',
          );
    },
  ),
  automated('SR 2.7', ['identity.session.concurrentLimit'], (f) => {
    const limit = f.numberOrNull('identity.session.concurrentLimit');
    return limit !== null && limit >= 1
      ? met(`an account may hold at most ${limit} session(s) at once`)
      : notMet('an account may hold any number of sessions', 'set a concurrent-session limit per account');
  }),
  automated('SR 2.8', ['audit.log.enabled', 'audit.log.healthy', 'audit.events.actorAttributed'], (f) => {
    if (!f.boolean('audit.log.enabled'))
      return notMet('the audit log is not recording', 'enable the audit log');
    if (!f.boolean('audit.log.healthy'))
      return notMet(
        'the audit log is failing to append',
        'restore the audit log storage (see palisade audit status)',
      );
    return f.boolean('audit.events.actorAttributed')
      ? met('security-relevant events are recorded with actor, action, target, outcome and time')
      : notMet('some audit events name no actor', 'upgrade the modules that emit events without an actor');
  }),
  automated('SR 2.8 RE1', ['audit.log.systemWide'], (f) =>
    f.boolean('audit.log.systemWide')
      ? met('every module records into one centrally queryable audit log')
      : notMet(
          'some modules keep their own audit records',
          'route every module through the central audit log',
        ),
  ),
  automated('SR 2.9', ['audit.storage.headroomRatio'], (f) => {
    const free = f.number('audit.storage.headroomRatio');
    return free >= MIN_AUDIT_HEADROOM
      ? met(`${Math.round(free * 100)}% of the audit log's storage is free`)
      : notMet(
          `only ${Math.round(free * 100)}% of the audit log's storage is free`,
          'add storage to the audit log volume',
        );
  }),
  automated('SR 2.9 RE1', ['audit.storage.warningThresholdRatio'], (f) => {
    const threshold = f.numberOrNull('audit.storage.warningThresholdRatio');
    return threshold !== null && threshold > 0
      ? met(`a warning is raised when less than ${Math.round(threshold * 100)}% of audit storage is free`)
      : notMet('no warning before audit storage fills', 'set an audit storage warning threshold');
  }),
  automated('SR 2.10', ['audit.failure.mode'], (f) => {
    const mode = f.string('audit.failure.mode');
    return mode === 'block'
      ? met('actions that cannot be audited are refused, and the failure is raised')
      : notMet(`on audit failure the system does: ${mode}`, 'set the audit failure mode to block');
  }),
  automated('SR 2.11', ['audit.timestamps.utc'], (f) =>
    f.boolean('audit.timestamps.utc')
      ? met('audit records carry UTC timestamps with millisecond precision')
      : notMet('audit timestamps are not in UTC', 'use a Palisade version that stamps audit records in UTC'),
  ),
  automated('SR 2.11 RE1', ['time.sync'], (f) => {
    const status = field(f, 'time.sync', 'status', 'string');
    const detail = field(f, 'time.sync', 'detail', 'string');
    if (status === 'synchronized') return met(`the system clock is synchronised (${detail})`);
    if (status === 'unsynchronized')
      return notMet(
        `the system clock is not synchronised (${detail})`,
        'configure NTP (systemd-timesyncd or chrony) and check that it reaches its servers',
      );
    return { status: 'not-assessed', reason: `time synchronisation cannot be observed: ${detail}` };
  }),
  automated('SR 2.11 RE2', ['time.sync'], (f) => {
    const sync = f.object('time.sync');
    if (sync.authenticated === true) return met('the time source is authenticated (NTS)');
    if (sync.authenticated === false)
      return notMet('the time source is not authenticated', 'use chrony with NTS-authenticated time servers');
    return {
      status: 'not-assessed',
      reason: 'whether the time source is authenticated cannot be observed (chrony reports it)',
    };
  }),
  automated(
    'SR 2.12',
    [
      'audit.log.appendOnly',
      'audit.checkpoint.signed',
      'audit.events.actorAttributed',
      'identity.accounts.uniqueHumanIdentities',
    ],
    (f) => attributable(f, false),
  ),
  automated(
    'SR 2.12 RE1',
    [
      'audit.log.appendOnly',
      'audit.checkpoint.signed',
      'audit.events.actorAttributed',
      'identity.accounts.uniqueHumanIdentities',
      'identity.serviceAccounts.individual',
    ],
    (f) => attributable(f, true),
  ),
];
