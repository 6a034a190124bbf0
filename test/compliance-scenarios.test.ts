import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { MIGRATIONS, databaseFactSource, httpFactSource } from '../src/app/index.js';
import {
  CHECKS,
  FactRegistry,
  complianceFactSource,
  effectiveCatalogue,
  evaluateCompliance,
  type Attestation,
  type AttestationCheck,
  type Countermeasure,
  type FactSource,
  type JsonValue,
  type RequirementResult,
  type ZoneEvaluation,
} from '../src/compliance/index.js';
import { migrate, openDatabase, type Database } from '../src/db/index.js';
import { buildHttpServer, ensureTlsMaterial } from '../src/http/index.js';
import { createLogger } from '../src/log/index.js';
import { issueServerCertificate } from './support/pki.js';
import { tempDir } from './support/tmp.js';

/**
 * Engine-level scenario tests of issue 5's acceptance: three configurations, the exact SL-A vectors and
 * the exact blocking requirements.
 *
 * What is real: the HTTPS server (built as `serve` builds it, listening, observed by TLS handshake),
 * the SQLite database, the compliance source, the catalogue, the checks and the engine.
 * What is synthetic: the identity, access, audit, keys and time facts, because those modules are being
 * built in parallel. The synthetic sources report exactly the fact keys documented in
 * docs/compliance.md, with the values each configuration would produce; once the modules land, the
 * end-to-end versions replace these sources with the real ones and must reach the same vectors.
 */

type Facts = Record<string, JsonValue>;

/** (a) Embedded defaults, as the identity, access, audit and keys modules are specified to ship them. */
const DEFAULTS: Record<'identity' | 'access' | 'audit' | 'keys' | 'recording' | 'devices' | 'time', Facts> = {
  identity: {
    'identity.authentication.enforced': true,
    'identity.authentication.publicRoutes': ['GET /healthz', 'GET /readyz', 'POST /api/auth/login'],
    'identity.accounts.uniqueHumanIdentities': true,
    'identity.accounts.management': { create: true, disable: true, remove: true, audited: true },
    'identity.accounts.initialCredentialsUnchanged': 0,
    'identity.password.hashAlgorithm': 'argon2id',
    'identity.password.minLength': 12,
    'identity.password.maxAgeDays': null,
    'identity.password.historyCount': 0,
    'identity.mfa.required': true,
    'identity.mfa.exemptRoles': [],
    'identity.mfa.coverage': 1,
    'identity.mfa.networkExemptions': [],
    'identity.oidc.enabled': false,
    'identity.oidc.mfaEvidenceRequired': false,
    'identity.login.genericFailure': true,
    'identity.login.noticeConfigured': false,
    'identity.lockout.enabled': true,
    'identity.lockout.threshold': 5,
    'identity.session.idleTimeoutSeconds': 900,
    'identity.session.absoluteLifetimeSeconds': 43_200,
    'identity.session.adminTermination': true,
    'identity.session.concurrentLimit': null,
    'identity.session.cookie': { secure: true, httpOnly: true, sameSite: 'strict' },
    'identity.session.csrfProtection': true,
    'identity.session.invalidatedOnLogout': true,
    'identity.session.idEntropyBits': 256,
    'identity.session.idSource': 'csprng',
    'identity.serviceAccounts.tokenAuthentication': true,
    'identity.serviceAccounts.individual': true,
    'identity.serviceAccounts.tokenMaxAgeDays': null,
  },
  access: {
    'access.denyByDefault': true,
    'access.enforcement.allRoutes': true,
    'access.enforcement.allSubjects': true,
    'access.permissions.viaRolesOnly': true,
    'access.roles': ['administrator', 'operator', 'investigator', 'auditor'],
    'access.supervisorOverride.enabled': false,
    'access.dualApproval.enabled': false,
    'access.dualApproval.actions': [],
  },
  audit: {
    'audit.log.enabled': true,
    'audit.log.healthy': true,
    'audit.log.appendOnly': true,
    'audit.log.systemWide': true,
    'audit.events.actorAttributed': true,
    'audit.timestamps.utc': true,
    'audit.checkpoint.signed': true,
    'audit.checkpoint.ageSeconds': 120,
    'audit.storage.headroomRatio': 0.8,
    'audit.storage.warningThresholdRatio': 0.2,
    'audit.storage.writeOnce': false,
    'audit.failure.mode': 'block',
    'audit.access.restricted': true,
    'audit.query.available': true,
    'audit.export.programmatic': true,
    'audit.integrity.alerts': true,
  },
  keys: {
    'keys.provider.kind': 'keyfile',
    'keys.provider.hardwareBacked': false,
    'keys.atRest.algorithm': 'AES-256-GCM',
    'keys.atRest.coverage': { secrets: true },
    'keys.cryptoShredding.enabled': true,
  },
  recording: { 'recording.encryptionAtRest.coverage': 1 },
  devices: {
    'devices.inventory.count': 2,
    'devices.inventory.cameras': [
      {
        id: 'gate-1',
        name: 'Gate 1',
        zone: 'control-room',
        url: 'rtsps://10.0.5.11/stream1',
        recording: 'continuous',
      },
      {
        id: 'gate-2',
        name: 'Gate 2',
        zone: 'control-room',
        url: 'rtsps://10.0.5.12/stream1',
        recording: 'continuous',
      },
    ],
  },
  time: {
    'time.sync': {
      status: 'synchronized',
      method: 'timedatectl',
      detail: 'timedatectl: NTPSynchronized=yes, NTP=yes',
      authenticated: null,
    },
  },
};

