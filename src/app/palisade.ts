import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  accessRoutes,
  AccessService,
  actorOf,
  covers,
  scopesFor,
  subjectOf,
  type Permission,
} from '../access/index.js';
import { auditRoutes, type AuditActor, type AuditLog, type CheckpointSigner } from '../audit/index.js';
import { complianceRoutes, ComplianceStore, effectiveCatalogue, toSlVector } from '../compliance/index.js';
import type { Config } from '../config/index.js';
import { migrate, openDatabase, type Database } from '../db/index.js';
import { buildHttpServer, ensureTlsMaterial, type TlsMaterial } from '../http/index.js';
import { identityRoutes, principalOf, type IdentityService } from '../identity/index.js';
import { keysRoutes, type Keyring, type KeyProvider } from '../keys/index.js';
import type { Logger } from '../log/index.js';
import { PalisadeError } from '../errors/index.js';
import { networkRoutes, ZoneDirectory } from '../network/index.js';
import { EvidenceService, PlaybackService, playbackRoutes } from '../playback/index.js';
import { Recorder, recordingRoutes } from '../recording/index.js';
import { LocalBlobStore } from '../storage/index.js';
import { openKeysAndAudit, SYSTEM_ACTOR, type KeysAndAudit } from './audit.js';
import { createComplianceService, type ComplianceService } from './compliance.js';
import { createGuard } from './guard.js';
import { createIdentity, keyringSecretBox, PublicOrigin } from './identity.js';
import { ensureInstanceId } from './instance.js';
import { MIGRATIONS } from './migrations.js';
import { VERSION } from './version.js';

/** The built web console: `web/dist` of the installed package (this file runs from dist/src/app/). */
const CONSOLE_DIR = path.resolve(import.meta.dirname, '..', '..', '..', 'web', 'dist');

/** Everything a command needs, opened and ready; `close()` releases it. */
export interface PalisadeServices {
  config: Config;
  dataDir: string;
  database: Database;
  instanceId: string;
  audit: AuditLog;
  keyring: Keyring;
  keyProvider: KeyProvider;
  zones: ZoneDirectory;
  access: AccessService;
  identity: IdentityService;
  origin: PublicOrigin;
  /** The recording service: opened; `startPalisade` recovers and starts it. */
  recorder: Recorder;
  playback: PlaybackService;
  evidence: EvidenceService;
  /** Set when this start created the first administrator: print it once, it is never shown again. */
  firstAdministrator: { username: string; oneTimePassword: string } | undefined;
  close(): Promise<void>;
}

export interface RunningPalisade extends PalisadeServices {
  url: string;
  port: number;
  tls: TlsMaterial;
  compliance: ComplianceService;
  stop(): Promise<void>;
}

/** Creates the data dir (0700) and returns its absolute path. */
export function prepareDataDir(dataDir: string): string {
  const abs = path.resolve(dataDir);
  mkdirSync(abs, { recursive: true, mode: 0o700 });
  return abs;
}

/** Opens the database and brings its schema up to date. Used by every command that touches state. */
export async function openState(
  config: Config,
  logger: Logger,
): Promise<{ database: Database; instanceId: string }> {
  const dataDir = prepareDataDir(config.dataDir);
  const database = openDatabase({ url: config.database.url, dataDir, poolSize: config.database.poolSize });
  try {
    const report = await migrate(database, MIGRATIONS);
    for (const m of report.applied) logger.info({ version: m.version, name: m.name }, 'migration applied');
    const instanceId = await ensureInstanceId(database);
    return { database, instanceId };
  } catch (err) {
    await database.close();
    throw err;
  }
}

/**
 * Opens state and the domain services, and makes sure the first-start defaults exist: built-in roles,
 * a default site and zone, and the first administrator (with a one-time password, never a default one).
 */
