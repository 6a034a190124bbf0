import { useEffect, useState, type RefObject } from 'react';

/** Bytes a live fragment carries before its fMP4 payload (docs/playback.md, "Messages"). */
const HEADER_BYTES = 24;
/** Behind the newest buffered frame by more than this, the player jumps forward: a live view is live. */
const MAX_LAG_S = 0.5;
/** What is kept behind the playhead; older media is removed so a long watch does not fill memory. */
const KEEP_BEHIND_S = 10;
/** Close codes after which trying again cannot help: the session or the permission is gone. */
const FINAL_CLOSE = new Set([4401, 4403]);

export type LiveStatus =
  | { kind: 'connecting' }
  | { kind: 'playing'; width: number; height: number; codec: string }
  | { kind: 'failed'; message: string; code?: string };

/** Close code (4000 + HTTP status) in plain words. */
function closeWords(code: number, reason: string | undefined): string {
  if (reason) return reason;
  if (code === 4409) return 'The camera stopped recording, so there is no live view.';
  if (code === 4401) return 'Your session ended. Sign in again.';
  if (code === 4403) return 'You may no longer watch this camera.';
  if (code === 1006) return 'The live view was refused or the connection was lost.';
  return `The live view ended (code ${code}).`;
}

/**
 * Plays a camera's live view in `video`: the server's WebSocket (`/api/cameras/:id/live`) into a
 * Media Source Extensions SourceBuffer, staying at the live edge. Reconnects after a lost connection
 * (not after a refusal). The server decides access on the upgrade and re-checks it while it runs.
 */
export function useLiveVideo(
  video: RefObject<HTMLVideoElement | null>,
  cameraId: string,
  enabled: boolean,
): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>({ kind: 'connecting' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const el = video.current;
    if (!enabled || !el) return;
    let closed = false;
    let ws: WebSocket | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const ms = new MediaSource();
    const url = URL.createObjectURL(ms);
    el.setAttribute('src', url);
    let sb: SourceBuffer | undefined;
    const queue: Uint8Array[] = [];
    let started = false;
    let failure: { message: string; code?: string } | undefined;

    // After cleanup (or a failure) the MediaSource is detached and its SourceBuffers removed; an
    // 'updateend' already queued still arrives, and reading a removed buffer throws.
    const attached = () => !closed && ms.readyState === 'open';
    const pump = () => {
      if (!sb || sb.updating || !attached()) return;
      const b = sb.buffered;
      if (b.length > 0 && el.currentTime - b.start(0) > KEEP_BEHIND_S * 2) {
        sb.remove(b.start(0), el.currentTime - KEEP_BEHIND_S);
        return;
      }
      const next = queue.shift();
      if (next) sb.appendBuffer(next as BufferSource);
    };
    const onUpdateEnd = () => {
      if (!attached()) return;
      const b = sb?.buffered;
      if (b && b.length > 0) {
        const end = b.end(b.length - 1);
        if (!started) {
          started = true;
          el.currentTime = b.start(b.length - 1);
          el.play().catch(() => undefined);
        } else if (end - el.currentTime > MAX_LAG_S) el.currentTime = end - 0.05;
      }
      pump();
    };

    ms.addEventListener(
      'sourceopen',
      () => {
        if (closed) return;
        ws = new WebSocket(`wss://${location.host}/api/cameras/${encodeURIComponent(cameraId)}/live`);
        ws.binaryType = 'arraybuffer';
        ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
          if (typeof e.data === 'string') {
            const m = JSON.parse(e.data) as {
              type: string;
              mime?: string;
              codec?: string;
              width?: number;
              height?: number;
              code?: string;
              message?: string;
            };
            if (m.type === 'init' && m.mime) {
              // A change of resolution or codec arrives as a new init: a new SourceBuffer for it.
              if (sb) {
                sb.removeEventListener('updateend', onUpdateEnd);
                ms.removeSourceBuffer(sb);
                queue.length = 0;
                started = false;
              }
              if (!MediaSource.isTypeSupported(m.mime)) {
                failure = { message: `This browser cannot play ${m.codec ?? m.mime}.` };
                ws?.close();
                return;
              }
              sb = ms.addSourceBuffer(m.mime);
              sb.addEventListener('updateend', onUpdateEnd);
              setStatus({
                kind: 'playing',
                width: m.width ?? 0,
                height: m.height ?? 0,
                codec: m.codec ?? '',
              });
            } else if (m.type === 'error') {
              failure = { message: m.message ?? 'The live view failed.', code: m.code };
            }
            return;
          }
          queue.push(new Uint8Array(e.data, HEADER_BYTES));
          pump();
        };
        ws.onclose = (e) => {
          if (closed) return;
          setStatus({
            kind: 'failed',
            message: failure?.message ?? closeWords(e.code, undefined),
            code: failure?.code,
          });
          if (!FINAL_CLOSE.has(e.code)) retry = setTimeout(() => setAttempt((n) => n + 1), 3000);
        };
      },
      { once: true },
    );

    return () => {
      closed = true;
      if (retry) clearTimeout(retry);
      ws?.close();
      el.removeAttribute('src');
      el.load();
      URL.revokeObjectURL(url);
      setStatus({ kind: 'connecting' });
    };
  }, [video, cameraId, enabled, attempt]);

  return status;
}
