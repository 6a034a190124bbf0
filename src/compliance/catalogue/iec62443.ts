/**
 * IEC 62443-3-3 system requirements (SR) and requirement enhancements (RE) as data: identifiers, the
 * foundational requirement (FR) each belongs to, short titles and the security level (SL) from which
 * each applies. Identifiers, titles and levels are facts from the public encodings of the standard; the
 * summaries are Palisade's own words and say what the requirement asks of a VMS, not the licensed text.
 *
 * Seven gating cells differ between public encodings. Each is marked `disputed` with the alternative;
 * an operator may choose the alternative in configuration (`compliance.gatingOverrides`) and every
 * report says which cells were overridden.
 */

export type SecurityLevel = 0 | 1 | 2 | 3 | 4;
/** A level at which a requirement starts to apply. */
export type GatingLevel = 1 | 2 | 3 | 4;
export type FrNumber = 1 | 2 | 3 | 4 | 5 | 6 | 7;
/** One level per FR, FR1 first. */
export type SlVector = [
  SecurityLevel,
  SecurityLevel,
  SecurityLevel,
  SecurityLevel,
  SecurityLevel,
  SecurityLevel,
  SecurityLevel,
];

/** `SR 1.1` or `SR 1.1 RE2`. */
export type RequirementId = string;

export interface FoundationalRequirement {
  fr: FrNumber;
  code: 'IAC' | 'UC' | 'SI' | 'DC' | 'RDF' | 'TRE' | 'RA';
  name: string;
}

export interface DisputedCell {
  /** The level another public encoding gives, or `omitted` where one encoding leaves the RE out. */
  alternative: GatingLevel | 'omitted';
  note: string;
}

export interface Requirement {
  id: RequirementId;
  /** The SR this is, or the SR this RE enhances. */
  sr: RequirementId;
  /** Enhancement number; null for the SR itself. */
  re: number | null;
  fr: FrNumber;
  title: string;
  /** What the requirement asks of a VMS, in Palisade's words. */
  summary: string;
  /** The level from which it applies in Palisade's catalogue (before any override). */
  level: GatingLevel;
  disputed?: DisputedCell;
}

export const CATALOGUE_VERSION = 'palisade-compliance-catalogue/1.0.0';

export const FOUNDATIONAL_REQUIREMENTS: readonly FoundationalRequirement[] = [
  { fr: 1, code: 'IAC', name: 'Identification and authentication control' },
  { fr: 2, code: 'UC', name: 'Use control' },
  { fr: 3, code: 'SI', name: 'System integrity' },
  { fr: 4, code: 'DC', name: 'Data confidentiality' },
  { fr: 5, code: 'RDF', name: 'Restricted data flow' },
  { fr: 6, code: 'TRE', name: 'Timely response to events' },
  { fr: 7, code: 'RA', name: 'Resource availability' },
];

interface ReRow {
  re: number;
  title: string;
  level: GatingLevel;
  summary: string;
  disputed?: DisputedCell;
}

interface SrRow {
  fr: FrNumber;
  sr: string;
  title: string;
  level: GatingLevel;
  summary: string;
  disputed?: DisputedCell;
  res?: ReRow[];
}

const re = (n: number, title: string, level: GatingLevel, summary: string, disputed?: DisputedCell): ReRow =>
  disputed ? { re: n, title, level, summary, disputed } : { re: n, title, level, summary };

