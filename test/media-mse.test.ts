import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { CameraSimulator } from '../src/sim/index.js';
import { record } from './support/record.js';
import { tempDir } from './support/tmp.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The fMP4 our writer produced from a live RTSP session plays in Chromium through Media Source Extensions. */
describe(
  'fMP4 plays in Chromium via MSE',
  { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} missing (apt-get install chromium)` },
  () => {
    it('a 720p H.264 recording from the simulator decodes and plays at the right size', async () => {
      const sim = await CameraSimulator.start({
        cameras: [{ path: '/c', clip: 'h264-720p', username: 'u', password: 'p' }],
      });
      let rec;
      try {
        rec = await record({ url: `rtsp://127.0.0.1:${sim.port}/c`, username: 'u', password: 'p' }, 75);
      } finally {
        await sim.close();
      }
      const codec = rec.accessUnits[0]!.video.codecString;
      const browser = await chromium.launchPersistentContext(tempDir(), {
        executablePath: CHROMIUM,
        args: FLAGS,
        headless: true,
      });
      try {
        const page = await browser.newPage();
        await page.setContent('<video id="v" muted playsinline></video>');
        // Runs in the page (no DOM types in this project's TypeScript, so it is plain JavaScript).
        const pageScript = `(async ({ b64, mime }) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        if (!MediaSource.isTypeSupported(mime)) return { error: 'unsupported ' + mime };
        const video = document.getElementById('v');
        const ms = new MediaSource();
        video.src = URL.createObjectURL(ms);
        await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
        const sb = ms.addSourceBuffer(mime);
        const errors = [];
        video.addEventListener('error', () => errors.push(video.error ? video.error.message : 'media error'));
        sb.appendBuffer(bytes);
        await new Promise((r) => sb.addEventListener('updateend', r, { once: true }));
        ms.endOfStream();
        await video.play();
        const deadline = Date.now() + 15000;
        while (video.currentTime < 2.0 && Date.now() < deadline && errors.length === 0) {
          await new Promise((r) => setTimeout(r, 100));
        }
        return {
          width: video.videoWidth,
          height: video.videoHeight,
          currentTime: video.currentTime,
          buffered: [sb.buffered.start(0), sb.buffered.end(0)],
          frames: video.getVideoPlaybackQuality().totalVideoFrames,
          errors,
        };
      })(${JSON.stringify({ b64: rec.mp4.toString('base64'), mime: `video/mp4; codecs="${codec}"` })})`;
        type Result =
          | { error: string }
          | {
              width: number;
              height: number;
              currentTime: number;
              buffered: number[];
              frames: number;
              errors: string[];
            };
        const result = await page.evaluate<Result>(pageScript);
        assert.ok(!('error' in result), JSON.stringify(result));
        if ('error' in result) return;
        assert.deepEqual(result.errors, []);
        assert.equal(result.width, 1280);
        assert.equal(result.height, 720);
        assert.ok(result.currentTime >= 2.0, `played to ${result.currentTime}s`);
        assert.equal(result.buffered[0], 0);
        assert.ok(
          Math.abs(result.buffered[1]! - 3) < 0.05,
          `buffered to ${result.buffered[1]}s (75 frames at 25 fps)`,
        );
        assert.ok(result.frames >= 40, `${result.frames} frames decoded`);
      } finally {
        await browser.close();
      }
    });
  },
);
