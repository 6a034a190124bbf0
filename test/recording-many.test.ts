import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Fmp4File } from '../src/media/index.js';
import { checkRecordings, openSegment } from '../src/recording/index.js';
import { CameraSimulator } from '../src/sim/index.js';
import { DIALECTS } from './support/dialects.js';
import { toolUnavailable } from './support/media-peers.js';
import { ADMIN, recordingWorld, testSettings } from './support/recording.js';
import { tempDir } from './support/tmp.js';

const LONG = process.env.PALISADE_LONG_TESTS === '1';
// Acceptance: 50 cameras for 10 minutes in one-minute segments. CI: 50 cameras for 24 s in 4 s segments.
const CAMERAS = 50;
const RECORD_MS = LONG ? 10 * 60_000 : 24_000;
const SEGMENT_SECONDS = LONG ? 60 : 4;
const FFPROBE_SKIP = toolUnavailable('ffprobe');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ffprobe(file: string): { codec: string; width: number; packets: number } {
  const r = spawnSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-count_packets',
      '-show_entries',
      'stream=codec_name,width,nb_read_packets',
      '-of',
      'json',
      file,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, `ffprobe refused ${file}: ${r.stderr}`);
  const s = (
    JSON.parse(r.stdout) as { streams: { codec_name: string; width: number; nb_read_packets: string }[] }
  ).streams[0]!;
  return { codec: s.codec_name, width: s.width, packets: Number(s.nb_read_packets) };
}

describe(`${CAMERAS} simulated cameras recorded for ${RECORD_MS / 1000} s in ${SEGMENT_SECONDS} s segments`, () => {
  it(
    'every segment interval present for every camera, each segment decrypts, ffprobe accepts it, frame counts match what was sent',
    { skip: FFPROBE_SKIP, timeout: 30 * 60_000 },
    async () => {
      const w = await recordingWorld(DIALECTS[0]!);
      const sim = await CameraSimulator.start({
        port: 0,
        cameras: Array.from({ length: CAMERAS }, (_, i) => ({
          path: `/cam${i + 1}`,
          clip: i % 10 === 9 ? 'h265-1080p' : 'h264-720p',
          username: 'u',
          password: 'p',
        })),
      });
      const out = tempDir('palisade-probe-');
      try {
        const rec = await w.open(testSettings({ segmentSeconds: SEGMENT_SECONDS }));
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
        const started = Date.now();
        await sleep(RECORD_MS);
        sim.pauseAll();
        await sleep(1000);
        await rec.close();
        const elapsed = Date.now() - started;
        const rec2 = await w.open(testSettings());
        let probed = 0;
        for (const c of sim.cameraList()) {
          const id = c.path.slice(1);
          const segs = await rec2.index.find(id, 0, Date.now() + 60_000);
          // Whole intervals: the recording time divided into segments, none missing in between.
          const expected = Math.floor((elapsed - 3000) / (SEGMENT_SECONDS * 1000));
          assert.ok(segs.length >= expected, `${id}: ${segs.length} segments, expected at least ${expected}`);
          for (let i = 1; i < segs.length; i++) {
            assert.equal(
              segs[i]!.mediaStart,
              segs[i - 1]!.mediaEnd,
              `${id}: segment ${i} starts where ${i - 1} ended`,
            );
            assert.ok(
              Math.abs(segs[i]!.startMs - segs[i - 1]!.endMs!) <= 1,
              `${id}: no wall-clock gap between segments`,
            );
          }
          let frames = 0;
          for (const [i, s] of segs.entries()) {
            const o = await openSegment({ keyring: w.keyring, store: w.store, index: rec2.index }, s.id);
            const mp4 = await o.read(0, o.size);
            await o.close();
            const n = Fmp4File.parse(mp4).fragments.reduce((k, f) => k + f.samples.length, 0);
            assert.equal(n, s.frames);
            frames += n;
            // ffprobe every segment of the first five cameras (and one of every other camera).
            if (Number(id.slice(3)) <= 5 || i === 0) {
              const file = path.join(out, `${s.id}.mp4`);
              writeFileSync(file, mp4);
              const p = ffprobe(file);
              assert.equal(p.packets, s.frames, `${s.id}: ffprobe counts the indexed frames`);
              assert.ok(['h264', 'hevc'].includes(p.codec));
              probed++;
            }
          }
          assert.equal(
            frames,
            sim.framesSent(c.path),
            `${id}: recorded ${frames} frames, the camera sent ${sim.framesSent(c.path)}`,
          );
        }
        const report = await checkRecordings({
          keyring: w.keyring,
          store: w.store,
          index: rec2.index,
          integrity: rec2.integrity,
        });
        assert.deepEqual(report.problems, []);
        process.stdout.write(
          `# ${CAMERAS} cameras, ${report.segments} segments, ${probed} checked by ffprobe\n`,
        );
        await rec2.close();
      } finally {
        await sim.close();
        await w.close();
      }
    },
  );
});
