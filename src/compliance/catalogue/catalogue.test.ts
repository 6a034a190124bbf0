import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { PalisadeError } from '../../errors/index.js';
import {
  ANNEX_A_CONTROLS,
  CATALOGUE_VERSION,
  FOUNDATIONAL_REQUIREMENTS,
  REQUIREMENTS,
  REQUIREMENT_ID_PATTERN,
  STQC_AREAS,
  disputedIds,
  effectiveCatalogue,
  requirementById,
} from './index.js';

const REFERENCE = fileURLToPath(
  new URL('../../../../../shared/reference/compliance-facts.md', import.meta.url),
);

interface RefRow {
  fr: number;
  title: string;
  cells: { id: string; level: number; disputed?: number | 'omitted' }[];
}

/** Splits on `;` outside parentheses. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ';' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += ch;
  }
  parts.push(current.trim());
  return parts;
}

/** The SR/RE gating table of the shared reference, parsed independently of the catalogue code. */
function parseReference(text: string): Map<string, RefRow> {
  const rows = new Map<string, RefRow>();
  for (const line of text.split('\n')) {
    const m = /^\| (\d\.\d{1,2}) \| FR(\d)[^|]* \| ([^|]+) \| ([^|]+) \|$/.exec(line);
    if (!m) continue;
    const sr = `SR ${m[1]!}`;
    const cells: RefRow['cells'] = [];
    for (const part of splitTop(m[4]!)) {
      const disputed = /\(disputed: (\d)/.exec(part)?.[1];
      const omitted = /one encoding omits it/.test(part);
      const alt = disputed !== undefined ? Number(disputed) : omitted ? ('omitted' as const) : undefined;
      const base = /^base (\d)/.exec(part);
      const re = /^RE(\d) .*@(\d)/.exec(part);
      if (base)
        cells.push({ id: sr, level: Number(base[1]), ...(alt !== undefined ? { disputed: alt } : {}) });
      else if (re)
        cells.push({
          id: `${sr} RE${re[1]!}`,
          level: Number(re[2]),
          ...(alt !== undefined ? { disputed: alt } : {}),
        });
      else assert.fail(`unparsed gating cell "${part}" of ${sr}`);
    }
    rows.set(sr, { fr: Number(m[2]), title: m[3]!.trim(), cells });
  }
  return rows;
}

describe('IEC 62443-3-3 catalogue', () => {
  const srs = REQUIREMENTS.filter((r) => r.re === null);
  const res = REQUIREMENTS.filter((r) => r.re !== null);

  it('has exactly 51 SRs and 49 REs with unique, well-formed ids', () => {
    assert.equal(srs.length, 51);
    assert.equal(res.length, 49);
    assert.equal(new Set(REQUIREMENTS.map((r) => r.id)).size, 100);
    for (const r of REQUIREMENTS) {
      assert.match(r.id, REQUIREMENT_ID_PATTERN);
      assert.equal(requirementById(r.id), r);
    }
    assert.match(CATALOGUE_VERSION, /\d+\.\d+\.\d+$/);
  });

  it('covers all seven FRs, each SR in the FR its number names, each RE after its SR', () => {
    assert.deepEqual(
      FOUNDATIONAL_REQUIREMENTS.map((f) => f.fr),
      [1, 2, 3, 4, 5, 6, 7],
    );
    for (const f of FOUNDATIONAL_REQUIREMENTS)
      assert.ok(
        srs.some((r) => r.fr === f.fr),
        `FR${f.fr} has SRs`,
      );
    for (const r of REQUIREMENTS) {
      assert.equal(r.fr, Number(/^SR (\d)/.exec(r.id)![1]), r.id);
      if (r.re !== null) {
        const sr = requirementById(r.sr)!;
        assert.ok(REQUIREMENTS.indexOf(sr) < REQUIREMENTS.indexOf(r), `${r.id} follows ${r.sr}`);
        assert.equal(r.fr, sr.fr);
      }
    }
  });

  it("gates every RE at or above its SR's base level, in the chosen and the alternative encoding", () => {
    for (const r of res) {
      const sr = requirementById(r.sr)!;
      const srLevels = [
        sr.level,
        ...(typeof sr.disputed?.alternative === 'number' ? [sr.disputed.alternative] : []),
      ];
      const reLevels = [
        r.level,
        ...(typeof r.disputed?.alternative === 'number' ? [r.disputed.alternative] : []),
      ];
      for (const a of srLevels)
        for (const b of reLevels) assert.ok(b >= a, `${r.id} at ${b} below ${r.sr} at ${a}`);
    }
  });

  it('marks exactly the seven disputed cells, with their alternatives', () => {
    assert.deepEqual(
      REQUIREMENTS.filter((r) => r.disputed).map((r) => [r.id, r.level, r.disputed!.alternative]),
      [
        ['SR 2.2 RE1', 3, 2],
        ['SR 2.3 RE1', 3, 2],
        ['SR 3.4', 2, 1],
        ['SR 4.1 RE2', 4, 3],
        ['SR 5.2 RE3', 3, 4],
        ['SR 5.4', 1, 2],
        ['SR 7.1 RE2', 3, 'omitted'],
      ],
    );
  });

  it('matches the shared reference table cell by cell (ids, FRs, SR titles, levels, disputed alternatives)', (t) => {
    if (!existsSync(REFERENCE)) {
      t.skip(`reference not found at ${REFERENCE} (../shared/reference/compliance-facts.md)`);
      return;
    }
    const reference = parseReference(readFileSync(REFERENCE, 'utf8'));
    assert.equal(reference.size, 51, 'the reference lists 51 SRs');
    const cells = [...reference.values()].flatMap((r) => r.cells);
    assert.equal(cells.length, 100);
    assert.deepEqual(
      cells.map((c) => c.id),
      REQUIREMENTS.map((r) => r.id),
      'same requirements in the same order',
    );
    for (const [sr, row] of reference) {
      const ours = requirementById(sr)!;
      assert.equal(ours.fr, row.fr, `${sr} FR`);
      assert.equal(ours.title, row.title, `${sr} title`);
    }
    for (const cell of cells) {
      const ours = requirementById(cell.id)!;
      assert.equal(ours.level, cell.level, `${cell.id} level`);
      assert.equal(ours.disputed?.alternative, cell.disputed, `${cell.id} disputed alternative`);
    }
  });

  it('describes every requirement in its own words (a summary that is not the title)', () => {
    for (const r of REQUIREMENTS) {
      assert.ok(r.summary.length >= 20 && r.summary.length <= 200, `${r.id} summary length`);
      assert.notEqual(r.summary.toLowerCase(), r.title.toLowerCase());
    }
  });
});

describe('gating overrides', () => {
  it('use the catalogue as published when none are configured', () => {
    const c = effectiveCatalogue();
    assert.equal(c.requirements.length, 100);
    assert.ok(c.requirements.every((r) => r.effectiveLevel === r.level && !r.overridden));
  });

  it('switch a disputed cell to its alternative, including omitting SR 7.1 RE2', () => {
    const c = effectiveCatalogue({ 'SR 3.4': 1, 'SR 7.1 RE2': 'omitted', 'SR 2.2 RE1': 3 });
    const get = (id: string) => c.requirements.find((r) => r.id === id)!;
    assert.equal(get('SR 3.4').effectiveLevel, 1);
    assert.equal(get('SR 3.4').overridden, true);
    assert.equal(get('SR 7.1 RE2').effectiveLevel, null);
    // Choosing the published value is not an override.
    assert.equal(get('SR 2.2 RE1').overridden, false);
    assert.deepEqual(Object.keys(c.overrides).sort(), ['SR 2.2 RE1', 'SR 3.4', 'SR 7.1 RE2']);
  });

  it('refuse anything but a disputed cell set to one of its two encodings, naming the key', () => {
    const refuse = (overrides: Record<string, number | 'omitted'>, pattern: RegExp) => {
      assert.throws(
        () => effectiveCatalogue(overrides),
        (err: unknown) =>
          err instanceof PalisadeError && err.code === 'CONFIG_INVALID' && pattern.test(err.message),
      );
    };
    refuse({ 'SR 1.1': 2 }, /^compliance\.gatingOverrides\.SR 1\.1: not a disputed cell; only SR 2\.2 RE1, /);
    refuse({ 'SR 3.4': 3 }, /^compliance\.gatingOverrides\.SR 3\.4: must be 2 or 1, got 3/);
    refuse({ 'SR 3.4': 'omitted' }, /must be 2 or 1/);
    refuse({ 'SR 9.9': 1 }, /SR 9\.9: no such requirement/);
    assert.equal(disputedIds().length, 7);
  });
});

describe('ISO/IEC 27001:2022 Annex A and STQC catalogues', () => {
  it('list the 28 Annex A controls of the reference, each mapped from real SRs or another catalogue', () => {
    assert.deepEqual(
      ANNEX_A_CONTROLS.map((c) => c.id),
      [
        'A.5.9',
        'A.5.14',
        'A.5.15',
        'A.5.16',
        'A.5.17',
        'A.5.18',
        'A.5.21',
        'A.5.28',
        'A.5.33',
        'A.5.34',
        'A.7.4',
        'A.8.2',
        'A.8.3',
        'A.8.5',
        'A.8.7',
        'A.8.8',
        'A.8.9',
        'A.8.10',
        'A.8.11',
        'A.8.13',
        'A.8.15',
        'A.8.16',
        'A.8.17',
        'A.8.20',
        'A.8.21',
        'A.8.22',
        'A.8.24',
        'A.8.32',
      ],
    );
    for (const c of ANNEX_A_CONTROLS) {
      assert.ok(c.fromSrs.length > 0 || (c.alsoCoveredBy?.length ?? 0) > 0, `${c.id} is covered`);
      for (const sr of c.fromSrs)
        assert.ok(requirementById(sr)?.re === null, `${c.id} maps from ${sr}, an SR`);
    }
  });

  it('lists the five STQC essential-requirement areas', () => {
    assert.deepEqual(
      STQC_AREAS.map((a) => a.title),
      ['Physical security', 'Access control', 'Network security', 'Software security', 'Penetration testing'],
    );
  });
});
