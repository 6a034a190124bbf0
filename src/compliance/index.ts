export * from './catalogue/index.js';
export {
  CHECKS,
  checkRegistry,
  FactReader,
  zoneViews,
  type AttestationCheck,
  type AutomatedCheck,
  type Check,
  type CheckOutcome,
  type CheckStatus,
  type PendingCheck,
} from './checks/index.js';
export { FACT_KEYS, type FactKeyDoc, type FactType } from './fact-keys.js';
export {
  FactRegistry,
  FACT_KEY_PATTERN,
  MAX_FACT_VALUE_BYTES,
  type CollectionError,
  type Fact,
  type FactCollection,
  type FactSource,
  type JsonValue,
  type Observation,
} from './facts.js';
export {
  evaluateCompliance,
  type Basis,
  type ComplianceEvaluation,
  type EvaluationInput,
  type FrGap,
  type GapItem,
  type RequirementResult,
  type ZoneEvaluation,
} from './engine.js';
export {
  inForce,
  toSlVector,
  type AttachmentRef,
  type Attestation,
  type Countermeasure,
  type Person,
  type Zone,
} from './records.js';
export * from './sources/index.js';
export { complianceMigration, type ComplianceTables } from './migrations.js';
export {
  ATTESTATION_LIMITS,
  ComplianceStore,
  type AttestationInput,
  type CountermeasureInput,
} from './store.js';
export * from './pack/index.js';
export { complianceRoutes, type ComplianceRoutesOptions } from './routes.js';
