import net from 'node:net';
import { RtspReader, DEFAULT_LIMITS, messageSink, type RtspRequest } from '../../src/media/index.js';

/** What a scripted camera answers to one request: raw response bytes (CSeq is rewritten), or nothing. */
export type ScriptedAnswer = Buffer | string | undefined;

export interface ScriptedCamera {
  port: number;
  url(path?: string): string;
  requests: RtspRequest[];
  /** Writes raw bytes to every open connection (interleaved RTP, garbage, ...). */
  send(bytes: Buffer): void;
  close(): Promise<void>;
}

/**
 * A loopback RTSP server that replays canned responses (real-camera transcripts), rewriting the CSeq
 * header so it matches the request, and records the requests the client sent.
 */
export async function scriptedCamera(
  answer: (req: RtspRequest, index: number) => ScriptedAnswer,
): Promise<ScriptedCamera> {
  const requests: RtspRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const reader = new RtspReader(DEFAULT_LIMITS);
    const sink = messageSink((item) => {
      if (item.kind !== 'request') return;
      requests.push(item);
      const a = answer(item, requests.length - 1);
      if (a === undefined) return;
      socket.write(
        withCseq(Buffer.isBuffer(a) ? a : Buffer.from(a, 'latin1'), item.headers.get('cseq') ?? '0'),
      );
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk, sink));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: (path = '/stream') => `rtsp://127.0.0.1:${port}${path}`,
    requests,
    send(bytes) {
      for (const s of sockets) s.write(bytes);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Replaces the value of the CSeq header (any capitalisation, trailing blanks) in a response head. */
export function withCseq(response: Buffer, cseq: string): Buffer {
  const text = response.toString('latin1');
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd < 0 ? text : text.slice(0, headEnd);
  const replaced = /^cseq:/im.test(head)
    ? head.replace(/^(cseq):[^\r\n]*/im, `$1: ${cseq.trim()}`)
    : head.replace(/\r\n/, `\r\nCSeq: ${cseq.trim()}\r\n`);
  return Buffer.concat([
    Buffer.from(replaced, 'latin1'),
    response.subarray(Buffer.byteLength(head, 'latin1')),
  ]);
}

/** Wraps a bare SDP the way a camera's DESCRIBE reply carries it. */
export function describeResponse(sdp: Buffer, base?: string): Buffer {
  const head = [
    'RTSP/1.0 200 OK',
    'CSeq: 0',
    'Content-Type: application/sdp',
    ...(base === undefined ? [] : [`Content-Base: ${base}`]),
    `Content-Length: ${sdp.length}`,
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), sdp]);
}
