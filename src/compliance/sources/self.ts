import type { FactSource } from '../facts.js';

/**
 * What the compliance module itself provides: the current settings as machine-readable facts
 * (`palisade compliance status --json`, GET /api/compliance/status) and in the signed evidence pack.
 */
export function complianceFactSource(): FactSource {
  return {
    name: 'compliance',
    namespace: 'compliance',
    async collect() {
      return [{ key: 'compliance.settingsExport', value: ['json', 'evidence-pack'], observedAt: new Date() }];
    },
  };
}
