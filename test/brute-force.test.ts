import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { totpCode } from './support/api-client.js';
import { DIALECTS } from './support/dialects.js';
import { signedInUser, startTestServer, TEST_PASSWORD, type TestServer } from './support/server.js';

const ATTEMPTS = 1000;

for (const dialect of DIALECTS) {
  describe(`1,000 wrong passwords on ${dialect.name}`, { skip: dialect.skip }, () => {
    let server: TestServer;
    let admin: Awaited<ReturnType<typeof signedInUser>>;
    before(async () => {
      server = await startTestServer(dialect);
      admin = await signedInUser(server, 'brute-admin', [{ role: 'administrator', scope: 'all' }]);
    });
    after(() => server.stop());

    async function countEvents(prefix: string, actorName?: string): Promise<number> {
      let n = 0;
      let cursor: string | undefined;
      do {
        const page = await server.palisade.audit.query({
          actionPrefix: prefix,
          limit: 1000,
          ...(cursor && { cursor }),
        });
        n += page.events.filter((e) => actorName === undefined || e.event.actor.name === actorName).length;
        cursor = page.nextCursor;
      } while (cursor);
      return n;
    }

    async function attack(username: string, sources: string[]): Promise<Map<number, number>> {
      const clients = sources.map((s) => server.client(s));
      const statuses = new Map<number, number>();
      for (let i = 0; i < ATTEMPTS; i++) {
        const res = await clients[i % clients.length]!.post('/api/auth/login', {
          username,
          password: `guess-number-${i}-${username}`,
          noticeAccepted: true,
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
      return statuses;
    }

    for (const [label, sources] of [
      ['from one source', ['127.0.0.1']],
      ['from 50 sources', Array.from({ length: 50 }, (_, i) => `127.0.1.${i + 1}`)],
    ] as const) {
      it(`${label}: no success, lockout engages, every attempt audited, the user recovers through an administrator`, async () => {
        const username = label.includes('one') ? 'target-one' : 'target-many';
        const victim = await signedInUser(
          server,
          username,
          [{ role: 'operator', scope: 'all' }],
          '127.0.9.1',
        );
        const failedBefore = await countEvents('auth.login.failed', username);
        const statuses = await attack(username, [...sources]);
        assert.equal(statuses.get(200) ?? 0, 0, 'no attempt succeeds');
        assert.equal((statuses.get(401) ?? 0) + (statuses.get(429) ?? 0), ATTEMPTS);
        assert.ok(
          (statuses.get(429) ?? 0) >= ATTEMPTS - 5,
          `lockout engaged after 5 failures: ${JSON.stringify([...statuses])}`,
        );
        assert.equal(
          await countEvents('auth.login.failed', username),
          failedBefore + ATTEMPTS,
          'each attempt is audited',
        );
        assert.ok((await countEvents('auth.login.locked', username)) >= 1);

        // The real user, even with the right password and from their own machine, is locked out too.
        const user = server.client('127.0.9.1');
        const refused = await user.post<{ error: { code: string } }>('/api/auth/login', {
          username,
          password: TEST_PASSWORD,
          noticeAccepted: true,
        });
        assert.equal(refused.body.error.code, 'AUTH_LOCKED');

        // Policy: an administrator unlocks; the user then signs in with both factors.
        assert.equal((await admin.client.post(`/api/users/${victim.userId}/unlock`)).status, 204);
        const step = await user.post<{ state: string }>('/api/auth/login', {
          username,
          password: TEST_PASSWORD,
          noticeAccepted: true,
        });
        assert.equal(step.body.state, 'needs-mfa');
        const done = await user.post<{ state: string }>('/api/auth/mfa/totp', {
          code: totpCode(victim.totpSecret),
        });
        assert.equal(done.body.state, 'active');
        assert.equal((await user.get('/api/session')).status, 200);
      });
    }
  });
}
