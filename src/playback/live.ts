import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { AuditActor, AuditSink } from '../audit/index.js';
import { describeError, isPalisadeError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { Camera, LiveItem, Recorder } from '../recording/index.js';
import type { PlaybackSettings } from './service.js';

/**
 * Live view over a WebSocket, for Media Source Extensions. The server sends:
 *
 * - a text message `{"type":"init","mime":"video/mp4; codecs=\"avc1.64001f\"","codec":…,"width":…,"height":…}`
 *   before every init segment (first, and again whenever the camera's parameters change);
 * - binary messages: a 24-byte header, then an fMP4 piece to append to the SourceBuffer as is:
 *
 *   | bytes | field |
 *   |---|---|
 *   | 0 | kind: 1 = init segment (ftyp+moov), 2 = fragment (moof+mdat) |
 *   | 1 | flags: 0x01 the fragment starts with a key frame, 0x02 discontinuity (fragments were skipped) |
 *   | 2–3 | reserved, 0 |
 *   | 4–7 | duration, 90 kHz, uint32 big-endian (0 for init) |
 *   | 8–15 | recorder wall clock of the first frame, ms since the epoch, float64 big-endian (0 for init) |
 *   | 16–23 | media time of the first frame (the fragment's tfdt), 90 kHz, float64 big-endian |
 *
 * - a text message `{"type":"error","code":…,"message":…}` before closing with a 4xxx code
 *   (4000 + the HTTP status of the error: 4409 not recording, 4401/4403 session or permission lost).
 *
 * Nothing is expected from the client; what it sends is ignored (and bounded by the socket's
 * maxPayload). See docs/playback.md.
 */

export const LIVE_HEADER_BYTES = 24;
export const LIVE_KIND = { init: 1, fragment: 2 } as const;
export const LIVE_FLAG = { key: 0x01, discontinuity: 0x02 } as const;

/** Frames one live item for the socket (header + payload in one buffer). */
export function liveFrame(item: LiveItem): Buffer {
  const out = Buffer.allocUnsafe(LIVE_HEADER_BYTES + item.data.length);
  out.fill(0, 0, LIVE_HEADER_BYTES);
  if (item.kind === 'init') {
    out[0] = LIVE_KIND.init;
  } else {
    out[0] = LIVE_KIND.fragment;
    out[1] = (item.key ? LIVE_FLAG.key : 0) | (item.discontinuity ? LIVE_FLAG.discontinuity : 0);
    out.writeUInt32BE(Math.min(0xffffffff, Math.max(0, Math.round(item.duration))), 4);
    out.writeDoubleBE(item.wallMs, 8);
    out.writeDoubleBE(item.startTime, 16);
  }
  item.data.copy(out, LIVE_HEADER_BYTES);
  return out;
}

export interface LiveViewContext {
  camera: Camera;
  actor: AuditActor;
  recorder: Recorder;
  audit: AuditSink;
  settings: PlaybackSettings;
  /** Runs the request's access rule again (session still valid, permission still held); throws if not. */
  recheck(): Promise<void>;
  logger?: Logger;
}

const OPEN = 1;

function send(socket: WebSocket, data: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => socket.send(data, (err) => (err ? reject(err) : resolve())));
}

function closeWith(socket: WebSocket, err: unknown): void {
  const code = isPalisadeError(err) ? err.code : 'INTERNAL_ERROR';
  const status = isPalisadeError(err) ? err.status : 500;
  const message = isPalisadeError(err) ? err.message : 'the live view failed';
  if (socket.readyState !== OPEN) return;
  socket.send(JSON.stringify({ type: 'error', code, message }));
  socket.close(status >= 400 && status < 1000 ? 4000 + status : 4500, code.slice(0, 100));
}

/**
 * Serves one live viewer until it goes away, the camera stops recording, or its session or permission
 * ends (re-checked every `live.recheckSeconds`). Audited at start (`video.live.start`) and end
 * (`video.live.stop`, with the duration). A viewer that cannot keep up loses fragments up to the next
 * key frame (bounded by `live.maxBufferedBytes`); it never slows recording or other viewers.
 */
export async function serveLive(socket: WebSocket, ctx: LiveViewContext): Promise<void> {
  const { camera } = ctx;
  const controller = new AbortController();
  let subscription;
  try {
    subscription = ctx.recorder.subscribe(camera.id, {
      maxBufferedBytes: ctx.settings.live.maxBufferedBytes,
      lowLatency: true,
      signal: controller.signal,
    });
  } catch (err) {
    closeWith(socket, err);
    return;
  }
  const id = randomUUID();
  const startedAt = Date.now();
  let bytes = 0;
  let ended = 'client';
  try {
    await ctx.audit.append({
      action: 'video.live.start',
      outcome: 'success',
      actor: ctx.actor,
      target: { type: 'camera', id: camera.id, zone: camera.zoneId },
      details: { live: id, from: new Date(startedAt).toISOString() },
    });
  } catch (err) {
    subscription.close();
    closeWith(socket, err);
    return;
  }
  socket.on('close', () => controller.abort());
  socket.on('message', () => undefined);
  const timer = setInterval(() => {
    ctx.recheck().catch((err: unknown) => {
      ended = isPalisadeError(err) ? err.code : 'recheck-failed';
      closeWith(socket, err);
      controller.abort();
    });
  }, ctx.settings.live.recheckSeconds * 1000);
  timer.unref();
  try {
    for await (const item of subscription) {
      if (socket.readyState !== OPEN) break;
      if (item.kind === 'init') {
        const v = item.video;
        await send(
          socket,
          JSON.stringify({
            type: 'init',
            mime: `video/mp4; codecs="${v.codecString}"`,
            codec: v.codecString,
            width: v.width,
            height: v.height,
          }),
        );
      }
      const frame = liveFrame(item);
      bytes += frame.length;
      // Waiting for each send keeps at most one message in the socket; the subscription's bounded
      // queue absorbs the rest and skips to the next key frame if the viewer falls too far behind.
      await send(socket, frame);
    }
    if (socket.readyState === OPEN && !controller.signal.aborted) {
      ended = 'recording-stopped';
      socket.send(
        JSON.stringify({
          type: 'error',
          code: 'LIVE_NOT_AVAILABLE',
          message: 'the camera stopped recording',
        }),
      );
      socket.close(4409, 'LIVE_NOT_AVAILABLE');
    }
  } catch (err) {
    ended = 'error';
    ctx.logger?.debug({ camera: camera.id, reason: describeError(err) }, 'live view ended');
    closeWith(socket, err);
  } finally {
    clearInterval(timer);
    subscription.close();
    await ctx.audit
      .append({
        action: 'video.live.stop',
        outcome: 'success',
        actor: ctx.actor,
        target: { type: 'camera', id: camera.id, zone: camera.zoneId },
        details: {
          live: id,
          from: new Date(startedAt).toISOString(),
          to: new Date().toISOString(),
          bytes,
          dropped: subscription.dropped,
          ended,
        },
      })
      .catch((err: unknown) =>
        ctx.logger?.error({ reason: describeError(err) }, 'video.live.stop not audited'),
      );
  }
}
