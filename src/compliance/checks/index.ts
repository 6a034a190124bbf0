import { REQUIREMENTS } from '../catalogue/index.js';
import { FR1_CHECKS } from './fr1.js';
import { FR2_CHECKS } from './fr2.js';
import { FR3_CHECKS, FR4_CHECKS } from './fr3-4.js';
import { FR5_CHECKS, FR6_CHECKS, FR7_CHECKS } from './fr5-7.js';
import type { Check } from './types.js';

export * from './types.js';

/**
 * The check registry: one entry per SR and RE. A later module replaces a `pending` entry (or extends an
 * automated one) when its facts exist; `checkRegistry()` refuses a registry with a hole or a duplicate.
 */
export const CHECKS: readonly Check[] = [
  ...FR1_CHECKS,
  ...FR2_CHECKS,
  ...FR3_CHECKS,
  ...FR4_CHECKS,
  ...FR5_CHECKS,
  ...FR6_CHECKS,
  ...FR7_CHECKS,
];

export function checkRegistry(checks: readonly Check[] = CHECKS): Map<string, Check> {
  const map = new Map<string, Check>();
  for (const check of checks) {
    if (map.has(check.requirement)) throw new TypeError(`two checks for ${check.requirement}`);
    map.set(check.requirement, check);
  }
  for (const r of REQUIREMENTS) if (!map.has(r.id)) throw new TypeError(`no check for ${r.id}`);
  for (const id of map.keys())
    if (!REQUIREMENTS.some((r) => r.id === id)) throw new TypeError(`check for unknown ${id}`);
  return map;
}
