/**
 * Minimal players that run inside Chromium (page.evaluate) against the real server, the way the web
 * console uses the playback API (docs/playback.md): the live view over the WebSocket into Media Source
 * Extensions, and recorded playback from the playback JSON with byte-range fetches. Plain JavaScript
 * (the project's TypeScript has no DOM types). Used by the browser test and bench/playback.
 */

export interface LiveResult {
  error?: string;
  width: number;
  height: number;
  /** currentTime advance while watching, seconds. */
  advanced: number;
  framesShown: number;
  /** Display time minus the recorder's wall clock of each shown frame, ms (glass-to-glass on loopback). */
  delays: number[];
  closeCode?: number;
}

/** `(async ({ camera, seconds }) => LiveResult)` */
export const LIVE_PLAYER = `(async ({ camera, seconds }) => {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  document.body.appendChild(video);
  const ms = new MediaSource();
  video.src = URL.createObjectURL(ms);
  await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
  const ws = new WebSocket('wss://' + location.host + '/api/cameras/' + camera + '/live');
  ws.binaryType = 'arraybuffer';
  let sb;
  let mime;
  const queue = [];
  const walls = new Map();
  const delays = [];
  let closeCode;
  let error;
  let first;
  const pump = () => {
    if (!sb || sb.updating || queue.length === 0) return;
    sb.appendBuffer(queue.shift());
  };
  ws.onclose = (e) => { closeCode = e.code; };
  ws.onmessage = (e) => {
    if (typeof e.data === 'string') {
      const m = JSON.parse(e.data);
      if (m.type === 'init' && !sb) {
        mime = m.mime;
        sb = ms.addSourceBuffer(mime);
        sb.addEventListener('updateend', () => {
          const b = sb.buffered;
          if (b.length > 0) {
            const end = b.end(b.length - 1);
            // Stay at the live edge: a player that drifts behind is moved forward.
            if (first === undefined) { first = b.start(0); video.currentTime = first; video.play().catch(() => {}); }
            else if (end - video.currentTime > 0.5) video.currentTime = end - 0.05;
          }
          pump();
        });
      } else if (m.type === 'error') error = m.code + ': ' + m.message;
      return;
    }
    const buf = new Uint8Array(e.data);
    const view = new DataView(e.data);
    if (buf[0] === 2) walls.set(Math.round(view.getFloat64(16)), view.getFloat64(8));
    queue.push(buf.subarray(24));
    pump();
  };
  const onFrame = (now, meta) => {
    const ticks = Math.round(meta.mediaTime * 90000);
    let wall;
    for (let d = 0; d <= 90 && wall === undefined; d++) wall = walls.get(ticks - d) ?? walls.get(ticks + d);
    if (wall !== undefined) delays.push(performance.timeOrigin + meta.expectedDisplayTime - wall);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  const deadline = Date.now() + 10000;
  while (first === undefined && Date.now() < deadline && !error && closeCode === undefined) await new Promise((r) => setTimeout(r, 50));
  const start = video.currentTime;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const result = {
    width: video.videoWidth,
    height: video.videoHeight,
    advanced: video.currentTime - start,
    framesShown: video.getVideoPlaybackQuality().totalVideoFrames,
    delays,
    closeCode,
    ...(error ? { error } : {}),
  };
  ws.close();
  video.remove();
  return result;
})`;

export interface RecordedResult {
  error?: string;
  status: number;
  width: number;
  height: number;
  startsAt?: string;
  bufferedSeconds: number;
  advanced: number;
}

/** `(async ({ camera, from, to, seconds }) => RecordedResult)`: plays the first run of a playback. */
export const RECORDED_PLAYER = `(async ({ camera, from, to, seconds }) => {
  const res = await fetch('/api/cameras/' + camera + '/playback?from=' + encodeURIComponent(from) + '&to=' + encodeURIComponent(to));
  if (res.status !== 200) return { status: res.status, error: (await res.json()).error.code, width: 0, height: 0, bufferedSeconds: 0, advanced: 0 };
  const pb = await res.json();
  const video = document.createElement('video');
  video.muted = true;
  document.body.appendChild(video);
  const ms = new MediaSource();
  video.src = URL.createObjectURL(ms);
  await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
  const segments = pb.runs[0].segments;
  const sb = ms.addSourceBuffer(segments[0].mime);
  const append = (bytes) => new Promise((resolve, reject) => {
    sb.addEventListener('updateend', resolve, { once: true });
    sb.addEventListener('error', reject, { once: true });
    sb.appendBuffer(bytes);
  });
  const range = async (url, offset, length) => {
    const r = await fetch(url, { headers: { range: 'bytes=' + offset + '-' + (offset + length - 1) } });
    if (r.status !== 206) throw new Error('media ' + r.status);
    return new Uint8Array(await r.arrayBuffer());
  };
  for (const s of segments) {
    await append(await range(s.url, s.init.offset, s.init.length));
    for (const g of s.gops) await append(await range(s.url, g.offset, g.length));
  }
  ms.endOfStream();
  const startAt = sb.buffered.start(0);
  video.currentTime = startAt;
  await video.play();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return {
    status: 200,
    width: video.videoWidth,
    height: video.videoHeight,
    startsAt: pb.startsAt,
    bufferedSeconds: sb.buffered.end(sb.buffered.length - 1) - startAt,
    advanced: video.currentTime - startAt,
  };
})`;
