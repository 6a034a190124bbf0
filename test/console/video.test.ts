import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { CameraSimulator, type ClipName } from '../../src/sim/index.js';
import { CHROMIUM, launchChromium } from '../support/browser.js';
import { runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { ADMIN } from '../support/recording.js';
import { signedInUser, startTestServer, TEST_PASSWORD, type TestServer } from '../support/server.js';
import { recordSynthetic } from '../support/synthetic-recording.js';
import { tempDir } from '../support/tmp.js';
import {
  assertAllControlsNamed,
  assertFocusVisible,
  goTo,
  navigation,
  openConsole,
  screenshot,
  signIn,
  type ConsoleTab,
} from './console-support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dialect = DIALECTS[0]!;

/** Simulated H.264 cameras (Chromium plays H.264 through MSE), at the sizes of their clips. */
const QUAY: { id: string; name: string; clip: ClipName; width: number; height: number }[] = [
  { id: 'quay-north', name: 'Quay north', clip: 'h264-720p', width: 1280, height: 720 },
  { id: 'quay-south', name: 'Quay south', clip: 'h264-720p', width: 1280, height: 720 },
  { id: 'crane-7', name: 'Crane 7', clip: 'h264-1080p', width: 1920, height: 1080 },
  { id: 'berth-3', name: 'Berth 3', clip: 'h264-720p', width: 1280, height: 720 },
];

/** `datetime-local` text for an instant, in the local time zone the browser shares with this process. */
function localInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * Polls an expression in the page until it is true. (Playwright's waitForFunction evaluates strings
 * with eval inside the page, which the console's CSP forbids; page.evaluate goes through DevTools.)
 */
async function waitUntil(page: Page, expression: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await page.evaluate<boolean>(`Boolean(${expression})`)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression}`);
    await sleep(100);
  }
}

interface VideoState {
  camera: string;
  time: number;
  width: number;
  height: number;
}

/** currentTime and size of every tile's video (a string: the test project has no DOM types). */
async function tileVideos(page: Page): Promise<VideoState[]> {
  return page.evaluate(`[...document.querySelectorAll('.live-grid figure.tile')].map((f) => {
    const v = f.querySelector('video');
    return { camera: f.dataset.camera, time: v.currentTime, width: v.videoWidth, height: v.videoHeight };
  })`);
}

async function playerVideo(
  page: Page,
): Promise<{ time: number; width: number; height: number; rate: number }> {
  return page.evaluate(`(() => {
    const v = document.querySelector('.player video');
    return { time: v.currentTime, width: v.videoWidth, height: v.videoHeight, rate: v.playbackRate };
  })()`);
}

/**
 * The video pages of the console against a real server recording simulated cameras: live tiles
 * playing in Chromium, playback of a recorded minute, an evidence export approved by a second person
 * in a second browser and verified by the real CLI, the export in the audit log, the inventory with
 * health, and a viewer who sees only their zone's cameras.
 */
describe(
  'web console video pages in Chromium',
  { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} missing (apt-get install chromium)` },
  () => {
    let server: TestServer;
    let sim: CameraSimulator;
    let browser: Browser;
    /** A past minute of quay-north, recorded through the recorder's own writer (no real-time wait). */
    const past = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000;
    const tabs: ConsoleTab[] = [];

    before(async () => {
      sim = await CameraSimulator.start({
        port: 0,
        cameras: [
          ...QUAY.map((c) => ({ path: `/${c.id}`, clip: c.clip, username: 'cam', password: 'sim-pass-1' })),
          { path: '/gate-east', clip: 'h264-720p' as const, username: 'cam', password: 'sim-pass-1' },
        ],
      });
      server = await startTestServer(dialect, {
        recording: { segmentSeconds: 4 },
        access: { dualApproval: { actions: ['evidence.export'] } },
      });
      const p = server.palisade;
      await p.zones.createSite({ id: 'harbour', name: 'Harbour', description: 'Container terminal' });
      for (const [id, name] of [
        ['quay-cameras', 'Quay cameras'],
        ['gate-cameras', 'Gate cameras'],
      ] as const)
        await p.zones.createZone({
          id,
          siteId: 'harbour',
          name,
          description: '',
          slTarget: [2, 2, 2, 2, 2, 2, 2],
        });
      const urls = new Map(sim.cameraList().map((c) => [c.path, c.url]));
      for (const c of QUAY)
        await p.recorder.createCamera(
          {
            id: c.id,
            name: c.name,
            zoneId: 'quay-cameras',
            streamUrl: urls.get(`/${c.id}`)!,
            username: 'cam',
            password: 'sim-pass-1',
          },
          ADMIN,
        );
      await p.recorder.createCamera(
        {
          id: 'gate-east',
          name: 'East gate',
          zoneId: 'gate-cameras',
          streamUrl: urls.get('/gate-east')!,
          username: 'cam',
          password: 'sim-pass-1',
          recordingMode: 'off',
        },
        ADMIN,
      );
      await recordSynthetic(p.recorder, p.keyring, {
        cameraId: 'quay-north',
        zoneId: 'quay-cameras',
        startMs: past,
        seconds: 60,
      });
      browser = await launchChromium(p.tls.certPem);
      for (let i = 0; i < 200 && QUAY.some((c) => p.recorder.health(c.id)?.state !== 'recording'); i++)
        await sleep(100);
      for (const c of QUAY) assert.equal(p.recorder.health(c.id)?.state, 'recording', `${c.id} records`);
    });
    after(async () => {
      for (const t of tabs) await t.context.close().catch(() => undefined);
      await browser.close();
      await server.stop();
      await sim.close();
    });

    /** One browser profile per person, signed in once (a TOTP code is accepted once). */
    const people = new Map<string, ConsoleTab>();
    async function as(username: string, role: string, scope: string): Promise<ConsoleTab> {
      const known = people.get(username);
      if (known) return known;
      const user = await signedInUser(server, username, [{ role, scope }]);
      const tab = await openConsole(browser, server);
      tabs.push(tab);
      await signIn(tab.page, username, TEST_PASSWORD, user.totpSecret);
      people.set(username, tab);
      return tab;
    }

    it('live: an operator signed in with TOTP sees 4 tiles playing at their cameras’ sizes; enlarge and keyboard navigation', async () => {
      const tab = await as('otis', 'operator', 'zone:quay-cameras');
      const { page } = tab;
      assert.deepEqual(await navigation(page), {
        Operate: ['Live', 'Playback'],
        Configure: ['Cameras', 'Zones'],
        You: ['My account'],
      });
      await goTo(page, 'Live');
      const tiles = page.locator('.live-grid figure.tile');
      await waitUntil(
        page,
        `[...document.querySelectorAll('.live-grid figure.tile video')].filter((v) => v.videoWidth > 0 && v.currentTime > 0).length === 4`,
        20_000,
      );
      assert.equal(await tiles.count(), 4);
      const first = await tileVideos(page);
      await sleep(2000);
      const second = await tileVideos(page);
      for (const c of QUAY) {
        const a = first.find((v) => v.camera === c.id);
        const b = second.find((v) => v.camera === c.id);
        assert.ok(a && b, `a tile for ${c.id}`);
        assert.deepEqual([b.width, b.height], [c.width, c.height], `${c.id} plays at the camera's size`);
        assert.ok(b.time - a.time > 1, `${c.id}: currentTime advanced ${b.time - a.time} s in 2 s`);
      }
      const firstTile = tiles.filter({ hasText: 'Quay north' });
      assert.match(await firstTile.locator('figcaption').innerText(), /recording/);
      assert.match(await firstTile.locator('figcaption').innerText(), /1280×720/);
      // Health (frame rate, bitrate) arrives with the directory's next refresh.
      await waitUntil(
        page,
        `[...document.querySelectorAll('.live-grid figcaption')].every((f) => /fps/.test(f.innerText))`,
        12_000,
      );
      await assertAllControlsNamed(page, 'live');
      await screenshot(page, 'live');

      // Keyboard: arrows move between tiles, Enter enlarges, Escape returns to the grid.
      await page.getByRole('button', { name: `Enlarge ${QUAY[0]!.name}` }).focus();
      await page.keyboard.press('ArrowRight');
      const focused = await page.evaluate<string>(`document.activeElement.getAttribute('aria-label')`);
      assert.equal(focused, `Enlarge ${QUAY[1]!.name}`);
      await page.keyboard.press('Enter');
      await page.waitForURL(/camera=quay-south/);
      await page.getByRole('button', { name: `Back to the grid from ${QUAY[1]!.name}` }).waitFor();
      assert.equal(await tiles.count(), 1, 'one camera enlarged');
      await waitUntil(
        page,
        `(() => { const v = document.querySelector('.tile-big video'); return v && v.videoWidth === 1280 && v.currentTime > 0; })()`,
        15_000,
      );
      await screenshot(page, 'live-enlarged');
      await page.keyboard.press('Escape');
      await waitUntil(page, `document.querySelectorAll('.live-grid figure.tile').length === 4`);
      // The 3 × 3 layout holds all four cameras as well.
      await page.getByRole('button', { name: '9 cameras (3 × 3)' }).click();
      await page.waitForURL(/grid=3/);
      assert.equal(await tiles.count(), 4);
      await assertFocusVisible(page, 'live');
      assert.deepEqual(tab.errors, []);
    });

    it('playback: a recorded minute plays from a typed time; the timeline shows recorded spans and the gap; speed and keyboard seek', async () => {
      const tab = await as('otis', 'operator', 'zone:quay-cameras');
      const { page } = tab;
      await goTo(page, 'Playback');
      await page.getByLabel('Camera', { exact: true }).selectOption('quay-north');
      // The past minute and the live recording, with the time between them not recorded.
      await waitUntil(page, `document.querySelectorAll('rect.timeline-recorded').length >= 2`);
      assert.ok((await page.locator('rect.timeline-gap').count()) >= 1, 'a gap is drawn');
      assert.match(await page.getByTestId('timeline-summary').innerText(), /\d+ recorded stretches/);

      await page.getByLabel('Jump to', { exact: true }).fill(localInput(past + 20_000));
      await page.getByRole('button', { name: 'Go', exact: true }).click();
      await waitUntil(
        page,
        `(() => { const v = document.querySelector('.player video'); return v.videoWidth > 0 && !v.paused && v.currentTime > 0; })()`,
        15_000,
      );
      const a = await playerVideo(page);
      await sleep(1500);
      const b = await playerVideo(page);
      assert.deepEqual([b.width, b.height], [1280, 720]);
      assert.ok(b.time - a.time > 0.8, `recorded playback advanced ${b.time - a.time} s in 1.5 s`);
      const slider = page.getByRole('slider', { name: /Timeline of Quay north/ });
      const at = Number(await slider.getAttribute('aria-valuenow'));
      assert.ok(
        at >= past + 19_000 && at <= past + 60_000,
        `the playhead is in the recorded minute (${at - past} ms)`,
      );

      await page.getByLabel('Speed').selectOption('2');
      assert.equal((await playerVideo(page)).rate, 2);
      // Keyboard seek on the timeline: ten seconds on.
      await slider.focus();
      await page.keyboard.press('ArrowRight');
      await waitUntil(
        page,
        `Number(document.querySelector('[role=slider]').getAttribute('aria-valuenow')) >= ${at + 9_000}`,
      );
      await waitUntil(
        page,
        `(() => { const v = document.querySelector('.player video'); return v.videoWidth > 0 && !v.paused && v.currentTime > 0; })()`,
        15_000,
      );
      assert.equal((await playerVideo(page)).rate, 2, 'the speed stays after a seek');
      // What the recorder itself wrote from the simulated camera over RTSP plays too.
      await page.getByRole('button', { name: 'Last recorded minute' }).click();
      await waitUntil(
        page,
        `Number(document.querySelector('[role=slider]').getAttribute('aria-valuenow')) > ${past + 5 * 60_000}`,
      );
      await waitUntil(
        page,
        `(() => { const v = document.querySelector('.player video'); return v.videoWidth === 1280 && !v.paused && v.currentTime > 0; })()`,
        15_000,
      );
      const c = await playerVideo(page);
      await sleep(1000);
      assert.ok((await playerVideo(page)).time > c.time, 'the live-recorded stretch plays');
      await assertAllControlsNamed(page, 'playback');
      await assertFocusVisible(page, 'playback');
      const audited = await server.palisade.audit.query({ actionPrefix: 'video.playback.start' });
      assert.ok(
        audited.events.some((e) => e.event.actor.name === 'otis'),
        'the playback is audited',
      );
      assert.deepEqual(tab.errors, []);
    });

    it('evidence: an investigator exports a range, a second person approves in another browser, the package downloads and `palisade evidence verify` accepts it; the export is in the audit log', async () => {
      const inv = await as('ines', 'investigator', 'zone:quay-cameras');
      const { page } = inv;
      assert.deepEqual((await navigation(page)).Investigate, ['Exports']);
      await goTo(page, 'Playback');
      await page.getByLabel('Camera', { exact: true }).selectOption('quay-north');
      await page.getByLabel('Jump to', { exact: true }).fill(localInput(past + 10_000));
      await page.getByRole('button', { name: 'Go', exact: true }).click();
      await page.getByLabel('Export from').fill(localInput(past + 10_000));
      await page.getByLabel('Export to').fill(localInput(past + 30_000));
      await page.getByLabel('Reason').fill('Container seal tampering reported at berth 3');
      await page.getByLabel('Case id').fill('C-2026-0042');
      await waitUntil(
        page,
        `(() => { const v = document.querySelector('.player video'); return v.videoWidth > 0 && v.currentTime > 0; })()`,
        15_000,
      );
      await page.getByRole('button', { name: 'Export evidence' }).click();
      await page.getByText('Waiting for a second person.').waitFor();
      await assertAllControlsNamed(page, 'playback (investigator)');
      await page.evaluate('window.scrollTo(0, 0)');
      await screenshot(page, 'playback');

      await goTo(page, 'Exports');
      const row = page.locator('table.exports tbody tr', { hasText: 'quay-north' });
      await row.getByText('waiting for approval').waitFor();
      assert.match(await row.innerText(), /C-2026-0042/);

      const approver = await as('sam', 'security-admin', 'all');
      await goTo(approver.page, 'Approvals');
      const card = approver.page
        .getByRole('listitem')
        .filter({ hasText: 'evidence export of camera quay-north' });
      await card.waitFor();
      assert.match(await card.innerText(), /Container seal tampering/);
      await card.getByRole('button', { name: 'Approve' }).click();
      await approver.page.getByText('Nothing pending.').waitFor();

      // The Exports page follows the build by itself until the package is ready.
      await row.getByText('ready', { exact: true }).waitFor({ timeout: 60_000 });
      await assertAllControlsNamed(page, 'exports');
      await screenshot(page, 'exports');
      await assertFocusVisible(page, 'exports');
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        row.getByRole('button', { name: /^Download the evidence package of quay-north/ }).click(),
      ]);
      const file = path.join(tempDir(), download.suggestedFilename());
      await download.saveAs(file);
      assert.match(file, /evidence-[0-9a-f-]+\.zip$/);
      const verified = runCli(['evidence', 'verify', file]);
      assert.equal(verified.status, 0, verified.stdout + verified.stderr);
      assert.match(verified.stdout, /^OK: .* verifies/m);
      assert.match(verified.stdout, /camera quay-north/);
      assert.match(verified.stdout, /case C-2026-0042: Container seal tampering reported at berth 3/);
      assert.match(verified.stdout, /Approvals: 1/);

      // The same package for the court, encrypted to its age key: a mistyped key is explained and
      // blocks the download; the encrypted copy opens only with the court's identity file.
      const courtKey = path.join(tempDir(), 'court.key');
      const keygen = spawnSync('/usr/bin/age-keygen', ['-o', courtKey], { encoding: 'utf8' });
      assert.equal(keygen.status, 0, `age-keygen (Debian package "age"): ${keygen.stderr}`);
      const recipient = /age1[0-9a-z]+/.exec(keygen.stderr)![0];
      const recipientField = page.getByLabel('Encrypt downloads to (optional)');
      await recipientField.fill('age1-not-a-key');
      await page.getByRole('alert').filter({ hasText: 'age1 followed by 58' }).waitFor();
      assert.ok(await row.getByRole('button', { name: /^Download the evidence package/ }).isDisabled());
      await recipientField.fill(recipient);
      const [sealedDownload] = await Promise.all([
        page.waitForEvent('download'),
        row
          .getByRole('button', { name: /^Download the evidence package of quay-north.*, encrypted$/ })
          .click(),
      ]);
      const sealed = path.join(tempDir(), sealedDownload.suggestedFilename());
      await sealedDownload.saveAs(sealed);
      assert.match(sealed, /evidence-[0-9a-f-]+\.zip\.age$/);
      const opened = runCli(['evidence', 'verify', sealed, '--identity', courtKey]);
      assert.equal(opened.status, 0, opened.stdout + opened.stderr);
      assert.match(opened.stdout, /Decrypted .* \(age v1\)[\s\S]*OK: .* verifies/);

      // The export, its approval and the download are in the audit trail, found from the Audit page.
      await goTo(approver.page, 'Audit');
      await approver.page.getByLabel('Action').fill('evidence.export');
      await approver.page.getByRole('button', { name: 'Search', exact: true }).click();
      await approver.page.waitForURL(/actionPrefix=evidence.export/);
      // Each row is awaited on its own: the table may re-render while results arrive, so one read of
      // the whole table can catch it empty.
      const events = approver.page.locator('table.events tbody');
      for (const action of [
        'evidence.export.requested',
        'evidence.export.created',
        'evidence.export.downloaded',
      ]) {
        const row = events.locator('tr', { hasText: action }).first();
        await row.waitFor({ timeout: 15_000 });
        assert.match(await row.innerText(), /ines/, `${action} is listed with the investigator`);
      }
      assert.deepEqual(inv.errors, []);
      assert.deepEqual(approver.errors, []);
    });

    it('cameras: the inventory shows health, zone and firmware; an engineer adds a camera and renames it', async () => {
      const tab = await as('enzo', 'engineer', 'all');
      const { page } = tab;
      await goTo(page, 'Cameras');
      const row = (id: string) => page.locator(`table.cameras tbody tr[data-camera="${id}"]`);
      await row('quay-north').waitFor();
      await waitUntil(
        page,
        `/bit\\/s/.test(document.querySelector('tr[data-camera="quay-north"]').innerText)`,
        10_000,
      );
      const north = await row('quay-north').innerText();
      assert.match(north, /Quay cameras/);
      assert.match(north, /recording/);
      assert.match(north, /\d+(\.\d)? fps/);
      assert.match(north, /avc1\.[0-9a-f]+ 1280×720/);
      assert.match(north, /\d+ s ago/, 'last key frame');
      assert.match(north, /not known/, 'firmware is not recorded before onboarding');
      assert.match(await row('gate-east').innerText(), /off/);

      await page.getByRole('button', { name: 'Add a camera' }).click();
      await page.getByLabel('Camera id').fill('berth-9');
      await page.getByLabel('Camera name').fill('Berth 9');
      await page.getByLabel('Zone', { exact: true }).selectOption('gate-cameras');
      await page.getByLabel('Stream URL').fill('rtsp://127.0.0.1:9/berth-9');
      await page.getByLabel('Recording', { exact: true }).selectOption('off');
      await assertAllControlsNamed(page, 'cameras (add)');
      await page.getByRole('button', { name: 'Add camera', exact: true }).click();
      await row('berth-9').waitFor();

      // A bad address is explained in plain words before anything is sent.
      await page.getByRole('button', { name: 'Edit Berth 9' }).click();
      await page.getByLabel('Stream URL').fill('http://not-a-camera');
      await page.getByRole('alert').waitFor();
      assert.match(await page.getByRole('alert').innerText(), /must start with rtsp:\/\/ or rtsps:\/\//);
      assert.ok(await page.getByRole('button', { name: 'Save camera' }).isDisabled());
      await page.getByLabel('Stream URL').fill('rtsp://127.0.0.1:9/berth-9');
      await page.getByLabel('Camera name').fill('Berth nine');
      await page.getByRole('button', { name: 'Save camera' }).click();
      await row('berth-9').getByRole('button', { name: 'Edit Berth nine' }).waitFor();
      assert.equal((await server.palisade.recorder.cameras.get('berth-9'))?.name, 'Berth nine');
      await assertAllControlsNamed(page, 'cameras');
      await screenshot(page, 'cameras');
      await assertFocusVisible(page, 'cameras');
      assert.deepEqual(tab.errors, []);
    });

    it('a viewer scoped to one zone sees only that zone’s cameras, and another zone’s camera is refused with 403', async () => {
      const tab = await as('vera', 'viewer', 'zone:quay-cameras');
      const { page } = tab;
      assert.deepEqual(await navigation(page), {
        Operate: ['Live'],
        Configure: ['Cameras', 'Zones'],
        You: ['My account'],
      });
      await goTo(page, 'Cameras');
      await page.locator('table.cameras tbody tr').first().waitFor();
      const ids = await page.evaluate<string[]>(
        `[...document.querySelectorAll('table.cameras tbody tr')].map((r) => r.dataset.camera)`,
      );
      assert.deepEqual(ids.sort(), QUAY.map((c) => c.id).sort(), 'only the quay cameras');
      assert.equal(await page.getByRole('button', { name: /^Edit / }).count(), 0, 'a viewer cannot edit');
      assert.equal(await page.getByRole('button', { name: 'Add a camera' }).count(), 0);
      await screenshot(page, 'cameras-viewer');

      await goTo(page, 'Live');
      await waitUntil(page, `document.querySelectorAll('.live-grid figure.tile').length === 4`);
      const tiles = await tileVideos(page);
      assert.deepEqual(tiles.map((t) => t.camera).sort(), QUAY.map((c) => c.id).sort());

      // Hidden, and refused: the API says 403 for the other zone's camera, its health and its video.
      for (const url of ['/api/cameras/gate-east', '/api/cameras/gate-east/health', '/api/cameras/berth-9']) {
        tab.expectFailedRequest(403);
        const status = await page.evaluate<number>(`fetch(${JSON.stringify(url)}).then((r) => r.status)`);
        assert.equal(status, 403, url);
      }
      await page.goto(`https://localhost:${server.palisade.port}/#/playback`);
      await page.getByRole('heading', { name: 'Page not available' }).waitFor();
      assert.deepEqual(tab.errors, []);
    });
  },
);
