import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/index.js';
import { migrate, openDatabase, type Database } from '../db/index.js';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer, ensureTlsMaterial, type TlsMaterial } from '../http/index.js';
import type { Logger } from '../log/index.js';
import { ensureInstanceId } from './instance.js';
import { MIGRATIONS } from './migrations.js';
import { VERSION } from './version.js';

export interface RunningPalisade {
  url: string;
  port: number;
  instanceId: string;
  tls: TlsMaterial;
  database: Database;
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
 * Builds the HTTPS server with every module's routes, without listening. `startPalisade` listens on it;
 * the compliance commands describe it.
 */
export async function assembleServer(
  config: Config,
  logger: Logger,
  database: Database,
): Promise<{ app: FastifyInstance; tls: TlsMaterial }> {
  const tls = await ensureTlsMaterial({
    dataDir: path.resolve(config.dataDir),
    certFile: config.http.tls.certFile,
    keyFile: config.http.tls.keyFile,
    hostnames: [config.http.host],
  });
  const app = await buildHttpServer({
    tls,
    logger,
    version: VERSION,
    bodyLimitBytes: config.http.bodyLimitBytes,
    rateLimit: config.http.rateLimit,
    readiness: [{ name: 'database', check: () => database.ping() }],
  });
  return { app, tls };
}

/** Assembles and starts the server. The composition root: the only place that knows every module. */
export async function startPalisade(config: Config, logger: Logger): Promise<RunningPalisade> {
  const { database, instanceId } = await openState(config, logger);
  try {
    const { app, tls } = await assembleServer(config, logger, database);
    await app.listen({ host: config.http.host, port: config.http.port });
    const address = app.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return {
      url: `https://${host}:${address.port}`,
      port: address.port,
      instanceId,
      tls,
      database,
      async stop() {
        await app.close();
        await database.close();
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
