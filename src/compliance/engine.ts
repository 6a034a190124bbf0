import { describeError } from '../errors/index.js';
import {
  FOUNDATIONAL_REQUIREMENTS,
  type EffectiveCatalogue,
  type FrNumber,
  type GatingLevel,
  type RequirementId,
  type SecurityLevel,
  type SlVector,
} from './catalogue/index.js';
import {
  FactReader,
  MalformedFact,
  MissingFact,
  checkRegistry,
  zoneViews,
  type Check,
  type CheckOutcome,
  type CheckStatus,
} from './checks/index.js';
import { namespaceOf } from './fact-keys.js';
import type { Fact, FactCollection } from './facts.js';
import { inForce, toSlVector, type Attestation, type Countermeasure, type Zone } from './records.js';

/**
 * The SL-A engine. Pure: given the catalogue, the checks, one round of facts, the zones, attestations
 * and countermeasures, it computes per zone every requirement's result, the achieved level vector and
 * the gap list. It reads nothing else and changes nothing.
 *
 * SL-A for an FR is the highest n such that every requirement of that FR applying at n or below is met,
 * not applicable (with a justification) or compensated. "Not assessed" never counts as met, so a
 * requirement nobody can observe caps its FR.
 */

/** How a result was established. */
export type Basis = 'observed' | 'attested' | 'compensated' | 'none';

export interface RequirementResult {
  requirement: RequirementId;
  fr: FrNumber;
  title: string;
  /** Effective gating level; null when an override omits the requirement. */
  level: GatingLevel | null;
  kind: Check['kind'];
  /** The status SL-A uses (compensated results count as met). */
  status: CheckStatus;
  basis: Basis;
  /** What the check, attestation or pending entry itself said, before any countermeasure. */
  check: CheckOutcome;
  /** What would change the result, when it is not met. */
  remedy: string | null;
  /** The facts the check read. */
  evidence: Fact[];
  attestation?: Attestation;
  countermeasure?: Countermeasure;
}

export interface GapItem {
  requirement: RequirementId;
  title: string;
  level: GatingLevel;
  status: CheckStatus;
  kind: Check['kind'];
  reason: string;
  remedy: string;
}

export interface FrGap {
  fr: FrNumber;
  code: string;
  achieved: SecurityLevel;
  target: SecurityLevel;
  /** True when the achieved level relies on at least one compensating countermeasure. */
  compensated: boolean;
  /** The next level and what blocks it (null at SL 4). */
  next: { level: GatingLevel; blockers: GapItem[] } | null;
  /** Everything between SL-A and SL-T that is not met (empty when the target is reached). */
  toTarget: GapItem[];
}

export interface ZoneEvaluation {
  zone: Zone;
  slTarget: SlVector;
  slAchieved: SlVector;
  /** Per FR: the achieved level relies on a compensating countermeasure. */
  compensated: boolean[];
  results: RequirementResult[];
  gaps: FrGap[];
}

export interface ComplianceEvaluation {
  evaluatedAt: string;
  catalogueVersion: string;
  overrides: { requirement: RequirementId; level: GatingLevel | null }[];
  zones: ZoneEvaluation[];
  facts: FactCollection;
}

export interface EvaluationInput {
  catalogue: EffectiveCatalogue;
  facts: FactCollection;
  zones: readonly Zone[];
  attestations?: readonly Attestation[];
  countermeasures?: readonly Countermeasure[];
  checks?: readonly Check[];
  now?: Date;
}

export function evaluateCompliance(input: EvaluationInput): ComplianceEvaluation {
  const now = input.now ?? new Date();
  const registry = checkRegistry(input.checks);
  const zones = input.zones.map((z) => ({ ...z, slTarget: toSlVector(z.slTarget, `zone ${z.id}`) }));
  const views = zoneViews(input.facts.facts);
  return {
    evaluatedAt: now.toISOString(),
    catalogueVersion: input.catalogue.version,
    overrides: input.catalogue.requirements
      .filter((r) => r.overridden)
      .map((r) => ({ requirement: r.id, level: r.effectiveLevel })),
    zones: zones.map((zone) =>
      evaluateZone(
        zone,
        input.catalogue,
        registry,
        input.facts,
        views(zone.id),
        input.attestations ?? [],
        input.countermeasures ?? [],
        now,
      ),
    ),
    facts: input.facts,
  };
}

