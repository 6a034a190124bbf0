import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../test/support/tmp.js';
import { isPalisadeError } from '../errors/index.js';
import { ensureTlsMaterial, type TlsMaterial } from '../http/index.js';
import { Fmp4Fragmenter, RtspSession, type AccessUnit, type RtspSessionOptions } from '../media/index.js';
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
  type CameraBehaviour,
  type ClipName,
} from './index.js';

const cred = { username: 'sim-user', password: 'sim-pass-42' };

/** A frame's identity: the SHA-256 of its NAL units. */
function digest(au: AccessUnit): string {
  const h = createHash('sha256');
  for (const n of au.nalus) h.update(n);
  return h.digest('hex');
}

/** Reads up to `max` access units; returns them and the error that ended the session, if any. */
async function take(options: RtspSessionOptions, max: number) {
  const session = new RtspSession({ responseTimeoutMs: 5000, ...options });
  await session.start();
  const aus: AccessUnit[] = [];
  let error: unknown;
  try {
    for await (const au of session) {
      aus.push(au);
      if (aus.length >= max) break;
    }
  } catch (err) {
    error = err;
  } finally {
    await session.close();
  }
  return { aus, error, session };
}

describe('camera simulator', () => {
  it('50 cameras in one process stream to 50 concurrent sessions, each starting on a key frame', async () => {
    const clips: ClipName[] = ['h264-1080p', 'h264-720p', 'h265-1080p'];
    const sim = await CameraSimulator.start({
      cameras: Array.from({ length: 50 }, (_, i) => ({ path: `/cam${i + 1}`, clip: clips[i % 3]!, ...cred })),
    });
    try {
      const results = await Promise.all(
        sim.cameraList().map((c) => take({ url: c.url, ...cred, stallTimeoutMs: 5000 }, 25)),
      );
      assert.equal(sim.stats.sessions, 50);
      results.forEach((r, i) => {
        assert.equal(r.error, undefined, `cam${i + 1}: ${String(r.error)}`);
        assert.equal(r.aus.length, 25);
        assert.equal(r.aus[0]!.key, true);
        const expected = loadClip(clips[i % 3]!).video;
        assert.equal(r.aus[0]!.video.codec, expected.codec);
        assert.equal(r.aus[0]!.video.width, expected.width);
        for (let j = 1; j < r.aus.length; j++)
          assert.equal(r.aus[j]!.timestamp - r.aus[j - 1]!.timestamp, 3600);
      });
    } finally {
      await sim.close();
    }
  });

  it('a session that reuses frame memory and batches its reads delivers every frame intact', async () => {
    const sim = await CameraSimulator.start({
      cameras: ['/ref', '/reuse'].map((path) => ({ path, clip: 'h264-720p' as const, ...cred })),
    });
    try {
      const [ref, reuse] = sim.cameraList();
      const clipFrames = loadClip('h264-720p').frames.length;
      // Reference: a plain session over a whole loop of the clip (plus a GOP to cover where it starts).
      const reference = take({ url: ref!.url, ...cred }, clipFrames + 25);
      // Reused memory: a consumer that copies what it keeps and releases each frame at once, slow
      // now and then so that frames queue up while the session reads on into released memory.
      const session = new RtspSession({ url: reuse!.url, ...cred, reuseBuffers: true, readBatchMs: 200 });
      await session.start();
      const seen: string[] = [];
      let reads = 0;
      try {
        for await (const au of session) {
          seen.push(digest(au));
          au.release?.();
          if (seen.length % 10 === 0) await new Promise((r) => setTimeout(r, 120));
          if (seen.length >= 100) break;
        }
        reads = session.stats.reads;
      } finally {
        await session.close();
      }
      const plain = await reference;
      const expected = new Set(plain.aus.map(digest));
      assert.equal(expected.size >= clipFrames, true, 'the reference covers the whole clip');
      const damaged = seen.filter((d) => !expected.has(d));
      assert.deepEqual(damaged, [], `${damaged.length} of ${seen.length} frames differ from the clip`);
      // 25 frames per second read every 200 ms: several frames per read, where the plain session
      // reads whenever the camera sends (here about once per frame).
      const batched = reads / seen.length;
      const unbatched = plain.session.stats.reads / plain.aus.length;
      assert.ok(
        batched < unbatched / 2,
        `${batched.toFixed(2)} reads per frame batched, ${unbatched.toFixed(2)} not`,
      );
    } finally {
      await sim.close();
    }
  });

  it('a batched session still reads a burst far larger than a tick at full speed (no stall)', async () => {
    // 6 MiB in one frame: read only every 100 ms, the kernel's socket buffer would hold the camera
    // back to ~1.3 MB/s and the session would stall; batching shortens its interval instead. With a
    // fixed interval the frame takes about 4.9 s here; adapting, 1.1–1.8 s alone and up to 2.5 s with
    // a second test process on the two cores (the simulator shares this process): the stall timeout
    // sits between the two.
    const sim = await CameraSimulator.start({
      cameras: [
        { path: '/burst', clip: 'h264-720p', ...cred, behaviours: [oversizedNal(1000, 6 * 1024 * 1024)] },
      ],
    });
    try {
      const { aus, error } = await take(
        {
          url: sim.cameraList()[0]!.url,
          ...cred,
          readBatchMs: 100,
          stallTimeoutMs: 3500,
          limits: { maxNalUnitBytes: 8 << 20, maxAccessUnitBytes: 16 << 20 },
        },
        40,
      );
      assert.equal(error, undefined, String(error));
      const big = aus.find((au) => au.byteLength > 6_000_000);
      assert.ok(big, 'the 6 MiB frame arrived');
      assert.ok(
        big.nalus[0]!.subarray(1).every((b) => b === 0x5a),
        'and arrived intact',
      );
    } finally {
      await sim.close();
    }
  });

  it('over RTSPS a batched session delivers every frame intact, reading on the batch clock', async () => {
    const tls = await ensureTlsMaterial({ dataDir: tempDir() });
    const sim = await CameraSimulator.start({
      tls: { certPem: tls.certPem, keyPem: tls.keyPem },
      cameras: [
        { path: '/ref', clip: 'h264-720p', ...cred },
        { path: '/secure', clip: 'h264-720p', tls: true, ...cred },
      ],
    });
    try {
      const clipFrames = loadClip('h264-720p').frames.length;
      const reference = take({ url: sim.cameraList()[0]!.url, ...cred }, clipFrames + 25);
      const secure = {
        url: `rtsps://127.0.0.1:${sim.tlsPort}/secure`,
        ...cred,
        tls: { fingerprint256: tls.fingerprint256 },
      };
      // 100 frames are 4 s of video: read every 200 ms that is about 20 waits for the clock (more if
      // a loaded machine makes ticks heavy and the interval shorter; one per TLS record would be 100+).
      const session = new RtspSession({ ...secure, reuseBuffers: true, readBatchMs: 200 });
      await session.start();
      const seen: string[] = [];
      try {
        for await (const au of session) {
          seen.push(digest(au));
          au.release?.();
          if (seen.length >= 100) break;
        }
      } finally {
        await session.close();
      }
      const expected = new Set((await reference).aus.map(digest));
      const damaged = seen.filter((d) => !expected.has(d));
      assert.deepEqual(damaged, [], `${damaged.length} of ${seen.length} frames differ from the clip`);
      const { batchWaits, reads } = session.stats;
      assert.ok(batchWaits >= 10 && batchWaits <= 60, `${batchWaits} waits for the batch clock in 4 s`);
      assert.ok(reads > batchWaits, `${reads} TLS records read in ${batchWaits} ticks`);
      // Unbatched, reading never waits.
      const unbatched = await take(secure, 25);
      assert.equal(unbatched.error, undefined, String(unbatched.error));
      assert.equal(unbatched.session.stats.batchWaits, 0);
    } finally {
      await sim.close();
    }
  });

  it('requires Digest authentication and refuses an empty password at start', async () => {
    await assert.rejects(
      CameraSimulator.start({ cameras: [{ path: '/x', clip: 'h264-720p', username: 'u', password: '' }] }),
      { code: 'SIM_CONFIG_INVALID' },
    );
    const sim = await CameraSimulator.start({ cameras: [{ path: '/x', clip: 'h264-720p', ...cred }] });
    try {
      await assert.rejects(take({ url: sim.cameraList()[0]!.url }, 1), { code: 'RTSP_AUTH_FAILED' });
      await assert.rejects(
        take({ url: sim.cameraList()[0]!.url, username: cred.username, password: 'x' }, 1),
        {
          code: 'RTSP_AUTH_FAILED',
        },
      );
      await assert.rejects(take({ url: `rtsp://127.0.0.1:${sim.port}/nope`, ...cred }, 1), {
        code: 'RTSP_NOT_FOUND',
      });
      assert.ok(sim.stats.unauthorized >= 2);
    } finally {
      await sim.close();
    }
  });
  it('drops a client that has sent nothing for the session timeout, even while streaming to it', async () => {
    const sim = await CameraSimulator.start({
      sessionTimeoutSeconds: 1,
      cameras: [{ path: '/x', clip: 'h264-720p', ...cred }],
    });
    try {
      const socket = net.connect(sim.port!, '127.0.0.1');
      socket.write('OPTIONS rtsp://127.0.0.1/x RTSP/1.0\r\nCSeq: 1\r\n\r\n');
      const started = Date.now();
      socket.resume();
      await once(socket, 'close');
      const after = Date.now() - started;
      assert.ok(after >= 1000 && after < 4000, `closed after ${after} ms`);
    } finally {
      await sim.close();
    }
  });
});

