import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CameraSimulator } from '../sim/index.js';
import { Fmp4File } from '../media/index.js';
import { backoffDelay, checkRecordings, openSegment, recordingFactSources, type LiveItem } from './index.js';
import { DIALECTS } from '../../test/support/dialects.js';
import { tempDir } from '../../test/support/tmp.js';
import { ensureTlsMaterial } from '../http/index.js';
import { ADMIN, recordingWorld, testSettings } from '../../test/support/recording.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('recorder', () => {
  it('records, serves live fragments from the same session with bounded buffers, enforces retention by crypto-shredding, reports facts', async () => {
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
      await sleep(1500);
      // Live view: a subscriber that reads, and one that never reads with a 64 KiB budget.
      const live = rec.subscribe('cam1');
      const slow = rec.subscribe('cam1', { maxBufferedBytes: 64 * 1024 });
      const items: LiveItem[] = [];
      const reading = (async () => {
        for await (const item of live) {
          items.push(item);
          if (items.length >= 8) break;
        }
      })();
      await reading;
      assert.equal(items[0]!.kind, 'init');
      const firstFragment = items.find((i) => i.kind === 'fragment');
      assert.ok(firstFragment?.kind === 'fragment' && firstFragment.key, 'live starts at a key frame');
      const mp4 = Fmp4File.parse(Buffer.concat(items.map((i) => i.data)));
      assert.equal(mp4.fragments.length, items.length - 1, 'init + fragments form a playable fMP4');
      assert.ok(slow.bufferedBytes <= 64 * 1024, 'a slow subscriber never holds more than its budget');
      assert.ok(slow.dropped > 0, 'a slow subscriber loses fragments instead of slowing recording');
      slow.close();
      assert.equal(rec.health('cam1')!.liveSubscribers, 0);
      await sleep(7000);
      assert.equal(rec.health('cam1')!.state, 'recording');
      assert.ok(rec.health('cam1')!.bitrate > 100_000);
      sim.pauseAll();
      await sleep(500);
      await rec.close();

      const rec2 = await w.open(testSettings());
      for (const c of sim.cameraList()) {
        const id = c.path.slice(1);
        const segs = await rec2.index.find(id, 0, Date.now() + 1000);
        assert.ok(segs.length >= 2, `${id}: ${segs.length} segments`);
        let frames = 0;
        for (const s of segs) {
          const o = await openSegment({ keyring: w.keyring, store: w.store, index: rec2.index }, s.id);
          const f = Fmp4File.parse(await o.read(0, o.size));
          await o.close();
          const n = f.fragments.reduce((k, x) => k + x.samples.length, 0);
          assert.equal(n, s.frames);
          for (const [, byteOffset] of s.keyFrames)
            assert.ok(f.fragments.some((x) => x.offset === byteOffset));
          frames += n;
        }
        assert.equal(
          frames,
          sim.framesSent(c.path),
          `${id}: recorded ${frames}, sent ${sim.framesSent(c.path)}`,
        );
      }
      const facts = (await Promise.all(recordingFactSources(rec2).map((s) => s.collect()))).flat();
      const fact = (k: string) => facts.find((f) => f.key === k && f.zone === undefined)?.value;
      assert.equal(fact('recording.encryptionAtRest.coverage'), 1);
      assert.equal(fact('devices.inventory.count'), 2);
      assert.equal(typeof fact('storage.capacity.headroomRatio'), 'number');

      // Retention: a 2-segment byte cap on cam1 crypto-shreds the rest, oldest first.
      const before = await rec2.index.find('cam1', 0, Date.now() + 1000);
      const keep = before.slice(-2).reduce((n, s) => n + s.sealedBytes!, 0);
      await rec2.updateCamera('cam1', { retention: { maxBytes: keep } }, ADMIN);
      const removed = await rec2.enforceRetention();
      assert.equal(removed, before.length - 2);
      const gone = before[0]!;
      assert.equal((await rec2.index.get(gone.id))!.state, 'deleted');
      assert.equal(await w.store.stat(gone.blobKey), undefined, 'the blob is deleted');
      await assert.rejects(
        w.keyring.openObject({ objectId: gone.id, source: { size: 0, read: async () => new Uint8Array() } }),
        {
          code: 'DEK_DESTROYED',
        },
      );
      assert.equal(w.audit.count('recording.retention.enforced'), 1);
      assert.equal(w.audit.count('recording.retention.changed'), 1);
      const report = await checkRecordings({
        keyring: w.keyring,
        store: w.store,
        index: rec2.index,
        integrity: rec2.integrity,
      });
      assert.deepEqual(
        report.problems,
        [],
        'deleted segments keep their integrity leaves; check stays clean',
      );
    } finally {
      await sim.close();
      await w.close();
    }
  });

  it('records an RTSPS camera pinned to its certificate, on the batch clock; a wrong pin records nothing and says why', async () => {
    const w = await recordingWorld(DIALECTS[0]!);
    const tls = await ensureTlsMaterial({ dataDir: tempDir() });
    const sim = await CameraSimulator.start({
      port: 0,
      tls: { certPem: tls.certPem, keyPem: tls.keyPem },
      cameras: [{ path: '/secure', clip: 'h264-720p', tls: true, username: 'u', password: 'p' }],
    });
    try {
      const rec = await w.open(testSettings({ readBatchMs: 100 }));
      await rec.start();
      const camera = (id: string, tlsFingerprint: string) => ({
        id,
        name: id,
        zoneId: 'default',
        streamUrl: `rtsps://127.0.0.1:${sim.tlsPort}/secure`,
        username: 'u',
        password: 'p',
        tlsFingerprint,
      });
      await rec.createCamera(camera('secure', tls.fingerprint256), ADMIN);
      await rec.createCamera(camera('impostor', `${'AA:'.repeat(31)}AA`), ADMIN);
      await sleep(6000);
      assert.equal(rec.health('secure')!.state, 'recording');
      const refused = rec.health('impostor')!;
      assert.notEqual(refused.state, 'recording');
      assert.equal(refused.lastError?.code, 'RTSP_TLS_FAILED');
      assert.equal(refused.framesRecorded, 0);
      sim.pauseAll();
      await sleep(500);
      await rec.close();

      const rec2 = await w.open(testSettings());
      const segs = await rec2.index.find('secure', 0, Date.now() + 1000);
      assert.ok(segs.length >= 1, `${segs.length} segments`);
      let frames = 0;
      for (const s of segs) {
        const o = await openSegment({ keyring: w.keyring, store: w.store, index: rec2.index }, s.id);
        const f = Fmp4File.parse(await o.read(0, o.size));
        await o.close();
        frames += f.fragments.reduce((k, x) => k + x.samples.length, 0);
      }
      // The simulator counts frames per camera path, and only the pinned camera ever got any.
      assert.equal(
        frames,
        sim.framesSent('/secure'),
        `recorded ${frames}, sent ${sim.framesSent('/secure')}`,
      );
      assert.deepEqual(await rec2.index.find('impostor', 0, Date.now() + 1000), []);
    } finally {
      await sim.close();
      await w.close();
    }
  });

  it('backs off exponentially with jitter, capped', () => {
    assert.equal(
      backoffDelay(1, 1000, 30_000, () => 0),
      500,
    );
    assert.equal(
      backoffDelay(1, 1000, 30_000, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(3, 1000, 30_000, () => 1),
      4000,
    );
    assert.equal(
      backoffDelay(50, 1000, 30_000, () => 1),
      30_000,
    );
    assert.equal(
      backoffDelay(50, 1000, 30_000, () => 0),
      15_000,
    );
  });
});
