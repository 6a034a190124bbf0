import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  ComplianceStore,
  FactRegistry,
  complianceFactSource,
  effectiveCatalogue,
  evaluateCompliance,
  fileEvidenceSigner,
  timeFactSource,
  toSlVector,
  type ComplianceEvaluation,
  type EffectiveCatalogue,
  type EvidenceSigner,
  type FactSource,
  type JsonValue,
  type Zone,
} from '../compliance/index.js';
import type { Config } from '../config/index.js';
import { describeDatabaseSecurity, type Database } from '../db/index.js';
import { describeHttpSecurity } from '../http/index.js';
import type { Logger } from '../log/index.js';
import { assembleServer, openState } from './palisade.js';

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

/** Every fact source that exists in this build. */
export function factSources(app: FastifyInstance, database: Database): FactRegistry {
  return new FactRegistry()
    .register(httpFactSource(app))
    .register(databaseFactSource(database))
    .register(timeFactSource())
    .register(complianceFactSource());
}

/**
 * Until the network module provides zones, one zone named "default" with SL-T from
 * `compliance.defaultTarget` stands for the whole installation.
 */
export function defaultZones(config: Config): Zone[] {
  return [
    {
      id: 'default',
      name: 'Default zone (the whole installation)',
      slTarget: toSlVector(config.compliance.defaultTarget, 'compliance.defaultTarget'),
    },
  ];
}

export interface ComplianceContext {
  catalogue: EffectiveCatalogue;
  store: ComplianceStore;
  zones: Zone[];
  instanceId: string;
  dataDir: string;
  evaluate(now?: Date): Promise<ComplianceEvaluation>;
  signer(): EvidenceSigner;
  close(): Promise<void>;
}

/**
 * Opens what the compliance commands need: the database (attestations), and the server assembled as
 * `serve` would assemble it, listening on an ephemeral loopback port only so that its TLS can be
 * observed with a real handshake. Nothing else is started.
 */
export async function openCompliance(config: Config, logger: Logger): Promise<ComplianceContext> {
  const catalogue = effectiveCatalogue(config.compliance.gatingOverrides);
  const zones = defaultZones(config);
  const { database, instanceId } = await openState(config, logger);
  let app: FastifyInstance | undefined;
  try {
    // The probe server's request logs would drown what the command prints; keep its warnings only.
    const quiet = logger.levelVal < 40 ? logger.child({}, { level: 'warn' }) : logger;
    app = (await assembleServer(config, quiet, database)).app;
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (err) {
    await app?.close();
    await database.close();
    throw err;
  }
  const server = app;
  const registry = factSources(server, database);
  const store = new ComplianceStore(database);
  const dataDir = path.resolve(config.dataDir);
  return {
    catalogue,
    store,
    zones,
    instanceId,
    dataDir,
    async evaluate(now = new Date()) {
      const facts = await registry.collect({ now });
      return evaluateCompliance({
        catalogue,
        facts,
        zones,
        attestations: await store.listAttestations(),
        countermeasures: await store.listCountermeasures(),
        now,
      });
    },
    signer: () => fileEvidenceSigner(dataDir),
    async close() {
      await server.close();
      await database.close();
    },
  };
}