/**
 * (b) The issue's settings (MFA for all users, OIDC with MFA evidence, a concurrent-session limit, dual
 * approval, attestations) on top of the rest of a hardened deployment: a CA-issued certificate, a
 * sign-in notice, password lifetime, supervisor override, the HSM key provider, chrony with NTS, and a
 * compensating countermeasure for the TLS key Palisade cannot yet keep in the HSM.
 */
const HARDENED: typeof DEFAULTS = {
  identity: {
    ...DEFAULTS.identity,
    'identity.oidc.enabled': true,
    'identity.oidc.mfaEvidenceRequired': true,
    'identity.session.concurrentLimit': 2,
    'identity.login.noticeConfigured': true,
    'identity.password.maxAgeDays': 365,
    'identity.password.historyCount': 5,
  },
  access: {
    ...DEFAULTS.access,
    'access.supervisorOverride.enabled': true,
    'access.dualApproval.enabled': true,
    'access.dualApproval.actions': ['keys.kek.destroy', 'recording.delete', 'grant.add.administrator'],
  },
  audit: DEFAULTS.audit,
  keys: { ...DEFAULTS.keys, 'keys.provider.kind': 'pkcs11', 'keys.provider.hardwareBacked': true },
  recording: DEFAULTS.recording,
  devices: DEFAULTS.devices,
  time: {
    'time.sync': {
      status: 'synchronized',
      method: 'chrony',
      detail: 'chrony: synchronised (reference C0A80001 (ntp1.plant.example))',
      authenticated: true,
    },
  },
};

/** (c) (b) with MFA relaxed for the operator role. */
const RELAXED: typeof DEFAULTS = {
  ...HARDENED,
  identity: {
    ...HARDENED.identity,
    'identity.mfa.required': false,
    'identity.mfa.exemptRoles': ['operator'],
  },
};

const NOW = new Date();
const YEAR = 365 * 86_400_000;
const ZONE = {
  id: 'control-room',
  name: 'Control room',
  slTarget: [3, 3, 3, 3, 2, 2, 2] as [3, 3, 3, 3, 2, 2, 2],
};

/** Attestations for every organisational requirement, as the asset owner records them in (b). */
const ATTESTATIONS: Attestation[] = CHECKS.filter((c): c is AttestationCheck => c.kind === 'attestation').map(
  (c, i) => ({
    id: `att-${i}`,
    requirement: c.requirement,
    zone: null,
    verdict: c.notApplicableAllowed && /^SR (1\.6|2\.2)/.test(c.requirement) ? 'not-applicable' : 'met',
    statement: /^SR (1\.6|2\.2)/.test(c.requirement)
      ? 'The control room has no wireless network.'
      : `Procedure for ${c.requirement} in the plant security manual, rev 3`,
    attestedBy: { id: 'u-owner', name: 'Plant security officer' },
    attachments: [],
    createdAt: new Date(NOW.getTime() - 86_400_000).toISOString(),
    expiresAt: new Date(NOW.getTime() + YEAR).toISOString(),
    revokedAt: null,
  }),
);

