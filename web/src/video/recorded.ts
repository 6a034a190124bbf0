import { useEffect, useState, type RefObject } from 'react';
import { api } from '../api/client';
import { ApiError } from '../api/errors';
import type { PlaybackAnswer, PlaybackSegment } from '../api/types';

/** One playback request covers this much; the next one is asked for when it has been appended. */
const WINDOW_MS = 30 * 60_000;
/** Media fetched ahead of the playhead, seconds: enough to ride over a slow request, little memory. */
const AHEAD_S = 30;
/** Media kept behind the playhead, seconds, for a short step back without a new request. */
const BEHIND_S = 30;

export interface RecordedState {
  phase: 'idle' | 'loading' | 'playing' | 'paused' | 'ended' | 'failed';
  /** Wall clock of the frame shown, ms. */
  position: number | undefined;
  error?: unknown;
  width?: number;
  height?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function append(sb: SourceBuffer, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      sb.removeEventListener('error', fail);
      resolve();
    };
    const fail = () => {
      sb.removeEventListener('updateend', done);
      reject(new ApiError('PLAYBACK_MEDIA', 'the browser could not decode the recorded video', 0));
    };
    sb.addEventListener('updateend', done, { once: true });
    sb.addEventListener('error', fail, { once: true });
    sb.appendBuffer(bytes as BufferSource);
  });
}

async function removeRange(sb: SourceBuffer, from: number, to: number): Promise<void> {
  if (to <= from) return;
  await new Promise<void>((resolve) => {
    sb.addEventListener('updateend', () => resolve(), { once: true });
    sb.remove(from, to);
  });
}