function evaluateZone(
  zone: Zone,
  catalogue: EffectiveCatalogue,
  registry: Map<string, Check>,
  facts: FactCollection,
  view: ReadonlyMap<string, Fact>,
  attestations: readonly Attestation[],
  countermeasures: readonly Countermeasure[],
  now: Date,
): ZoneEvaluation {
  const results = catalogue.requirements.map((requirement) => {
    const check = registry.get(requirement.id)!;
    const { outcome, evidence, basis, attestation } = runCheck(check, zone, facts, view, attestations, now);
    const result: RequirementResult = {
      requirement: requirement.id,
      fr: requirement.fr,
      title: requirement.title,
      level: requirement.effectiveLevel,
      kind: check.kind,
      status: outcome.status,
      basis,
      check: outcome,
      remedy:
        outcome.status === 'met' || outcome.status === 'not-applicable' ? null : (outcome.remedy ?? null),
      evidence,
      ...(attestation ? { attestation } : {}),
    };
    if (result.status === 'not-met' || result.status === 'not-assessed') {
      const cm = pickInForce(countermeasures, requirement.id, zone.id, now);
      if (cm) {
        result.status = 'met';
        result.basis = 'compensated';
        result.countermeasure = cm;
      }
    }
    return result;
  });

  const slAchieved: SecurityLevel[] = [];
  const compensated: boolean[] = [];
  const gaps: FrGap[] = [];
  for (const frInfo of FOUNDATIONAL_REQUIREMENTS) {
    const inFr = results.filter((r) => r.fr === frInfo.fr && r.level !== null);
    let achieved: SecurityLevel = 0;
    for (const n of [1, 2, 3, 4] as const) {
      if (inFr.filter((r) => r.level! <= n).every(counts)) achieved = n;
      else break;
    }
    const target = zone.slTarget[frInfo.fr - 1]!;
    const usesCompensation = inFr.some((r) => r.level! <= achieved && r.basis === 'compensated');
    slAchieved.push(achieved);
    compensated.push(usesCompensation);
    const blockersAt = (from: number, to: number) =>
      rank(inFr.filter((r) => r.level! >= from && r.level! <= to && !counts(r)));
    const next = achieved < 4 ? ((achieved + 1) as GatingLevel) : null;
    gaps.push({
      fr: frInfo.fr,
      code: frInfo.code,
      achieved,
      target,
      compensated: usesCompensation,
      next: next === null ? null : { level: next, blockers: blockersAt(next, next) },
      toTarget: target > achieved ? blockersAt(achieved + 1, target) : [],
    });
  }
  return { zone, slTarget: zone.slTarget, slAchieved: slAchieved as SlVector, compensated, results, gaps };
}

function counts(r: RequirementResult): boolean {
  return r.status === 'met' || r.status === 'not-applicable';
}

const STATUS_RANK: Record<CheckStatus, number> = {
  'not-met': 0,
  'not-assessed': 1,
  met: 2,
  'not-applicable': 2,
};

/**
 * Lowest level first (it blocks first), then what a setting can fix (not met) before what needs a module
 * or a statement (not assessed), then catalogue order.
 */
function rank(results: RequirementResult[]): GapItem[] {
  return results
    .map((r, index) => ({ r, index }))
    .sort(
      (a, b) =>
        a.r.level! - b.r.level! || STATUS_RANK[a.r.status] - STATUS_RANK[b.r.status] || a.index - b.index,
    )
    .map(({ r }) => ({
      requirement: r.requirement,
      title: r.title,
      level: r.level!,
      status: r.status,
      kind: r.kind,
      reason: r.check.reason,
      remedy: r.remedy ?? 'record a compensating countermeasure',
    }));
}

function pickInForce<
  T extends {
    requirement: string;
    zone: string | null;
    createdAt: string;
    expiresAt: string;
    revokedAt: string | null;
  },
>(records: readonly T[], requirement: string, zoneId: string, now: Date): T | undefined {
  const candidates = records.filter(
    (r) => r.requirement === requirement && (r.zone === null || r.zone === zoneId) && inForce(r, now),
  );
  // A statement about this zone outranks one about every zone; then the newest wins.
  candidates.sort(
    (a, b) =>
      Number(b.zone !== null) - Number(a.zone !== null) || Date.parse(b.createdAt) - Date.parse(a.createdAt),
  );
  return candidates[0];
}

