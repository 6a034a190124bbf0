export {
  CATALOGUE_VERSION,
  FOUNDATIONAL_REQUIREMENTS,
  REQUIREMENTS,
  REQUIREMENT_ID_PATTERN,
  requirementById,
  type DisputedCell,
  type FoundationalRequirement,
  type FrNumber,
  type GatingLevel,
  type Requirement,
  type RequirementId,
  type SecurityLevel,
  type SlVector,
} from './iec62443.js';
export {
  disputedIds,
  effectiveCatalogue,
  type EffectiveCatalogue,
  type GatedRequirement,
  type GatingOverride,
  type GatingOverrides,
} from './gating.js';
export { ANNEX_A_CONTROLS, ISO27001_VERSION, annexAForSr, type AnnexAControl } from './iso27001.js';
export { STQC_AREAS, STQC_VERSION, type StqcArea } from './stqc.js';
export {
  EVIDENCE_FIELDS,
  MAX_EVIDENCE_CHARS,
  NDAA889_RULES,
  NDAA889_VERSION,
  matchNdaa889,
  type DeviceEvidence,
  type EvidenceField,
  type Ndaa889Match,
  type Ndaa889Result,
  type Ndaa889Rule,
  type RuleStatus,
} from './ndaa889.js';
