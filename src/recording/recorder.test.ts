import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CameraSimulator } from '../sim/index.js';
import { Fmp4File } from '../media/index.js';
import { openSegment } from './index.js';
import { DIALECTS } from '../../test/support/dialects.js';
import { ADMIN, recordingWorld, testSettings } from '../../test/support/recording.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('recorder (smoke)', () => {
  it('records two cameras into sealed segments that decrypt and parse', async () => {
    const w = await recordingWorld(DIALECTS[0]!);
    const sim = await CameraSimulator.start({
      port: 0,
      cameras: [1, 2].map((i) => ({ path: `/cam${i}`, clip: 'h264-720p', username: 'u', password: 'p' })),
    });
    try {
      const rec = await w.open(testSettings());
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
      await sleep(9000);
      sim.pauseAll();
      await sleep(500);
      await rec.close();
      for (const c of sim.cameraList()) {
        const id = c.path.slice(1);
        const segs = await rec.index.find(id, 0, Date.now() + 1000);
        assert.ok(segs.length >= 2, `${id}: ${segs.length} segments`);
        let frames = 0;
        for (const s of segs) {
          const o = await openSegment({ keyring: w.keyring, store: w.store, index: rec.index }, s.id);
          const mp4 = await o.read(0, o.size);
          await o.close();
          const f = Fmp4File.parse(mp4);
          frames += f.fragments.reduce((n, x) => n + x.samples.length, 0);
          assert.equal(
            f.fragments.reduce((n, x) => n + x.samples.length, 0),
            s.frames,
          );
        }
        assert.equal(
          frames,
          sim.framesSent(c.path),
          `${id}: recorded ${frames}, sent ${sim.framesSent(c.path)}`,
        );
      }
    } finally {
      await sim.close();
      await w.close();
    }
  });
});
