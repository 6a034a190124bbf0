import { readFileSync } from 'node:fs';
import type { Keyring } from '../../src/keys/index.js';
import {
  Fmp4File,
  Fmp4Fragmenter,
  describeVideo,
  type AccessUnit,
  type Fmp4Output,
} from '../../src/media/index.js';
import type { Recorder } from '../../src/recording/index.js';
import { SegmentWriter, type FinishedSegment } from '../../src/recording/segment-writer.js';
import { clipPath, type ClipName } from '../../src/sim/index.js';

/**
 * Records a clip (looped) for `seconds` of camera time starting at `startMs`, through the recorder's
 * own segment writer, sealer, blob store, index and integrity log — everything recording does except
 * the RTSP ingest, and without waiting in real time. So tests can have "a past minute" at once.
 * Segments are cut like a CameraSession cuts them (at the first key frame `segmentSeconds` in).
 */
export async function recordSynthetic(
  recorder: Recorder,
  keyring: Keyring,
  options: {
    cameraId: string;
    zoneId: string;
    startMs: number;
    seconds: number;
    clip?: ClipName;
    segmentSeconds?: number;
    fragmentMs?: number;
  },
): Promise<FinishedSegment[]> {
  const mp4 = Fmp4File.parse(readFileSync(clipPath(options.clip ?? 'h264-720p')));
  const track = mp4.video!;
  const video = describeVideo(track.codec as 'h264' | 'h265', track.parameterSets!);
  const scale = 90_000 / track.timescale;
  const samples = mp4.fragments.flatMap((f) => f.samples);
  const clipDuration = samples.reduce((n, s) => n + s.duration, 0) * scale;
  const segmentTicks = (options.segmentSeconds ?? recorder.settings.segmentSeconds) * 90_000;
  const fragmenter = new Fmp4Fragmenter({
    partDurationMs: options.fragmentMs ?? recorder.settings.fragmentMs,
    timeOrigin: 0,
  });
  const deps = {
    keyring,
    store: recorder.store,
    index: recorder.index,
    integrity: recorder.integrity,
    chunkSize: recorder.settings.chunkSize,
    fsyncIntervalMs: 60_000,
  };
  const finished: FinishedSegment[] = [];
  let init: Buffer | undefined;
  let writer: SegmentWriter | undefined;
  const close = async () => {
    const w = writer;
    writer = undefined;
    const done = await w?.finish();
    if (done) finished.push(done);
  };
  const handle = async (out: Fmp4Output) => {
    if (out.kind === 'init') {
      init = out.data;
      return;
    }
    if (writer && out.key && out.startTime - writer.mediaStart >= segmentTicks) await close();
    writer ??= await SegmentWriter.start(deps, {
      cameraId: options.cameraId,
      zoneId: options.zoneId,
      startMs: options.startMs + out.startTime / 90,
      mediaStart: out.startTime,
      init: init!,
      video,
    });
    await writer.append(out);
  };
  const total = options.seconds * 90_000;
  let first = true;
  for (let loop = 0; ; loop++) {
    let stop = false;
    for (const s of samples) {
      const timestamp = Math.round(loop * clipDuration + s.decodeTime * scale);
      if (timestamp >= total) {
        stop = true;
        break;
      }
      const nalus = mp4.sampleNalUnits(s, track);
      const au: AccessUnit = {
        codec: video.codec,
        nalus,
        byteLength: nalus.reduce((n, x) => n + x.length, 0),
        key: s.key,
        timestamp,
        rtpTimestamp: timestamp,
        wallClock: undefined,
        discontinuity: false,
        video,
        videoChanged: first,
      };
      first = false;
      for (const out of fragmenter.push(au)) await handle(out);
    }
    if (stop) break;
  }
  for (const out of fragmenter.flush()) await handle(out);
  await close();
  return finished;
}