// Over RTSPS too, with batched reads as the recorder reads: the TLS layer must end and bound a
// session exactly as plain TCP does.
for (const secure of [false, true]) {
  describe(`hostile camera behaviours and what the client makes of them${secure ? ', over RTSPS, batched' : ''}`, () => {
    let sim: CameraSimulator;
    let tls: TlsMaterial | undefined;
    const url = (path: string) =>
      secure ? `rtsps://127.0.0.1:${sim.tlsPort}${path}` : `rtsp://127.0.0.1:${sim.port}${path}`;
    const over = () => (tls ? { tls: { fingerprint256: tls.fingerprint256 }, readBatchMs: 100 } : {});
    const cam = (path: string, clip: ClipName, behaviours: CameraBehaviour[]) => ({
      path,
      clip,
      behaviours,
      tls: secure,
      ...cred,
    });
    before(async () => {
      tls = secure ? await ensureTlsMaterial({ dataDir: tempDir() }) : undefined;
      sim = await CameraSimulator.start({
        ...(tls ? { tls: { certPem: tls.certPem, keyPem: tls.keyPem } } : {}),
        cameras: [
          cam('/disconnect', 'h264-720p', [disconnectEvery(1200)]),
          cam('/stall', 'h264-720p', [stallAfter(600)]),
          cam('/mid-frame', 'h264-1080p', [dropMidFrame(600)]),
          cam('/flood', 'h264-720p', [floodRtp(400)]),
          cam('/oversized', 'h265-1080p', [oversizedNal(400, 6 * 1024 * 1024)]),
          cam('/resolution', 'h264-1080p', [
            changeResolution(1500, [loadClip('h264-1080p'), loadClip('h264-720p')]),
          ]),
          cam('/lie-params', 'h264-1080p', [lieInSdp({ parameterSetsOf: loadClip('h264-720p') })]),
          cam('/lie-codec', 'h264-720p', [lieInSdp({ codec: 'H265' })]),
        ],
      });
    });
    after(() => sim.close());

    it('disconnects every few seconds: RTSP_CONNECTION_LOST after the frames sent so far', async () => {
      const r = await take({ ...over(), url: url('/disconnect'), ...cred }, 1000);
      assert.ok(isPalisadeError(r.error) && r.error.code === 'RTSP_CONNECTION_LOST', String(r.error));
      assert.ok(r.aus.length >= 20 && r.aus.length <= 40, `${r.aus.length} frames in ~1.2 s`);
    });

    it('stalls: RTSP_STALLED once no frame arrives for the stall timeout', async () => {
      const r = await take({ ...over(), url: url('/stall'), ...cred, stallTimeoutMs: 1000 }, 1000);
      assert.ok(isPalisadeError(r.error) && r.error.code === 'RTSP_STALLED', String(r.error));
      assert.ok(r.aus.length >= 10);
    });

    it('drops mid-frame: the half frame is never delivered, the session ends RTSP_CONNECTION_LOST', async () => {
      const r = await take({ ...over(), url: url('/mid-frame'), ...cred }, 1000);
      assert.ok(isPalisadeError(r.error) && r.error.code === 'RTSP_CONNECTION_LOST', String(r.error));
      const full = loadClip('h264-1080p').frames;
      r.aus.forEach((au, i) => {
        const bytes = au.nalus.reduce((n, x) => n + x.length, 0);
        assert.ok(bytes > 0);
        assert.equal(au.key, full[i]!.key, `frame ${i} complete and in order`);
      });
    });

    it('floods garbage RTP: bounded, counted as corrupt, ends RTSP_STALLED (no decodable video)', async () => {
      const before = process.memoryUsage().rss;
      const r = await take({ ...over(), url: url('/flood'), ...cred, stallTimeoutMs: 1500 }, 10_000);
      assert.ok(isPalisadeError(r.error), String(r.error));
      assert.ok(['RTSP_STALLED', 'RTSP_LIMIT_EXCEEDED'].includes(r.error.code), r.error.code);
      assert.ok(r.session.stats.rtpPackets > 5000, `${r.session.stats.rtpPackets} packets`);
      assert.ok(r.session.stats.corruptAccessUnits + r.session.stats.skippedAccessUnits > 10);
      assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024, 'memory stays bounded');
    });

    it('sends an oversized NAL unit: RTSP_LIMIT_EXCEEDED naming maxNalUnitBytes', async () => {
      const r = await take({ ...over(), url: url('/oversized'), ...cred }, 10_000);
      assert.ok(isPalisadeError(r.error) && r.error.code === 'RTSP_LIMIT_EXCEEDED', String(r.error));
      assert.equal(r.error.details?.limit, 'maxNalUnitBytes');
    });

    it('changes resolution mid-stream: the access unit says so and the fragmenter starts a new init segment', async () => {
      const r = await take({ ...over(), url: url('/resolution'), ...cred }, 70);
      assert.equal(r.error, undefined);
      const changes = r.aus.filter((a) => a.videoChanged);
      assert.deepEqual(
        changes.map((a) => `${a.video.width}x${a.video.height}:${a.key}`),
        ['1920x1080:true', '1280x720:true'],
      );
      const fragmenter = new Fmp4Fragmenter();
      const inits = r.aus.flatMap((a) => fragmenter.push(a)).filter((o) => o.kind === 'init');
      assert.equal(inits.length, 2);
      for (let j = 1; j < r.aus.length; j++)
        assert.ok(r.aus[j]!.timestamp > r.aus[j - 1]!.timestamp, 'timeline continues');
    });

    it('lies about its parameter sets in the SDP: the in-band ones win', async () => {
      const session = new RtspSession({ ...over(), url: url('/lie-params'), ...cred });
      const info = await session.start();
      assert.equal(`${info.video?.width}x${info.video?.height}`, '1280x720', 'what the SDP claimed');
      const first = await session[Symbol.asyncIterator]().next();
      await session.close();
      assert.equal(first.done, false);
      const au = first.value;
      assert.equal(`${au.video.width}x${au.video.height}`, '1920x1080', 'what the stream carries');
      assert.equal(au.videoChanged, true);
    });

    it('announces H.265 but sends H.264: nothing decodable, RTSP_STALLED', async () => {
      const r = await take({ ...over(), url: url('/lie-codec'), ...cred, stallTimeoutMs: 1500 }, 10);
      assert.ok(isPalisadeError(r.error) && r.error.code === 'RTSP_STALLED', String(r.error));
      assert.equal(r.aus.length, 0);
    });
  });
}