export async function openServices(
  config: Config,
  logger: Logger,
  options: { periodicCheckpoints: boolean },
): Promise<PalisadeServices> {
  const dataDir = prepareDataDir(config.dataDir);
  const { database, instanceId } = await openState(config, logger);
  let custody: KeysAndAudit | undefined;
  let recorder: Recorder | undefined;
  try {
    custody = await openKeysAndAudit(config, database, instanceId, logger, options);
    const { audit, keyring } = custody;
    const zones = new ZoneDirectory(database);
    await zones.ensureDefaults(toSlVector(config.compliance.defaultTarget, 'compliance.defaultTarget'));
    const access = new AccessService(database, audit, config.access.dualApproval);
    await access.store.syncBuiltInRoles();
    // Destroying a zone's KEK shreds everything sealed under it: it always waits for a second person.
    access.approvals.register('keys.kek.destroy', async (payload, { approvedBy }) => {
      const { zone } = payload as { zone: string };
      await keyring.destroyKek(zone, { actor: actorOf(approvedBy) });
      return { destroyed: zone };
    });
    const origin = new PublicOrigin(config.http.publicUrl);
    const identity = createIdentity({
      config,
      database,
      audit,
      access,
      box: keyringSecretBox(keyring),
      origin,
    });
    const firstAdministrator = await identity.ensureFirstAdministrator(async (userId) => {
      await access.store.addGrant({
        userId,
        roleId: 'administrator',
        scope: { kind: 'all' },
        createdBy: 'palisade.init',
      });
    });
    // The video integrity log signs its checkpoints with a key held by the keys provider.
    const videoOrigin = `palisade/${instanceId}/video-integrity`;
    const videoKey = await keyring.signer('video-integrity');
    const videoSigner: CheckpointSigner = {
      name: videoOrigin,
      publicKey: videoKey.publicKey,
      sign: (message) => videoKey.sign(message),
    };
    recorder = await Recorder.open({
      database,
      keyring,
      store: await LocalBlobStore.open(config.recording.storageDir ?? path.join(dataDir, 'video')),
      audit,
      zones,
      settings: config.recording,
      signer: videoSigner,
      origin: videoOrigin,
      systemActor: SYSTEM_ACTOR,
      logger: logger.child({ module: 'recording' }),
      checkpointIntervalMs: options.periodicCheckpoints ? config.audit.checkpointIntervalSeconds * 1000 : 0,
    });
    const rec = recorder;
    // Deleting recorded video under dual approval: runs once a second person approves.
    access.approvals.register('recording.delete', async (payload, { approvedBy }) => {
      const p = payload as { cameraId: string; from: string; to: string };
      const deleted = await rec.deleteRecordings(
        p.cameraId,
        Date.parse(p.from),
        Date.parse(p.to),
        actorOf(approvedBy),
      );
      return { deleted };
    });
    const opened = custody;
    const playback = new PlaybackService({ recorder, keyring, audit, settings: config.playback });
    const evidence = new EvidenceService({
      database,
      recorder,
      keyring,
      audit,
      playback,
      version: VERSION,
      siteOf: async (zoneId) => (await zones.getZone(zoneId))?.siteId,
      approval: async (id) => {
        const a = await access.approvals.get(id);
        return (
          a && {
            id: a.id,
            action: a.action,
            requestedBy: a.requestedBy,
            requestedAt: a.requestedAt,
            status: a.status,
            decidedBy: a.decidedBy,
            decidedAt: a.decidedAt,
            decisionReason: a.decisionReason,
          }
        );
      },
      logger: logger.child({ module: 'playback' }),
    });
    // An evidence export under dual approval is produced once a second person approves it.
    access.approvals.register('evidence.export', async (payload, { requestedBy }) => {
      const { exportId } = payload as { exportId: string };
      const e = await evidence.get(exportId);
      evidence.start(exportId, {
        type: 'user',
        id: requestedBy,
        ...(e?.requestedByName ? { name: e.requestedByName } : {}),
        auth: 'dual-approval',
      });
      return { export: exportId, state: 'running' };
    });
    return {
      config,
      dataDir,
      database,
      instanceId,
      audit,
      keyring,
      keyProvider: custody.provider,
      zones,
      access,
      identity,
      origin,
      recorder: rec,
      playback,
      evidence,
      firstAdministrator,
      async close() {
        await evidence.idle();
        await rec.close();
        await opened.close();
        await database.close();
      },
    };
  } catch (err) {
    await recorder?.close().catch(() => undefined);
    await custody?.close();
    await database.close();
    throw err;
  }
}