const ROWS: SrRow[] = [
  // FR1 identification and authentication control
  {
    fr: 1,
    sr: '1.1',
    title: 'Human user identification and authentication',
    level: 1,
    summary: 'Every person is identified and authenticated before the system lets them do anything.',
    res: [
      re(
        1,
        'Unique identification and authentication',
        2,
        'Each person has an account of their own; no shared logins.',
      ),
      re(
        2,
        'Multifactor authentication for untrusted networks',
        3,
        'People reaching the system from networks it does not trust must present a second factor.',
      ),
      re(
        3,
        'Multifactor authentication for all networks',
        4,
        'A second factor is required for every person on every network, trusted or not.',
      ),
    ],
  },
  {
    fr: 1,
    sr: '1.2',
    title: 'Software process and device identification and authentication',
    level: 2,
    summary: 'Programs and devices that talk to the system are identified and authenticated like people are.',
    res: [
      re(
        1,
        'Unique identification and authentication',
        3,
        'Each program or device has its own identity and credential, never a shared one.',
      ),
    ],
  },
  {
    fr: 1,
    sr: '1.3',
    title: 'Account management',
    level: 1,
    summary: 'Authorised administrators can create, change, disable and remove accounts.',
    res: [
      re(
        1,
        'Unified account management',
        3,
        'Accounts are managed in one place for the whole system, for example a central identity provider.',
      ),
    ],
  },
  {
    fr: 1,
    sr: '1.4',
    title: 'Identifier management',
    level: 1,
    summary:
      'Identifiers are assigned, kept and retired under a defined procedure (by user, group, role or interface).',
  },
  {
    fr: 1,
    sr: '1.5',
    title: 'Authenticator management',
    level: 1,
    summary:
      'Passwords, tokens and keys are issued, stored, changed and revoked safely; no default credentials remain.',
    res: [
      re(
        1,
        'Hardware security for software process identity credentials',
        3,
        'Credentials used by programs are protected by hardware such as an HSM or TPM.',
      ),
    ],
  },
  {
    fr: 1,
    sr: '1.6',
    title: 'Wireless access management',
    level: 1,
    summary: 'Anyone or anything connecting over wireless is identified and authenticated.',
    res: [
      re(
        1,
        'Unique identification and authentication',
        2,
        'Each wireless user or device is identified individually.',
      ),
    ],
  },
  {
    fr: 1,
    sr: '1.7',
    title: 'Strength of password-based authentication',
    level: 1,
    summary: 'Passwords must meet a configurable strength (length and character rules).',
    res: [
      re(
        1,
        'Password generation and lifetime restrictions for human users',
        3,
        'Human passwords have a minimum and maximum lifetime and cannot be reused immediately.',
      ),
      re(
        2,
        'Password lifetime restrictions for all users',
        4,
        'Lifetime rules apply to every account, including programs and service accounts.',
      ),
    ],
  },
  {
    fr: 1,
    sr: '1.8',
    title: 'Public key infrastructure certificates',
    level: 2,
    summary:
      'Where certificates are used, they come from a managed PKI the asset owner trusts, not ad hoc self-signed ones.',
  },
  {
    fr: 1,
    sr: '1.9',
    title: 'Strength of public key authentication',
    level: 2,
    summary:
      'Certificates are validated (signature, validity period, trust chain) and their keys are strong enough.',
    res: [
      re(
        1,
        'Hardware security for public key authentication',
        3,
        'Private keys used for authentication are held and used inside hardware.',
      ),
    ],
  },
  {
    fr: 1,
    sr: '1.10',
    title: 'Authenticator feedback',
    level: 1,
    summary: 'Sign-in screens and errors never reveal the secret or which part of a credential was wrong.',
  },
  {
    fr: 1,
    sr: '1.11',
    title: 'Unsuccessful login attempts',
    level: 1,
    summary: 'Repeated failed sign-ins lead to a lockout or delay after a configurable number of attempts.',
  },
  {
    fr: 1,
    sr: '1.12',
    title: 'System use notification',
    level: 1,
    summary: 'A configurable notice is shown before sign-in (authorised use only, monitoring).',
  },
  {
    fr: 1,
    sr: '1.13',
    title: 'Access via untrusted networks',
    level: 1,
    summary: 'Every way into the system from an untrusted network is known, monitored and controlled.',
    res: [
      re(
        1,
        'Explicit access request approval',
        2,
        'Access from untrusted networks needs an explicit approval each time, or is denied.',
      ),
    ],
  },

  // FR2 use control
  {
    fr: 2,
    sr: '2.1',
    title: 'Authorization enforcement',
    level: 1,
    summary:
      'Every action is checked against the permissions of whoever asks; nothing is allowed by default.',
    res: [
      re(
        1,
        'Authorization enforcement for all users',
        2,
        'Checks apply to every kind of user: people, programs and devices.',
      ),
      re(
        2,
        'Permission mapping to roles',
        2,
        'Permissions are granted through roles that administrators can define and assign.',
      ),
      re(
        3,
        'Supervisor override',
        3,
        "A supervisor can temporarily override a person's permissions, and the override is recorded.",
      ),
      re(4, 'Dual approval', 4, 'Selected critical actions need the approval of a second authorised person.'),
    ],
  },
  {
    fr: 2,
    sr: '2.2',
    title: 'Wireless use control',
    level: 1,
    summary: 'Wireless connections are restricted to what is authorised and monitored.',
    res: [
      re(
        1,
        'Identify and report unauthorized wireless devices',
        3,
        'Unauthorised wireless devices within reach of the system are detected and reported.',
        {
          alternative: 2,
          note: 'some public encodings gate this enhancement at SL 2',
        },
      ),
    ],
  },
  {
    fr: 2,
    sr: '2.3',
    title: 'Use control for portable and mobile devices',
    level: 1,
    summary:
      'Portable and mobile devices (laptops, USB media, phones) are restricted and their use recorded.',
    res: [
      re(
        1,
        'Enforcement of security status of portable and mobile devices',
        3,
        'A portable device must meet a security baseline before it may connect.',
        {
          alternative: 2,
          note: 'some public encodings gate this enhancement at SL 2',
        },
      ),
    ],
  },
  {
    fr: 2,
    sr: '2.4',
    title: 'Mobile code',
    level: 1,
    summary:
      'Code that is downloaded and run (for example scripts in a browser) is restricted to what the system itself provides.',
    res: [
      re(
        1,
        'Mobile code integrity check',
        3,
        'The integrity and origin of such code is verified before it runs.',
      ),
    ],
  },
  {
    fr: 2,
    sr: '2.5',
    title: 'Session lock',
    level: 1,
    summary: 'An idle session locks after a configurable time and needs authentication to resume.',
  },
  {
    fr: 2,
    sr: '2.6',
    title: 'Remote session termination',
    level: 2,
    summary: 'Remote sessions end after inactivity or a set lifetime, and an administrator can end them.',
  },
  {
    fr: 2,
    sr: '2.7',
    title: 'Concurrent session control',
    level: 3,
    summary: 'The number of sessions one account may hold at the same time is limited.',
  },
  {
    fr: 2,
    sr: '2.8',
    title: 'Auditable events',
    level: 1,
    summary:
      'Security-relevant events (access control, errors, configuration changes, audit log events) are recorded with who, what, when and outcome.',
    res: [
      re(
        1,
        'Centrally managed, system-wide audit trail',
        3,
        'All components record into one audit trail that can be managed and searched centrally.',
      ),
    ],
  },
  {
    fr: 2,
    sr: '2.9',
    title: 'Audit storage capacity',
    level: 1,
    summary: 'Enough storage is reserved for audit records that they are not lost when space runs short.',
    res: [
      re(
        1,
        'Warn when audit record storage capacity threshold reached',
        3,
        'Operators are warned before the audit storage fills up.',
      ),
    ],
  },
  {
    fr: 2,
    sr: '2.10',
    title: 'Response to audit processing failures',
    level: 1,
    summary:
      'When audit records cannot be written, the system reacts in a defined, safe way and raises an alarm.',
  },
  {
    fr: 2,
    sr: '2.11',
    title: 'Timestamps',
    level: 2,
    summary: 'Audit records carry timestamps precise enough and in a common time base (UTC) to order events.',
    res: [
      re(1, 'Internal time synchronization', 3, 'System clocks are synchronised to a common time source.'),
      re(
        2,
        'Protection of time source integrity',
        4,
        'Changes to the time source are detected, and the time source is authenticated.',
      ),
    ],
  },
  {
    fr: 2,
    sr: '2.12',
    title: 'Non-repudiation',
    level: 3,
    summary: 'A person cannot plausibly deny an action the audit trail attributes to them.',
    res: [
      re(
        1,
        'Non-repudiation for all users',
        4,
        'The same holds for every kind of user, including programs and devices.',
      ),
    ],
  },

  // FR3 system integrity
  {
    fr: 3,
    sr: '3.1',
    title: 'Communication integrity',
    level: 1,
    summary: 'Information in transit is protected against undetected modification.',
    res: [
      re(
        1,
        'Cryptographic integrity protection',
        3,
        'That protection is cryptographic (authenticated encryption or MACs).',
      ),
    ],
  },
  {
    fr: 3,
    sr: '3.2',
    title: 'Malicious code protection',
    level: 1,
    summary: 'Malicious code is prevented, detected and reported, and its effects are contained.',
    res: [
      re(
        1,
        'Malicious code protection on entry and exit points',
        2,
        'Protection is applied where data and files enter or leave the system.',
      ),
      re(
        2,
        'Central management and reporting for malicious code protection',
        3,
        'Malicious code protection is managed and reported centrally.',
      ),
    ],
  },
  {
    fr: 3,
    sr: '3.3',
    title: 'Security functionality verification',
    level: 1,
    summary: 'The security functions are verified to work as intended (at acceptance tests and maintenance).',
    res: [
      re(
        1,
        'Automated mechanisms for security functionality verification',
        3,
        'Verification is supported by automated tools.',
      ),
      re(
        2,
        'Security functionality verification during normal operation',
        4,
        'Verification also runs while the system is in normal operation.',
      ),
    ],
  },
  {
    fr: 3,
    sr: '3.4',
    title: 'Software and information integrity',
    level: 2,
    summary: 'Unauthorised changes to software and stored information are detected.',
    disputed: {
      alternative: 1,
      note: 'the original edition gated this SR at SL 1; a 2014 corrigendum removed SL 1',
    },
    res: [
      re(
        1,
        'Automated notification about integrity violations',
        3,
        'Detected integrity violations are reported automatically.',
      ),
    ],
  },
  {
    fr: 3,
    sr: '3.5',
    title: 'Input validation',
    level: 1,
    summary: 'Every input from people, programs and devices is checked for syntax and content before use.',
  },
  {
    fr: 3,
    sr: '3.6',
    title: 'Deterministic output',
    level: 1,
    summary:
      'Outputs that drive physical processes go to a predetermined state when normal operation cannot continue.',
  },
  {
    fr: 3,
    sr: '3.7',
    title: 'Error handling',
    level: 2,
    summary:
      'Errors are reported in a way that helps fix them without revealing information useful to an attacker.',
  },
  {
    fr: 3,
    sr: '3.8',
    title: 'Session integrity',
    level: 2,
    summary: 'Sessions are protected against hijacking and forgery.',
    res: [
      re(
        1,
        'Invalidation of session IDs after session termination',
        3,
        'A session identifier stops working as soon as its session ends.',
      ),
      re(2, 'Unique session ID generation', 3, 'Every session gets its own identifier, never reused.'),
      re(
        3,
        'Randomness of session IDs',
        4,
        'Session identifiers come from a cryptographically strong random source.',
      ),
    ],
  },
  {
    fr: 3,
    sr: '3.9',
    title: 'Protection of audit information',
    level: 2,
    summary: 'Audit records and audit tools are protected against unauthorised reading, change and deletion.',
    res: [
      re(
        1,
        'Audit records on write-once media',
        4,
        'Audit records are kept on storage that cannot be rewritten.',
      ),
    ],
  },

  // FR4 data confidentiality
  {
    fr: 4,
    sr: '4.1',
    title: 'Information confidentiality',
    level: 1,
    summary: 'Information that needs read authorisation is kept confidential in transit and at rest.',
    res: [
      re(
        1,
        'Protection of confidentiality at rest or in transit via untrusted networks',
        2,
        'Stored information and traffic crossing untrusted networks are encrypted.',
      ),
      re(
        2,
        'Protection of confidentiality across zone boundaries',
        4,
        'Information crossing any zone boundary is encrypted.',
        {
          alternative: 3,
          note: 'some public encodings gate this enhancement at SL 3',
        },
      ),
    ],
  },
  {
    fr: 4,
    sr: '4.2',
    title: 'Information persistence',
    level: 2,
    summary:
      'Information is purged from components taken out of service or reused, so it cannot be recovered.',
    res: [
      re(
        1,
        'Purging of shared memory resources',
        3,
        'Shared memory is cleared before it is reused by another user or process.',
      ),
    ],
  },
  {
    fr: 4,
    sr: '4.3',
    title: 'Use of cryptography',
    level: 1,
    summary:
      'Cryptography, where used, follows recognised algorithms, key sizes and key management practice.',
  },

  // FR5 restricted data flow
  {
    fr: 5,
    sr: '5.1',
    title: 'Network segmentation',
    level: 1,
    summary: 'Control system networks are segmented from other networks.',
    res: [
      re(1, 'Physical network segmentation', 2, 'Segmentation is physical, not only logical.'),
      re(
        2,
        'Independence from non-control system networks',
        3,
        'The control system keeps working without services from non-control networks.',
      ),
      re(
        3,
        'Logical and physical isolation of critical networks',
        4,
        'Critical networks are isolated both logically and physically.',
      ),
    ],
  },
  {
    fr: 5,
    sr: '5.2',
    title: 'Zone boundary protection',
    level: 1,
    summary: 'Traffic at zone boundaries is monitored and controlled through declared conduits.',
    res: [
      re(
        1,
        'Deny by default, allow by exception',
        2,
        'Boundaries deny all traffic except what is explicitly allowed.',
      ),
      re(2, 'Island mode', 3, 'A zone can be cut off from all others on demand and keep working.'),
      re(
        3,
        'Fail close',
        3,
        'When boundary protection fails, it blocks traffic rather than letting it through.',
        {
          alternative: 4,
          note: 'some public encodings gate this enhancement at SL 4',
        },
      ),
    ],
  },
  {
    fr: 5,
    sr: '5.3',
    title: 'General purpose person-to-person communication restrictions',
    level: 1,
    summary:
      'General purpose messaging (e-mail, chat, social media) from outside does not reach the control system.',
    res: [
      re(
        1,
        'Prohibit all general purpose person-to-person communications',
        3,
        'Such messaging is prohibited altogether inside the zone.',
      ),
    ],
  },
  {
    fr: 5,
    sr: '5.4',
    title: 'Application partitioning',
    level: 1,
    summary: 'Applications and data are partitioned by criticality so that one cannot affect another.',
    disputed: { alternative: 2, note: 'some public encodings gate this SR at SL 2' },
  },

  // FR6 timely response to events
  {
    fr: 6,
    sr: '6.1',
    title: 'Audit log accessibility',
    level: 1,
    summary: 'Authorised people and tools can read the audit log (read only).',
    res: [
      re(
        1,
        'Programmatic access to audit logs',
        3,
        'The audit log can be read through an API by tools such as a SIEM.',
      ),
    ],
  },
  {
    fr: 6,
    sr: '6.2',
    title: 'Continuous monitoring',
    level: 2,
    summary: 'Security mechanisms are monitored continuously to detect and report breaches in time.',
  },

  // FR7 resource availability
  {
    fr: 7,
    sr: '7.1',
    title: 'Denial of service protection',
    level: 1,
    summary: 'The system keeps its essential functions during a denial-of-service event, possibly degraded.',
    res: [
      re(
        1,
        'Manage communication loads',
        2,
        'Communication load is managed (rate limits, quotas) to absorb floods.',
      ),
      re(
        2,
        'Limit DoS effects to other systems or networks',
        3,
        'The system cannot be turned into a source of denial of service against others.',
        {
          alternative: 'omitted',
          note: 'one public encoding omits this enhancement',
        },
      ),
    ],
  },
  {
    fr: 7,
    sr: '7.2',
    title: 'Resource management',
    level: 1,
    summary: 'Resources used by functions are limited so that they cannot be exhausted.',
  },
  {
    fr: 7,
    sr: '7.3',
    title: 'Control system backup',
    level: 1,
    summary:
      'System-level information (configuration, keys, records) is backed up without disturbing operation.',
    res: [
      re(1, 'Backup verification', 2, 'Backups are verified to be usable.'),
      re(2, 'Backup automation', 3, 'Backups run automatically on a schedule.'),
    ],
  },
  {
    fr: 7,
    sr: '7.4',
    title: 'Control system recovery and reconstitution',
    level: 1,
    summary: 'After a disruption or failure the system comes back to a known secure state.',
  },
  {
    fr: 7,
    sr: '7.5',
    title: 'Emergency power',
    level: 1,
    summary: 'A switch to and from emergency power does not weaken security.',
  },
  {
    fr: 7,
    sr: '7.6',
    title: 'Network and security configuration settings',
    level: 1,
    summary: 'The system is configured as its supplier recommends and its current settings can be reported.',
    res: [
      re(
        1,
        'Machine-readable reporting of current security settings',
        3,
        'The current security settings can be exported in a machine-readable form.',
      ),
    ],
  },
  {
    fr: 7,
    sr: '7.7',
    title: 'Least functionality',
    level: 1,
    summary: 'Functions, ports, protocols and services that are not needed are disabled or restricted.',
  },
  {
    fr: 7,
    sr: '7.8',
    title: 'Control system component inventory',
    level: 2,
    summary: 'An inventory of all components (with versions) is kept and can be reported.',
  },
];

function flatten(rows: SrRow[]): Requirement[] {
  const out: Requirement[] = [];
  for (const row of rows) {
    const srId = `SR ${row.sr}`;
    out.push({
      id: srId,
      sr: srId,
      re: null,
      fr: row.fr,
      title: row.title,
      summary: row.summary,
      level: row.level,
      ...(row.disputed ? { disputed: row.disputed } : {}),
    });
    for (const r of row.res ?? []) {
      out.push({
        id: `${srId} RE${r.re}`,
        sr: srId,
        re: r.re,
        fr: row.fr,
        title: r.title,
        summary: r.summary,
        level: r.level,
        ...(r.disputed ? { disputed: r.disputed } : {}),
      });
    }
  }
  return out;
}

/** Every SR and RE, SRs each followed by their REs, in the standard's order. */
export const REQUIREMENTS: readonly Requirement[] = Object.freeze(flatten(ROWS));

const BY_ID = new Map(REQUIREMENTS.map((r) => [r.id, r]));

export function requirementById(id: RequirementId): Requirement | undefined {
  return BY_ID.get(id);
}

export const REQUIREMENT_ID_PATTERN = /^SR [1-7]\.[0-9]{1,2}( RE[0-9])?$/;
