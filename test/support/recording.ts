import path from 'node:path';
import { openFileSigner } from '../../src/audit/index.js';
import { migrate } from '../../src/db/index.js';
import { MIGRATIONS } from '../../src/app/index.js';
import { Keyring, LocalKeyProvider } from '../../src/keys/index.js';
import { ZoneDirectory } from '../../src/network/index.js';
import { Recorder, type RecordingSettings } from '../../src/recording/index.js';
import { LocalBlobStore } from '../../src/storage/index.js';
import { AuditSpy } from './audit-spy.js';
import type { DialectCase, TestDatabase } from './dialects.js';
import { tempDir } from './tmp.js';

export const SYSTEM = { type: 'system' as const, id: 'palisade', auth: 'none' };
export const ADMIN = { type: 'user' as const, id: 'u-admin', name: 'admin', auth: 'password+totp' };

/** Short segments and quick reconnects: the properties of the one-minute defaults, in seconds. */
export function testSettings(over: Partial<RecordingSettings> = {}): RecordingSettings {
  return {
    segmentSeconds: 4,
    fragmentMs: 1000,
    stallTimeoutMs: 3000,
    reconnect: { initialDelayMs: 200, maxDelayMs: 2000, failedAfter: 5 },
    chunkSize: 16384,
    fsyncIntervalMs: 1000,
    retention: { maxAgeDays: 30, intervalSeconds: 3600 },
    capacity: { warnFreeRatio: 0, stopFreeRatio: 0, resumeFreeRatio: 0, checkIntervalMs: 3_600_000 },
    ...over,
  };
}

export interface RecordingWorld {
  db: TestDatabase;
  dir: string;
  storageDir: string;
  keyring: Keyring;
  provider: LocalKeyProvider;
  store: LocalBlobStore;
  audit: AuditSpy;
  zones: ZoneDirectory;
  open(settings?: RecordingSettings): Promise<Recorder>;
  close(): Promise<void>;
}

/** A migrated database, a local key provider, a blob store and the means to open recorders on them. */
export async function recordingWorld(
  dialect: DialectCase,
  options: { storageDir?: string; db?: TestDatabase } = {},
): Promise<RecordingWorld> {
  const db = options.db ?? (await dialect.create());
  await migrate(db.database, MIGRATIONS);
  const dir = tempDir('palisade-rec-');
  const zones = new ZoneDirectory(db.database);
  await zones.ensureDefaults([2, 2, 2, 2, 2, 2, 2]);
  const provider = await LocalKeyProvider.open(path.join(dir, 'keys', 'local-keys.json'));
  const audit = new AuditSpy();
  const keyring = new Keyring({
    database: db.database,
    provider,
    audit: async (e) => {
      await audit.append({ ...e, actor: e.actor ?? SYSTEM });
    },
  });
  const storageDir = options.storageDir ?? path.join(dir, 'video');
  const store = await LocalBlobStore.open(storageDir);
  const signer = openFileSigner({
    file: path.join(dir, 'keys', 'video.pem'),
    name: 'palisade/test/video-integrity',
  });
  const recorders: Recorder[] = [];
  return {
    db,
    dir,
    storageDir,
    keyring,
    provider,
    store,
    audit,
    zones,
    async open(settings = testSettings()) {
      const r = await Recorder.open({
        database: db.database,
        keyring,
        store,
        audit,
        zones,
        settings,
        signer,
        origin: 'palisade/test/video-integrity',
        systemActor: SYSTEM,
        checkpointIntervalMs: 0,
      });
      recorders.push(r);
      return r;
    },
    async close() {
      for (const r of recorders) await r.close().catch(() => undefined);
      await provider.close();
      await db.drop();
    },
  };
}
