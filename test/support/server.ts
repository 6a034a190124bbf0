import { startPalisade, type RunningPalisade } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import { ApiClient, totpCode } from './api-client.js';
import type { DialectCase } from './dialects.js';
import { tempDir } from './tmp.js';

export interface TestServer {
  palisade: RunningPalisade;
  client(sourceAddress?: string): ApiClient;
  stop(): Promise<void>;
}

/** A real Palisade server on a free port over the given database dialect. */
/** `trust`: the CA that issued a configured certificate (default: the server's self-signed one). */
export async function startTestServer(
  dialect: DialectCase,
  overrides: Record<string, unknown> = {},
  trust?: string,
): Promise<TestServer> {
  const t = await dialect.create();
  await t.database.close();
  const config = loadConfig({
    overrides: {
      dataDir: tempDir(),
      http: { port: 0 },
      database: { url: t.url },
      log: { level: 'silent' },
      ...overrides,
    },
  });
  const palisade = await startPalisade(config, createLogger('silent'));
  const clients: ApiClient[] = [];
  return {
    palisade,
    client(sourceAddress) {
      const c = new ApiClient(
        `https://localhost:${palisade.port}`,
        trust ?? palisade.tls.certPem,
        sourceAddress,
      );
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      await palisade.stop();
      await t.drop();
    },
  };
}

export const TEST_PASSWORD = 'lantern orchard 42 copper';

/**
 * Creates a person with the given grants and signs them in through the HTTP API the way the console
 * does: one-time password, new password, TOTP enrolment. Returns the signed-in client and TOTP secret.
 */
export async function signedInUser(
  server: TestServer,
  username: string,
  grants: { role: string; scope: string }[],
  sourceAddress?: string,
): Promise<{ client: ApiClient; userId: string; totpSecret: string }> {
  const { identity, access } = server.palisade;
  const system = {
    userId: 'test-setup',
    username: 'test-setup',
    displayName: 'test',
    kind: 'human' as const,
    auth: 'test',
    address: '127.0.0.1',
  };
  const { account, oneTimePassword } = await identity.createUser(system, { username, displayName: username });
  for (const g of grants) {
    const [kind, id] = g.scope === 'all' ? ['all', undefined] : g.scope.split(':');
    await access.store.addGrant({
      userId: account.id,
      roleId: g.role,
      scope: kind === 'all' ? { kind: 'all' } : { kind: kind as 'zone', id: id! },
      createdBy: 'test-setup',
    });
  }
  const client = server.client(sourceAddress);
  const login = await client.post<{ state: string }>('/api/auth/login', {
    username,
    password: oneTimePassword,
    noticeAccepted: true,
  });
  if (login.status !== 200 || login.body.state !== 'needs-password-change')
    throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);
  const changed = await client.post<{ state: string }>('/api/auth/password', {
    currentPassword: oneTimePassword,
    newPassword: TEST_PASSWORD,
  });
  if (changed.body.state === 'active') return { client, userId: account.id, totpSecret: '' };
  const begun = await client.post<{ secret: string }>('/api/me/mfa/totp');
  const confirmed = await client.post<{ state: string }>('/api/me/mfa/totp/confirm', {
    code: totpCode(begun.body.secret, Date.now() - 30_000),
  });
  if (confirmed.body.state !== 'active')
    throw new Error(`enrolment: ${confirmed.status} ${JSON.stringify(confirmed.body)}`);
  return { client, userId: account.id, totpSecret: begun.body.secret };
}