const HSM_PROXY: Countermeasure = {
  id: 'cm-tls-proxy',
  requirement: 'SR 1.9 RE1',
  zone: null,
  description:
    'Operator access terminates TLS on the HSM-backed reverse proxy RP-1; Palisade is reachable only from RP-1',
  recordedBy: { id: 'u-owner', name: 'Plant security officer' },
  createdAt: new Date(NOW.getTime() - 86_400_000).toISOString(),
  expiresAt: new Date(NOW.getTime() + YEAR).toISOString(),
  revokedAt: null,
};

function synthetic(namespace: string, facts: Facts): FactSource {
  return {
    name: `${namespace} (synthetic)`,
    namespace,
    async collect() {
      return Object.entries(facts).map(([key, value]) => ({ key, value, observedAt: NOW }));
    },
  };
}

describe('compliance acceptance scenarios (engine level, over fact sets mirroring each configuration)', () => {
  const dirs = { selfSigned: tempDir(), caIssued: tempDir() };
  const servers: FastifyInstance[] = [];
  let database: Database;
  let selfSignedServer: FastifyInstance;
  let caServer: FastifyInstance;

  async function listeningServer(tls: { certPem: string; keyPem: string }): Promise<FastifyInstance> {
    const app = await buildHttpServer({
      tls,
      logger: createLogger('silent'),
      version: '0.0.0-test',
      bodyLimitBytes: 1024 * 1024,
      rateLimit: { max: 600, windowMs: 60_000 },
      readiness: [{ name: 'database', check: () => database.ping() }],
      guard: async () => undefined,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    servers.push(app);
    return app;
  }

  before(async () => {
    database = openDatabase({ dataDir: dirs.selfSigned });
    await migrate(database, MIGRATIONS);
    selfSignedServer = await listeningServer(await ensureTlsMaterial({ dataDir: dirs.selfSigned }));
    caServer = await listeningServer(await issueServerCertificate('P-256'));
  });
  after(async () => {
    for (const s of servers) await s.close();
    await database.close();
  });

  async function run(
    config: typeof DEFAULTS,
    options: {
      server: FastifyInstance;
      attestations?: Attestation[];
      countermeasures?: Countermeasure[];
      overrides?: Record<string, number | 'omitted'>;
      without?: string[];
    },
  ): Promise<ZoneEvaluation> {
    const registry = new FactRegistry()
      .register(httpFactSource(options.server))
      .register(databaseFactSource(database))
      .register(complianceFactSource());
    for (const [ns, facts] of Object.entries(config)) {
      if (!(options.without ?? []).includes(ns)) registry.register(synthetic(ns, facts));
    }
    const facts = await registry.collect({ now: NOW });
    assert.deepEqual(facts.errors, [], 'every source answered');
    return evaluateCompliance({
      catalogue: effectiveCatalogue(options.overrides ?? {}),
      facts,
      zones: [ZONE],
      attestations: options.attestations ?? [],
      countermeasures: options.countermeasures ?? [],
      now: NOW,
    }).zones[0]!;
  }

  const blockers = (z: ZoneEvaluation) => z.gaps.map((g) => g.next?.blockers.map((b) => b.requirement) ?? []);
  const result = (z: ZoneEvaluation, id: string): RequirementResult =>
    z.results.find((r) => r.requirement === id)!;

  let a: ZoneEvaluation;
  let b: ZoneEvaluation;
  let c: ZoneEvaluation;

  it('(a) embedded defaults: SL-A [0,0,0,2,0,1,0], held down by missing statements, the sign-in notice and absent modules', async () => {
    a = await run(DEFAULTS, { server: selfSignedServer });
    assert.deepEqual(a.slAchieved, [0, 0, 0, 2, 0, 1, 0]);
    assert.deepEqual(a.compensated, [false, false, false, false, false, false, false]);
    assert.deepEqual(blockers(a), [
      ['SR 1.12', 'SR 1.4', 'SR 1.6', 'SR 1.13'],
      ['SR 2.2', 'SR 2.3'],
      ['SR 3.2', 'SR 3.3', 'SR 3.6'],
      ['SR 4.2 RE1'],
      ['SR 5.1', 'SR 5.2', 'SR 5.3', 'SR 5.4'],
      ['SR 6.2'],
      ['SR 7.3', 'SR 7.5', 'SR 7.6'],
    ]);
    assert.equal(
      a.gaps[0]!.next!.blockers[0]!.remedy,
      'configure the sign-in notice text (authorised use only, activity is monitored)',
    );
    // Observed on the real server: the generated certificate is self-signed.
    const sr18 = result(a, 'SR 1.8');
    assert.equal(sr18.status, 'not-met');
    assert.match(sr18.check.reason, /http\.listener\.https uses a self-signed certificate/);
    assert.equal(sr18.evidence[0]!.source, 'http.server');
    assert.deepEqual(
      a.gaps[0]!.toTarget.map((t) => t.requirement),
      [
        'SR 1.12',
        'SR 1.4',
        'SR 1.6',
        'SR 1.13',
        'SR 1.8',
        'SR 1.6 RE1',
        'SR 1.13 RE1',
        'SR 1.3 RE1',
        'SR 1.5 RE1',
        'SR 1.7 RE1',
        'SR 1.9 RE1',
      ],
    );
  });

  it('(b) hardened with attestations: SL-A [3*,4,3,3,0,1,2], FR1 marked as relying on a countermeasure', async () => {
    b = await run(HARDENED, { server: caServer, attestations: ATTESTATIONS, countermeasures: [HSM_PROXY] });
    assert.deepEqual(b.slAchieved, [3, 4, 3, 3, 0, 1, 2]);
    assert.deepEqual(b.compensated, [true, false, false, false, false, false, false]);
    assert.deepEqual(blockers(b), [
      ['SR 1.7 RE2'],
      [],
      ['SR 3.9 RE1'],
      ['SR 4.1 RE2'],
      ['SR 5.1', 'SR 5.2', 'SR 5.4'],
      ['SR 6.2'],
      ['SR 7.1 RE2'],
    ]);
    assert.equal(b.gaps[1]!.next, null, 'FR2 is at SL 4');
    const sr19re1 = result(b, 'SR 1.9 RE1');
    assert.deepEqual(
      [sr19re1.status, sr19re1.basis, sr19re1.check.status],
      ['met', 'compensated', 'not-met'],
    );
    assert.equal(result(b, 'SR 1.8').status, 'met', 'the CA-issued certificate is observed as such');
    assert.equal(result(b, 'SR 2.7').check.reason, 'an account may hold at most 2 session(s) at once');
    assert.equal(result(b, 'SR 2.1 RE4').status, 'met');
    assert.equal(result(b, 'SR 1.6').status, 'not-applicable');
    // Blocked only by requirements whose modules are not built: FR5, FR6 and FR7 say which.
    assert.match(b.gaps[4]!.next!.blockers[0]!.reason, /^network module not present/);
    assert.match(b.gaps[6]!.next!.blockers[0]!.reason, /^network module not present/);
    assert.deepEqual(
      b.gaps.map((g) => g.toTarget.map((t) => t.requirement)),
      [[], [], [], [], ['SR 5.1', 'SR 5.2', 'SR 5.4', 'SR 5.1 RE1', 'SR 5.2 RE1'], ['SR 6.2'], []],
    );
  });

  it('(c) (b) with MFA relaxed for one role: FR1 falls to 2, blocked by SR 1.1 RE2 naming the role', async () => {
    c = await run(RELAXED, { server: caServer, attestations: ATTESTATIONS, countermeasures: [HSM_PROXY] });
    assert.deepEqual(c.slAchieved, [2, 4, 3, 3, 0, 1, 2]);
    assert.deepEqual(
      c.compensated,
      [false, false, false, false, false, false, false],
      'SL 2 does not rely on the countermeasure',
    );
    assert.deepEqual(blockers(c)[0], ['SR 1.1 RE2']);
    const gap = c.gaps[0]!.next!.blockers[0]!;
    assert.equal(gap.reason, 'MFA is not required for role(s) operator');
    assert.equal(gap.remedy, 'require MFA for role(s) operator (remove them from the MFA exemptions)');
    assert.deepEqual(
      c.gaps[0]!.toTarget.map((t) => t.requirement),
      ['SR 1.1 RE2'],
    );
    // The evidence is every fact the check read, with its source.
    const evidence = result(c, 'SR 1.1 RE2').evidence;
    assert.deepEqual(
      evidence.map((f) => f.key),
      [
        'identity.mfa.coverage',
        'identity.mfa.exemptRoles',
        'identity.mfa.required',
        'identity.oidc.enabled',
        'identity.oidc.mfaEvidenceRequired',
      ],
    );
    assert.deepEqual(evidence[1]!.value, ['operator']);
    assert.ok(
      evidence.every((f) => f.source === 'identity (synthetic)' && f.observedAt === NOW.toISOString()),
    );
  });

  it('explains every change of level between scenarios by the gap list', () => {
    const explain = (from: ZoneEvaluation, to: ZoneEvaluation) => {
      for (const g of from.gaps) {
        const i = g.fr - 1;
        const before = from.slAchieved[i]!;
        const afterLevel = to.slAchieved[i]!;
        if (afterLevel > before) {
          // Everything the lower scenario listed as blocking those levels is satisfied in the higher one.
          const blockingThen = from.results.filter(
            (r) =>
              r.fr === g.fr &&
              r.level !== null &&
              r.level > before &&
              r.level <= afterLevel &&
              !['met', 'not-applicable'].includes(r.status),
          );
          assert.ok(blockingThen.length > 0);
          assert.ok(g.next!.blockers.every((x) => blockingThen.some((r) => r.requirement === x.requirement)));
          for (const r of blockingThen)
            assert.ok(
              ['met', 'not-applicable'].includes(result(to, r.requirement).status),
              `${r.requirement} changed`,
            );
        }
        if (afterLevel < before) {
          // The higher scenario's requirement that fails in the lower one is what the lower gap list names.
          const named = to.gaps[i]!.next!.blockers.map((x) => x.requirement);
          for (const id of named)
            assert.ok(['met', 'not-applicable'].includes(result(from, id).status), `${id} was met before`);
          assert.ok(named.length > 0);
        }
      }
    };
    explain(a, b);
    explain(b, c);
    // The only FR that moved from (b) to (c) is FR1, and only SR 1.1 RE2 (and RE3, which needs it) changed.
    const changed = b.results
      .filter((r) => r.status !== result(c, r.requirement).status)
      .map((r) => r.requirement);
    assert.deepEqual(changed, ['SR 1.1 RE2', 'SR 1.1 RE3']);
  });

  it('a requirement with no fact source is "not assessed" and caps its FR: (b) without the keys module', async () => {
    const z = await run(HARDENED, {
      server: caServer,
      attestations: ATTESTATIONS,
      countermeasures: [HSM_PROXY],
      without: ['keys'],
    });
    assert.deepEqual(z.slAchieved, [2, 4, 1, 1, 0, 1, 2]);
    const r = result(z, 'SR 1.5 RE1');
    assert.equal(r.status, 'not-assessed');
    assert.equal(r.check.reason, 'keys module not present: nothing reports keys.provider.kind');
    // SR 1.9 RE1 cannot be observed either, but the recorded countermeasure still covers it.
    assert.deepEqual(blockers(z)[0], ['SR 1.5 RE1']);
    assert.equal(result(z, 'SR 1.9 RE1').basis, 'compensated');
    assert.deepEqual(blockers(z)[3], ['SR 4.1 RE1', 'SR 4.2']);
  });

  it('a gating override in configuration moves the cap: SR 4.1 RE2 at SL 3 holds FR4 of (b) at 2', async () => {
    const z = await run(HARDENED, {
      server: caServer,
      attestations: ATTESTATIONS,
      countermeasures: [HSM_PROXY],
      overrides: { 'SR 4.1 RE2': 3 },
    });
    assert.equal(z.slAchieved[3], 2);
    assert.deepEqual(blockers(z)[3], ['SR 4.1 RE2']);
  });
});
