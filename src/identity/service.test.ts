import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { DIALECTS } from '../../test/support/dialects.js';
import {
  ADMIN_PRINCIPAL,
  ctx,
  identityWorld,
  type IdentityWorld,
} from '../../test/support/identity-world.js';
import { tablesOf } from '../db/index.js';
import { PalisadeError } from '../errors/index.js';
import type { IdentityService, Principal, SessionState, SignInStep } from './index.js';
import type { IdentityTables } from './tables.js';

const ALL_STEPS: SessionState[] = ['needs-password-change', 'needs-mfa', 'needs-mfa-enrolment'];

async function principal(
  identity: IdentityService,
  token: string,
  address = '127.0.0.1',
): Promise<Principal> {
  const r = await identity.authenticate({
    cookieToken: token,
    bearer: undefined,
    csrfHeader: undefined,
    unsafeMethod: false,
    address,
    allowPending: ALL_STEPS,
  });
  if (!('principal' in r)) throw new Error(`not authenticated: ${r.failure}`);
  return r.principal;
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<PalisadeError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof PalisadeError, String(err));
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

function totpAt(secret: string, time: number): string {
  return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: time });
}

const GOOD = 'correct horse battery staple';

/**
 * Creates a user who signs in with the one-time password and sets `password`: the session step after
 * that change (MFA enrolment next in a world that requires MFA).
 */
async function userWithPassword(
  w: IdentityWorld,
  username: string,
  password = GOOD,
): Promise<{ id: string; step: SignInStep }> {
  const { account, oneTimePassword } = await w.identity.createUser(ADMIN_PRINCIPAL, {
    username,
    displayName: username,
  });
  const first = await w.identity.passwordLogin({
    username,
    password: oneTimePassword,
    noticeAccepted: true,
    ...ctx(),
  });
  const step = await w.identity.changePassword(
    await principal(w.identity, first.token),
    oneTimePassword,
    password,
    ctx(),
  );
  return { id: account.id, step };
}

/** Creates a user, signs in with the one-time password, sets GOOD and enrols TOTP. Returns the secret. */
async function enrolledUser(w: IdentityWorld, username: string): Promise<{ userId: string; secret: string }> {
  const { id, step } = await userWithPassword(w, username);
  await w.access.store.addGrant({
    userId: id,
    roleId: 'operator',
    scope: { kind: 'all' },
    createdBy: 'test',
  });
  const p = await principal(w.identity, step.token);
  const { secret } = await w.identity.beginTotp(p);
  await w.identity.confirmTotp(p, totpAt(secret, w.clock.now));
  return { userId: id, secret };
}

/** The next TOTP code: the clock moves one 30-second step forward first (each code works once). */
function nextCode(w: IdentityWorld, secret: string): string {
  w.clock.now += 30_000;
  return totpAt(secret, w.clock.now);
}