function runCheck(
  check: Check,
  zone: Zone,
  facts: FactCollection,
  view: ReadonlyMap<string, Fact>,
  attestations: readonly Attestation[],
  now: Date,
): { outcome: CheckOutcome; evidence: Fact[]; basis: Basis; attestation?: Attestation } {
  if (check.kind === 'pending') {
    const present = facts.namespaces.includes(check.namespace);
    return {
      outcome: {
        status: 'not-assessed',
        reason: present
          ? `the ${check.namespace} module is present but has no check for ${check.requirement} yet`
          : `${check.namespace} module not present: ${check.note}`,
        remedy: `arrives with the ${check.namespace} module; until then a compensating countermeasure can be recorded`,
      },
      evidence: [],
      basis: 'none',
    };
  }

  if (check.kind === 'attestation') {
    const attestation = pickInForce(attestations, check.requirement, zone.id, now);
    if (!attestation) {
      const lapsed = attestations
        .filter((a) => a.requirement === check.requirement && (a.zone === null || a.zone === zone.id))
        .sort((a, b) => Date.parse(b.expiresAt) - Date.parse(a.expiresAt))[0];
      const why = lapsed
        ? lapsed.revokedAt !== null
          ? `the attestation by ${lapsed.attestedBy.name} was revoked on ${lapsed.revokedAt}`
          : Date.parse(lapsed.createdAt) > now.getTime()
            ? `the attestation by ${lapsed.attestedBy.name} is dated in the future (${lapsed.createdAt})`
            : `the attestation by ${lapsed.attestedBy.name} expired on ${lapsed.expiresAt}`
        : 'no attestation recorded';
      return {
        outcome: { status: 'not-assessed', reason: why, remedy: `attest that ${check.asks}` },
        evidence: [],
        basis: 'none',
      };
    }
    if (attestation.verdict === 'not-applicable' && !check.notApplicableAllowed) {
      return {
        outcome: {
          status: 'not-assessed',
          reason: `${attestation.attestedBy.name} attested "not applicable", which ${check.requirement} does not allow`,
          remedy: `attest that ${check.asks}`,
        },
        evidence: [],
        basis: 'none',
        attestation,
      };
    }
    const outcome: CheckOutcome =
      attestation.verdict === 'met'
        ? { status: 'met', reason: `attested by ${attestation.attestedBy.name}: ${attestation.statement}` }
        : {
            status: 'not-applicable',
            reason: `attested by ${attestation.attestedBy.name}: ${attestation.statement}`,
          };
    return { outcome, evidence: [], basis: 'attested', attestation };
  }

  const reader = new FactReader(view, now);
  let outcome: CheckOutcome;
  try {
    outcome = check.evaluate(reader);
  } catch (err) {
    outcome = { status: 'not-assessed', ...explainFailure(err, facts) };
  }
  return { outcome, evidence: reader.used(), basis: outcome.status === 'not-assessed' ? 'none' : 'observed' };
}

/** Why a check could not run, naming the module or source that should have reported the fact. */
function explainFailure(err: unknown, facts: FactCollection): { reason: string; remedy: string } {
  if (err instanceof MissingFact) {
    const ns = err.key.startsWith('*.') ? null : namespaceOf(err.key);
    if (ns === null) {
      return {
        reason: `no fact matches ${err.key}`,
        remedy: 'register the fact sources of the modules that own listeners',
      };
    }
    if (!facts.namespaces.includes(ns)) {
      return {
        reason: `${ns} module not present: nothing reports ${err.key}`,
        remedy: `arrives with the ${ns} module; until then a compensating countermeasure can be recorded`,
      };
    }
    const sources = facts.sources[ns] ?? [];
    const failures = facts.errors
      .filter((e) => sources.includes(e.source))
      .map((e) => `${e.source}: ${e.message}`);
    return {
      reason: `no fact ${err.key}${failures.length > 0 ? ` (${failures.join('; ')})` : ` from ${sources.join(', ')}`}`,
      remedy: `make ${sources.join(', ')} report ${err.key}`,
    };
  }
  if (err instanceof MalformedFact) {
    return { reason: err.message, remedy: `fix the source that reports ${err.key}` };
  }
  return { reason: `the check failed: ${describeError(err)}`, remedy: 'report this as a bug' };
}
