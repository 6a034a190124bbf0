import { AccessService } from '../../src/access/index.js';
import { MIGRATIONS } from '../../src/app/index.js';
import { migrate } from '../../src/db/index.js';
import { IdentityService, type IdentityPolicy, type Principal } from '../../src/identity/index.js';
import { ZoneDirectory } from '../../src/network/index.js';
import { AuditSpy } from './audit-spy.js';
import type { DialectCase, TestDatabase } from './dialects.js';
import { testSecretBox } from './secret-box.js';

export const TEST_POLICY: IdentityPolicy = {
  password: { minLength: 12, maxLength: 256, historyCount: 5 },
  mfaRequired: true,
  session: {
    idleTimeoutSeconds: 900,
    absoluteLifetimeSeconds: 43_200,
    maxConcurrent: 3,
    onLimit: 'evict-oldest',
  },
  lockout: {
    accountMaxFailures: 5,
    sourceMaxFailures: 20,
    windowSeconds: 900,
    lockSeconds: 900,
    maxLockSeconds: 86_400,
  },
  notice: 'Authorised use only.',
  tokenMaxLifetimeDays: 90,
};

export interface IdentityWorld {
  t: TestDatabase;
  /** The TOTP clock of this world: tests move it forward in 30-second steps. */
  clock: { now: number };
  audit: AuditSpy;
  identity: IdentityService;
  access: AccessService;
  zones: ZoneDirectory;
  close(): Promise<void>;
}

/** Identity, access and zones over a fresh database of the given dialect, with an audit spy. */
export async function identityWorld(
  dialect: DialectCase,
  policy: Partial<IdentityPolicy> = {},
  approvals: readonly string[] = [],
): Promise<IdentityWorld> {
  const t = await dialect.create();
  await migrate(t.database, MIGRATIONS);
  const audit = new AuditSpy();
  const access = new AccessService(t.database, audit, { actions: approvals, expirySeconds: 3600 });
  await access.store.syncBuiltInRoles();
  const zones = new ZoneDirectory(t.database);
  await zones.ensureDefaults([2, 2, 2, 2, 2, 2, 2]);
  const clock = { now: Date.now() };
  const identity = new IdentityService({
    clock: () => clock.now,
    database: t.database,
    audit,
    box: testSecretBox(),
    policy: { ...TEST_POLICY, ...policy },
    relyingParty: { id: 'localhost', name: 'Palisade', origin: 'https://localhost:8443' },
    roles: {
      mfaRequiredFor: (userId) => access.store.mfaRequiredFor(userId),
      applyIdpGroups: (userId, issuer, groups) => access.applyIdpGroups(userId, issuer, groups, []),
    },
  });
  return { t, clock, audit, identity, access, zones, close: () => t.drop() };
}

export const ADMIN_PRINCIPAL: Principal = {
  userId: 'system-test',
  username: 'system-test',
  displayName: 'Test administrator',
  kind: 'human',
  auth: 'test',
  address: '127.0.0.1',
};

export const ctx = (address = '127.0.0.1') => ({ address, userAgent: 'node-test' });
