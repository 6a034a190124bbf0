import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openAuditLog, openFileSigner } from '../audit/index.js';
import { isPalisadeError } from '../errors/index.js';
import { Fmp4File } from '../media/index.js';
import { DIALECTS } from '../../test/support/dialects.js';
import { ffprobe, toolUnavailable } from '../../test/support/media-peers.js';
import { ADMIN, recordingWorld, testSettings } from '../../test/support/recording.js';
import { recordSynthetic } from '../../test/support/synthetic-recording.js';
import {
  DEFAULT_PLAYBACK_SETTINGS,
  EvidenceService,
  PlaybackService,
  ZipReader,
  ZipWriter,
  verifyEvidencePackage,
  writeEvidencePackage,
  type PackageAuditEntry,
  type PackageInput,
} from './index.js';
import { parseRange } from './routes.js';

// Shared state at module level (tempDir cleans up at exit; see docs/testing.md).
const world = await recordingWorld(DIALECTS[0]!);
const recorder = await world.open(testSettings({ segmentSeconds: 4 }));
const camera = await recorder.cameras.create(
  { id: 'door', name: 'Door', zoneId: 'default', streamUrl: 'rtsp://127.0.0.1:1/door', recordingMode: 'off' },
  ADMIN,
);
const T0 = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000;
const run1 = await recordSynthetic(recorder, world.keyring, {
  cameraId: 'door',
  zoneId: 'default',
  startMs: T0,
  seconds: 12,
});
// An outage of five seconds, then the camera is back (a new session: its media time restarts).
const T1 = T0 + 17_000;
await recorder.index.openGap('door', run1.at(-1)!.endMs, 'RTSP_CONNECTION_LOST');
await recorder.index.closeGap('door', T1);
const run2 = await recordSynthetic(recorder, world.keyring, {
  cameraId: 'door',
  zoneId: 'default',
  startMs: T1,
  seconds: 8,
});
const playback = new PlaybackService({
  recorder,
  keyring: world.keyring,
  audit: world.audit,
  settings: DEFAULT_PLAYBACK_SETTINGS,
});
const auditLog = await openAuditLog({
  database: world.db.database,
  signer: openFileSigner({ file: path.join(world.dir, 'keys', 'audit.pem'), name: 'palisade/test/audit' }),
  origin: 'palisade/test/audit',
});
const evidence = new EvidenceService({
  database: world.db.database,
  recorder,
  keyring: world.keyring,
  audit: auditLog,
  playback,
  version: 'test',
  siteOf: async () => 'default',
});

async function keyFrameWalls(): Promise<number[]> {
  const segs = await recorder.segments('door', T0 - 60_000, T1 + 60_000);
  return segs.flatMap((s) => s.keyFrames.map(([m]) => s.startMs + Math.round(m / 90)));
}

