/**
 * US NDAA FY2019 section 889 (FAR 52.204-25) as data, and a pure matcher that says which rule fired on
 * which piece of evidence. Covered entities and their commonly cited sub-brands are "covered"; OEM
 * relabels that are widely reported but need per-model proof are only ever "suspected". The matcher
 * never says a device is compliant: "no-match" means only that no rule fired on the evidence given.
 */

export type EvidenceField = 'manufacturer' | 'model' | 'onvifHardwareId' | 'firmwareBanner' | 'macVendor';

export const EVIDENCE_FIELDS: readonly EvidenceField[] = [
  'manufacturer',
  'model',
  'onvifHardwareId',
  'firmwareBanner',
  'macVendor',
];

/**
 * What is known about a device. `macVendor` is the organisation the IEEE registry lists for the MAC
 * address's OUI (the caller resolves it); `firmwareBanner` is any version or server string the device
 * announces (HTTP `Server`, RTSP banner, ONVIF firmware version).
 */
export type DeviceEvidence = Partial<Record<EvidenceField, string>>;

export type RuleStatus = 'covered' | 'suspected';

export interface Ndaa889Rule {
  id: string;
  /** The name people know it by. */
  name: string;
  /** The covered entity this rule traces back to. */
  entity: string;
  relation: 'covered-entity' | 'sub-brand' | 'suspected-relabel';
  status: RuleStatus;
  /** Huawei and ZTE: any telecommunications equipment; the others: video surveillance and telecom equipment. */
  scope: 'telecommunications-equipment' | 'video-surveillance-and-telecommunications-equipment';
  /** Name variants; matched as whole words, case- and punctuation-insensitive. */
  terms: readonly string[];
  /** Evidence fields in which a term counts. Short or ambiguous names count only as the manufacturer. */
  fields: readonly EvidenceField[];
  /** A further condition that must also hold (e.g. a product line of an otherwise unaffected brand). */
  requires?: { terms: readonly string[]; fields: readonly EvidenceField[] };
  note: string;
}

export const NDAA889_VERSION = 'NDAA FY2019 section 889 / FAR 52.204-25';

const NAMED: readonly EvidenceField[] = [
  'manufacturer',
  'model',
  'onvifHardwareId',
  'firmwareBanner',
  'macVendor',
];
const MAKER: readonly EvidenceField[] = ['manufacturer', 'macVendor'];
const HIK = 'Hangzhou Hikvision Digital Technology Company';
const DAHUA = 'Dahua Technology Company';
const VIDEO = 'video-surveillance-and-telecommunications-equipment' as const;
const RELABEL_NOTE =
  'widely reported OEM relabel; treat as suspected unless the manufacturer confirms the origin per model';

export const NDAA889_RULES: readonly Ndaa889Rule[] = [
  {
    id: 'huawei',
    name: 'Huawei',
    entity: 'Huawei Technologies Company',
    relation: 'covered-entity',
    status: 'covered',
    scope: 'telecommunications-equipment',
    terms: ['huawei'],
    fields: NAMED,
    note: 'covered entity, including subsidiaries and affiliates',
  },
  {
    id: 'zte',
    name: 'ZTE',
    entity: 'ZTE Corporation',
    relation: 'covered-entity',
    status: 'covered',
    scope: 'telecommunications-equipment',
    terms: ['zte', 'zte corporation'],
    fields: MAKER,
    note: 'covered entity; the short name counts only as the manufacturer or MAC vendor',
  },
  {
    id: 'hytera',
    name: 'Hytera',
    entity: 'Hytera Communications Corporation',
    relation: 'covered-entity',
    status: 'covered',
    scope: VIDEO,
    terms: ['hytera'],
    fields: NAMED,
    note: 'covered entity when used for public safety, government facilities, critical infrastructure or national security',
  },
  {
    id: 'hikvision',
    name: 'Hikvision',
    entity: HIK,
    relation: 'covered-entity',
    status: 'covered',
    scope: VIDEO,
    terms: ['hikvision', 'hik vision'],
    fields: NAMED,
    note: 'covered entity when used for public safety, government facilities, critical infrastructure or national security',
  },
  {
    id: 'dahua',
    name: 'Dahua',
    entity: DAHUA,
    relation: 'covered-entity',
    status: 'covered',
    scope: VIDEO,
    terms: ['dahua'],
    fields: NAMED,
    note: 'covered entity when used for public safety, government facilities, critical infrastructure or national security',
  },
  ...(
    [
      ['ezviz', 'EZVIZ', HIK, ['ezviz']],
      ['hilook', 'HiLook', HIK, ['hilook']],
      ['hiwatch', 'HiWatch', HIK, ['hiwatch']],
      ['hikmicro', 'HikMicro', HIK, ['hikmicro']],
      ['imou', 'IMOU', DAHUA, ['imou']],
      ['lechange', 'Lechange', DAHUA, ['lechange']],
    ] as const
  ).map(([id, name, entity, terms]): Ndaa889Rule => ({
    id,
    name,
    entity,
    relation: 'sub-brand',
    status: 'covered',
    scope: VIDEO,
    terms,
    fields: NAMED,
    note: `commonly cited brand of ${entity === HIK ? 'Hikvision' : 'Dahua'}`,
  })),
  {
    id: 'prama',
    name: 'Prama',
    entity: HIK,
    relation: 'sub-brand',
    status: 'covered',
    scope: VIDEO,
    terms: ['prama hikvision', 'prama'],
    fields: MAKER,
    note: 'Hikvision joint venture in India (Prama Hikvision)',
  },
  ...(
    [
      ['lts', 'LTS', 'Hikvision', ['lts', 'lt security']],
      ['annke', 'Annke', 'Hikvision or Dahua', ['annke']],
      ['lorex', 'Lorex', 'Hikvision or Dahua (some models)', ['lorex']],
      ['swann', 'Swann', 'Hikvision or Dahua (some models)', ['swann']],
      ['amcrest', 'Amcrest', 'Dahua', ['amcrest']],
      ['ic-realtime', 'IC Realtime', 'Dahua', ['ic realtime', 'icrealtime']],
      ['cp-plus', 'CP Plus', 'Dahua', ['cp plus', 'cpplus']],
    ] as const
  ).map(([id, name, origin, terms]): Ndaa889Rule => ({
    id,
    name,
    entity: origin.startsWith('Dahua') ? DAHUA : HIK,
    relation: 'suspected-relabel',
    status: 'suspected',
    scope: VIDEO,
    terms,
    fields: MAKER,
    note: `reported as relabelled ${origin}; ${RELABEL_NOTE}`,
  })),
  {
    id: 'honeywell-performance',
    name: 'Honeywell Performance series',
    entity: `${HIK} or ${DAHUA}`,
    relation: 'suspected-relabel',
    status: 'suspected',
    scope: VIDEO,
    terms: ['honeywell'],
    fields: MAKER,
    requires: { terms: ['performance'], fields: ['model', 'firmwareBanner'] },
    note: `only the Performance series is reported as relabelled; ${RELABEL_NOTE}`,
  },
];

