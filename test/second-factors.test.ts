import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { totpCode } from './support/api-client.js';
import { launchChromium } from './support/browser.js';
import { DIALECTS } from './support/dialects.js';
import { signedInUser, startTestServer, TEST_PASSWORD, type TestServer } from './support/server.js';

/** Runs in the page: the console's calls, with base64url <-> ArrayBuffer conversion for WebAuthn. */
const PAGE_HELPERS = `
window.b64uToBuf = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - s.length % 4) % 4)), c => c.charCodeAt(0)).buffer;
window.bufToB64u = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
window.api = async (method, path, body) => {
  const headers = body === undefined ? {} : { 'content-type': 'application/json' };
  if (window.csrf && method !== 'GET') headers['x-csrf-token'] = window.csrf;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const json = res.status === 204 ? null : await res.json();
  if (json && json.csrfToken) window.csrf = json.csrfToken;
  return { status: res.status, body: json };
};
window.createCredential = async (o) => {
  const c = await navigator.credentials.create({ publicKey: { ...o, challenge: b64uToBuf(o.challenge), user: { ...o.user, id: b64uToBuf(o.user.id) },
    excludeCredentials: (o.excludeCredentials || []).map(x => ({ ...x, id: b64uToBuf(x.id) })) } });
  return { id: c.id, rawId: bufToB64u(c.rawId), type: c.type, clientExtensionResults: c.getClientExtensionResults(), authenticatorAttachment: c.authenticatorAttachment,
    response: { clientDataJSON: bufToB64u(c.response.clientDataJSON), attestationObject: bufToB64u(c.response.attestationObject), transports: c.response.getTransports() } };
};
window.getAssertion = async (o) => {
  const c = await navigator.credentials.get({ publicKey: { ...o, challenge: b64uToBuf(o.challenge), allowCredentials: (o.allowCredentials || []).map(x => ({ ...x, id: b64uToBuf(x.id) })) } });
  return { id: c.id, rawId: bufToB64u(c.rawId), type: c.type, clientExtensionResults: c.getClientExtensionResults(), authenticatorAttachment: c.authenticatorAttachment,
    response: { clientDataJSON: bufToB64u(c.response.clientDataJSON), authenticatorData: bufToB64u(c.response.authenticatorData), signature: bufToB64u(c.response.signature),
      userHandle: c.response.userHandle ? bufToB64u(c.response.userHandle) : undefined } };
};
`;

type Api = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: Record<string, unknown> }>;

async function call(page: Page, method: string, path: string, body?: unknown) {
  return page.evaluate(([m, p, b]) => (globalThis as unknown as { api: Api }).api(m, p, b), [
    method,
    path,
    body,
  ] as const);
}

