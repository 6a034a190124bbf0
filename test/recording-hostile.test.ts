import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Fmp4File } from '../src/media/index.js';
import { checkRecordings, openSegment } from '../src/recording/index.js';
import {
  CameraSimulator,
  changeResolution,
  disconnectEvery,
  dropMidFrame,
  floodRtp,
  lieInSdp,
  loadClip,
  oversizedNal,
  stallAfter,
} from '../src/sim/index.js';
import { DIALECTS } from './support/dialects.js';
import { ADMIN, recordingWorld, testSettings } from './support/recording.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hostile cameras beside healthy ones', () => {
  it(
    'keeps the healthy cameras recording, bounds memory, records gaps and parameter changes',
    { timeout: 5 * 60_000 },
    async () => {
      const w = await recordingWorld(DIALECTS[0]!);
      const c720 = loadClip('h264-720p');
      const c1080 = loadClip('h264-1080p');
      const hostile = {
        'drop-mid-frame': [dropMidFrame(2500)],
        stall: [stallAfter(2500)],
        flood: [floodRtp(1000, 300)],
        'oversized-nal': [oversizedNal(2500, 6 * 1024 * 1024)],
        'change-resolution': [changeResolution(3000, [c1080, c720])],
        'lie-sdp-params': [lieInSdp({ parameterSetsOf: c1080 })],
        'lie-sdp-codec': [lieInSdp({ codec: 'H265' })],
        'disconnect-often': [disconnectEvery(3000)],
      };
      const healthy = ['ok1', 'ok2', 'ok3', 'ok4'];
      const sim = await CameraSimulator.start({
        port: 0,
        cameras: [
          ...healthy.map((p) => ({ path: `/${p}`, clip: 'h264-720p', username: 'u', password: 'p' })),
          ...Object.entries(hostile).map(([p, behaviours]) => ({
            path: `/${p}`,
            clip: 'h264-720p',
            username: 'u',
            password: 'p',
            behaviours,
          })),
        ],
      });
      try {
        const rec = await w.open(testSettings({ segmentSeconds: 4, stallTimeoutMs: 2000 }));
        await rec.start();
        for (const c of sim.cameraList()) {
          await rec.createCamera(
            {
              id: c.path.slice(1),
              name: c.path,
              zoneId: 'default',
              streamUrl: c.url,
              username: 'u',
              password: 'p',
            },
            ADMIN,
          );
        }
        const heap: number[] = [];
        for (let i = 0; i < 20; i++) {
          await sleep(1000);
          heap.push(process.memoryUsage().rss);
        }
        const states = new Map((await rec.cameras.list()).map((c) => [c.id, rec.healthOf(c)]));
        sim.pauseAll();
        await sleep(1000);
        await rec.close();
        const rec2 = await w.open(testSettings());
        // Healthy cameras: recorded throughout, every frame the camera sent.
        for (const id of healthy) {
          const segs = await rec2.index.find(id, 0, Date.now() + 60_000);
          const frames = segs.reduce((n, s) => n + (s.frames ?? 0), 0);
          assert.equal(
            frames,
            sim.framesSent(`/${id}`),
            `${id} recorded every frame despite its hostile neighbours`,
          );
          assert.equal(states.get(id)!.state, 'recording');
        }
        // Hostile cameras: the damage is reported as gaps with their reason, never as a crash.
        for (const id of ['drop-mid-frame', 'stall', 'oversized-nal', 'disconnect-often', 'lie-sdp-codec']) {
          const gaps = await rec2.gaps(id, 0, Date.now() + 60_000);
          assert.ok(
            gaps.length > 0 || states.get(id)!.lastError !== null,
            `${id}: a gap or an error is recorded`,
          );
        }
        const stallGaps = await rec2.gaps('stall', 0, Date.now() + 60_000);
        assert.ok(
          stallGaps.some((g) => g.reason === 'RTSP_STALLED'),
          'a stalled camera leaves an RTSP_STALLED gap',
        );
        const nalGaps = await rec2.gaps('oversized-nal', 0, Date.now() + 60_000);
        assert.ok(
          nalGaps.some((g) => g.reason === 'RTSP_LIMIT_EXCEEDED'),
          `an oversized NAL unit leaves an RTSP_LIMIT_EXCEEDED gap (gaps: ${nalGaps.map((g) => g.reason).join(', ')})`,
        );
        const discGaps = await rec2.gaps('disconnect-often', 0, Date.now() + 60_000);
        assert.ok(discGaps.length >= 3, `a camera dropping every 3 s leaves gaps (${discGaps.length})`);
        assert.ok(
          ['reconnecting', 'failed'].includes(states.get('lie-sdp-codec')!.state) ||
            states.get('lie-sdp-codec')!.lastError?.code === 'RTSP_STALLED',
        );
        // A resolution change starts a new segment with the new size; both sizes decode.
        const sizes = new Set(
          (await rec2.index.find('change-resolution', 0, Date.now() + 60_000)).map((s) => s.width),
        );
        assert.deepEqual([...sizes].sort(), [1280, 1920]);
        // Everything indexed decrypts and parses, whatever the camera did.
        for (const c of sim.cameraList()) {
          for (const s of await rec2.index.find(c.path.slice(1), 0, Date.now() + 60_000)) {
            const o = await openSegment({ keyring: w.keyring, store: w.store, index: rec2.index }, s.id);
            const f = Fmp4File.parse(await o.read(0, o.size));
            await o.close();
            assert.equal(
              f.fragments.reduce((n, x) => n + x.samples.length, 0),
              s.frames,
            );
            assert.equal(f.video!.width, s.width);
          }
        }
        const report = await checkRecordings({
          keyring: w.keyring,
          store: w.store,
          index: rec2.index,
          integrity: rec2.integrity,
        });
        assert.deepEqual(report.problems, []);
        // Memory stays bounded: RSS over the last 10 s grows by less than 64 MiB (a flood of 300 packets
        // per frame and a 6 MiB NAL unit are refused, not buffered).
        const growth = Math.max(...heap.slice(10)) - heap[9]!;
        assert.ok(
          growth < 64 * 1024 * 1024,
          `RSS grew by ${Math.round(growth / 1048576)} MiB in the last 10 s`,
        );
        await rec2.close();
      } finally {
        await sim.close();
        await w.close();
      }
    },
  );
});