/**
 * Builds the HTTPS server with every module's routes, without listening. `startPalisade` listens on it;
 * the compliance commands assemble the same server to observe it.
 */
export async function assembleServer(
  services: PalisadeServices,
  logger: Logger,
): Promise<{ app: FastifyInstance; tls: TlsMaterial; compliance: ComplianceService }> {
  const { config, database, audit, identity, access, zones, keyring, recorder, playback, evidence } =
    services;
  const catalogue = effectiveCatalogue(config.compliance.gatingOverrides);
  const complianceStore = new ComplianceStore(database);
  const tls = await ensureTlsMaterial({
    dataDir: services.dataDir,
    certFile: config.http.tls.certFile,
    keyFile: config.http.tls.keyFile,
    hostnames: [config.http.host],
  });
  const actor = (request: FastifyRequest): AuditActor => {
    const p = principalOf(request);
    return {
      type: p.kind === 'service' ? 'service' : 'user',
      id: p.userId,
      name: p.username,
      auth: p.auth,
      address: p.address,
    };
  };
  const siteOf = async (zoneId: string) => (await zones.getZone(zoneId))?.siteId;
  /** The ids of the cameras, among those listed, on which the caller holds `permission`. */
  const camerasInScope =
    (permission: Permission) =>
    (request: FastifyRequest, cameras: readonly { id: string; zoneId: string; siteId: string }[]) => {
      const scopes = scopesFor(subjectOf(request), permission);
      return new Set(
        cameras
          .filter((c) =>
            scopes.some((s) =>
              covers(s, { kind: 'camera', id: c.id, zoneId: c.zoneId, siteId: c.siteId, groupIds: [] }),
            ),
          )
          .map((c) => c.id),
      );
    };
  const guard = createGuard({ identity, access, audit });
  const app = await buildHttpServer({
    tls,
    logger,
    version: VERSION,
    bodyLimitBytes: config.http.bodyLimitBytes,
    rateLimit: config.http.rateLimit,
    readiness: [{ name: 'database', check: () => database.ping() }],
    consoleDir: CONSOLE_DIR,
    guard,
    routes: [
      identityRoutes(identity),
      accessRoutes(access),
      networkRoutes({
        zones,
        audit,
        actor,
        visible: (request, all) => {
          const scopes = scopesFor(subjectOf(request), 'zone.view');
          return new Set(
            all
              .filter((z) =>
                scopes.some(
                  (s) =>
                    s.kind === 'all' ||
                    (s.kind === 'site' && s.id === z.siteId) ||
                    (s.kind === 'zone' && s.id === z.id),
                ),
              )
              .map((z) => z.id),
          );
        },
      }),
      async (instance) =>
        instance.register(auditRoutes, {
          log: audit,
          actorOf: actor,
          workDir: path.join(services.dataDir, 'tmp'),
        }),
      keysRoutes({
        keyring,
        actor,
        rewrapBatchSize: config.keys.rewrapBatchSize,
        requestKekDestruction: async (request, zone, reason) => {
          const approval = await access.approvals.request({
            action: 'keys.kek.destroy',
            summary: `destroy the key-encryption key of zone ${zone}: ${reason}`,
            payload: { zone },
            by: subjectOf(request),
          });
          const { payload: _payload, ...visible } = approval;
          return visible;
        },
      }),
      recordingRoutes({
        recorder,
        siteOf,
        actor,
        visible: camerasInScope('camera.view'),
        requirePermission: async (request, permission, camera) => {
          const d = await access.authorize(
            subjectOf(request),
            permission,
            camera,
            `${request.method} ${request.routeOptions.url ?? ''}`,
          );
          if (!d.allowed)
            throw new PalisadeError('ACCESS_DENIED', `not allowed: ${d.reason}`, { status: 403 });
        },
        approval: {
          required: () => access.approvals.requires('recording.delete'),
          request: async (request, input) => {
            const r = await access.approvals.request({
              action: 'recording.delete',
              summary: input.summary,
              payload: input.payload,
              by: subjectOf(request),
            });
            return { id: r.id, expiresAt: r.expiresAt };
          },
        },
      }),
      playbackRoutes({
        playback,
        evidence,
        recorder,
        audit,
        siteOf,
        actor,
        userId: (request) => principalOf(request).userId,
        visible: camerasInScope('video.export'),
        browserSession: (request) => principalOf(request).sessionId !== undefined,
        publicOrigin: () => services.origin.origin,
        // A live view re-runs its route's rule: the session must still be valid, the permission held.
        recheck: async (request) => {
          const rule = request.routeOptions.config.access;
          if (rule) await guard(request, rule);
        },
        approval: {
          required: () => access.approvals.requires('evidence.export'),
          request: async (request, input) => {
            const r = await access.approvals.request({
              action: 'evidence.export',
              summary: input.summary,
              payload: input.payload,
              by: subjectOf(request),
            });
            return { id: r.id, expiresAt: r.expiresAt };
          },
        },
        logger: logger.child({ module: 'playback' }),
      }),
      complianceRoutes({
        catalogue,
        store: complianceStore,
        evaluate: () => compliance.evaluate(),
        subject: (request) =>
          request.principal && { id: request.principal.userId, name: request.principal.username },
        recorded: async (request, action, details) => {
          await audit.append({
            action,
            outcome: 'success',
            actor: actor(request),
            target: {
              type: 'compliance-record',
              id: details.id ?? '',
              ...(details.zone && { zone: details.zone }),
            },
            details,
          });
        },
        pack: async (request) => {
          const dir = await mkdtemp(path.join(tmpdir(), 'palisade-pack-'));
          const result = await compliance.pack(path.join(dir, 'evidence-pack'), actor(request));
          return { zip: result.zip, cleanup: () => rm(dir, { recursive: true, force: true }) };
        },
      }),
    ],
  });
  // The compliance service observes the assembled server itself (its listener, routes and headers).
  const compliance = createComplianceService(app, services, catalogue, complianceStore);
  return { app, tls, compliance };
}

