import { describeError } from '../errors/index.js';

/**
 * The fact interface: the one thing a module implements to feed the compliance engine. It is small and
 * imports nothing, so any module can implement it without depending on the engine; the composition root
 * registers the sources. A fact is a read-only observation about the module's own configuration or
 * telemetry, stamped with when it was observed and by which source.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What a source reports. */
export interface Observation {
  /** Dotted key whose first segment is the source's namespace, e.g. `identity.mfa.required`. */
  key: string;
  value: JsonValue;
  /** When this was observed (not when it was collected). */
  observedAt: Date | string;
  /** Set when the fact is about one zone only; absent means it holds for every zone. */
  zone?: string;
}

export interface FactSource {
  /** Unique name shown as the source of each fact, e.g. `http.server`. */
  readonly name: string;
  /** The key namespace this source may report, e.g. `identity`; also names the module in reasons. */
  readonly namespace: string;
  collect(): Promise<Observation[]>;
}

export interface Fact {
  key: string;
  value: JsonValue;
  /** ISO 8601 UTC. */
  observedAt: string;
  source: string;
  zone?: string;
}

export interface CollectionError {
  source: string;
  message: string;
}

/** Everything the sources reported in one collection round. */
export interface FactCollection {
  collectedAt: string;
  facts: Fact[];
  errors: CollectionError[];
  /** Namespaces with at least one registered source, i.e. the modules present in this build. */
  namespaces: string[];
  /** Source names per namespace, for reasons that name who failed to report. */
  sources: Record<string, string[]>;
}

export const FACT_KEY_PATTERN = /^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9][a-zA-Z0-9_-]*)+$/;
/** A fact is a setting or a small summary, never bulk data. */
export const MAX_FACT_VALUE_BYTES = 64 * 1024;
export const MAX_FACTS_PER_SOURCE = 10_000;
const DEFAULT_TIMEOUT_MS = 10_000;

/** The list the composition root fills; the engine only reads it. */
export class FactRegistry {
  readonly #sources: FactSource[] = [];

  register(source: FactSource): this {
    if (!/^[a-z][a-zA-Z0-9]*$/.test(source.namespace)) {
      throw new TypeError(`fact source ${source.name}: namespace must be one lower-case word`);
    }
    if (this.#sources.some((s) => s.name === source.name)) {
      throw new TypeError(`fact source ${source.name} is registered twice`);
    }
    this.#sources.push(source);
    return this;
  }

  list(): readonly FactSource[] {
    return this.#sources;
  }

  /**
   * Asks every source for its facts, each bounded by a timeout. A source that fails, times out or
   * reports malformed facts is named in `errors` and contributes nothing invalid: the checks that needed
   * its facts then say "not assessed" with the reason, never "met". Two sources reporting the same key
   * for the same scope is ambiguous evidence, so both copies are dropped and the conflict reported.
   */
  async collect(options: { timeoutMs?: number; now?: Date } = {}): Promise<FactCollection> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const errors: CollectionError[] = [];
    const gathered: Fact[] = [];
    const results = await Promise.all(
      this.#sources.map(async (source) => {
        try {
          return { source, observations: await withTimeout(source.collect(), timeoutMs, source.name) };
        } catch (err) {
          errors.push({ source: source.name, message: `failed to report: ${describeError(err)}` });
          return { source, observations: [] };
        }
      }),
    );
    for (const { source, observations } of results) {
      if (!Array.isArray(observations)) {
        errors.push({ source: source.name, message: 'reported something that is not a list of facts' });
        continue;
      }
      if (observations.length > MAX_FACTS_PER_SOURCE) {
        errors.push({
          source: source.name,
          message: `reported ${observations.length} facts; the limit is ${MAX_FACTS_PER_SOURCE}`,
        });
        continue;
      }
      for (const observation of observations) {
        const checked = checkObservation(source, observation);
        if (typeof checked === 'string') errors.push({ source: source.name, message: checked });
        else gathered.push(checked);
      }
    }

    const seen = new Map<string, Fact>();
    const conflicted = new Set<string>();
    for (const fact of gathered) {
      const id = `${fact.zone ?? ''}\u0000${fact.key}`;
      const earlier = seen.get(id);
      if (earlier) {
        conflicted.add(id);
        errors.push({
          source: fact.source,
          message: `${fact.key}${fact.zone ? ` (zone ${fact.zone})` : ''} also reported by ${earlier.source}; both dropped`,
        });
      } else seen.set(id, fact);
    }
    const facts = [...seen.entries()].filter(([id]) => !conflicted.has(id)).map(([, f]) => f);

    const sources: Record<string, string[]> = {};
    for (const s of this.#sources) (sources[s.namespace] ??= []).push(s.name);
    return {
      collectedAt: (options.now ?? new Date()).toISOString(),
      facts,
      errors,
      namespaces: Object.keys(sources).sort(),
      sources,
    };
  }
}

function checkObservation(source: FactSource, o: unknown): Fact | string {
  if (typeof o !== 'object' || o === null) return 'reported a fact that is not an object';
  const { key, value, observedAt, zone } = o as Partial<Observation>;
  if (typeof key !== 'string' || !FACT_KEY_PATTERN.test(key) || key.length > 200) {
    return `invalid fact key ${typeof key === 'string' ? JSON.stringify(key.slice(0, 200)) : typeof key}`;
  }
  if (key.split('.')[0] !== source.namespace) {
    return `${key}: a source in namespace ${source.namespace} may only report ${source.namespace}.* facts`;
  }
  let encoded: string | undefined;
  try {
    encoded = JSON.stringify(value);
  } catch {
    encoded = undefined;
  }
  if (encoded === undefined || !isJson(value)) return `${key}: the value is not plain JSON`;
  if (Buffer.byteLength(encoded) > MAX_FACT_VALUE_BYTES) {
    return `${key}: the value is larger than ${MAX_FACT_VALUE_BYTES} bytes`;
  }
  const time =
    observedAt instanceof Date
      ? observedAt
      : typeof observedAt === 'string'
        ? new Date(observedAt)
        : undefined;
  if (time === undefined || Number.isNaN(time.getTime())) return `${key}: missing or invalid observedAt`;
  if (zone !== undefined && (typeof zone !== 'string' || zone.length === 0 || zone.length > 200)) {
    return `${key}: invalid zone`;
  }
  return {
    key,
    value: JSON.parse(encoded) as JsonValue,
    observedAt: time.toISOString(),
    source: source.name,
    ...(zone !== undefined ? { zone } : {}),
  };
}

function isJson(value: unknown, depth = 0): value is JsonValue {
  if (depth > 32) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isJson(v, depth + 1));
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.values(value).every((v) => isJson(v, depth + 1));
  }
  return false;
}

function withTimeout<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
