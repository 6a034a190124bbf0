import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Fmp4File } from '../src/media/index.js';
import { checkRecordings, openSegment } from '../src/recording/index.js';
import { CameraSimulator } from '../src/sim/index.js';
import { DIALECTS } from './support/dialects.js';
import { ADMIN, recordingWorld, testSettings } from './support/recording.js';
import { tempDir } from './support/tmp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A 24 MiB tmpfs for the video storage, or why there cannot be one here. */
function mountSmallDisk(): { dir: string; skip?: string } {
  const dir = path.join(tempDir('palisade-full-'), 'video');
  mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0700', 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (r.status !== 0)
    return { dir, skip: `cannot mount a tmpfs here (needs root): ${r.stderr.trim() || r.error?.message}` };
  after(() => {
    spawnSync('umount', ['-l', dir]);
  });
  return { dir };
}

const disk = mountSmallDisk();

describe('full disk', () => {
  it(
    'stops cleanly with an alarm, leaves no corrupt segment, resumes when space returns',
    { skip: disk.skip, timeout: 3 * 60_000 },
    async () => {
      const w = await recordingWorld(DIALECTS[0]!, { storageDir: disk.dir });
      const sim = await CameraSimulator.start({
        port: 0,
        cameras: [1, 2].map((i) => ({ path: `/cam${i}`, clip: 'h264-1080p', username: 'u', password: 'p' })),
      });
      // Leave about 3 MiB: a few seconds of two 4 Mbit/s cameras.
      const filler = path.join(disk.dir, 'filler');
      const cap = await w.store.capacity();
      writeFileSync(filler, Buffer.alloc(cap.availableBytes - 3 * 1024 * 1024));
      try {
        // Thresholds off: the device really runs out (ENOSPC), the hardest case.
        const rec = await w.open(
          testSettings({
            segmentSeconds: 4,
            capacity: { warnFreeRatio: 0, stopFreeRatio: 0, resumeFreeRatio: 0.5, checkIntervalMs: 300 },
          }),
        );
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
        const deadline = Date.now() + 60_000;
        // The stop is complete once it is audited (the sessions are stopped and their segments finished first).
        while (
          (rec.storageState !== 'full' || w.audit.count('storage.full') === 0) &&
          Date.now() < deadline
        ) {
          await sleep(200);
        }
        assert.equal(rec.storageState, 'full', 'recording stopped on the full disk');
        const status = await rec.status();
        assert.ok(
          status.alarms.some((a) => a.code === 'STORAGE_FULL'),
          'a STORAGE_FULL alarm is raised',
        );
        assert.equal(w.audit.count('storage.full', 'failure'), 1, 'the stop is audited');
        for (const c of await rec.cameras.list()) {
          const h = rec.healthOf(c);
          assert.equal(h.state, 'failed');
          assert.equal(h.lastError?.code, 'STORAGE_FULL');
        }
        const beforeResume = (await rec.index.byState('complete')).length;
        // Nothing indexed is corrupt while the disk is full.
        let report = await checkRecordings({
          keyring: w.keyring,
          store: w.store,
          index: rec.index,
          integrity: rec.integrity,
        });
        assert.deepEqual(
          report.problems.filter((p) => p.kind !== 'open-segment'),
          [],
        );
        // Space returns: recording resumes by itself.
        rmSync(filler);
        const resumeBy = Date.now() + 20_000;
        while ((rec.storageState as string) === 'full' && Date.now() < resumeBy) await sleep(200);
        assert.notEqual(rec.storageState, 'full', 'recording resumed once space returned');
        assert.equal(w.audit.count('storage.resumed'), 1);
        await sleep(9000);
        sim.pauseAll();
        await sleep(500);
        await rec.close();
        const rec2 = await w.open(testSettings());
        const complete = await rec2.index.byState('complete');
        assert.ok(
          complete.length > beforeResume,
          `new segments after resuming (${beforeResume} -> ${complete.length})`,
        );
        for (const s of complete) {
          const o = await openSegment({ keyring: w.keyring, store: w.store, index: rec2.index }, s.id);
          const f = Fmp4File.parse(await o.read(0, o.size));
          await o.close();
          assert.equal(
            f.fragments.reduce((n, x) => n + x.samples.length, 0),
            s.frames,
          );
        }
        for (const c of ['cam1', 'cam2']) {
          const gaps = await rec2.gaps(c, 0, Date.now());
          assert.ok(
            gaps.some((g) => g.reason === 'STORAGE_FULL'),
            `${c}: the full-disk outage is a recorded gap`,
          );
        }
        report = await checkRecordings({
          keyring: w.keyring,
          store: w.store,
          index: rec2.index,
          integrity: rec2.integrity,
        });
        assert.deepEqual(report.problems, []);
        await rec2.close();
      } finally {
        rmSync(filler, { force: true });
        await sim.close();
        await w.close();
      }
    },
  );
});
