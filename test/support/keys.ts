import path from 'node:path';
import { migrate } from '../../src/db/index.js';
import { MIGRATIONS } from '../../src/app/index.js';
import {
  Keyring,
  LocalKeyProvider,
  Pkcs11KeyProvider,
  type KeyAuditEvent,
  type KeyProvider,
} from '../../src/keys/index.js';
import type { DialectCase, TestDatabase } from './dialects.js';
import { SOFTHSM_SKIP, softHsmToken } from './softhsm.js';
import { tempDir } from './tmp.js';

export interface ProviderCase {
  name: 'local' | 'pkcs11';
  skip: string | undefined;
  open(dir: string): Promise<KeyProvider>;
}

/** Both real providers: the local key file and PKCS#11 on a SoftHSM2 token. */
export const PROVIDERS: ProviderCase[] = [
  {
    name: 'local',
    skip: undefined,
    open: (dir) => LocalKeyProvider.open(path.join(dir, 'keys', 'local-keys.json')),
  },
  {
    name: 'pkcs11',
    skip: SOFTHSM_SKIP,
    open: async () => {
      const t = softHsmToken();
      return Pkcs11KeyProvider.open({ module: t.module, tokenLabel: t.tokenLabel, pin: t.pin, sessions: 4 });
    },
  },
];

export interface KeysFixture {
  keyring: Keyring;
  provider: KeyProvider;
  events: KeyAuditEvent[];
  db: TestDatabase;
  dir: string;
  close(): Promise<void>;
}

/** A migrated database, a provider and a keyring whose audit events are collected in order. */
export async function keysFixture(dialect: DialectCase, providerCase: ProviderCase): Promise<KeysFixture> {
  const db = await dialect.create();
  await migrate(db.database, MIGRATIONS);
  const dir = tempDir('palisade-keys-');
  const provider = await providerCase.open(dir);
  const events: KeyAuditEvent[] = [];
  const keyring = new Keyring({
    database: db.database,
    provider,
    audit: async (e) => {
      events.push(e);
    },
    chunkSize: 4096,
  });
  return {
    keyring,
    provider,
    events,
    db,
    dir,
    async close() {
      await provider.close();
      await db.drop();
    },
  };
}