describe('recorded playback', () => {
  it('the recording under test has two runs of segments around a gap', () => {
    assert.equal(run1.length, 3);
    assert.equal(run2.length, 2);
  });

  it('a playlist covers the range, with one discontinuity at the gap, and starts at the key frame before `from`', async () => {
    const from = T0 + 5_500;
    const to = T1 + 6_000;
    const p = await playback.startPlayback({ camera, fromMs: from, toMs: to, userId: 'u1', actor: ADMIN });
    const preceding = Math.max(...(await keyFrameWalls()).filter((w) => w <= from));
    assert.equal(p.timeline.startMs, preceding, 'seek starts at the nearest preceding key frame');
    const text = playback.playlist(p, (id) => `/m/${id}`);
    assert.match(text, /^#EXTM3U\n#EXT-X-VERSION:7\n/);
    assert.equal(text.match(/#EXT-X-DISCONTINUITY\n/g)?.length, 1, text);
    assert.equal(text.match(/#EXT-X-MAP:/g)?.length, 4, 'one init section per recorded segment played');
    assert.match(
      text,
      new RegExp(`#EXT-X-START:TIME-OFFSET=${((from - preceding) / 1000).toFixed(3)},PRECISE=YES`),
    );
    assert.match(text, /#EXT-X-ENDLIST\n$/);
    const extinf = [...text.matchAll(/#EXTINF:([0-9.]+),/g)].reduce((n, m) => n + Number(m[1]), 0);
    // From the key frame before `from` to the end of the GOP holding `to`, minus the 5 s gap.
    assert.ok(extinf >= (to - preceding - 5_000) / 1000 - 0.1, `${extinf} s of video listed`);
    assert.ok(extinf <= (to - preceding - 5_000) / 1000 + 4, `${extinf} s of video listed`);
    const ev = world.audit.events.filter((e) => e.action === 'video.playback.start').at(-1)!;
    assert.equal(ev.target?.id, 'door');
    assert.equal(ev.target.zone, 'default');
    assert.equal(ev.details?.from, new Date(from).toISOString());
    assert.equal(ev.details.to, new Date(to).toISOString());
    assert.equal(ev.details.playback, p.grant.id);
  });

  it('media ranges decrypt on the fly: init + first GOP parse and start with a key frame at `startsAt`', async () => {
    const from = T0 + 6_200;
    const p = await playback.startPlayback({
      camera,
      fromMs: from,
      toMs: from + 3000,
      userId: 'u1',
      actor: ADMIN,
    });
    const gop = p.timeline.runs[0]!.gops[0]!;
    const media = await playback.openMedia({
      cameraId: 'door',
      segmentId: gop.segment.id,
      token: p.token,
      userId: 'u1',
    });
    try {
      const init = await media.read(0, gop.segment.keyFrames[0]![1]);
      const bytes = await media.read(gop.offset, gop.length);
      const file = Fmp4File.parse(Buffer.concat([init, bytes]));
      assert.equal(file.fragments[0]!.samples[0]!.key, true);
      assert.equal(file.fragments[0]!.startTime, gop.segment.mediaStart + gop.mediaOffset);
    } finally {
      await media.close();
    }
    const code = async (f: () => Promise<unknown>) =>
      f().then(
        () => 'ok',
        (e: unknown) => (isPalisadeError(e) ? e.code : String(e)),
      );
    const open = (over: Record<string, string>) =>
      code(() =>
        playback
          .openMedia({ cameraId: 'door', segmentId: gop.segment.id, token: p.token, userId: 'u1', ...over })
          .then((m) => m.close()),
      );
    assert.equal(await open({ userId: 'u2' }), 'PLAYBACK_TOKEN_INVALID', "another user's token");
    assert.equal(await open({ token: `${p.token}x` }), 'PLAYBACK_TOKEN_INVALID', 'a forged token');
    assert.equal(
      await open({ segmentId: run2[1]!.id }),
      'PLAYBACK_TOKEN_INVALID',
      'a segment outside the range',
    );
    assert.equal(
      await code(() =>
        playback.startPlayback({
          camera,
          fromMs: T1 + 60_000,
          toMs: T1 + 70_000,
          userId: 'u1',
          actor: ADMIN,
        }),
      ),
      'PLAYBACK_NO_VIDEO',
    );
    assert.equal(
      await code(() =>
        playback.startPlayback({ camera, fromMs: T0, toMs: T0 - 1, userId: 'u1', actor: ADMIN }),
      ),
      'PLAYBACK_RANGE_INVALID',
    );
  });

  it('HTTP ranges: a-b, a-, -n, beyond the end', () => {
    assert.deepEqual(parseRange('bytes=0-99', 1000), { start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=900-', 1000), { start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=-100', 1000), { start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=990-5000', 1000), { start: 990, end: 999 });
    assert.equal(parseRange('bytes=1000-', 1000), 'unsatisfiable');
    assert.equal(parseRange('bytes=0-1,5-6', 1000), undefined, 'several ranges: the whole body');
    assert.equal(parseRange(undefined, 1000), undefined);
  });
});

describe('MP4 download', { skip: toolUnavailable('ffprobe') }, () => {
  async function downloaded(fromMs: number, toMs: number) {
    const dl = await playback.download({ camera, fromMs, toMs, actor: ADMIN });
    const parts: Buffer[] = [];
    for await (const p of dl.stream) parts.push(p);
    const file = path.join(world.dir, `dl-${fromMs}-${toMs}.mp4`);
    await writeFile(file, Buffer.concat(parts));
    return { file, assembler: dl.assembler };
  }

  it('one MP4 for a range within a run: ffprobe reads the frames and the duration', async () => {
    const { file, assembler } = await downloaded(T0 + 1_000, T0 + 11_000);
    const probe = await ffprobe(file);
    assert.equal(probe.codec, 'h264');
    assert.equal(probe.width, 1280);
    assert.equal(probe.height, 720);
    assert.equal(probe.frames, assembler.frames, 'every frame taken is in the file');
    assert.ok(assembler.frames >= 10 * 25 - 1, `${assembler.frames} frames for 10 s at 25 fps and more`);
    assert.equal(probe.pts[0], 0, 'time starts at zero');
    const seconds = assembler.duration / assembler.timescale;
    const last = probe.pts.at(-1)!;
    assert.ok(Math.abs(last + 0.04 - seconds) < 0.05, `last frame at ${last} s of ${seconds} s`);
    const { stdout } = await import('../../test/support/media-peers.js').then((m) =>
      m.run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], 30_000),
    );
    assert.ok(
      Math.abs(Number(stdout.trim()) - seconds) < 0.1,
      `format duration ${stdout.trim()} vs ${seconds}`,
    );
    const ev = world.audit.events.filter((e) => e.action === 'video.download').at(-1)!;
    assert.equal(ev.details?.from, new Date(T0 + 1_000).toISOString());
  });

  it('a range across the gap: the gap is closed up, frames are contiguous', async () => {
    const { file, assembler } = await downloaded(T0, T1 + 8_000);
    const probe = await ffprobe(file, ['-count_frames']);
    assert.equal(probe.frames, assembler.frames);
    const frames = [...run1, ...run2].reduce((n, s) => n + s.frames, 0);
    assert.equal(assembler.frames, frames, 'all recorded frames of both runs');
    const steps = probe.pts.slice(1).map((t, i) => t - probe.pts[i]!);
    assert.ok(Math.max(...steps) < 0.05, `largest step ${Math.max(...steps)} s`);
  });
});

/** Rewrites a package's entries (for tampering), keeping the order. */
async function rewrite(
  file: string,
  out: string,
  edit: (entries: { name: string; data: Buffer }[]) => { name: string; data: Buffer }[],
  zip64 = false,
): Promise<void> {
  const zip = await ZipReader.open(file);
  const entries = [];
  for (const e of zip.entries) entries.push({ name: e.name, data: await zip.read(e, 1 << 30) });
  await zip.close();
  const chunks: Buffer[] = [];
  const w = new ZipWriter(async (c) => void chunks.push(Buffer.from(c)), { zip64 });
  for (const e of edit(entries)) await w.add(e.name, e.data);
  await w.finish();
  await writeFile(out, Buffer.concat(chunks));
}

describe('evidence packages', () => {
  const pkg = path.join(world.dir, 'evidence.zip');
  const codes = (r: { problems: { code: string }[] }) => [...new Set(r.problems.map((p) => p.code))].sort();

  it('an export verifies offline, with the video, proofs, checkpoints and its own audit entry', async () => {
    const chunks: Buffer[] = [];
    const result = await evidence.build(
      {
        camera,
        fromMs: T0 + 2_000,
        toMs: T1 + 4_500,
        reason: 'incident 42',
        caseId: 'CASE-42',
        actor: ADMIN,
      },
      { exportId: 'e-1', approvalId: null, exporter: { id: ADMIN.id, name: ADMIN.name } },
      async (c) => void chunks.push(Buffer.from(c)),
    );
    await writeFile(pkg, Buffer.concat(chunks));
    assert.equal(result.manifest.segments.length, 5);
    const r = await verifyEvidencePackage(pkg);
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    const summary = r.summary;
    assert.ok(summary);
    assert.equal(summary.camera, 'door');
    assert.equal(summary.caseId, 'CASE-42');
    assert.equal(summary.segments, 5);
    assert.match(summary.evidenceKey, /^sha256:[0-9a-f]{64}$/);
    // The audit log holds the export's entry, and the data keys' disclosure was audited too.
    const page = await auditLog.query({ actionPrefix: 'evidence.export.created' });
    assert.equal(page.events.length, 1);
    assert.ok(world.audit.events.some((e) => e.action === 'keys.dek.disclosed'));
    // ffprobe accepts the package's MP4 with the frame count the manifest states.
    assert.equal(toolUnavailable('ffprobe'), undefined, 'ffprobe (Debian package ffmpeg) is installed');
    const zip = await ZipReader.open(pkg);
    const mp4 = path.join(world.dir, 'evidence.mp4');
    await writeFile(mp4, await zip.read(zip.entry('video.mp4')!, 1 << 30));
    await zip.close();
    assert.equal((await ffprobe(mp4)).frames, result.manifest.video.frames);
    // Trusting the right key passes; trusting another fails with KEY_UNTRUSTED.
    assert.equal((await verifyEvidencePackage(pkg, { trustedKeys: [summary.evidenceKey] })).ok, true);
    const other = await verifyEvidencePackage(pkg, { trustedKeys: [`sha256:${'0'.repeat(64)}`] });
    assert.deepEqual(codes(other), ['KEY_UNTRUSTED']);
  });

  it('the same package in ZIP64 form (as written beyond 4 GiB) verifies the same', async () => {
    const big = path.join(world.dir, 'evidence-zip64.zip');
    await rewrite(pkg, big, (es) => es, true);
    const bytes = await readFile(big);
    assert.equal(bytes.readUInt32LE(bytes.length - 22 - 20), 0x07064b50, 'a ZIP64 end locator');
    const r = await verifyEvidencePackage(big);
    assert.deepEqual(r.problems, []);
    assert.equal(r.summary?.segments, 5);
  });

  it('a flipped byte in the MP4 is found, and where', async () => {
    const bad = path.join(world.dir, 'flip-video.zip');
    let at = 0;
    await rewrite(pkg, bad, (es) =>
      es.map((e) => {
        if (e.name !== 'video.mp4') return e;
        const data = Buffer.from(e.data);
        at = Math.floor(data.length * 0.6);
        data[at]! ^= 0x01;
        return { ...e, data };
      }),
    );
    const r = await verifyEvidencePackage(bad);
    assert.deepEqual(codes(r), ['VIDEO_MISMATCH', 'VIDEO_MODIFIED']);
    assert.ok(
      r.problems.some((p) => p.message.includes(`at byte ${at} `)),
      JSON.stringify(r.problems),
    );
  });

  it('a flipped byte in the manifest breaks its signature', async () => {
    const bad = path.join(world.dir, 'flip-manifest.zip');
    await rewrite(pkg, bad, (es) =>
      es.map((e) =>
        e.name === 'manifest.json'
          ? { ...e, data: Buffer.from(e.data.toString().replace('incident 42', 'incident 43')) }
          : e,
      ),
    );
    const r = await verifyEvidencePackage(bad);
    assert.ok(codes(r).includes('FILE_MODIFIED'), JSON.stringify(r.problems));
    assert.ok(r.problems.some((p) => p.file === 'manifest.json' && /changed after signing/.test(p.message)));
  });

  it('a dropped segment is named', async () => {
    const bad = path.join(world.dir, 'drop.zip');
    await rewrite(pkg, bad, (es) => es.filter((e) => !e.name.startsWith('segments/0003-')));
    const r = await verifyEvidencePackage(bad);
    assert.deepEqual(codes(r), ['SEGMENT_MISSING']);
    assert.equal(r.problems[0]!.segment, 3);
  });

  it('reordered segments are reported as such', async () => {
    const bad = path.join(world.dir, 'reorder.zip');
    await rewrite(pkg, bad, (es) => {
      const a = es.find((e) => e.name.startsWith('segments/0001-'))!;
      const b = es.find((e) => e.name.startsWith('segments/0002-'))!;
      return es.map((e) => (e === a ? { ...a, data: b.data } : e === b ? { ...b, data: a.data } : e));
    });
    const r = await verifyEvidencePackage(bad);
    assert.ok(codes(r).includes('SEGMENT_ORDER'), JSON.stringify(r.problems));
    assert.deepEqual(
      r.problems
        .filter((p) => p.code === 'SEGMENT_ORDER')
        .map((p) => p.segment)
        .sort(),
      [1, 2],
    );
  });

  it('a replaced checkpoint fails: another size of the log, or a key that is not the log’s', async () => {
    // A later, genuinely signed checkpoint of the same log.
    await recordSynthetic(recorder, world.keyring, {
      cameraId: 'door',
      zoneId: 'default',
      startMs: T1 + 30_000,
      seconds: 2,
    });
    const later = await recorder.integrity.signCheckpoint();
    const bad = path.join(world.dir, 'checkpoint.zip');
    await rewrite(pkg, bad, (es) =>
      es.map((e) =>
        e.name === 'checkpoints/video-integrity.note' ? { ...e, data: Buffer.from(later.note) } : e,
      ),
    );
    const r = await verifyEvidencePackage(bad);
    assert.ok(codes(r).includes('CHECKPOINT_INVALID'), JSON.stringify(r.problems));
    assert.ok(codes(r).includes('FILE_MODIFIED'));
    // A checkpoint with the right text but signed by someone else.
    const forger = openFileSigner({
      file: path.join(world.dir, 'keys', 'forger.pem'),
      name: 'palisade/test/video-integrity',
    });
    const { signNote } = await import('../audit/index.js');
    const zip = await ZipReader.open(pkg);
    const note = (await zip.read(zip.entry('checkpoints/video-integrity.note')!, 65536)).toString();
    await zip.close();
    const forged = await signNote(note.slice(0, note.indexOf('\n\n') + 1), forger);
    const bad2 = path.join(world.dir, 'checkpoint-forged.zip');
    await rewrite(pkg, bad2, (es) =>
      es.map((e) =>
        e.name === 'checkpoints/video-integrity.note' ? { ...e, data: Buffer.from(forged) } : e,
      ),
    );
    const r2 = await verifyEvidencePackage(bad2);
    assert.ok(
      r2.problems.some((p) => p.code === 'CHECKPOINT_INVALID' && /signature/.test(p.message)),
      JSON.stringify(r2.problems),
    );
  });

  it('the same input gives the same package bytes, apart from the signing time', async () => {
    const segments = (await recorder.segments('door', T0, T0 + 8_000)).filter((s) => s.endMs! <= T0 + 8_000);
    const checkpoint = await recorder.integrity.signCheckpoint();
    const keys = await world.keyring.discloseDataKeys(
      segments.map((s) => s.id),
      'test',
    );
    const entry: PackageAuditEntry = {
      entry: Buffer.from('{"action":"evidence.export.created"}'),
      index: 0,
      proof: [],
      checkpoint: (await auditLog.latestCheckpoint()) ?? (await auditLog.signCheckpoint()),
      origin: auditLog.origin,
      verifierKey: auditLog.verifierKey,
    };
    const signer = await world.keyring.signer('evidence-pack');
    const input = (signedAt: Date): PackageInput => ({
      exportId: 'same',
      camera: {
        id: 'door',
        name: 'Door',
        zoneId: 'default',
        siteId: 'default',
        streamUrl: camera.streamUrl,
        tlsFingerprint: null,
        vendor: null,
        model: null,
        firmware: null,
      },
      fromMs: T0,
      toMs: T0 + 8_000,
      segments: segments.map((s) => ({
        segment: s,
        dataKey: keys.get(s.id)!,
        proof: [],
        plaintext: () => playback.plaintext(s),
        sealed: async function* () {
          const src = await recorder.store.open(s.blobKey);
          yield await src.read(0, src.size);
          await src.close();
        },
      })),
      gaps: [],
      integrity: {
        origin: recorder.integrity.log.origin,
        verifierKey: recorder.integrity.log.verifierKey.text,
        checkpoint,
      },
      audit: async () => entry,
      approvals: [],
      exporter: { id: 'u', name: 'u', auth: 'test' },
      reason: 'r',
      caseId: null,
      version: 'test',
      signer,
      signedAt,
    });
    const build = async (at: Date) => {
      const chunks: Buffer[] = [];
      await writeEvidencePackage(input(at), async (c) => void chunks.push(Buffer.from(c)));
      return Buffer.concat(chunks);
    };
    const a = await build(new Date('2030-01-01T00:00:00.000Z'));
    const b = await build(new Date('2030-01-01T00:00:01.000Z'));
    // The ZIP form follows the planned size: plain here; ZIP64 when the plan exceeds the threshold.
    assert.equal(a.readUInt32LE(a.length - 22), 0x06054b50);
    assert.notEqual(a.readUInt32LE(a.length - 42), 0x07064b50, 'no ZIP64 locator in a small package');
    const chunks64: Buffer[] = [];
    await writeEvidencePackage(
      input(new Date('2030-01-01T00:00:00.000Z')),
      async (c) => void chunks64.push(Buffer.from(c)),
      {
        zip64Above: 0,
      },
    );
    const a64 = Buffer.concat(chunks64);
    assert.equal(
      a64.readUInt32LE(a64.length - 42),
      0x07064b50,
      'a ZIP64 locator when planned beyond the threshold',
    );
    assert.equal(a.length, b.length);
    const fa = path.join(world.dir, 'a.zip');
    await writeFile(fa, a);
    const zip = await ZipReader.open(fa);
    const sig = zip.entry('signature.json')!;
    await zip.close();
    const signatureStart = sig.dataOffset;
    assert.ok(
      a.subarray(0, signatureStart).equals(b.subarray(0, signatureStart)),
      'every entry before the signature is identical',
    );
    const differing = [...a.keys()].filter((i) => a[i] !== b[i]);
    assert.ok(
      differing.length > 0 && differing.length < 200,
      `${differing.length} bytes differ (the signature and its CRC)`,
    );
    assert.ok(differing[0]! >= signatureStart);
  });

  it('a mangled package never crashes the verifier', async () => {
    const fc = await import('fast-check');
    const original = await readFile(pkg);
    const target = path.join(world.dir, 'fuzz.zip');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(original.length - 1), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.option(fc.nat(original.length), { nil: undefined }),
        async (flips, cut) => {
          const data = Buffer.from(cut === undefined ? original : original.subarray(0, cut));
          for (const [at, x] of flips) if (at < data.length) data[at]! ^= x;
          await writeFile(target, data);
          const r = await verifyEvidencePackage(target);
          assert.equal(r.ok, false);
          assert.ok(r.problems.length > 0);
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 60) },
    );
  });
});

after(async () => {
  await auditLog.close();
  await world.close();
});
