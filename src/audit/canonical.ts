import { PalisadeError } from '../errors/index.js';
import type { JsonValue } from './event.js';

/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for the JSON values an audit event may hold: object members
 * sorted by the UTF-16 code units of their names, no whitespace, strings escaped as ECMAScript's
 * JSON.stringify does, numbers in ECMAScript's shortest round-trip form. Two parties that canonicalize
 * the same data get the same bytes, so the bytes can be hashed.
 *
 * Input is checked on the way (I-JSON, RFC 7493): finite numbers only, no lone surrogates, no values JSON
 * cannot hold. `undefined` object members are left out, as JSON.stringify does.
 */
/** A UTF-16 surrogate not paired with its partner: not a Unicode character, not valid I-JSON. */
const LONE_SURROGATE = /\p{Cs}/u;

export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

/** JSON text that is already canonical, embedded as is (so a part is not canonicalized twice). */
export class CanonicalFragment {
  constructor(readonly json: string) {}
}

function write(value: unknown, where: string): string {
  if (value instanceof CanonicalFragment) return value.json;
  switch (typeof value) {
    case 'string':
      if (LONE_SURROGATE.test(value)) throw notJson(where, 'contains a lone surrogate (not valid Unicode)');
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw notJson(where, `is ${value}; only finite numbers are JSON`);
      // ECMAScript number serialisation is exactly what RFC 8785 §3.2.2.3 prescribes (and -0 becomes 0).
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        return `[${value.map((item, i) => write(item, `${where}[${i}]`)).join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw notJson(where, 'is not a plain object');
      }
      const record = value as Record<string, unknown>;
      // Default sort compares UTF-16 code units, which is the order RFC 8785 §3.2.3 requires.
      const keys = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort();
      const members = keys.map((k) => {
        if (LONE_SURROGATE.test(k)) throw notJson(where, 'has a member name with a lone surrogate');
        return `${JSON.stringify(k)}:${write(record[k], `${where}.${k}`)}`;
      });
      return `{${members.join(',')}}`;
    }
    default:
      throw notJson(where, `is a ${typeof value}, which JSON cannot hold`);
  }
}

function notJson(where: string, why: string): PalisadeError {
  return new PalisadeError('AUDIT_EVENT_INVALID', `${where} ${why}`, { status: 400 });
}

/** The canonical UTF-8 bytes of a JSON value. */
export function canonicalBytes(value: JsonValue | object): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
