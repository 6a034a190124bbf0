import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from '../../test/support/dialects.js';
import { ctx, identityWorld, type IdentityWorld } from '../../test/support/identity-world.js';
import { startTestIdp, type TestIdp } from '../../test/support/oidc-idp.js';
import { CookieJar, followRedirects } from '../../test/support/redirects.js';
import { tempDir } from '../../test/support/tmp.js';
import { PalisadeError } from '../errors/index.js';
import { ensureTlsMaterial } from '../http/index.js';
import { IdentityService } from './index.js';

const REDIRECT = 'https://localhost:8443/api/auth/oidc/callback';

for (const dialect of DIALECTS) {
  describe(`OIDC single sign-on against oidc-provider on ${dialect.name}`, { skip: dialect.skip }, () => {
    let idp: TestIdp;
    let w: IdentityWorld;
    let sso: (mfa: 'require-idp' | 'idp-or-local') => IdentityService;
    let ca: string;

    before(async () => {
      const tls = await ensureTlsMaterial({ dataDir: tempDir() });
      ca = tls.certPem;
      const caFile = path.join(tempDir(), 'idp-ca.pem');
      writeFileSync(caFile, ca);
      idp = await startTestIdp({
        tls,
        redirectUri: REDIRECT,
        accounts: [
          {
            sub: 'u-mfa',
            username: 'maria',
            name: 'Maria MFA',
            groups: ['vms-operators'],
            amr: ['pwd', 'otp'],
          },
          { sub: 'u-pwd', username: 'pete', name: 'Pete Password', groups: ['vms-operators'], amr: ['pwd'] },
        ],
      });
      w = await identityWorld(dialect);
      sso = (mfa) =>
        new IdentityService({
          database: w.t.database,
          audit: w.audit,
          box: { seal: async () => '', open: async () => Buffer.alloc(0), discard: async () => undefined },
          policy: w.identity.policy,
          relyingParty: { id: 'localhost', name: 'Palisade', origin: 'https://localhost:8443' },
          roles: {
            mfaRequiredFor: (userId) => w.access.store.mfaRequiredFor(userId),
            applyIdpGroups: (userId, issuer, groups) =>
              w.access.applyIdpGroups(userId, issuer, groups, [
                { group: 'vms-operators', role: 'operator', scope: 'zone:default' },
              ]),
          },
          oidc: {
            issuer: idp.issuer,
            clientId: idp.clientId,
            clientSecret: idp.clientSecret,
            redirectUri: REDIRECT,
            caFile,
            allowHttp: false,
            scopes: 'openid profile',
            usernameClaim: 'preferred_username',
            groupsClaim: 'groups',
            mfa,
            acceptedAmr: ['mfa', 'otp', 'hwk'],
            acceptedAcr: [],
          },
        });
    });
    after(async () => {
      await idp.close();
      await w.close();
    });

    async function login(service: IdentityService, sub: string): Promise<URL> {
      idp.loginAs(sub);
      const start = await service.oidcStart();
      const u = new URL(start);
      assert.equal(u.searchParams.get('code_challenge_method'), 'S256', 'PKCE');
      assert.ok(u.searchParams.get('state') && u.searchParams.get('nonce'));
      return new URL(await followRedirects(start, REDIRECT, new CookieJar(), ca));
    }

    it('signs in with MFA evidence from the IdP, creates the account and maps groups to scoped roles', async () => {
      const service = sso('require-idp');
      const step = await service.oidcFinish(await login(service, 'u-mfa'), ctx());
      assert.equal(step.state, 'active');
      assert.equal(step.session.authMethods, 'oidc+mfa');
      const account = (await w.identity.accounts.byOidc(idp.issuer, 'u-mfa'))!;
      assert.equal(account.username, 'maria');
      const grants = await w.access.store.grants(account.id);
      assert.deepEqual(
        grants.map((g) => [g.roleId, g.scope]),
        [['operator', { kind: 'zone', id: 'default' }]],
      );
      assert.ok(w.audit.count('auth.login.succeeded') >= 1);
    });

    it('rejects a login without MFA evidence when the policy requires it, and audits why', async () => {
      const service = sso('require-idp');
      const callback = await login(service, 'u-pwd');
      await assert.rejects(
        service.oidcFinish(callback, ctx()),
        (e: unknown) => e instanceof PalisadeError && e.code === 'AUTH_MFA_EVIDENCE_REQUIRED',
      );
      const rejected = w.audit.events.filter((e) => e.action === 'auth.login.rejected').at(-1)!;
      assert.match(rejected.reason!, /no multi-factor/);
      assert.deepEqual(rejected.details!.amr, ['pwd']);
      const account = (await w.identity.accounts.byOidc(idp.issuer, 'u-pwd'))!;
      assert.equal((await w.identity.sessions.listForUser(account.id)).length, 0, 'no session was opened');
    });

    it('a callback can be used once: replaying it fails', async () => {
      const service = sso('require-idp');
      const callback = await login(service, 'u-mfa');
      await service.oidcFinish(callback, ctx());
      await assert.rejects(
        service.oidcFinish(callback, ctx()),
        (e: unknown) => e instanceof PalisadeError && e.code === 'OIDC_LOGIN_FAILED',
      );
    });

    it('with idp-or-local, a user without IdP MFA and without a local factor is still refused', async () => {
      const service = sso('idp-or-local');
      await assert.rejects(
        service.oidcFinish(await login(service, 'u-pwd'), ctx()),
        (e: unknown) => e instanceof PalisadeError && e.code === 'AUTH_MFA_EVIDENCE_REQUIRED',
      );
    });
  });
}