for (const dialect of DIALECTS) {
  describe(`identity on ${dialect.name}`, { skip: dialect.skip }, () => {
    let w: IdentityWorld;
    before(async () => {
      w = await identityWorld(dialect);
    });
    after(() => w.close());

    it('first start: one administrator with a one-time password, forced change, then MFA enrolment', async () => {
      const granted: string[] = [];
      const first = await w.identity.ensureFirstAdministrator(async (id) => void granted.push(id));
      assert.ok(first);
      assert.equal(first.username, 'admin');
      assert.equal(
        await w.identity.ensureFirstAdministrator(async () => undefined),
        undefined,
        'created once only',
      );
      assert.equal(granted.length, 1);

      const step1 = await w.identity.passwordLogin({
        username: 'admin',
        password: first.oneTimePassword,
        noticeAccepted: true,
        ...ctx(),
      });
      assert.equal(step1.state, 'needs-password-change');
      const p1 = await principal(w.identity, step1.token);
      await rejectsWith(
        w.identity.changePassword(p1, first.oneTimePassword, 'short', ctx()),
        'PASSWORD_POLICY',
      );
      await rejectsWith(
        w.identity.changePassword(p1, first.oneTimePassword, 'admin-is-my-password', ctx()),
        'PASSWORD_POLICY',
      );
      await rejectsWith(
        w.identity.changePassword(p1, first.oneTimePassword, 'Password2024!!', ctx()),
        'PASSWORD_POLICY',
      );
      await rejectsWith(
        w.identity.changePassword(p1, 'not the one-time password', GOOD, ctx()),
        'AUTH_FAILED',
      );
      const step2 = await w.identity.changePassword(p1, first.oneTimePassword, GOOD, ctx());
      assert.equal(step2.state, 'needs-mfa-enrolment', 'MFA is required for every human account by default');

      // The old cookie is refused after the password change.
      const old = await w.identity.authenticate({
        cookieToken: step1.token,
        bearer: undefined,
        csrfHeader: undefined,
        unsafeMethod: false,
        address: '127.0.0.1',
        allowPending: ALL_STEPS,
      });
      assert.equal('failure' in old && old.failure, 'unauthenticated');

      const p2 = await principal(w.identity, step2.token);
      const { secret } = await w.identity.beginTotp(p2);
      await rejectsWith(w.identity.confirmTotp(p2, '000000'), 'MFA_FAILED');
      const done = await w.identity.confirmTotp(p2, totpAt(secret, w.clock.now));
      assert.equal(done.state, 'active');
      assert.equal(done.recoveryCodes.length, 10);
      assert.ok(w.audit.count('auth.password.changed') >= 1);
      assert.ok(w.audit.count('auth.mfa.enrolled') >= 1);
      assert.ok(w.audit.count('auth.login.succeeded') >= 1);
    });

    it('TOTP sign-in succeeds once per code: a replayed code is refused and audited', async () => {
      const { secret } = await enrolledUser(w, 'olga');
      const code = nextCode(w, secret);
      const a = await w.identity.passwordLogin({
        username: 'olga',
        password: GOOD,
        noticeAccepted: true,
        ...ctx(),
      });
      assert.equal(a.state, 'needs-mfa');
      assert.deepEqual(await w.identity.totpLogin(await principal(w.identity, a.token), code), {
        state: 'active',
      });

      const b = await w.identity.passwordLogin({
        username: 'olga',
        password: GOOD,
        noticeAccepted: true,
        ...ctx(),
      });
      const before = w.audit.count('auth.mfa.failed');
      await rejectsWith(w.identity.totpLogin(await principal(w.identity, b.token), code), 'MFA_REPLAYED');
      assert.equal(w.audit.count('auth.mfa.failed'), before + 1);
      assert.match(w.audit.events.at(-1)!.reason ?? '', /replay/);
      // The pending session still cannot reach anything that needs an active one.
      const r = await w.identity.authenticate({
        cookieToken: b.token,
        bearer: undefined,
        csrfHeader: undefined,
        unsafeMethod: false,
        address: '127.0.0.1',
        allowPending: [],
      });
      assert.equal('failure' in r && r.failure, 'step-required');
    });

    it('wrong second factors count toward the lockout: the right code is refused once locked', async () => {
      const { secret } = await enrolledUser(w, 'greta');
      const s = await w.identity.passwordLogin({
        username: 'greta',
        password: GOOD,
        noticeAccepted: true,
        ...ctx('10.4.0.1'),
      });
      const p = await principal(w.identity, s.token, '10.4.0.1');
      for (let i = 0; i < 5; i++) await rejectsWith(w.identity.totpLogin(p, '000000'), 'MFA_FAILED');
      await rejectsWith(w.identity.totpLogin(p, nextCode(w, secret)), 'AUTH_LOCKED');
      await rejectsWith(w.identity.recoveryLogin(p, 'aaaa-bbbb-cccc'), 'AUTH_LOCKED');
      await rejectsWith(w.identity.webauthnLogin(p, {}), 'AUTH_LOCKED');
      assert.ok(w.audit.count('auth.login.locked') >= 1);
      await w.identity.throttle.unlock('greta');
    });

    it('recovery codes work once each', async () => {
      const { userId } = await enrolledUser(w, 'rita');
      const codes = await w.identity.recovery.generate(userId);
      const a = await w.identity.passwordLogin({
        username: 'rita',
        password: GOOD,
        noticeAccepted: true,
        ...ctx(),
      });
      const used = await w.identity.recoveryLogin(
        await principal(w.identity, a.token),
        codes[0]!.toUpperCase(),
      );
      assert.deepEqual(used, { state: 'active', remaining: 9 });
      const b = await w.identity.passwordLogin({
        username: 'rita',
        password: GOOD,
        noticeAccepted: true,
        ...ctx(),
      });
      await rejectsWith(
        w.identity.recoveryLogin(await principal(w.identity, b.token), codes[0]!),
        'MFA_FAILED',
      );
    });

    it('the system use notice must be accepted', async () => {
      await rejectsWith(
        w.identity.passwordLogin({ username: 'olga', password: GOOD, noticeAccepted: false, ...ctx() }),
        'AUTH_NOTICE_REQUIRED',
      );
    });

    it('answers never reveal whether an account exists', async () => {
      const known = await rejectsWith(
        w.identity.passwordLogin({
          username: 'olga',
          password: 'wrong password!!',
          noticeAccepted: true,
          ...ctx('10.9.0.1'),
        }),
        'AUTH_FAILED',
      );
      const unknown = await rejectsWith(
        w.identity.passwordLogin({
          username: 'nobody-here',
          password: 'wrong password!!',
          noticeAccepted: true,
          ...ctx('10.9.0.1'),
        }),
        'AUTH_FAILED',
      );
      assert.equal(known.message, unknown.message);
      assert.equal(known.status, unknown.status);
      await w.identity.throttle.unlock('olga');
    });

    it('locks an account after repeated failures, for unknown names too, and an administrator can unlock', async () => {
      const { userId } = await enrolledUser(w, 'lars');
      for (let i = 0; i < 5; i++) {
        await rejectsWith(
          w.identity.passwordLogin({
            username: 'lars',
            password: `wrong-${i}-password`,
            noticeAccepted: true,
            ...ctx(`10.1.0.${i}`),
          }),
          'AUTH_FAILED',
        );
      }
      const locked = await rejectsWith(
        w.identity.passwordLogin({
          username: 'lars',
          password: GOOD,
          noticeAccepted: true,
          ...ctx('10.1.1.1'),
        }),
        'AUTH_LOCKED',
      );
      assert.equal(locked.status, 429);
      assert.ok(w.audit.count('auth.login.locked') >= 1);
      for (let i = 0; i < 5; i++) {
        await rejectsWith(
          w.identity.passwordLogin({
            username: 'ghost',
            password: `wrong-${i}-password`,
            noticeAccepted: true,
            ...ctx(`10.2.0.${i}`),
          }),
          'AUTH_FAILED',
        );
      }
      await rejectsWith(
        w.identity.passwordLogin({
          username: 'ghost',
          password: GOOD,
          noticeAccepted: true,
          ...ctx('10.2.1.1'),
        }),
        'AUTH_LOCKED',
      );

      await w.identity.unlock(ADMIN_PRINCIPAL, userId);
      const ok = await w.identity.passwordLogin({
        username: 'lars',
        password: GOOD,
        noticeAccepted: true,
        ...ctx('10.1.1.1'),
      });
      assert.equal(ok.state, 'needs-mfa');
    });

    it('locks a source address that sprays many accounts; other sources are unaffected', async () => {
      const { secret: _s } = await enrolledUser(w, 'sofia');
      for (let i = 0; i < 20; i++) {
        await rejectsWith(
          w.identity.passwordLogin({
            username: `spray-${i}`,
            password: 'Spring2026!!x',
            noticeAccepted: true,
            ...ctx('10.66.0.1'),
          }),
          'AUTH_FAILED',
        );
      }
      await rejectsWith(
        w.identity.passwordLogin({
          username: 'sofia',
          password: GOOD,
          noticeAccepted: true,
          ...ctx('10.66.0.1'),
        }),
        'AUTH_LOCKED',
      );
      const elsewhere = await w.identity.passwordLogin({
        username: 'sofia',
        password: GOOD,
        noticeAccepted: true,
        ...ctx('10.66.0.2'),
      });
      assert.equal(elsewhere.state, 'needs-mfa');
    });

    it('logout and terminate end sessions at once; disabling an account ends its sessions', async () => {
      const { secret } = await enrolledUser(w, 'tom');
      const signIn = async (): Promise<SignInStep> => {
        const s = await w.identity.passwordLogin({
          username: 'tom',
          password: GOOD,
          noticeAccepted: true,
          ...ctx(),
        });
        await w.identity.totpLogin(await principal(w.identity, s.token), nextCode(w, secret));
        return s;
      };
      const a = await signIn();
      await w.identity.logout(await principal(w.identity, a.token));
      await assert.rejects(principal(w.identity, a.token));
      const b = await signIn();
      const pb = await principal(w.identity, b.token);
      await w.identity.terminateSession(ADMIN_PRINCIPAL, pb.sessionId!, false);
      await assert.rejects(principal(w.identity, b.token));
      assert.ok(w.audit.count('session.terminated') >= 1);
      const c = await signIn();
      await w.identity.setDisabled(ADMIN_PRINCIPAL, pb.userId, true);
      await assert.rejects(principal(w.identity, c.token));
    });

    it('API tokens: shown once, narrowed, revocable, and useless after revocation', async () => {
      const svc = await w.identity.createServiceAccount(ADMIN_PRINCIPAL, {
        username: 'siem-forwarder',
        displayName: 'SIEM forwarder',
      });
      const issued = await w.identity.issueToken(ADMIN_PRINCIPAL, {
        userId: svc.id,
        name: 'ci',
        permissions: ['audit.read'],
        lifetimeDays: 7,
      });
      assert.match(issued.token, /^plsd_[0-9a-f]{32}_/);
      const listed = await w.identity.tokens.list(svc.id);
      // plsd_<32 hex id>_<secret>: the secret itself may contain '_'.
      const secret = issued.token.slice('plsd_'.length + 32 + 1);
      assert.equal(secret.length, 43);
      assert.ok(!JSON.stringify(listed).includes(secret), 'the secret is never listed');
      const auth = await w.identity.authenticate({
        cookieToken: undefined,
        bearer: issued.token,
        csrfHeader: undefined,
        unsafeMethod: true,
        address: '127.0.0.1',
        allowPending: [],
      });
      assert.ok('principal' in auth);
      assert.deepEqual(auth.principal.tokenPermissions, ['audit.read']);
      await w.identity.revokeToken(ADMIN_PRINCIPAL, issued.id);
      const after = await w.identity.authenticate({
        cookieToken: undefined,
        bearer: issued.token,
        csrfHeader: undefined,
        unsafeMethod: true,
        address: '127.0.0.1',
        allowPending: [],
      });
      assert.ok('failure' in after);
      const forged = await w.identity.authenticate({
        cookieToken: undefined,
        bearer: `${issued.token.slice(0, -2)}xx`,
        csrfHeader: undefined,
        unsafeMethod: true,
        address: '127.0.0.1',
        allowPending: [],
      });
      assert.ok('failure' in forged);
      await rejectsWith(
        w.identity.issueToken(ADMIN_PRINCIPAL, {
          userId: svc.id,
          name: 'x',
          permissions: null,
          lifetimeDays: 400,
        }),
        'TOKEN_LIFETIME',
      );
    });

    it('CSRF: a state-changing cookie request needs the session’s token', async () => {
      const { secret } = await enrolledUser(w, 'uma');
      const s = await w.identity.passwordLogin({
        username: 'uma',
        password: GOOD,
        noticeAccepted: true,
        ...ctx(),
      });
      await w.identity.totpLogin(await principal(w.identity, s.token), nextCode(w, secret));
      const base = {
        cookieToken: s.token,
        bearer: undefined,
        unsafeMethod: true,
        address: '127.0.0.1',
        allowPending: [] as SessionState[],
      };
      const none = await w.identity.authenticate({ ...base, csrfHeader: undefined });
      assert.equal('failure' in none && none.failure, 'csrf');
      const wrong = await w.identity.authenticate({ ...base, csrfHeader: 'x'.repeat(43) });
      assert.equal('failure' in wrong && wrong.failure, 'csrf');
      const right = await w.identity.authenticate({ ...base, csrfHeader: s.csrfToken });
      assert.ok('principal' in right);
    });
  });

  describe(`password lifetime on ${dialect.name}`, { skip: dialect.skip }, () => {
    const PASSWORDS = [
      'quarry lantern 4417',
      'bright orchard 9052',
      'copper meadow 3381',
      'silent harbor 7264',
    ];

    it('history: none of the last N passwords (the current one included) can be chosen again', async () => {
      const w = await identityWorld(dialect, {
        mfaRequired: false,
        password: { minLength: 12, maxLength: 256, historyCount: 3 },
      });
      try {
        const u = await userWithPassword(w, 'hist', PASSWORDS[0]);
        assert.equal(u.step.state, 'active');
        let token = u.step.token;
        const change = async (from: string, to: string) =>
          (token = (await w.identity.changePassword(await principal(w.identity, token), from, to, ctx()))
            .token);
        await change(PASSWORDS[0]!, PASSWORDS[1]!);
        await change(PASSWORDS[1]!, PASSWORDS[2]!);
        // Current: 2; history: 1, 0 (and the one-time password, pruned to N - 1 = 2 entries).
        for (const again of [PASSWORDS[0]!, PASSWORDS[1]!]) {
          const err = await rejectsWith(
            w.identity.changePassword(await principal(w.identity, token), PASSWORDS[2]!, again, ctx()),
            'PASSWORD_POLICY',
          );
          assert.match(err.message, /last 3 passwords/);
        }
        await change(PASSWORDS[2]!, PASSWORDS[3]!);
        // Now 0 is four changes back: allowed again.
        await change(PASSWORDS[3]!, PASSWORDS[0]!);
        const kept = await tablesOf<IdentityTables>(w.t.database)
          .selectFrom('password_history')
          .select('password_hash')
          .where('user_id', '=', u.id)
          .execute();
        assert.equal(kept.length, 2, 'the history keeps N - 1 earlier hashes');
        assert.ok(
          kept.every((r) => r.password_hash.startsWith('$argon2id$')),
          'hashes, never passwords',
        );
      } finally {
        await w.close();
      }
    });

    it('maximum age: an expired password must be changed at sign-in before anything else', async () => {
      const w = await identityWorld(dialect, {
        mfaRequired: false,
        password: { minLength: 12, maxLength: 256, historyCount: 5, maxAgeDays: 90 },
      });
      try {
        const u = await userWithPassword(w, 'aged', PASSWORDS[0]);
        const setAge = (days: number) =>
          tablesOf<IdentityTables>(w.t.database)
            .updateTable('user_account')
            .set({ password_changed_at: new Date(Date.now() - days * 86_400_000).toISOString() })
            .where('id', '=', u.id)
            .execute();
        const login = () =>
          w.identity.passwordLogin({
            username: 'aged',
            password: PASSWORDS[0]!,
            noticeAccepted: true,
            ...ctx(),
          });
        await setAge(89);
        assert.equal((await login()).state, 'active', '89 days old: still valid');
        await setAge(91);
        const expired = await login();
        assert.equal(expired.state, 'needs-password-change', '91 days old: change it first');
        const p = await principal(w.identity, expired.token);
        await rejectsWith(
          w.identity.changePassword(p, PASSWORDS[0]!, PASSWORDS[0]!, ctx()),
          'PASSWORD_POLICY',
        );
        const changed = await w.identity.changePassword(p, PASSWORDS[0]!, PASSWORDS[1]!, ctx());
        assert.equal(changed.state, 'active');
        assert.equal(
          await login().catch((e: unknown) => (e as PalisadeError).code),
          'AUTH_FAILED',
          'the old password is gone',
        );
      } finally {
        await w.close();
      }
    });
  });

  describe(`session policy on ${dialect.name}`, { skip: dialect.skip }, () => {
    it('idle timeout locks the session and is audited as an expiry', async () => {
      const w = await identityWorld(dialect, {
        mfaRequired: false,
        session: {
          idleTimeoutSeconds: 1,
          absoluteLifetimeSeconds: 3600,
          maxConcurrent: 3,
          onLimit: 'evict-oldest',
        },
      });
      try {
        const { step: s } = await userWithPassword(w, 'idle');
        assert.equal(s.state, 'active', 'MFA off in this world');
        await principal(w.identity, s.token);
        await new Promise((r) => setTimeout(r, 1200));
        await assert.rejects(principal(w.identity, s.token));
        assert.equal(w.audit.count('session.expired'), 1);
        assert.match(w.audit.events.find((e) => e.action === 'session.expired')!.reason!, /idle/);
      } finally {
        await w.close();
      }
    });

    it('concurrent-session limit: evict the oldest, or reject the newcomer', async () => {
      for (const onLimit of ['evict-oldest', 'reject'] as const) {
        const w = await identityWorld(dialect, {
          mfaRequired: false,
          session: { idleTimeoutSeconds: 900, absoluteLifetimeSeconds: 3600, maxConcurrent: 2, onLimit },
        });
        try {
          const { step: first } = await userWithPassword(w, 'many');
          const second = await w.identity.passwordLogin({
            username: 'many',
            password: GOOD,
            noticeAccepted: true,
            ...ctx(),
          });
          if (onLimit === 'evict-oldest') {
            const third = await w.identity.passwordLogin({
              username: 'many',
              password: GOOD,
              noticeAccepted: true,
              ...ctx(),
            });
            await assert.rejects(principal(w.identity, first.token), 'the oldest session ended');
            await principal(w.identity, second.token);
            await principal(w.identity, third.token);
          } else {
            await rejectsWith(
              w.identity.passwordLogin({ username: 'many', password: GOOD, noticeAccepted: true, ...ctx() }),
              'SESSION_LIMIT',
            );
            await principal(w.identity, first.token);
            await principal(w.identity, second.token);
          }
          const active = (
            await w.identity.sessions.listForUser((await w.identity.accounts.byUsername('many'))!.id)
          ).filter((x) => x.state === 'active');
          assert.equal(active.length, 2);
        } finally {
          await w.close();
        }
      }
    });
  });
}
