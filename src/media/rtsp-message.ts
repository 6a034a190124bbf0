import { MediaErrorCode, limitExceeded, mediaError } from './errors.js';
import type { MediaLimits } from './limits.js';

/** Header fields of one RTSP message; names compare case-insensitively (cameras write `Cseq`). */
export class RtspHeaders {
  readonly entries: [string, string][] = [];

  add(name: string, value: string): void {
    this.entries.push([name, value]);
  }

  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    for (const [n, v] of this.entries) if (n.toLowerCase() === lower) return v;
    return undefined;
  }

  all(name: string): string[] {
    const lower = name.toLowerCase();
    return this.entries.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
  }
}

export interface RtspResponse {
  kind: 'response';
  status: number;
  reason: string;
  headers: RtspHeaders;
  body: Buffer;
}

export interface RtspRequest {
  kind: 'request';
  method: string;
  uri: string;
  headers: RtspHeaders;
  body: Buffer;
}

export type RtspMessage = RtspResponse | RtspRequest;

/** Where an `RtspReader` delivers what it finds. */
export interface RtspSink {
  /**
   * A `$`-framed packet (RFC 2326 10.12), RTP or RTCP on `channel`: `data[start, end)`, valid only
   * during the call (no view is made: a camera sends hundreds a second).
   */
  frame(channel: number, data: Buffer, start: number, end: number): void;
  message(message: RtspMessage): void;
}

/**
 * A sink for the server's end of a connection: messages only. A client's interleaved frames are RTCP
 * receiver reports, which prove nothing but liveness.
 */
export function messageSink(out: (message: RtspMessage) => void): RtspSink {
  return { frame: () => undefined, message: out };
}

const EMPTY = Buffer.alloc(0);
/** The carry buffer starts small (most items end in the chunk they start in) and doubles up to here. */
const CARRY_MIN = 2048;
const CARRY_MAX = 64 * 1024;

/**
 * Splits an RTSP byte stream into messages and interleaved frames, incrementally. Memory is bounded
 * by the limits: at most one header block, one body or one interleaved frame is ever held. Any
 * violation throws a typed error and the caller must drop the connection.
 *
 * `push` may be given a buffer its caller reuses for the next read (a socket's `onread` buffer):
 * nothing keeps a view of it after `push` returns. An item that ends in a later chunk is completed in
 * a carry buffer the reader owns and reuses. So an interleaved frame is valid only during the
 * `frame` call; message bodies are copies.
 */
export class RtspReader {
  /** The start of an item that a chunk ended inside of: `carry[0, carried)`. */
  private carry: Buffer = EMPTY;
  private carried = 0;

  constructor(private readonly limits: MediaLimits) {}

  /** Bytes received but not yet returned as a message or frame. */
  get bufferedBytes(): number {
    return this.carried;
  }

  push(chunk: Buffer, sink: RtspSink): void {
    let off = 0;
    // First finish the item begun in an earlier chunk, taking from this chunk only what it needs.
    while (this.carried > 0 && off < chunk.length) {
      const take = Math.min(this.carryNeeds(), chunk.length - off);
      this.keep(chunk, off, off + take);
      off += take;
      const consumed = this.items(this.carry, 0, this.carried, sink);
      if (consumed === 0) continue;
      // A message's length is not known before its end: bytes taken past it belong to the chunk.
      off -= this.carried - consumed;
      this.carried = 0;
    }
    if (this.carried > 0) return;
    off = this.items(chunk, off, chunk.length, sink);
    if (off < chunk.length) this.keep(chunk, off, chunk.length);
  }

  /** Parses whole items from the front of `data[at, end)`; returns where the first unfinished one starts. */
  private items(data: Buffer, at: number, end: number, sink: RtspSink): number {
    for (;;) {
      // Stray line ends between messages are tolerated (some servers send CRLF after a body).
      while (at < end && (data[at] === 0x0d || data[at] === 0x0a)) at++;
      if (at === end) return at;
      const consumed =
        data[at] === 0x24 ? this.frame(data, at, end, sink) : this.message(data.subarray(at, end), sink);
      if (consumed === 0) return at;
      at += consumed;
    }
  }

  /** How many more bytes the carried item can use: exact for a frame, an upper bound for a message. */
  private carryNeeds(): number {
    const c = this.carry;
    if (c[0] === 0x24) {
      if (this.carried < 4) return 4 - this.carried;
      return 4 + c.readUInt16BE(2) - this.carried;
    }
    return this.limits.maxHeaderBytes + 4 + this.limits.maxBodyBytes - this.carried;
  }

