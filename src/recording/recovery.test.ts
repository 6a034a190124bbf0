import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Fmp4File, Fmp4Fragmenter, type AccessUnit } from '../media/index.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { clipPath, loadClip } from '../sim/index.js';
import { DIALECTS } from '../../test/support/dialects.js';
import { recordingWorld } from '../../test/support/recording.js';
import { checkRecordings, openSegment, recoverSegments, SegmentIndex, VideoIntegrityLog } from './index.js';
import { completeBoxes, recoverableEnd } from './boxes.js';
import { SegmentWriter, type FragmentIn } from './segment-writer.js';
import { openFileSigner } from '../audit/index.js';
import path from 'node:path';

/** Fragments of the 720p clip as the recorder would produce them (1 s parts). */
function fragments(): {
  init: Buffer;
  video: AccessUnit['video'];
  frags: FragmentIn[];
} {
  const clip = loadClip('h264-720p');
  const file = Fmp4File.parse(readFileSync(clipPath('h264-720p')));
  const f = new Fmp4Fragmenter({ partDurationMs: 1000 });
  let init: Buffer | undefined;
  const frags: FragmentIn[] = [];
  let i = 0;
  for (const fr of file.fragments) {
    for (const sample of fr.samples) {
      const nalus = file.sampleNalUnits(sample);
      const au = {
        codec: clip.video.codec,
        nalus,
        byteLength: nalus.reduce((n, x) => n + x.length, 0),
        key: sample.key,
        timestamp: sample.decodeTime,
        rtpTimestamp: sample.decodeTime,
        wallClock: undefined,
        discontinuity: false,
        video: clip.video,
        videoChanged: i++ === 0,
      } as unknown as AccessUnit;
      for (const o of f.push(au)) {
        if (o.kind === 'init') init = o.data;
        else frags.push(o);
      }
    }
  }
  for (const o of f.flush()) if (o.kind === 'fragment') frags.push(o);
  return { init: init!, video: clip.video, frags };
}

describe('segment recovery', () => {
  it('ends a segment cut at any byte after its last whole fragment; every recovered segment decrypts and parses', async () => {
    const w = await recordingWorld(DIALECTS[0]!);
    const index = new SegmentIndex(w.db.database);
    const integrity = await VideoIntegrityLog.open({
      database: w.db.database,
      origin: 'palisade/test/video-integrity',
      signer: openFileSigner({
        file: path.join(w.dir, 'keys', 'v.pem'),
        name: 'palisade/test/video-integrity',
      }),
    });
    const deps = {
      keyring: w.keyring,
      store: w.store,
      index,
      integrity,
      chunkSize: 4096,
      fsyncIntervalMs: 0,
    };
    const { init, video, frags } = fragments();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: frags.length }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          async (whole, cutFraction) => {
            const seg = await SegmentWriter.start(deps, {
              cameraId: 'cam',
              zoneId: 'default',
              startMs: Date.now(),
              mediaStart: frags[0]!.startTime,
              init,
              video: video,
            });
            const sizes: number[] = [];
            for (const f of frags.slice(0, whole)) {
              await seg.append(f);
              sizes.push(seg.sealedBytes);
            }
            // The crash: the file ends somewhere inside what the next fragment would have written.
            const writer = await w.store.resume((await index.get(seg.id))!.blobKey).catch(() => undefined);
            if (writer) {
              const extra = Math.floor(cutFraction * 20_000);
              if (extra > 0) await writer.append([Buffer.alloc(extra, 0xa5)]);
              await writer.close();
            }
            const report = await recoverSegments(deps);
            const s = await index.get(seg.id);
            if (whole === 0) {
              assert.equal(s!.state, 'discarded');
              assert.equal(report.discarded.length, 1);
              return;
            }
            assert.equal(s!.state, 'complete');
            assert.equal(s!.recovered, true);
            const frames = frags.slice(0, whole).reduce((n, f) => n + f.sampleCount, 0);
            assert.equal(s!.frames, frames, 'every whole fragment survives');
            const o = await openSegment(deps, s!.id);
            const mp4 = await o.read(0, o.size);
            await o.close();
            assert.equal(
              Fmp4File.parse(mp4).fragments.reduce((n, f) => n + f.samples.length, 0),
              frames,
            );
          },
        ),
        { numRuns: 12 },
      );
      const report = await checkRecordings(deps);
      assert.deepEqual(report.problems, []);
      // Tampering with a stored segment is found, and --repair never deletes possible evidence.
      const victim = (await index.byState('complete'))[0]!;
      const file = path.join(w.storageDir, 'objects', ...victim.blobKey.split('/'));
      const bytes = readFileSync(file);
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 30) ^ 0x01, bytes.length - 30);
      writeFileSync(file, bytes);
      const tampered = await checkRecordings(deps, { repair: true });
      assert.deepEqual(
        tampered.problems.map((p) => [p.kind, p.segment, p.repaired]),
        [['blob-hash', victim.id, false]],
      );
      assert.equal(tampered.clean, false);
      assert.ok((await w.store.stat(victim.blobKey)) !== undefined, 'the damaged blob is kept');
    } finally {
      await integrity.close();
      await w.close();
    }
  });

  it('finds the last recoverable point only at a chunk boundary after a whole moof+mdat', () => {
    const box = (type: string, size: number) => {
      const b = Buffer.alloc(size);
      b.writeUInt32BE(size, 0);
      b.write(type, 4, 'latin1');
      return b;
    };
    const data = Buffer.concat([
      box('ftyp', 24),
      box('moov', 100),
      box('moof', 50),
      box('mdat', 100),
      box('free', 4096 - 274),
      box('moof', 50),
      box('mdat', 10),
    ]);
    assert.equal(completeBoxes(data).length, 7);
    assert.equal(recoverableEnd(data, 4096), 4096);
    assert.equal(recoverableEnd(data.subarray(0, 4000), 4096), 0);
    assert.equal(recoverableEnd(Buffer.concat([box('moov', 100)]), 4096), 0);
  });
});