/** Assembles and starts the server. The composition root: the only place that knows every module. */
export async function startPalisade(config: Config, logger: Logger): Promise<RunningPalisade> {
  const services = await openServices(config, logger, { periodicCheckpoints: true });
  const { database, audit, instanceId } = services;
  try {
    const { app, tls, compliance } = await assembleServer(services, logger);
    await app.listen({ host: config.http.host, port: config.http.port });
    // Recovers segments a crash left open, then starts every camera set to record.
    await services.recorder.start();
    const address = app.server.address() as AddressInfo;
    services.origin.bind(address.port);
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `https://${host}:${address.port}`;
    await audit.append({
      action: 'system.started',
      outcome: 'success',
      actor: SYSTEM_ACTOR,
      target: { type: 'instance', id: instanceId },
      details: { version: VERSION, url, database: database.dialect, tlsFingerprint: tls.fingerprint256 },
    });
    const rewraps = resumeRewraps(services, logger);
    return {
      ...services,
      url,
      port: address.port,
      tls,
      compliance,
      async stop() {
        await app.close();
        await rewraps.stop();
        await audit.append({
          action: 'system.stopped',
          outcome: 'success',
          actor: SYSTEM_ACTOR,
          target: { type: 'instance', id: instanceId },
        });
        // The last checkpoint covers the stop itself, so an auditor can tell a clean stop from a crash.
        await audit.signCheckpoint();
        await services.close();
      },
    };
  } catch (err) {
    await services.close();
    throw err;
  }
}

/**
 * Re-wrap jobs left running by a crash or a stop continue in the background at start; a stop pauses
 * them between batches (they resume at the next start).
 */
function resumeRewraps(services: PalisadeServices, logger: Logger): { stop(): Promise<void> } {
  const controller = new AbortController();
  const running = (async () => {
    const jobs = await services.keyring.rewrapJobs({ state: 'running' });
    for (const kekId of new Set(jobs.map((j) => j.kekId))) {
      if (controller.signal.aborted) return;
      logger.info({ zone: kekId }, 'resuming key re-wrap');
      await services.keyring.rewrap(kekId, {
        batchSize: services.config.keys.rewrapBatchSize,
        signal: controller.signal,
      });
    }
  })().catch((err: unknown) => {
    if (!controller.signal.aborted) logger.error({ err }, 're-wrap stopped; it resumes at the next start');
  });
  return {
    async stop() {
      controller.abort();
      await running;
    },
  };
}
