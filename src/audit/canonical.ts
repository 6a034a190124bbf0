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
/**
 * True when a string is valid Unicode (no unpaired UTF-16 surrogate): I-JSON, and so RFC 8785, forbids
 * them. `String.prototype.isWellFormed` is native in Node 20 (ES2024, newer than this project's lib).
 */
export function isWellFormedText(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

export function canonicalJson(value: unknown): string {
  return write(value, []);
}

// `path` names where a bad value sits, for the error; it is only turned into text when there is one.
function write(value: unknown, path: (string | number)[]): string {
  switch (typeof value) {
    case 'string':
      if (!isWellFormedText(value)) throw notJson(path, 'contains a lone surrogate (not valid Unicode)');
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw notJson(path, `is ${value}; only finite numbers are JSON`);
      // ECMAScript number serialisation is exactly what RFC 8785 §3.2.2.3 prescribes (and -0 becomes 0).
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          path.push(i);
          out += (i > 0 ? ',' : '') + write(value[i], path);
          path.pop();
        }
        return `${out}]`;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) throw notJson(path, 'is not a plain object');
      const record = value as Record<string, unknown>;
      // Default sort compares UTF-16 code units, which is the order RFC 8785 §3.2.3 requires.
      const keys = Object.keys(record).sort();
      let out = '{';
      for (const k of keys) {
        const v = record[k];
        if (v === undefined) continue;
        if (!isWellFormedText(k)) throw notJson(path, 'has a member name with a lone surrogate');
        path.push(k);
        out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${write(v, path)}`;
        path.pop();
      }
      return `${out}}`;
    }
    default:
      throw notJson(path, `is a ${typeof value}, which JSON cannot hold`);
  }
}

function notJson(path: readonly (string | number)[], why: string): PalisadeError {
  const where = path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
  return new PalisadeError('AUDIT_EVENT_INVALID', `$${where} ${why}`, { status: 400 });
}

/** The canonical UTF-8 bytes of a JSON value. */
export function canonicalBytes(value: JsonValue | object): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