async function range(url: string, offset: number, length: number, signal: AbortSignal): Promise<Uint8Array> {
  const res = await fetch(url, {
    headers: { range: `bytes=${offset}-${offset + length - 1}` },
    credentials: 'same-origin',
    signal,
  });
  if (res.status !== 206) {
    let code = 'INTERNAL_ERROR';
    let message = `the server answered ${res.status}`;
    try {
      const body = (await res.json()) as { error?: { code: string; message: string } };
      if (body.error) ({ code, message } = body.error);
    } catch {
      // not the uniform error shape
    }
    throw new ApiError(code, message, res.status);
  }
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Plays recorded video of a camera from `seek.at` (wall clock, ms) onwards in `video`, the way
 * docs/playback.md describes: a playback (JSON) per half hour, each GOP fetched by byte range into a
 * Media Source Extensions SourceBuffer. Video time is laid out on the wall clock (0 = the key frame the
 * playback starts at), so a gap in the recording is a hole in the buffer that the player steps over,
 * and the position reported is the wall clock of the frame on screen. A new `seek` is:
 * a new playback from the key frame at or before that instant.
 */
export function useRecordedVideo(
  video: RefObject<HTMLVideoElement | null>,
  cameraId: string | undefined,
  /** A new object is a new seek, even to the same instant. */
  seek: { at: number } | undefined,
): RecordedState {
  const [state, setState] = useState<RecordedState>({ phase: 'idle', position: undefined });

  useEffect(() => {
    const el = video.current;
    if (!el || !cameraId || seek === undefined) return;
    const startAt = seek.at;
    const abort = new AbortController();
    const { signal } = abort;
    const ms = new MediaSource();
    const url = URL.createObjectURL(ms);
    el.setAttribute('src', url);
    let base: number | undefined;
    let finished = false;
    const report = (over: Partial<RecordedState>) => {
      if (!signal.aborted) setState((cur) => ({ ...cur, ...over }));
    };
    report({ phase: 'loading', position: startAt, error: undefined });

    const onTime = () => {
      if (base === undefined) return;
      report({
        position: base + el.currentTime * 1000,
        phase: el.paused ? (finished && el.ended ? 'ended' : 'paused') : 'playing',
        width: el.videoWidth,
        height: el.videoHeight,
      });
    };
    el.addEventListener('timeupdate', onTime);
    el.addEventListener('pause', onTime);
    el.addEventListener('play', onTime);
    el.addEventListener('ended', onTime);

    // A gap in the recording is a hole between buffered ranges: step over it to the next one.
    const gapJumper = setInterval(() => {
      const b = el.buffered;
      for (let i = 0; i < b.length; i++) {
        if (el.currentTime < b.start(i) - 0.05 && (i === 0 || el.currentTime >= b.end(i - 1) - 0.1)) {
          el.currentTime = b.start(i);
          break;
        }
      }
    }, 250);

    const run = async () => {
      await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
      let sb: SourceBuffer | undefined;
      let mime: string | undefined;
      let from = startAt;
      // Set from the append callback: an object, so that the checks below read the current value.
      const shown = { started: false };
      const stopped = () => signal.aborted;
      // Plays up to what was recorded when the seek was made; the live edge is the Live page's job.
      const until = Date.now();
      while (!stopped()) {
        const to = Math.min(from + WINDOW_MS, until);
        if (to <= from) break;
        let answer: PlaybackAnswer;
        try {
          answer = await api.get<PlaybackAnswer>(
            `/api/cameras/${encodeURIComponent(cameraId)}/playback?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`,
          );
        } catch (e) {
          // Nothing recorded in this half hour: try the next one, unless nothing was found at all.
          if (e instanceof ApiError && e.code === 'PLAYBACK_NO_VIDEO') {
            if (!shown.started && to >= until) throw e;
            from = to;
            continue;
          }
          throw e;
        }
        base ??= Date.parse(answer.startsAt);
        for (const run of answer.runs) {
          let first = true;
          for (const seg of run.segments) {
            if (stopped()) return;
            if (!sb) {
              mime = seg.mime;
              if (!MediaSource.isTypeSupported(mime))
                throw new ApiError('PLAYBACK_CODEC', `This browser cannot play ${seg.codec}.`, 0);
              sb = ms.addSourceBuffer(mime);
              sb.mode = 'sequence';
            } else if (seg.mime !== mime) {
              mime = seg.mime;
              sb.changeType(mime);
            }
            if (first && seg.gops[0]) sb.timestampOffset = (Date.parse(seg.gops[0].start) - base) / 1000;
            first = false;
            await appendSegment(sb, seg, () => {
              if (shown.started) return;
              shown.started = true;
              el.currentTime = Math.max(0, (startAt - base!) / 1000);
              el.play().catch(() => undefined);
            });
          }
        }
        from = to;
      }
      if (!stopped() && ms.readyState === 'open') {
        finished = true;
        if (sb?.updating) await new Promise((r) => sb.addEventListener('updateend', r, { once: true }));
        ms.endOfStream();
      }
    };

    const appendSegment = async (sb: SourceBuffer, seg: PlaybackSegment, onFirst: () => void) => {
      await append(sb, await range(seg.url, seg.init.offset, seg.init.length, signal));
      for (const gop of seg.gops) {
        // Back-pressure: wait while enough is buffered ahead; drop what is far behind.
        for (;;) {
          if (signal.aborted) return;
          const b = sb.buffered;
          const end = b.length ? b.end(b.length - 1) : 0;
          if (b.length && el.currentTime - b.start(0) > BEHIND_S * 2)
            await removeRange(sb, b.start(0), el.currentTime - BEHIND_S);
          if (end - el.currentTime < AHEAD_S) break;
          await sleep(250);
        }
        await append(sb, await range(seg.url, gop.offset, gop.length, signal));
        onFirst();
      }
    };

    run().catch((error: unknown) => {
      if (signal.aborted) return;
      report({ phase: 'failed', error });
    });

    return () => {
      abort.abort();
      clearInterval(gapJumper);
      el.removeEventListener('timeupdate', onTime);
      el.removeEventListener('pause', onTime);
      el.removeEventListener('play', onTime);
      el.removeEventListener('ended', onTime);
      el.removeAttribute('src');
      el.load();
      URL.revokeObjectURL(url);
    };
  }, [video, cameraId, seek]);

  return state;
}