  /** Appends `chunk[from, to)` to the carry buffer, growing it (within the limits) as needed. */
  private keep(chunk: Buffer, from: number, to: number): void {
    const need = this.carried + to - from;
    if (need > this.carry.length) {
      const grown = Buffer.allocUnsafeSlow(
        Math.max(need, Math.min(2 * this.carry.length, CARRY_MAX), CARRY_MIN),
      );
      this.carry.copy(grown, 0, 0, this.carried);
      this.carry = grown;
    }
    chunk.copy(this.carry, this.carried, from, to);
    this.carried = need;
  }

  /** The frame at `data[at]`, if `data[at, end)` holds all of it; returns the bytes used. */
  private frame(data: Buffer, at: number, end: number, sink: RtspSink): number {
    if (end - at < 4) return 0;
    const length = data.readUInt16BE(at + 2);
    if (length > this.limits.maxInterleavedBytes) {
      throw limitExceeded('maxInterleavedBytes', length, this.limits.maxInterleavedBytes);
    }
    if (end - at < 4 + length) return 0;
    sink.frame(data[at + 1]!, data, at + 4, at + 4 + length);
    return 4 + length;
  }

  private message(buf: Buffer, sink: RtspSink): number {
    const searchEnd = Math.min(buf.length, this.limits.maxHeaderBytes + 4);
    const end = headerEnd(buf, searchEnd);
    if (end === undefined) {
      if (buf.length > this.limits.maxHeaderBytes) {
        throw limitExceeded('maxHeaderBytes', buf.length, this.limits.maxHeaderBytes);
      }
      return 0;
    }
    const lines = buf.toString('latin1', 0, end.head).split(/\r?\n/);
    const first = lines.shift()!;
    if (lines.length > this.limits.maxHeaderCount) {
      throw limitExceeded('maxHeaderCount', lines.length, this.limits.maxHeaderCount);
    }
    const headers = new RtspHeaders();
    for (const line of lines) {
      if (line === '') continue;
      const colon = line.indexOf(':');
      if (colon <= 0) throw malformed(`header line without a colon: ${JSON.stringify(line.slice(0, 60))}`);
      headers.add(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    const lengthHeader = headers.get('content-length');
    let bodyLength = 0;
    if (lengthHeader !== undefined) {
      if (!/^\d{1,10}$/.test(lengthHeader)) throw malformed(`Content-Length ${JSON.stringify(lengthHeader)}`);
      bodyLength = Number(lengthHeader);
      if (bodyLength > this.limits.maxBodyBytes) {
        throw limitExceeded('maxBodyBytes', bodyLength, this.limits.maxBodyBytes);
      }
    }
    if (buf.length < end.body + bodyLength) return 0;
    const body = bodyLength === 0 ? EMPTY : Buffer.from(buf.subarray(end.body, end.body + bodyLength));
    const status = /^RTSP\/(\d)\.(\d)\s+(\d{3})(?:\s+(.*))?$/.exec(first);
    if (status) {
      sink.message({ kind: 'response', status: Number(status[3]), reason: status[4] ?? '', headers, body });
    } else {
      const request = /^([A-Z_]{1,32}) (\S{1,4096}) RTSP\/\d\.\d$/.exec(first);
      if (!request) throw malformed(`not an RTSP start line: ${JSON.stringify(first.slice(0, 60))}`);
      sink.message({ kind: 'request', method: request[1]!, uri: request[2]!, headers, body });
    }
    return end.body + bodyLength;
  }
}

/** Finds the blank line ending a header block (CRLF CRLF, or bare LF LF from sloppy servers). */
function headerEnd(buf: Buffer, limit: number): { head: number; body: number } | undefined {
  for (let i = 0; i + 1 < limit; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return { head: i, body: i + 2 };
    if (buf[i + 1] === 0x0d && i + 2 < limit && buf[i + 2] === 0x0a) {
      return { head: i > 0 && buf[i - 1] === 0x0d ? i - 1 : i, body: i + 3 };
    }
  }
  return undefined;
}

function malformed(what: string) {
  return mediaError(MediaErrorCode.MALFORMED, `malformed RTSP message: ${what}`);
}

function formatHead(first: string, headers: [string, string][], body: Buffer | undefined): Buffer {
  let head = `${first}\r\n`;
  for (const [name, value] of headers) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value))
      throw new TypeError(`header ${name} contains a line break`);
    head += `${name}: ${value}\r\n`;
  }
  if (body !== undefined && body.length > 0) head += `Content-Length: ${body.length}\r\n`;
  head += '\r\n';
  const headBuf = Buffer.from(head, 'latin1');
  return body === undefined || body.length === 0 ? headBuf : Buffer.concat([headBuf, body]);
}

