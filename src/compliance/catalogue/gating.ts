import { PalisadeError } from '../../errors/index.js';
import {
  CATALOGUE_VERSION,
  REQUIREMENTS,
  type GatingLevel,
  type Requirement,
  type RequirementId,
} from './iec62443.js';

/** A requirement with the level that applies after configuration; null when an override omits it. */
export interface GatedRequirement extends Requirement {
  /** The level used for SL-A (null: omitted by an override, applies at no level). */
  effectiveLevel: GatingLevel | null;
  /** Set when configuration chose the disputed alternative. */
  overridden: boolean;
}

export type GatingOverride = GatingLevel | 'omitted';
export type GatingOverrides = Readonly<Record<RequirementId, GatingOverride>>;

export interface EffectiveCatalogue {
  version: string;
  requirements: readonly GatedRequirement[];
  /** The overrides in force, as configured. */
  overrides: GatingOverrides;
}

/**
 * Applies `compliance.gatingOverrides`. Only the disputed cells can be overridden, and only to one of
 * the two public encodings: gating is what makes SL-A comparable between installations, so it is not a
 * free-form knob. Anything else is CONFIG_INVALID naming the key.
 */
export function effectiveCatalogue(
  overrides: Readonly<Record<string, number | 'omitted'>> = {},
): EffectiveCatalogue {
  const byId = new Map(REQUIREMENTS.map((r) => [r.id, r]));
  for (const [id, value] of Object.entries(overrides)) {
    const key = `compliance.gatingOverrides.${id}`;
    const requirement = byId.get(id);
    if (!requirement) throw new PalisadeError('CONFIG_INVALID', `${key}: no such requirement`);
    if (!requirement.disputed) {
      throw new PalisadeError(
        'CONFIG_INVALID',
        `${key}: not a disputed cell; only ${disputedIds().join(', ')} can be overridden`,
      );
    }
    if (value !== requirement.level && value !== requirement.disputed.alternative) {
      throw new PalisadeError(
        'CONFIG_INVALID',
        `${key}: must be ${String(requirement.level)} or ${String(requirement.disputed.alternative)}, got ${JSON.stringify(value)}`,
      );
    }
  }
  const requirements = REQUIREMENTS.map((r): GatedRequirement => {
    const override = Object.hasOwn(overrides, r.id) ? (overrides[r.id] as GatingOverride) : undefined;
    if (override === undefined || override === r.level) {
      return { ...r, effectiveLevel: r.level, overridden: false };
    }
    return { ...r, effectiveLevel: override === 'omitted' ? null : override, overridden: true };
  });
  return { version: CATALOGUE_VERSION, requirements, overrides: { ...overrides } as GatingOverrides };
}

export function disputedIds(): RequirementId[] {
  return REQUIREMENTS.filter((r) => r.disputed).map((r) => r.id);
}