/** Evidence strings longer than this are cut before matching; the result says so. */
export const MAX_EVIDENCE_CHARS = 1024;

export interface Ndaa889Match {
  ruleId: string;
  name: string;
  entity: string;
  relation: Ndaa889Rule['relation'];
  status: RuleStatus;
  field: EvidenceField;
  /** The evidence string (cut to MAX_EVIDENCE_CHARS). */
  value: string;
  term: string;
  /** For rules with a further condition: where it held. */
  alsoMatched?: { field: EvidenceField; term: string };
}

export interface Ndaa889Result {
  /** covered if any covered rule fired; suspected if only suspected rules fired; otherwise no-match. */
  verdict: 'covered' | 'suspected' | 'no-match';
  matches: Ndaa889Match[];
  /** Fields that were cut to MAX_EVIDENCE_CHARS before matching. */
  truncated: EvidenceField[];
  rulesVersion: string;
}

function normalise(text: string): string {
  return ` ${text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()} `;
}

function findTerm(text: string, terms: readonly string[]): string | undefined {
  return terms.find((term) => text.includes(normalise(term)));
}

/** Which NDAA-889 rules fire on the evidence, and on which field. Pure; never throws. */
export function matchNdaa889(
  evidence: DeviceEvidence,
  rules: readonly Ndaa889Rule[] = NDAA889_RULES,
): Ndaa889Result {
  const truncated: EvidenceField[] = [];
  const texts = new Map<EvidenceField, { raw: string; norm: string }>();
  for (const field of EVIDENCE_FIELDS) {
    const value: unknown = evidence[field];
    if (typeof value !== 'string' || value.length === 0) continue;
    let raw = value;
    if (raw.length > MAX_EVIDENCE_CHARS) {
      raw = raw.slice(0, MAX_EVIDENCE_CHARS);
      truncated.push(field);
    }
    texts.set(field, { raw, norm: normalise(raw) });
  }

  const matches: Ndaa889Match[] = [];
  for (const rule of rules) {
    let also: Ndaa889Match['alsoMatched'];
    if (rule.requires) {
      for (const field of rule.requires.fields) {
        const text = texts.get(field);
        const term = text && findTerm(text.norm, rule.requires.terms);
        if (term !== undefined) {
          also = { field, term };
          break;
        }
      }
      if (also === undefined) continue;
    }
    for (const field of rule.fields) {
      const text = texts.get(field);
      if (!text) continue;
      const term = findTerm(text.norm, rule.terms);
      if (term === undefined) continue;
      matches.push({
        ruleId: rule.id,
        name: rule.name,
        entity: rule.entity,
        relation: rule.relation,
        status: rule.status,
        field,
        value: text.raw,
        term,
        ...(also ? { alsoMatched: also } : {}),
      });
    }
  }
  const verdict = matches.some((m) => m.status === 'covered')
    ? 'covered'
    : matches.length > 0
      ? 'suspected'
      : 'no-match';
  return { verdict, matches, truncated, rulesVersion: NDAA889_VERSION };
}