export function formatRequest(
  method: string,
  uri: string,
  headers: [string, string][],
  body?: Buffer,
): Buffer {
  return formatHead(`${method} ${uri} RTSP/1.0`, headers, body);
}

export function formatResponse(
  status: number,
  reason: string,
  headers: [string, string][],
  body?: Buffer,
): Buffer {
  return formatHead(`RTSP/1.0 ${status} ${reason}`, headers, body);
}

export function interleavedHeader(channel: number, length: number): Buffer {
  return Buffer.from([0x24, channel, length >> 8, length & 0xff]);
}

/** One transport specification of a Transport header (RFC 2326 12.39). */
export interface TransportSpec {
  /** `RTP/AVP/TCP` is interleaved on the RTSP connection; `RTP/AVP` or `RTP/AVP/UDP` is UDP. */
  lower: 'TCP' | 'UDP';
  unicast: boolean;
  interleaved: [number, number] | undefined;
  clientPort: [number, number] | undefined;
  serverPort: [number, number] | undefined;
  ssrc: number | undefined;
  mode: string | undefined;
  source: string | undefined;
}

/** Parses the first specification of a Transport header, tolerating parameter order and quoting. */
export function parseTransport(value: string): TransportSpec {
  const [spec = ''] = value.split(',');
  const [proto = '', ...params] = spec.split(';').map((p) => p.trim());
  const parts = proto.toUpperCase().split('/');
  if (parts[0] !== 'RTP' || parts[1] !== 'AVP') throw malformed(`Transport ${JSON.stringify(proto)}`);
  const t: TransportSpec = {
    lower: parts[2] === 'TCP' ? 'TCP' : 'UDP',
    unicast: !params.includes('multicast'),
    interleaved: undefined,
    clientPort: undefined,
    serverPort: undefined,
    ssrc: undefined,
    mode: undefined,
    source: undefined,
  };
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    const name = param.slice(0, eq).trim().toLowerCase();
    const v = param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    if (name === 'interleaved') t.interleaved = range(v, 255);
    else if (name === 'client_port') t.clientPort = range(v, 65535);
    else if (name === 'server_port') t.serverPort = range(v, 65535);
    else if (name === 'ssrc') t.ssrc = /^[0-9a-f]{1,8}$/i.test(v) ? Number.parseInt(v, 16) : undefined;
    else if (name === 'mode') t.mode = v.toUpperCase();
    else if (name === 'source') t.source = v;
  }
  return t;
}

function range(v: string, max: number): [number, number] | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(v);
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a + 1 : Number(m[2]);
  return a <= max && b <= max ? [a, b] : undefined;
}

/** Session header (RFC 2326 12.37): the id, and the timeout in seconds (60 when absent). */
export function parseSession(value: string): { id: string; timeoutSeconds: number } {
  const [id = '', ...params] = value.split(';').map((p) => p.trim());
  if (id === '' || id.length > 256 || /\s/.test(id))
    throw malformed(`Session ${JSON.stringify(value.slice(0, 60))}`);
  let timeoutSeconds = 60;
  for (const p of params) {
    const m = /^timeout\s*=\s*(\d{1,6})$/i.exec(p);
    if (m) timeoutSeconds = Math.max(1, Number(m[1]));
  }
  return { id, timeoutSeconds };
}

export interface RtpInfoEntry {
  url: string;
  seq: number | undefined;
  rtptime: number | undefined;
}

/** RTP-Info (RFC 2326 12.33). Values out of range (a camera's `rtptime=-1`) are left undefined. */
export function parseRtpInfo(value: string): RtpInfoEntry[] {
  const out: RtpInfoEntry[] = [];
  for (const entry of value.split(/,(?=\s*url=)/i)) {
    const info: RtpInfoEntry = { url: '', seq: undefined, rtptime: undefined };
    for (const param of entry.split(';')) {
      const eq = param.indexOf('=');
      if (eq < 0) continue;
      const name = param.slice(0, eq).trim().toLowerCase();
      const v = param.slice(eq + 1).trim();
      if (name === 'url') info.url = v;
      else if (name === 'seq' && /^\d{1,5}$/.test(v) && Number(v) <= 0xffff) info.seq = Number(v);
      else if (name === 'rtptime' && /^\d{1,10}$/.test(v) && Number(v) <= 0xffffffff)
        info.rtptime = Number(v);
    }
    if (info.url !== '') out.push(info);
  }
  return out;
}
