import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { accessRoutes, AccessService, covers, scopesFor, subjectOf } from '../access/index.js';
import { auditRoutes, openFileSigner, type AuditActor, type AuditLog } from '../audit/index.js';
import { PalisadeError } from '../errors/index.js';
import type { Config } from '../config/index.js';
import { migrate, openDatabase, type Database } from '../db/index.js';
import { buildHttpServer, ensureTlsMaterial, type TlsMaterial } from '../http/index.js';
import { identityRoutes, principalOf, type IdentityService } from '../identity/index.js';
import type { Logger } from '../log/index.js';
import { Keyring, openKeyProvider, type KeyProvider } from '../keys/index.js';
import { networkRoutes, ZoneDirectory } from '../network/index.js';
import { EvidenceService, PlaybackService, playbackRoutes } from '../playback/index.js';
import { Recorder, recordingRoutes } from '../recording/index.js';
import { LocalBlobStore } from '../storage/index.js';
import { openAudit, SYSTEM_ACTOR } from './audit.js';
import { createGuard } from './guard.js';
import { createIdentity, PublicOrigin } from './identity.js';
import { ensureInstanceId } from './instance.js';
import { MIGRATIONS } from './migrations.js';
import { fileSecretBox } from './secret-box.js';
import { VERSION } from './version.js';

/** Everything a command needs, opened and ready; `close()` releases it. */
export interface PalisadeServices {
  config: Config;
  dataDir: string;
  database: Database;
  instanceId: string;
  audit: AuditLog;
  zones: ZoneDirectory;
  access: AccessService;
  identity: IdentityService;
  origin: PublicOrigin;
  keyring: Keyring;
  /** The recording service: opened (startup recovery done), started by `startPalisade`. */
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
  let audit: AuditLog | undefined;
  let provider: KeyProvider | undefined;
  let recorder: Recorder | undefined;
  try {
    audit = await openAudit(config, database, instanceId, logger, options);
    const auditLog = audit;
    const zones = new ZoneDirectory(database);
    await zones.ensureDefaults([2, 2, 2, 2, 2, 2, 2]);
    const access = new AccessService(database, audit, config.access.dualApproval);
    await access.store.syncBuiltInRoles();
    const origin = new PublicOrigin(config.http.publicUrl);
    const identity = createIdentity({ config, database, audit, access, box: fileSecretBox(dataDir), origin });
    const firstAdministrator = await identity.ensureFirstAdministrator(async (userId) => {
      await access.store.addGrant({
        userId,
        roleId: 'administrator',
        scope: { kind: 'all' },
        createdBy: 'palisade.init',
      });
    });
    provider = await openKeyProvider(config.keys, { dataDir });
    const keyring = new Keyring({
      database,
      provider,
      audit: async (e) => {
        await auditLog.append({ ...e, actor: e.actor ?? SYSTEM_ACTOR });
      },
      chunkSize: config.keys.chunkSize,
    });
    const videoOrigin = `palisade/${instanceId}/video-integrity`;
    const videoSigner = openFileSigner({
      file: path.join(dataDir, 'keys', 'video-integrity-checkpoint.pem'),
      name: videoOrigin,
    });
    recorder = await Recorder.open({
      database,
      keyring,
      store: await LocalBlobStore.open(config.recording.storageDir ?? path.join(dataDir, 'video')),
      audit,
      zones,
      settings: { ...config.recording, retention: { ...config.recording.retention } },
      signer: videoSigner,
      origin: videoOrigin,
      systemActor: SYSTEM_ACTOR,
      logger: logger.child({ module: 'recording' }),
      checkpointIntervalMs: options.periodicCheckpoints ? config.audit.checkpointIntervalSeconds * 1000 : 0,
    });
    const log = audit;
    const keyProvider = provider;
    const rec = recorder;
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
      audit: log,
      zones,
      access,
      identity,
      origin,
      keyring,
      recorder: rec,
      playback,
      evidence,
      firstAdministrator,
      async close() {
        await evidence.idle();
        await rec.close();
        await log.close();
        await keyProvider.close();
        await database.close();
      },
    };
  } catch (err) {
    await recorder?.close().catch(() => undefined);
    await provider?.close().catch(() => undefined);
    await audit?.close();
    await database.close();
    throw err;
  }
}

/** Assembles and starts the server. The composition root: the only place that knows every module. */
export async function startPalisade(config: Config, logger: Logger): Promise<RunningPalisade> {
  const services = await openServices(config, logger, { periodicCheckpoints: true });
  const { database, audit, identity, access, zones, instanceId, recorder, playback, evidence } = services;
  try {
    const tls = await ensureTlsMaterial({
      dataDir: services.dataDir,
      certFile: config.http.tls.certFile,
      keyFile: config.http.tls.keyFile,
      hostnames: [config.http.host],
    });
    const actor = (request: Parameters<typeof principalOf>[0]): AuditActor => {
      const p = principalOf(request);
      return {
        type: p.kind === 'service' ? 'service' : 'user',
        id: p.userId,
        name: p.username,
        auth: p.auth,
        address: p.address,
      };
    };
    const guard = createGuard({ identity, access, audit });
    const app = await buildHttpServer({
      tls,
      logger,
      version: VERSION,
      bodyLimitBytes: config.http.bodyLimitBytes,
      rateLimit: config.http.rateLimit,
      readiness: [{ name: 'database', check: () => database.ping() }],
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
        async (instance) => instance.register(auditRoutes, { log: audit, actorOf: actor }),
        recordingRoutes({
          recorder,
          siteOf: async (zoneId) => (await zones.getZone(zoneId))?.siteId,
          actor,
          visible: (request, cameras) => {
            const scopes = scopesFor(subjectOf(request), 'camera.view');
            return new Set(
              cameras
                .filter((c) =>
                  scopes.some((s) =>
                    covers(s, { kind: 'camera', id: c.id, zoneId: c.zoneId, siteId: c.siteId, groupIds: [] }),
                  ),
                )
                .map((c) => c.id),
            );
          },
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
          siteOf: async (zoneId) => (await zones.getZone(zoneId))?.siteId,
          actor,
          userId: (request) => principalOf(request).userId,
          visible: (request, cameras) => {
            const scopes = scopesFor(subjectOf(request), 'video.export');
            return new Set(
              cameras
                .filter((c) =>
                  scopes.some((s) =>
                    covers(s, { kind: 'camera', id: c.id, zoneId: c.zoneId, siteId: c.siteId, groupIds: [] }),
                  ),
                )
                .map((c) => c.id),
            );
          },
          browserSession: (request) => principalOf(request).sessionId !== undefined,
          publicOrigin: () => services.origin.origin,
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
      ],
    });
    // Deleting recorded video under dual approval: runs once a second person approves.
    access.approvals.register('recording.delete', async (payload, { approvedBy }) => {
      const p = payload as { cameraId: string; from: string; to: string };
      const deleted = await recorder.deleteRecordings(p.cameraId, Date.parse(p.from), Date.parse(p.to), {
        type: 'user',
        id: approvedBy.userId,
        name: approvedBy.username,
        auth: 'dual-approval',
      });
      return { deleted };
    });
    await app.listen({ host: config.http.host, port: config.http.port });
    await recorder.start();
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
    return {
      ...services,
      url,
      port: address.port,
      tls,
      async stop() {
        await app.close();
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