for (const dialect of DIALECTS) {
  describe(`second factors end to end on ${dialect.name}`, { skip: dialect.skip }, () => {
    let server: TestServer;
    let browser: Browser;
    before(async () => {
      server = await startTestServer(dialect);
      browser = await launchChromium(server.palisade.tls.certPem);
    });
    after(async () => {
      await browser.close();
      await server.stop();
    });

    it('TOTP: sign in with password and code; the same code replayed is refused', async () => {
      const { totpSecret } = await signedInUser(server, 'tara', [{ role: 'operator', scope: 'all' }]);
      const code = totpCode(totpSecret);
      const a = server.client();
      assert.equal(
        (
          await a.post<{ state: string }>('/api/auth/login', {
            username: 'tara',
            password: TEST_PASSWORD,
            noticeAccepted: true,
          })
        ).body.state,
        'needs-mfa',
      );
      assert.equal(
        (await a.get('/api/zones')).status,
        401,
        'nothing but the next step before the second factor',
      );
      assert.equal((await a.post<{ state: string }>('/api/auth/mfa/totp', { code })).body.state, 'active');
      assert.equal((await a.get('/api/zones')).status, 200);

      const b = server.client();
      await b.post('/api/auth/login', { username: 'tara', password: TEST_PASSWORD, noticeAccepted: true });
      const replay = await b.post<{ error: { code: string } }>('/api/auth/mfa/totp', { code });
      assert.equal(replay.status, 401);
      assert.equal(replay.body.error.code, 'MFA_REPLAYED');
      const failures = await server.palisade.audit.query({ actionPrefix: 'auth.mfa.failed' });
      assert.ok(
        failures.events.some((e) => e.event.actor.name === 'tara' && /replay/.test(e.event.reason ?? '')),
      );
    });

    it('WebAuthn: enrol a security key in Chromium at first sign-in, then sign in with it; an assertion works once', async () => {
      const { identity, access } = server.palisade;
      const system = {
        userId: 't',
        username: 't',
        displayName: 't',
        kind: 'human' as const,
        auth: 'test',
        address: '127.0.0.1',
      };
      const { account, oneTimePassword } = await identity.createUser(system, {
        username: 'wanda',
        displayName: 'Wanda',
      });
      await access.store.addGrant({
        userId: account.id,
        roleId: 'operator',
        scope: { kind: 'all' },
        createdBy: 'test',
      });

      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`https://localhost:${server.palisade.port}/healthz`);
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: {
          protocol: 'ctap2',
          transport: 'usb',
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
        },
      });
      await page.evaluate(PAGE_HELPERS);

      assert.equal(
        (
          await call(page, 'POST', '/api/auth/login', {
            username: 'wanda',
            password: oneTimePassword,
            noticeAccepted: true,
          })
        ).body.state,
        'needs-password-change',
      );
      assert.equal(
        (
          await call(page, 'POST', '/api/auth/password', {
            currentPassword: oneTimePassword,
            newPassword: TEST_PASSWORD,
          })
        ).body.state,
        'needs-mfa-enrolment',
      );
      const regOptions = await call(page, 'POST', '/api/me/mfa/webauthn/options');
      assert.equal(regOptions.status, 200, JSON.stringify(regOptions.body));
      const registered = await page.evaluate(async (o) => {
        const w = globalThis as unknown as { createCredential(o: unknown): Promise<unknown>; api: Api };
        return w.api('POST', '/api/me/mfa/webauthn', {
          response: await w.createCredential(o),
          name: 'test key',
        });
      }, regOptions.body);
      assert.equal(registered.status, 200, JSON.stringify(registered.body));
      assert.equal(registered.body.state, 'active');
      assert.equal((registered.body.recoveryCodes as string[]).length, 10);
      assert.equal((await call(page, 'POST', '/api/auth/logout')).status, 204);
      assert.equal(
        (await call(page, 'GET', '/api/session')).status,
        401,
        'the logged-out session id is refused',
      );

      assert.equal(
        (
          await call(page, 'POST', '/api/auth/login', {
            username: 'wanda',
            password: TEST_PASSWORD,
            noticeAccepted: true,
          })
        ).body.state,
        'needs-mfa',
      );
      const authOptions = await call(page, 'POST', '/api/auth/mfa/webauthn/options');
      const assertion = await page.evaluate(
        async (o) =>
          (globalThis as unknown as { getAssertion(o: unknown): Promise<unknown> }).getAssertion(o),
        authOptions.body,
      );
      const signedIn = await call(page, 'POST', '/api/auth/mfa/webauthn', { response: assertion });
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      assert.equal(signedIn.body.state, 'active');
      const session = await call(page, 'GET', '/api/session');
      assert.equal(session.body.authMethods, 'password+webauthn');

      // A second sign-in cannot reuse the captured assertion: its challenge was consumed.
      await call(page, 'POST', '/api/auth/login', {
        username: 'wanda',
        password: TEST_PASSWORD,
        noticeAccepted: true,
      });
      await call(page, 'POST', '/api/auth/mfa/webauthn/options');
      const replay = await call(page, 'POST', '/api/auth/mfa/webauthn', { response: assertion });
      assert.equal(replay.status, 401);
      await context.close();
    });
  });
}
