import type { JsonValue } from '../audit/index.js';
import type { AccessService } from './service.js';

/** What access reports to the compliance engine (structurally a compliance `FactSource`). */
export function accessFactSource(access: AccessService, routes: () => { allGuarded: boolean }) {
  return {
    name: 'access',
    namespace: 'access',
    async collect(): Promise<{ key: string; value: JsonValue; observedAt: Date }[]> {
      const at = new Date();
      const roles = await access.store.roles();
      const actions = [...access.approvals.configuredActions];
      return [
        // decide() allows only what a grant allows; a route without a declared rule is refused.
        { key: 'access.denyByDefault', value: true, observedAt: at },
        { key: 'access.enforcement.allRoutes', value: routes().allGuarded, observedAt: at },
        // Sessions and API tokens (people and software) go through the same decision.
        { key: 'access.enforcement.allSubjects', value: true, observedAt: at },
        { key: 'access.permissions.viaRolesOnly', value: true, observedAt: at },
        { key: 'access.roles', value: roles.map((r) => r.id), observedAt: at },
        // No time-limited supervisor override exists yet (SR 2.1 RE3 shows not met).
        { key: 'access.supervisorOverride.enabled', value: false, observedAt: at },
        { key: 'access.dualApproval.enabled', value: actions.length > 0, observedAt: at },
        { key: 'access.dualApproval.actions', value: actions, observedAt: at },
      ];
    },
  };
}
