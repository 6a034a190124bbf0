import { statSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import {
  ComplianceStore,
  FactRegistry,
  complianceFactSource,
  effectiveCatalogue,
  evaluateCompliance,
  writeEvidencePack,
  timeFactSource,
  toSlVector,
  type ComplianceEvaluation,
  type EffectiveCatalogue,
  type FactSource,
  type JsonValue,
  type EvidenceSigner,
  type PackResult,
  type Zone,
} from '../compliance/index.js';
import { describeDatabaseSecurity, tablesOf, type Database } from '../db/index.js';
import { describeHttpSecurity, routeAccessTable } from '../http/index.js';
import { accessFactSource } from '../access/index.js';
import { auditFactSource, type AuditActor } from '../audit/index.js';
import { identityFactSource, type IdentityTables } from '../identity/index.js';
import { keysFactSource, type Keyring } from '../keys/index.js';
import type { ZoneDirectory } from '../network/index.js';
import { recordingFactSources } from '../recording/index.js';
import type { PalisadeServices } from './palisade.js';
import { VERSION } from './version.js';

/**
 * Wiring of the compliance engine: adapts what the infrastructure modules describe about themselves into
 * facts, registers every fact source, and hands the engine its zones. Each domain module adds its own
 * source here when it lands (identity, access, audit, keys, ...).
 */

const camel = (name: string) => name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

const HEADER_FACTS = [
  'content-security-policy',
  'strict-transport-security',
  'x-frame-options',
  'x-content-type-options',
  'referrer-policy',
  'cache-control',
];

/** Facts of the HTTPS server: its listener, route validation, headers, limits and error shape. */
export function httpFactSource(app: FastifyInstance): FactSource {
  return {
    name: 'http.server',
    namespace: 'http',
    async collect() {
      const d = await describeHttpSecurity(app);
      const headers: Record<string, string> = {};
      // An absent header is reported as empty: observed missing, not unknown.
      for (const name of HEADER_FACTS) headers[camel(name)] = d.headers[name] ?? '';
      const at = d.observedAt;
      return [
        { key: 'http.listener.https', value: d.listener as unknown as JsonValue, observedAt: at },
        {
          key: 'http.routes',
          value: {
            total: d.routes.length,
            unvalidated: d.routes
              .filter((r) => r.unvalidated.length > 0)
              .map((r) => `${r.method} ${r.url}: ${r.unvalidated.join(', ')}`),
          },
          observedAt: at,
        },
        { key: 'http.headers', value: headers, observedAt: at },
        { key: 'http.limits', value: d.limits, observedAt: at },
        { key: 'http.errors', value: d.errors, observedAt: at },
      ];
    },
  };
}

/** Facts of the database link: transport protection and commit durability, as the database reports them. */
export function databaseFactSource(database: Database): FactSource {
  return {
    name: 'database',
    namespace: 'database',
    async collect() {
      const d = await describeDatabaseSecurity(database);
      return [
        { key: 'database.transport', value: d.transport, observedAt: d.observedAt },
        {
          key: 'database.durability',
          value: { dialect: d.dialect, durable: d.durability.durable, settings: d.durability.settings },
          observedAt: d.observedAt,
        },
      ];
    },
  };
}

/** The routes of the assembled server and their declared access, for the identity and access facts. */
function routeFacts(app: FastifyInstance): () => { publicRoutes: string[]; allGuarded: boolean } {
  return () => {
    const table = routeAccessTable(app);
    return {
      publicRoutes: table.filter((r) => r.access?.public).map((r) => `${r.method} ${r.url}`),
      allGuarded: table.every((r) => r.access !== undefined),
    };
  };
}

/** The evidence-pack key, held by the key provider (the HSM when one is configured). */
async function evidenceSigner(keyring: Keyring): Promise<EvidenceSigner> {
  const key = await keyring.signer('evidence-pack');
  return {
    name: `${keyring.provider.kind}:evidence-pack`,
    publicKey: key.publicKey,
    sign: (m) => key.sign(m),
  };
}

/**
 * The recorder warns before the file system holding the video fills (SR 2.9). That warning also covers
 * the audit log when the log lives in an SQLite file on the same file system; a PostgreSQL server's
 * storage is watched by whoever runs it, so then there is no warning of ours to report.
 */
function auditStorageWarning(services: PalisadeServices): number | null {
  if (services.database.dialect !== 'sqlite') return null;
  try {
    const same = statSync(services.database.location).dev === statSync(services.recorder.store.location).dev;
    return same ? services.recorder.settings.capacity.warnFreeRatio : null;
  } catch {
    return null;
  }
}

/** Every fact source that exists in this build. */
export function factSources(app: FastifyInstance, services: PalisadeServices): FactRegistry {
  const { config, database, identity, access, audit } = services;
  const routes = routeFacts(app);
  const registry = new FactRegistry()
    .register(httpFactSource(app))
    .register(databaseFactSource(database))
    .register(timeFactSource())
    .register(complianceFactSource())
    .register(
      identityFactSource({
        identity,
        db: tablesOf<IdentityTables>(database),
        mfaExemptRoles: async () =>
          (await access.store.roles()).filter((r) => !r.mfaRequired).map((r) => r.id),
        routes,
        oidc: {
          enabled: config.identity.oidc !== undefined,
          mfaEvidenceRequired: config.identity.oidc?.mfa === 'require-idp',
        },
      }),
    )
    .register(accessFactSource(access, routes))
    .register(
      auditFactSource({
        log: audit,
        database,
        dataDir: services.dataDir,
        warningThresholdRatio: () => auditStorageWarning(services),
      }),
    )
    .register(keysFactSource({ keyring: services.keyring, kekMaxAgeDays: config.keys.kekMaxAgeDays }));
  for (const source of recordingFactSources(services.recorder)) registry.register(source);
  return registry;
}

/** The zones of the installation with their target security levels, as the engine takes them. */
export async function complianceZones(zones: ZoneDirectory): Promise<Zone[]> {
  return (await zones.listZones()).map((z) => ({
    id: z.id,
    name: z.name,
    slTarget: toSlVector(z.slTarget, `zone ${z.id}`),
  }));
}

/** Everything the compliance routes and commands need, over one assembled server. */
export interface ComplianceService {
  catalogue: EffectiveCatalogue;
  store: ComplianceStore;
  evaluate(now?: Date): Promise<ComplianceEvaluation>;
  /** Writes a signed evidence pack (folder and zip), with a freshly signed audit checkpoint, and audits it. */
  pack(outDir: string, by: AuditActor, auditCheckpoint?: string): Promise<PackResult>;
}

export function createComplianceService(
  app: FastifyInstance,
  services: PalisadeServices,
  catalogue: EffectiveCatalogue = effectiveCatalogue(services.config.compliance.gatingOverrides),
  store: ComplianceStore = new ComplianceStore(services.database),
): ComplianceService {
  const { audit, zones } = services;
  const registry = factSources(app, services);
  const evaluate = async (now = new Date()) =>
    evaluateCompliance({
      catalogue,
      facts: await registry.collect({ now }),
      zones: await complianceZones(zones),
      attestations: await store.listAttestations(),
      countermeasures: await store.listCountermeasures(),
      now,
    });
  return {
    catalogue,
    store,
    evaluate,
    async pack(outDir, by, auditCheckpoint) {
      const checkpoint = auditCheckpoint ?? (await audit.signCheckpoint()).note;
      const evaluation = await evaluate();
      const result = await writeEvidencePack({
        outDir,
        evaluation,
        catalogue,
        attestations: await store.listAttestations(),
        attachment: (id, name) => store.attachment(id, name),
        countermeasures: await store.listCountermeasures(),
        auditCheckpoint: checkpoint,
        signer: await evidenceSigner(services.keyring),
        generator: `Palisade ${VERSION}`,
        instanceId: services.instanceId,
      });
      await audit.append({
        action: 'compliance.pack.created',
        outcome: 'success',
        actor: by,
        details: {
          files: result.files.length,
          signingKey: result.fingerprint,
          zones: evaluation.zones.map((z) => ({ zone: z.zone.id, slAchieved: z.slAchieved.map(String) })),
        },
      });
      return result;
    },
  };
}
