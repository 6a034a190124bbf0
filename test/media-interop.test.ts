import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Fmp4File } from '../src/media/index.js';
import { CameraSimulator, clipPath } from '../src/sim/index.js';
import {
  ffprobe,
  gstUnavailable,
  startGstPeer,
  testCertificate,
  toolUnavailable,
} from './support/media-peers.js';
import { record } from './support/record.js';
import { tempDir } from './support/tmp.js';

/**
 * Palisade's media stack against independent peers: GStreamer's RTSP server feeds our client,
 * ffprobe/ffmpeg read our simulator, and ffprobe checks the fMP4 our writer produced.
 */
const NO_GST = gstUnavailable();
const NO_FFPROBE = toolUnavailable('ffprobe');

function assertCadence(pts: number[], fps: number): void {
  for (let i = 1; i < pts.length; i++) {
    assert.ok(Math.abs(pts[i]! - pts[i - 1]! - 1 / fps) < 0.002, `frame ${i}: ${pts[i - 1]} -> ${pts[i]}`);
  }
}

describe('client records from GStreamer gst-rtsp-server', { skip: NO_GST ?? NO_FFPROBE ?? false }, () => {
  // tls-batched: reads wait for the batch clock, as the recorder reads (GStreamer sends a TLS record
  // per RTP packet, unlike the simulator).
  for (const mode of ['plain', 'tls', 'tls-batched', 'digest', 'udp'] as const) {
    it(`${mode}: H.264 720p → fMP4 that ffprobe accepts with codec, size, frame count and timestamps`, async () => {
      const cert = mode.startsWith('tls') ? await testCertificate() : undefined;
      const peer = await startGstPeer({
        clip: clipPath('h264-720p'),
        ...(cert ? { tls: cert } : {}),
        ...(mode === 'digest' ? { user: 'viewer', password: 'pa55-word' } : {}),
      });
      try {
        const rec = await record(
          {
            url: peer.url,
            ...(mode === 'digest' ? { username: 'viewer', password: 'pa55-word' } : {}),
            ...(cert ? { tls: { fingerprint256: cert.fingerprint256 } } : {}),
            transport: mode === 'udp' ? 'udp' : 'tcp',
            ...(mode === 'tls-batched' ? { readBatchMs: 100 } : {}),
          },
          60,
        );
        if (cert) assert.equal(rec.session.info?.tls?.protocol, 'TLSv1.3');
        if (mode === 'tls-batched') {
          const { batchWaits, reads } = rec.session.stats;
          assert.ok(batchWaits >= 10, `${batchWaits} waits for the batch clock in 2.4 s`);
          assert.ok(reads > 5 * batchWaits, `${reads} TLS records read in ${batchWaits} ticks`);
        }
        assert.equal(rec.accessUnits[0]!.key, true, 'recording starts at a key frame');
        const file = path.join(tempDir(), 'gst.mp4');
        writeFileSync(file, rec.mp4);
        const probe = await ffprobe(file);
        assert.equal(probe.codec, 'h264');
        assert.equal(probe.width, 1280);
        assert.equal(probe.height, 720);
        assert.equal(probe.frames, 60);
        assertCadence(probe.pts, 25);
        assert.equal(probe.pts[0], 0);
      } finally {
        await peer.stop();
      }
    });
  }

  it('H.265 1080p from GStreamer is depacketized with the right size and key frames', async () => {
    const peer = await startGstPeer({ clip: clipPath('h265-1080p'), codec: 'h265' });
    try {
      const rec = await record({ url: peer.url }, 55);
      const file = path.join(tempDir(), 'gst265.mp4');
      writeFileSync(file, rec.mp4);
      const probe = await ffprobe(file);
      assert.equal(probe.codec, 'hevc');
      assert.equal(`${probe.width}x${probe.height}`, '1920x1080');
      assert.equal(probe.frames, 55);
      assert.equal(probe.keyFrames, 2, 'GOP of 50 frames');
      assertCadence(probe.pts, 25);
    } finally {
      await peer.stop();
    }
  });

  it('wrong Digest password against GStreamer is RTSP_AUTH_FAILED', async () => {
    const peer = await startGstPeer({ clip: clipPath('h264-720p'), user: 'viewer', password: 'right' });
    try {
      await assert.rejects(record({ url: peer.url, username: 'viewer', password: 'wrong' }, 1), {
        code: 'RTSP_AUTH_FAILED',
      });
    } finally {
      await peer.stop();
    }
  });

  it('RTSPS: an untrusted certificate or a wrong pin is RTSP_TLS_FAILED; a trusted CA passes', async () => {
    const cert = await testCertificate();
    const peer = await startGstPeer({ clip: clipPath('h264-720p'), tls: cert });
    try {
      await assert.rejects(record({ url: peer.url }, 1), { code: 'RTSP_TLS_FAILED' });
      await assert.rejects(record({ url: peer.url, tls: { fingerprint256: 'AA:'.repeat(31) + 'AA' } }, 1), {
        code: 'RTSP_TLS_FAILED',
        message: /does not match the pinned fingerprint/,
      });
      const ok = await record(
        { url: peer.url.replace('127.0.0.1', 'localhost'), tls: { ca: cert.certPem } },
        5,
      );
      assert.equal(ok.accessUnits.length, 5);
    } finally {
      await peer.stop();
    }
  });
});

