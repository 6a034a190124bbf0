import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from './canonical.js';

describe('RFC 8785 JSON canonicalization', () => {
  it('sorts members by UTF-16 code units (the RFC 8785 §3.2.3 example)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const keys = Object.keys(JSON.parse(canonicalJson(input)) as object);
    // Object.keys puts the integer-like "1" first whatever the text order, so read the order from the text.
    const order = [...canonicalJson(input).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map(
      (m) => JSON.parse(`"${m[1]}"`) as string,
    );
    assert.deepEqual(order, ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
    assert.equal(keys.length, 7);
  });

  it('writes numbers in their shortest ECMAScript form (RFC 8785 §3.2.2.3 and Appendix B samples)', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '0'],
      [1e21, '1e+21'],
      [1e-7, '1e-7'],
      [333333333.3333333, '333333333.3333333'],
      [9007199254740991, '9007199254740991'],
      [5e-324, '5e-324'],
      [-1.5, '-1.5'],
      [100, '100'],
    ];
    for (const [n, text] of cases) assert.equal(canonicalJson(n), text);
  });

  it('escapes only what JSON requires and keeps other characters as UTF-8', () => {
    assert.equal(canonicalJson('a"b\\c\n\t\u0001\u007f€😀'), '"a\\"b\\\\c\\n\\t\\u0001\u007f€😀"');
    assert.equal(
      canonicalJson({ b: [true, null, { z: 1, a: 'x' }], a: undefined }),
      '{"b":[true,null,{"a":"x","z":1}]}',
    );
  });

  it('refuses what JSON cannot hold: NaN, Infinity, lone surrogates, bigint, functions, class instances', () => {
    for (const bad of [NaN, Infinity, '\ud800', { ['\udc00']: 1 }, 1n, () => 1, new Date(0), new Map()]) {
      assert.throws(() => canonicalJson(bad), { code: 'AUDIT_EVENT_INVALID' });
    }
  });

  it('is a fixed point: parsing and canonicalizing again gives the same text, whatever the member order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        assert.equal(canonicalJson(JSON.parse(text)), text);
        const shuffled = JSON.parse(text, (_k, v: unknown) =>
          v && typeof v === 'object' && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v).reverse())
            : v,
        ) as unknown;
        assert.equal(canonicalJson(shuffled), text);
      }),
      { numRuns: 500 },
    );
  });
});
