import type { RequirementId } from '../catalogue/index.js';
import type { Fact, JsonValue } from '../facts.js';

/**
 * How each requirement is assessed. Every SR and RE has exactly one entry:
 * - `automated`: a pure function over named facts; the facts it read become its evidence;
 * - `attestation`: an organisational requirement a named person states is met (or does not apply);
 * - `pending`: the module whose facts will assess it is not built yet; always "not assessed" until that
 *   module replaces the entry with an automated check.
 */
export type CheckStatus = 'met' | 'not-met' | 'not-applicable' | 'not-assessed';

export interface CheckOutcome {
  status: CheckStatus;
  /** Why, in plain words; for not-applicable this is the justification. */
  reason: string;
  /** For not-met: the concrete setting or action that would change the result. */
  remedy?: string;
}

export interface AutomatedCheck {
  kind: 'automated';
  requirement: RequirementId;
  /** Fact keys (or patterns such as `*.listener.*`) the check reads; each is documented in FACT_KEYS. */
  reads: readonly string[];
  evaluate(facts: FactReader): CheckOutcome;
}

export interface AttestationCheck {
  kind: 'attestation';
  requirement: RequirementId;
  /** What the person attesting states, in their role as asset owner or operator. */
  asks: string;
  /** Whether "does not apply here" is an acceptable attested verdict (with the statement as justification). */
  notApplicableAllowed: boolean;
}

export interface PendingCheck {
  kind: 'pending';
  requirement: RequirementId;
  /** The fact namespace (module) that will assess it. */
  namespace: string;
  /** What that module will observe. */
  note: string;
}

export type Check = AutomatedCheck | AttestationCheck | PendingCheck;

export const met = (reason: string): CheckOutcome => ({ status: 'met', reason });
export const notMet = (reason: string, remedy: string): CheckOutcome => ({
  status: 'not-met',
  reason,
  remedy,
});
export const notApplicable = (justification: string): CheckOutcome => ({
  status: 'not-applicable',
  reason: justification,
});
export const notAssessed = (reason: string): CheckOutcome => ({ status: 'not-assessed', reason });

/** Thrown by FactReader when a needed fact was not reported; the engine turns it into "not assessed". */
export class MissingFact extends Error {
  constructor(readonly key: string) {
    super(`no fact ${key}`);
  }
}

/** Thrown when a fact has the wrong shape; also "not assessed", since the evidence cannot be read. */
export class MalformedFact extends Error {
  constructor(
    readonly key: string,
    readonly expected: string,
  ) {
    super(`fact ${key} is not ${expected}`);
  }
}

/**
 * The facts one zone sees (its own zone-scoped facts over the global ones), with every read recorded so
 * that the evidence of a result is exactly the facts its check used.
 */
export class FactReader {
  readonly #byKey: ReadonlyMap<string, Fact>;
  readonly #used = new Map<string, Fact>();

  constructor(
    /** What one zone sees, from `zoneViews()`. */
    view: ReadonlyMap<string, Fact>,
    /** The evaluation time; checks compare dates against it, never against the wall clock. */
    readonly now: Date,
  ) {
    this.#byKey = view;
  }

  /** The value of a fact that must be present. */
  value(key: string): JsonValue {
    const fact = this.#byKey.get(key);
    if (!fact) throw new MissingFact(key);
    this.#used.set(key, fact);
    return fact.value;
  }

  /** The value, or undefined when no source reported it (still recorded as evidence when present). */
  optional(key: string): JsonValue | undefined {
    const fact = this.#byKey.get(key);
    if (!fact) return undefined;
    this.#used.set(key, fact);
    return fact.value;
  }

  boolean(key: string): boolean {
    const v = this.value(key);
    if (typeof v !== 'boolean') throw new MalformedFact(key, 'a boolean');
    return v;
  }

  number(key: string): number {
    const v = this.value(key);
    if (typeof v !== 'number') throw new MalformedFact(key, 'a number');
    return v;
  }

  /** A number, or null where the setting is off (e.g. no limit). */
  numberOrNull(key: string): number | null {
    const v = this.value(key);
    if (v !== null && typeof v !== 'number') throw new MalformedFact(key, 'a number or null');
    return v;
  }

  string(key: string): string {
    const v = this.value(key);
    if (typeof v !== 'string') throw new MalformedFact(key, 'a string');
    return v;
  }

  strings(key: string): string[] {
    const v = this.value(key);
    if (!Array.isArray(v)) throw new MalformedFact(key, 'a list of strings');
    const out: string[] = [];
    for (const s of v) {
      if (typeof s !== 'string') throw new MalformedFact(key, 'a list of strings');
      out.push(s);
    }
    return out;
  }

  object(key: string): { [key: string]: JsonValue } {
    const v = this.value(key);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MalformedFact(key, 'an object');
    return v;
  }

  /** Every fact whose key matches, recorded as evidence. */
  matching(pattern: RegExp): Fact[] {
    const found = [...this.#byKey.values()].filter((f) => pattern.test(f.key));
    for (const f of found) this.#used.set(f.key, f);
    return found.sort((a, b) => a.key.localeCompare(b.key));
  }

  /** The facts read so far, in key order. */
  used(): Fact[] {
    return [...this.#used.values()].sort((a, b) => a.key.localeCompare(b.key));
  }
}

/**
 * Indexes facts once for many zones: `view(zoneId)` is that zone's facts over the global ones. Built in
 * one pass so that evaluating thousands of zones stays linear in the number of facts.
 */
export function zoneViews(facts: readonly Fact[]): (zoneId: string) => ReadonlyMap<string, Fact> {
  const global = new Map<string, Fact>();
  const byZone = new Map<string, Fact[]>();
  for (const f of facts) {
    if (f.zone === undefined) global.set(f.key, f);
    else {
      let list = byZone.get(f.zone);
      if (!list) byZone.set(f.zone, (list = []));
      list.push(f);
    }
  }
  return (zoneId) => {
    const own = byZone.get(zoneId);
    if (!own) return global;
    const view = new Map(global);
    for (const f of own) view.set(f.key, f);
    return view;
  };
}