describe(
  'ffprobe and ffmpeg read the simulator; ffprobe reads what our client wrote',
  { skip: NO_FFPROBE ?? false },
  () => {
    let sim: CameraSimulator;
    let tlsSim: CameraSimulator;
    let fingerprint = '';
    const cred = { username: 'operator', password: 'sim-secret-1' };
    before(async () => {
      sim = await CameraSimulator.start({
        cameras: [
          { path: '/h264', clip: 'h264-1080p', ...cred },
          { path: '/h265', clip: 'h265-1080p', ...cred },
          { path: '/720', clip: 'h264-720p', ...cred },
        ],
      });
      const cert = await testCertificate();
      fingerprint = cert.fingerprint256;
      tlsSim = await CameraSimulator.start({
        tls: { certPem: cert.certPem, keyPem: cert.keyPem },
        cameras: [{ path: '/secure', clip: 'h264-720p', tls: true, ...cred }],
      });
    });
    after(async () => {
      await sim.close();
      await tlsSim.close();
    });

    for (const [cam, codec, size] of [
      ['/h264', 'h264', '1920x1080'],
      ['/h265', 'hevc', '1920x1080'],
    ] as const) {
      it(`ffprobe decodes ${cam} from the simulator over TCP with Digest`, async () => {
        const url = `rtsp://${cred.username}:${cred.password}@127.0.0.1:${sim.port}${cam}`;
        const probe = await ffprobe(url, ['-rtsp_transport', 'tcp', '-read_intervals', '%+2']);
        assert.equal(probe.codec, codec);
        assert.equal(`${probe.width}x${probe.height}`, size);
        assert.ok(probe.frames >= 40, `${probe.frames} frames in 2 s`);
        assertCadence(probe.pts.slice(1), 25);
      });
    }

    it('ffprobe is refused without the right password', async () => {
      await assert.rejects(
        ffprobe(`rtsp://${cred.username}:bad@127.0.0.1:${sim.port}/h264`, ['-rtsp_transport', 'tcp']),
        /401/,
      );
    });

    it('client over TCP: 1080p H.264 across a clip loop → fMP4 with exact frames, continuous timestamps, wall clock', async () => {
      // 110 frames crosses the 100-frame loop of the 4 s clip.
      const rec = await record({ url: `rtsp://127.0.0.1:${sim.port}/h264`, ...cred }, 110);
      const aus = rec.accessUnits;
      for (let i = 1; i < aus.length; i++) {
        assert.equal(
          aus[i]!.timestamp - aus[i - 1]!.timestamp,
          3600,
          `frame ${i}: 90 kHz step of one 25 fps frame`,
        );
        assert.equal(aus[i]!.discontinuity, false);
      }
      assert.deepEqual(aus.filter((a) => a.key).length, 3, 'key frames at 0, 50, 100');
      const withClock = aus.filter((a) => a.wallClock !== undefined);
      assert.ok(withClock.length > 0, 'a sender report mapped media time to wall time');
      assert.ok(Math.abs(withClock[0]!.wallClock! - Date.now()) < 10_000);
      const file = path.join(tempDir(), 'sim.mp4');
      writeFileSync(file, rec.mp4);
      const probe = await ffprobe(file);
      assert.equal(probe.codec, 'h264');
      assert.equal(`${probe.width}x${probe.height}`, '1920x1080');
      assert.equal(probe.frames, 110);
      assert.equal(probe.keyFrames, 3);
      assertCadence(probe.pts, 25);
      // Our reader agrees with ffprobe and finds fragments and key frames by time.
      const mp4 = Fmp4File.parse(rec.mp4);
      assert.equal(mp4.fragments.length, 3);
      assert.deepEqual(
        mp4.fragments.map((f) => f.samples.length),
        [50, 50, 10],
      );
      assert.equal(mp4.fragmentAt(2.5 * 90_000), 1);
      assert.deepEqual(mp4.keyFrameAtOrBefore(3.9 * 90_000), { fragment: 1, time: 2 * 90_000 });
      assert.deepEqual(mp4.keyFrameAtOrBefore(4.1 * 90_000), { fragment: 2, time: 4 * 90_000 });
    });

    it('client over UDP from the simulator, H.265', async () => {
      const rec = await record({ url: `rtsp://127.0.0.1:${sim.port}/h265`, transport: 'udp', ...cred }, 30);
      const file = path.join(tempDir(), 'udp.mp4');
      writeFileSync(file, rec.mp4);
      const probe = await ffprobe(file);
      assert.equal(probe.codec, 'hevc');
      assert.equal(probe.frames, 30);
    });

    it('client over RTSPS with a pinned fingerprint; ffprobe reads the same camera', async () => {
      const url = `rtsps://127.0.0.1:${tlsSim.tlsPort}/secure`;
      const rec = await record({ url, tls: { fingerprint256: fingerprint }, ...cred }, 10);
      assert.equal(rec.session.info?.tls?.protocol, 'TLSv1.3');
      assert.equal(rec.accessUnits.length, 10);
      assert.equal(rec.session.info.tls.fingerprint256, fingerprint);
      await assert.rejects(record({ url: `rtsp://127.0.0.1:${tlsSim.tlsPort}/secure`, ...cred }, 1), {
        code: 'RTSP_CONNECTION_LOST',
      });
    });
  },
);
