import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { verifyExport } from '../../src/audit/index.js';
import { totpCode } from '../support/api-client.js';
import { runCli } from '../support/cli.js';
import { launchChromium } from '../support/browser.js';
import { DIALECTS } from '../support/dialects.js';
import { signedInUser, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import {
  assertAllControlsNamed,
  assertFocusVisible,
  goTo,
  navigation,
  openConsole,
  screenshot,
  signIn,
} from './console-support.js';

// The console is a client of the API; the API's behaviour on both databases is covered by the
// server tests. One dialect keeps the browser suite short.
const dialect = DIALECTS[0]!;

describe('web console in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    // Grants and role edits wait for a second administrator, so the dual-approval flow can be shown.
    server = await startTestServer(dialect, { access: { dualApproval: { actions: ['role.change'] } } });
    browser = await launchChromium(server.palisade.tls.certPem);
    const { zones } = server.palisade;
    await zones.createSite({ id: 'harbour', name: 'Harbour', description: 'Container terminal' });
    await zones.createZone({
      id: 'quay-cameras',
      siteId: 'harbour',
      name: 'Quay cameras',
      description: 'Cameras along the quay wall',
      slTarget: [3, 3, 2, 3, 3, 2, 2],
    });
    await zones.createZone({
      id: 'gate-cameras',
      siteId: 'harbour',
      name: 'Gate cameras',
      description: '',
      slTarget: [2, 2, 2, 2, 2, 2, 2],
    });
  });
  after(async () => {
    await browser.close();
    await server.stop();
  });

  const system = {
    userId: 'test-setup',
    username: 'test-setup',
    displayName: 'test',
    kind: 'human' as const,
    auth: 'test',
    address: '127.0.0.1',
  };

  it('is served by the server under its strict CSP: index no-store, hashed assets immutable, nothing inline', async () => {
    const client = server.client();
    const index = await client.get<string>('/');
    assert.equal(index.status, 200);
    assert.equal(index.headers['cache-control'], 'no-store');
    assert.match(String(index.headers['content-security-policy']), /script-src 'self'(;|$)/);
    assert.doesNotMatch(index.body, /<script>|<style|style=/, 'no inline script or style');
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(index.body)![1]!;
    const js = await client.get(asset);
    assert.equal(js.status, 200);
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    assert.equal((await client.get('/assets/..%2F..%2Fpackage.json')).status, 404);
    assert.equal((await client.get('/assets/nope.js')).status, 404);
    // Only files are public: the API behind the console still wants a session.
    assert.equal((await client.get('/api/me/permissions')).status, 401);
  });

  it('first sign-in: notice, one-time password, forced change, TOTP enrolment by QR code, recovery codes once; then a normal sign-in with a code', async () => {
    const { account, oneTimePassword } = await server.palisade.identity.createUser(system, {
      username: 'olga',
      displayName: 'Olga Admin',
    });
    await server.palisade.access.store.addGrant({
      userId: account.id,
      roleId: 'administrator',
      scope: { kind: 'all' },
      createdBy: 'test-setup',
    });
    const tab = await openConsole(browser, server);
    const { page } = tab;
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.match(await page.locator('.notice-text').innerText(), /\S/, 'the system use notice is shown');
    await assertAllControlsNamed(page, 'sign-in');
    await assertFocusVisible(page, 'sign-in');
    await screenshot(page, 'sign-in');

    // The notice must be accepted: said in plain words, with the code for support.
    await page.getByLabel('User name').fill('olga');
    await page.getByLabel('Password', { exact: true }).fill(oneTimePassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    assert.match(await alert.innerText(), /accept the system use notice/);
    assert.match(await alert.innerText(), /AUTH_NOTICE_REQUIRED/);

    await page.getByLabel('I have read the notice and accept it').check();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    assert.match(await page.locator('.hint').first().innerText(), /At least 12 characters/);
    await page.getByLabel('New password', { exact: true }).fill(TEST_PASSWORD);
    await page.getByLabel('New password again').fill(TEST_PASSWORD);
    await assertAllControlsNamed(page, 'password change');
    await screenshot(page, 'sign-in-password-change');
    await page.getByRole('button', { name: 'Set password' }).click();

    await page.getByRole('heading', { name: 'Set up a second factor' }).waitFor();
    const qr = page.getByRole('img', { name: /QR code/ });
    await qr.waitFor();
    assert.ok(((await qr.locator('path').getAttribute('d')) ?? '').length > 500, 'the QR code is drawn');
    const secret = (await page.getByTestId('totp-secret').innerText()).replace(/\s/g, '');
    assert.match(secret, /^[A-Z2-7]{16,}$/);
    await assertAllControlsNamed(page, 'enrolment');
    await screenshot(page, 'sign-in-mfa-enrolment');
    // The previous time step: still accepted, and leaves the current step free for the next sign-in.
    await page.getByLabel('Code from the app').fill(totpCode(secret, Date.now() - 30_000));
    await page.getByRole('button', { name: 'Confirm' }).click();

    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    const codes = await page.getByRole('list', { name: 'Recovery codes' }).locator('li').allInnerTexts();
    assert.equal(codes.length, 10);
    await screenshot(page, 'sign-in-recovery-codes');
    assert.ok(await page.getByRole('button', { name: 'Continue to Palisade' }).isDisabled());
    await page.getByLabel('I have saved my recovery codes').check();
    await page.getByRole('button', { name: 'Continue to Palisade' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    assert.deepEqual(await navigation(page), {
      Operate: ['Live', 'Playback'],
      Configure: ['Cameras', 'Zones'],
      Security: ['Users & roles', 'Sessions', 'API tokens', 'Approvals', 'Keys'],
      Assurance: ['Compliance'],
      You: ['My account'],
    });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signIn(page, 'olga', TEST_PASSWORD, secret);
    await page.getByRole('heading', { level: 1, name: 'Live' }).waitFor();
    await assertFocusVisible(page, 'console');
    assert.deepEqual(tab.errors, []);
    await tab.context.close();
  });

  it('wrong passwords and the lockout are explained in plain words', async () => {
    await server.palisade.identity.createUser(system, { username: 'lena', displayName: 'Lena' });
    const tab = await openConsole(browser, server);
    const { page } = tab;
    await page.getByLabel('I have read the notice and accept it').check();
    await page.getByLabel('User name').fill('lena');
    let message = '';
    for (let i = 0; i < 6; i++) {
      tab.expectFailedRequest(i < 5 ? 401 : 429);
      await page.getByLabel('Password', { exact: true }).fill(`wrong password ${i}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign in' }).and(page.locator(':enabled')).waitFor();
      message = await page.getByRole('alert').innerText();
      if (i === 0) assert.match(message, /Wrong user name or password/);
    }
    assert.match(message, /Sign-in is locked/);
    assert.match(message, /ask an administrator to unlock/);
    assert.match(message, /AUTH_LOCKED/);
    await screenshot(page, 'sign-in-locked');
    assert.deepEqual(tab.errors, []);
    await tab.context.close();
  });

  it('a viewer scoped to one zone sees only that zone, and pages outside their roles are hidden and refused', async () => {
    const viewer = await signedInUser(server, 'vic', [{ role: 'viewer', scope: 'zone:quay-cameras' }]);
    const tab = await openConsole(browser, server);
    const { page } = tab;
    await signIn(page, 'vic', TEST_PASSWORD, viewer.totpSecret);
    assert.deepEqual(await navigation(page), {
      Operate: ['Live'],
      Configure: ['Cameras', 'Zones'],
      You: ['My account'],
    });
    await goTo(page, 'Zones');
    await page.getByRole('heading', { name: /Quay cameras/ }).waitFor();
    const zoneTitles = await page.locator('.zone .card-title').allInnerTexts();
    assert.deepEqual(
      zoneTitles.map((t) => t.split('\n')[0]!.replace(/ zone .*/, '')),
      ['Quay cameras'],
      'only the zone in scope',
    );
    assert.equal(await page.getByRole('button', { name: /^Edit/ }).count(), 0, 'a viewer cannot edit');
    await assertAllControlsNamed(page, 'zones (viewer)');
    await screenshot(page, 'zones-viewer');

    // Hidden, and refused: typing the address shows no page, and the API says no.
    await page.goto(`https://localhost:${server.palisade.port}/#/users`);
    await page.getByRole('heading', { name: 'Page not available' }).waitFor();
    tab.expectFailedRequest(403);
    const status = await page.evaluate<number>(`fetch('/api/users').then((r) => r.status)`);
    assert.equal(status, 403);
    assert.deepEqual(tab.errors, []);
    await tab.context.close();
  });

  it('dual approval between two people in two browsers: a grant waits, the second administrator approves, the requester sees it', async () => {
    const requester = await signedInUser(server, 'ada', [{ role: 'administrator', scope: 'all' }]);
    const approver = await signedInUser(server, 'bruno', [{ role: 'administrator', scope: 'all' }]);
    await signedInUser(server, 'carla', []);

    const a = await openConsole(browser, server);
    await signIn(a.page, 'ada', TEST_PASSWORD, requester.totpSecret);
    await goTo(a.page, 'Users & roles');
    await a.page.getByRole('button', { name: 'carla' }).click();
    await a.page.getByRole('heading', { name: /^Carla|^carla/ }).waitFor();
    await a.page.getByLabel('Role', { exact: true }).selectOption('operator');
    await a.page.getByLabel('Scope', { exact: true }).selectOption('zone:gate-cameras');
    await a.page.getByRole('button', { name: 'Grant role' }).click();
    await a.page.getByText('Waiting for a second person.').waitFor();
    await assertAllControlsNamed(a.page, 'users');
    await screenshot(a.page, 'users');

    const b = await openConsole(browser, server);
    await signIn(b.page, 'bruno', TEST_PASSWORD, approver.totpSecret);
    await goTo(b.page, 'Approvals');
    const card = b.page.getByRole('listitem').filter({ hasText: 'carla' });
    await card.waitFor();
    assert.match(await card.innerText(), /operator/);
    await assertAllControlsNamed(b.page, 'approvals');
    await screenshot(b.page, 'approvals');
    await card.getByRole('button', { name: 'Approve' }).click();
    await b.page.getByText('Nothing pending.').waitFor();

    await goTo(a.page, 'My account');
    await a.page.getByRole('button', { name: 'Refresh' }).click();
    const row = a.page.getByRole('row').filter({ hasText: 'carla' });
    await row.getByText('approved').waitFor();
    await screenshot(a.page, 'my-account');
    const grants = await server.palisade.access.store.grants(
      (await server.palisade.identity.accounts.byUsername('carla'))!.id,
    );
    assert.deepEqual(
      grants.map((g) => [g.roleId, g.scope]),
      [['operator', { kind: 'zone', id: 'gate-cameras' }]],
    );

    // The other security pages render for an administrator without errors.
    for (const [title, shot] of [
      ['Sessions', 'sessions'],
      ['API tokens', 'api-tokens'],
      ['Zones', 'zones'],
    ] as const) {
      await goTo(b.page, title);
      await b.page.waitForLoadState('networkidle');
      await assertAllControlsNamed(b.page, title);
      await screenshot(b.page, shot);
    }
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
    await a.context.close();
    await b.context.close();
  });

  it('audit: finds the sign-in events, shows the checkpoint, verifies the log, and exports it for auditors', async () => {
    const auditor = await signedInUser(server, 'aurelia', [{ role: 'auditor', scope: 'all' }]);
    // A running server signs checkpoints periodically; this one is young.
    await server.palisade.audit.signCheckpoint();
    const tab = await openConsole(browser, server);
    const { page } = tab;
    await signIn(page, 'aurelia', TEST_PASSWORD, auditor.totpSecret);
    await goTo(page, 'Audit');
    await page.getByLabel('Action').fill('auth.login.succeeded');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL(/actionPrefix=auth.login.succeeded/);
    const rows = page.locator('table.events tbody tr');
    await rows.first().waitFor();
    const text = await page.locator('table.events tbody').innerText();
    for (const who of ['olga', 'vic', 'ada', 'bruno', 'aurelia'])
      assert.match(text, new RegExp(who), `${who}'s sign-in is listed`);
    assert.doesNotMatch(text, /auth\.login\.failed/);

    await page.getByRole('button', { name: 'Sign a checkpoint now' }).click();
    await page.getByTestId('tree-size').waitFor();
    await page.getByRole('button', { name: 'Verify now' }).click();
    await page.getByText('Verified.').waitFor();
    await assertAllControlsNamed(page, 'audit');
    await screenshot(page, 'audit');

    await page.getByRole('button', { name: 'Prepare export' }).click();
    const link = page.getByRole('link', { name: /^Download palisade-audit-export-\d+\.tar$/ });
    await link.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const out = tempDir();
    const tarFile = path.join(out, download.suggestedFilename());
    await download.saveAs(tarFile);
    const untar = spawnSync('tar', ['-xf', tarFile, '-C', out], { encoding: 'utf8' });
    assert.equal(untar.status, 0, untar.stderr);
    const report = await verifyExport(path.join(out, download.suggestedFilename().replace(/\.tar$/, '')));
    assert.equal(report.ok, true, JSON.stringify(report.failure));

    // The export itself is in the trail.
    await page.getByLabel('Action').fill('audit.exported');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.locator('table.events tbody tr', { hasText: 'aurelia' }).first().waitFor();
    assert.deepEqual(tab.errors, []);
    await tab.context.close();
  });

  it('compliance: SL-A against SL-T per zone, drill-down to evidence, an attestation recorded, and an evidence pack that `palisade compliance verify` accepts', async () => {
    const officer = await signedInUser(server, 'sigrid', [{ role: 'security-admin', scope: 'all' }]);
    const tab = await openConsole(browser, server);
    const { page } = tab;
    await signIn(page, 'sigrid', TEST_PASSWORD, officer.totpSecret);
    assert.deepEqual((await navigation(page)).Assurance, ['Audit', 'Compliance']);
    await goTo(page, 'Compliance');
    const chart = page.getByRole('img', { name: /FR1 achieved \d of target \d/ });
    await chart.waitFor();
    // The default zone's target is SL 2 everywhere; the chart names both vectors.
    assert.match((await chart.getAttribute('aria-label'))!, /FR7 achieved \d of target 2/);
    const gaps = page.getByRole('complementary').locator('details.gap');
    assert.ok((await gaps.count()) > 0, 'a fresh install has gaps to its target, listed per FR');
    await gaps.first().locator('summary').click();
    await screenshot(page, 'compliance');

    // Drill down to an organisational requirement and attest it for this zone.
    await page.getByLabel('Foundational requirement').selectOption('7');
    await page
      .locator('table')
      .getByRole('link', { name: /SR 7\.3 RE1/ })
      .click();
    await page.getByRole('heading', { name: /SR 7\.3 RE1/ }).waitFor();
    await page
      .getByLabel('Statement')
      .fill('Restore test done 2026-11-02, ticket OPS-4411; report in the ISMS folder.');
    await page.getByRole('button', { name: 'Record attestation' }).click();
    await page.getByText('Attested met').waitFor();
    const row = page.getByRole('row').filter({ hasText: 'SR 7.3 RE1' });
    assert.match(await row.innerText(), /attested/);
    await assertAllControlsNamed(page, 'compliance');
    await screenshot(page, 'compliance-requirement');

    await page.getByRole('button', { name: 'Produce evidence pack' }).click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByText(/^Saved /).waitFor(),
    ]);
    const file = path.join(tempDir(), download.suggestedFilename());
    await download.saveAs(file);
    assert.match(file, /\.zip$/);
    const verified = runCli(['compliance', 'verify', file]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /OK: the pack is intact and signed/);
    assert.deepEqual(tab.errors, []);
    await tab.context.close();
  });

  it('keys: provider, KEK versions, a rotation followed to the end of its re-wrap, and destruction only as a request for a second person', async () => {
    const holder = await signedInUser(server, 'kai', [{ role: 'security-admin', scope: 'all' }]);
    const tab = await openConsole(browser, server);
    const { page } = tab;
    await signIn(page, 'kai', TEST_PASSWORD, holder.totpSecret);
    await goTo(page, 'Keys');
    await page.getByRole('heading', { name: 'Provider' }).waitFor();
    assert.match(
      await page.getByRole('complementary').innerText(),
      /software/,
      'the local key file is not hardware',
    );
    const kek = page.locator('article.card').first();
    await kek.waitFor();
    const id = (await kek.locator('h3').innerText()).split(/\s/)[0]!;
    const before = Number(/version (\d+) active/.exec(await kek.locator('h3').innerText())![1]);

    await kek.getByRole('button', { name: `Rotate ${id}` }).click();
    await kek.getByRole('button', { name: `Rotate ${id} now` }).click();
    await kek.getByText(`Version ${before + 1} is active`).waitFor();
    const job = page.getByRole('row').filter({ hasText: id }).filter({ hasText: 'completed' });
    await job.first().waitFor();
    assert.match(await kek.locator('h3').innerText(), new RegExp(`version ${before + 1} active`));

    await kek.getByLabel(`Reason to destroy ${id}`).fill('decommissioning test');
    await kek.getByRole('button', { name: `Ask to destroy ${id}` }).click();
    await kek.getByRole('button', { name: 'Ask a second person' }).click();
    await kek.getByText('Waiting for a second person.').waitFor();
    const status = await server.palisade.keyring.status();
    assert.ok(
      status.keks.some((k) => k.kekId === id && k.state === 'active'),
      'nothing is destroyed before a second person approves',
    );
    await assertAllControlsNamed(page, 'keys');
    await screenshot(page, 'keys');
    assert.deepEqual(tab.errors, []);
    await tab.context.close();
  });
});
