import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import type { Zone } from '../compliance/index.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { complianceZones, createComplianceService, type ComplianceService } from './compliance.js';
import { assembleServer, openServices } from './palisade.js';

export interface ComplianceContext extends ComplianceService {
  audit: AuditLog;
  zones: Zone[];
  instanceId: string;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * Opens what the compliance commands need: the services, and the server assembled as `serve` would
 * assemble it, listening on an ephemeral loopback port only so that its TLS can be observed with a real
 * handshake. Nothing else is started.
 */
export async function openCompliance(config: Config, logger: Logger): Promise<ComplianceContext> {
  const services = await openServices(config, logger, { periodicCheckpoints: false });
  let app: FastifyInstance | undefined;
  try {
    // The probe server's request logs would drown what the command prints; keep its warnings only.
    const quiet = logger.levelVal < 40 ? logger.child({}, { level: 'warn' }) : logger;
    ({ app } = await assembleServer(services, quiet));
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (err) {
    await app?.close();
    await services.close();
    throw err;
  }
  const server = app;
  return {
    ...createComplianceService(server, services),
    audit: services.audit,
    zones: await complianceZones(services.zones),
    instanceId: services.instanceId,
    dataDir: services.dataDir,
    async close() {
      await server.close();
      await services.close();
    },
  };
}
