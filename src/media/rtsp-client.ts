import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { PalisadeError, describeError, isPalisadeError } from '../errors/index.js';
import { createDepacketizer, type VideoDepacketizer } from './depacketizer.js';
import { MediaErrorCode, mediaError } from './errors.js';
import { resolveLimits, type MediaLimits } from './limits.js';
import { BatchInterval, ReadBatch } from './read-batch.js';
import { ClientAuthenticator, parseChallenges } from './rtsp-auth.js';
import {
  RtspReader,
  formatRequest,
  formatResponse,
  parseRtpInfo,
  parseSession,
  parseTransport,
  type RtpInfoEntry,
  type RtspMessage,
  type RtspResponse,
  type RtspSink,
} from './rtsp-message.js';
import {
  RtpSequencer,
  TimestampExtender,
  emptyRtpPacket,
  parseRtcp,
  parseRtp,
  type RtpPacket,
  type SequencedOut,
} from './rtp.js';
import { findVideoTrack, parseSdp, resolveControl, type SessionDescription, type VideoTrack } from './sdp.js';
import { ParameterSetTracker } from './video-track.js';
import type { AccessUnit, RawAccessUnit, VideoCodec, VideoInfo } from './video.js';

export interface RtspTlsOptions {
  /** Trusted CA certificates (PEM); the system store when absent. */
  ca?: string | Buffer | (string | Buffer)[];
  /**
   * Pin the camera's certificate by its SHA-256 fingerprint (hex, colons optional). With a pin, chain
   * and name are not checked: the fingerprint is the identity (typical for self-signed cameras).
   */
  fingerprint256?: string;
  /** Name to verify the certificate against, when the URL holds an IP address. */
  servername?: string;
  /** Lowest TLS version accepted; TLS 1.3 by default. */
  minVersion?: tls.SecureVersion;
}

export interface RtspSessionOptions {
  /** `rtsp://` or `rtsps://`; user:password in the URL is used when `username` is not given. */
  url: string;
  username?: string;
  password?: string;
  /** Interleaved on the RTSP connection (default) or UDP. */
  transport?: 'tcp' | 'udp';
  tls?: RtspTlsOptions;
  /** Basic authentication sends the password in clear text; refused on plain RTSP unless allowed. */
  allowBasicAuthInClear?: boolean;
  limits?: Partial<MediaLimits>;
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  /** Playing with no media for this long ends the session with RTSP_STALLED. */
  stallTimeoutMs?: number;
  userAgent?: string;
  /**
   * Reuse the memory of frames once their consumer calls `AccessUnit.release` (see NalSlabs): for a
   * consumer that copies what it keeps, such as the recorder's fragmenter. Default false.
   */
  reuseBuffers?: boolean;
  /**
   * Read a plain-TCP camera at most every this many milliseconds instead of whenever bytes arrive:
   * sessions share one clock, so one wake-up of the process reads every camera. Costs up to that much
   * latency; 0 (the default) reads at once. See `setReadBatchMs`.
   */
  readBatchMs?: number;
}

export type RtspSessionState =
  'idle' | 'connecting' | 'describing' | 'setting-up' | 'playing' | 'closing' | 'closed';

/** What the camera agreed to, once PLAY succeeded. */
export interface RtspSessionInfo {
  /** The URL finally used (after redirects), without credentials. */
  url: string;
  description: SessionDescription;
  codec: VideoTrack['codec'];
  /** SETUP URL of the video track. */
  control: string;
  payloadType: number;
  /** Stream description from the SDP's parameter sets; undefined when the camera sends them only in-band. */
  video: VideoInfo | undefined;
  sessionId: string;
  timeoutSeconds: number;
  transport: 'tcp' | 'udp';
  rtpInfo: RtpInfoEntry | undefined;
  server: string | undefined;
  /** Negotiated TLS version and the camera certificate's fingerprint, for rtsps://. */
  tls: { protocol: string | null; fingerprint256: string | undefined } | undefined;
}

export interface RtspSessionStats {
  rtpPackets: number;
  rtpBytes: number;
  lostPackets: number;
  latePackets: number;
  invalidPackets: number;
  ignoredPackets: number;
  ssrcChanges: number;
  senderReports: number;
  accessUnits: number;
  corruptAccessUnits: number;
  /** Frames skipped while waiting for a key frame (after loss, at start, or when the consumer was too slow on UDP). */
  skippedAccessUnits: number;
  keepAlives: number;
  /** Times reading paused because the consumer was slower than the camera (TCP backpressure). */
  pauses: number;
  /**
   * Reads from the connection (interleaved transport): with `readBatchMs`, several frames per read.
   * Over TLS each read is one decrypted record.
   */
  reads: number;
  /** Times the batch clock stopped reading until its next tick (`readBatchMs`). */
  batchWaits: number;
}

const STALE_RETRIES = 2;
/**
 * Every session reads into this one buffer, over TCP and over TLS (where each read is one decrypted
 * record): reads are synchronous and each is parsed (and what is kept, copied) before the next, so
 * one buffer serves all cameras and receiving allocates nothing. 64 KiB is what libuv would
 * allocate per read.
 */
const RECEIVE_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);
const DEFAULT_PORT = { 'rtsp:': 554, 'rtsps:': 322 } as const;

interface Pending {
  resolve: (r: RtspResponse) => void;
  reject: (e: PalisadeError) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * One camera session: connect (TCP or TLS), authenticate, DESCRIBE, SETUP the video track, PLAY,
 * then hand out access units through async iteration with bounded buffering. Every failure is a
 * PalisadeError with a stable code, thrown from start() or from the iterator; `close()` tears down.
 *
 * Events: `state` (RtspSessionState), `video` (VideoInfo, when the stream parameters change).
 */
export class RtspSession extends EventEmitter implements AsyncIterable<AccessUnit> {
  readonly limits: MediaLimits;
  state: RtspSessionState = 'idle';
  info: RtspSessionInfo | undefined;
  /** The error that ended the session, if any. */
  error: PalisadeError | undefined;
  readonly stats: RtspSessionStats = {
    rtpPackets: 0,
    rtpBytes: 0,
    lostPackets: 0,
    latePackets: 0,
    invalidPackets: 0,
    ignoredPackets: 0,
    ssrcChanges: 0,
    senderReports: 0,
    accessUnits: 0,
    corruptAccessUnits: 0,
    skippedAccessUnits: 0,
    keepAlives: 0,
    pauses: 0,
    reads: 0,
    batchWaits: 0,
  };

  private url: URL;
  private requestBase: string;
  private readonly auth: ClientAuthenticator;
  private readonly transport: 'tcp' | 'udp';
  private socket: net.Socket | undefined;
  private reader: RtspReader;
  private cseq = 0;
  private readonly pending = new Map<number, Pending>();
  private sessionId: string | undefined;
  private publicMethods: string[] = [];
  private timers: NodeJS.Timeout[] = [];
  private udp: dgram.Socket[] = [];
  private rtpChannel = 0;
  private rtcpChannel = 1;
  private track: VideoTrack | undefined;
  private depacketizer: VideoDepacketizer | undefined;
  private sequencer: RtpSequencer | undefined;
  /** Interleaved RTP is parsed into this one packet, again and again (the sequencer holds none over TCP). */
  private readonly interleavedPacket = emptyRtpPacket();
  private readonly extender = new TimestampExtender(10 * 90_000, 3600);
  private params: ParameterSetTracker | undefined;
  private ssrc: number | undefined;
  private clock: { extended: number; wallClockMs: number } | undefined;
  private waitingForKey = true;
  private discontinuity = false;
  private lastDelivered: VideoInfo | undefined;
  private lastMediaAt = 0;
  private peerFingerprint: string | undefined;
  private queue: AccessUnit[] = [];
  private waiter: { resolve: () => void } | undefined;
  private paused = false;
  /** The read batch interval (see `readBatchMs`); 0 reads at once. */
  private batch = new BatchInterval(0);
  /** Bytes read since reading last resumed. */
  private tickBytes = 0;
  /** Reading stopped after a read and waits for the batch clock. */
  private batchWaiting = false;
  /** Over TLS: the end of this tick's reading is scheduled (see `onRead`). */
  private tlsTickEnding = false;
  private secure = false;
  private closedResolve!: (e: PalisadeError | undefined) => void;
  /** Resolves when the session has ended: undefined after close(), the error otherwise. */
  readonly closed: Promise<PalisadeError | undefined>;

  constructor(private readonly options: RtspSessionOptions) {
    super();
    this.limits = resolveLimits(options.limits);
    this.reader = new RtspReader(this.limits);
    this.transport = options.transport ?? 'tcp';
    this.setReadBatchMs(options.readBatchMs ?? 0);
    const parsed = parseRtspUrl(options.url);
    this.url = parsed.url;
    this.requestBase = parsed.requestUrl;
    this.auth = new ClientAuthenticator(
      options.username ?? parsed.username,
      options.password ?? parsed.password,
      options.allowBasicAuthInClear ?? false,
    );
    this.closed = new Promise((resolve) => (this.closedResolve = resolve));
  }

  /** Connects and negotiates up to PLAY. Rejects with a typed error (and the session is closed). */
  async start(): Promise<RtspSessionInfo> {
    if (this.state !== 'idle') throw new Error('start() may be called once');
    try {
      let redirects = 0;
      for (;;) {
        this.setState('connecting');
        await this.connect();
        this.setState('describing');
        const options = await this.request('OPTIONS', this.requestBase, [], { acceptAny: true });
        if (isRedirect(options.status)) {
          this.followRedirect(options, ++redirects);
          continue;
        }
        if (options.status === 200) {
          this.publicMethods = (options.headers.get('public') ?? '')
            .split(',')
            .map((m) => m.trim().toUpperCase());
        }
        const describe = await this.request('DESCRIBE', this.requestBase, [['Accept', 'application/sdp']], {
          acceptAny: true,
        });
        if (isRedirect(describe.status)) {
          this.followRedirect(describe, ++redirects);
          continue;
        }
        this.expectOk('DESCRIBE', describe);
        return await this.setupAndPlay(describe);
      }
    } catch (err) {
      const error = asSessionError(err);
      this.fail(error);
      throw error;
    }
  }

  private async setupAndPlay(describe: RtspResponse): Promise<RtspSessionInfo> {
    const description = parseSdp(describe.body, this.limits);
    const track = findVideoTrack(description, this.limits);
    let base =
      describe.headers.get('content-base') ?? describe.headers.get('content-location') ?? this.requestBase;
    if (!/^rtsps?:\/\//i.test(base)) base = this.requestBase; // a Content-Base without scheme is unusable
    const control = resolveControl(base, track.media.control);
    const aggregate = description.control === undefined ? base : resolveControl(base, description.control);
    this.track = track;
    this.params = new ParameterSetTracker(track.codec, this.limits, track.parameterSets);
    let sdpVideo: VideoInfo | undefined;
    try {
      sdpVideo = this.params.current().info;
    } catch {
      // An unparseable SPS in the SDP is not fatal: cameras repeat it in-band before every key frame.
      this.params = new ParameterSetTracker(track.codec, this.limits);
    }
    this.depacketizer = this.newDepacketizer(track.codec);
    this.sequencer = new RtpSequencer(this.transport === 'udp' ? this.limits.maxReorderPackets : 0);

    this.setState('setting-up');
    const transportHeader =
      this.transport === 'tcp' ? 'RTP/AVP/TCP;unicast;interleaved=0-1' : await this.openUdp();
    const setup = await this.request('SETUP', control, [['Transport', transportHeader]], { acceptAny: true });
    if (setup.status === 461) {
      throw mediaError(
        MediaErrorCode.UNSUPPORTED_TRANSPORT,
        `the camera refused RTP over ${this.transport.toUpperCase()} (461): try the other transport`,
      );
    }
    this.expectOk('SETUP', setup);
    const sessionHeader = setup.headers.get('session');
    if (sessionHeader === undefined) {
      throw mediaError(MediaErrorCode.MALFORMED, 'the SETUP response has no Session header');
    }
    const session = parseSession(sessionHeader);
    this.sessionId = session.id;
    const answered = setup.headers.get('transport');
    if (answered !== undefined) {
      const t = parseTransport(answered);
      if (this.transport === 'tcp') {
        if (t.lower !== 'TCP' && t.interleaved === undefined) {
          throw mediaError(
            MediaErrorCode.UNSUPPORTED_TRANSPORT,
            'asked for RTP over TCP, the camera answered with UDP: use the UDP transport for this camera',
          );
        }
        if (t.interleaved !== undefined) [this.rtpChannel, this.rtcpChannel] = t.interleaved;
      } else if (t.lower === 'TCP') {
        throw mediaError(
          MediaErrorCode.UNSUPPORTED_TRANSPORT,
          'asked for RTP over UDP, the camera answered with TCP',
        );
      }
    }

    const play = await this.request('PLAY', aggregate, [['Range', 'npt=0.000-']], { acceptAny: true });
    this.expectOk('PLAY', play);
    const rtpInfoHeader = play.headers.get('rtp-info');
    const entries = rtpInfoHeader === undefined ? [] : parseRtpInfo(rtpInfoHeader);
    const rtpInfo =
      entries.find((e) => e.url === control || control.endsWith(e.url)) ??
      (entries.length === 1 ? entries[0] : undefined);
    const socket = this.socket!;
    this.info = {
      url: this.requestBase,
      description,
      codec: track.codec,
      control,
      payloadType: track.payloadType,
      video: sdpVideo,
      sessionId: session.id,
      timeoutSeconds: session.timeoutSeconds,
      transport: this.transport,
      rtpInfo,
      server: describe.headers.get('server'),
      tls:
        socket instanceof tls.TLSSocket
          ? { protocol: socket.getProtocol(), fingerprint256: this.peerFingerprint }
          : undefined,
    };
    this.lastMediaAt = Date.now();
    this.setState('playing');
    this.startTimers(session.timeoutSeconds);
    return this.info;
  }

  /** Ends the session: TEARDOWN (bounded wait), then the connection closes. Safe to call at any time. */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') {
      await this.closed;
      return;
    }
    const wasPlaying = this.state === 'playing';
    this.setState('closing');
    if (wasPlaying && this.socket !== undefined && this.sessionId !== undefined) {
      if (this.paused || this.batchWaiting) this.socket.resume();
      try {
        await this.request('TEARDOWN', this.info?.url ?? this.requestBase, [], {
          acceptAny: true,
          timeoutMs: 2000,
        });
      } catch {
        // The camera may already be gone; closing goes on.
      }
    }
    this.finish(undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<AccessUnit> {
    return {
      next: async () => {
        for (;;) {
          const au = this.queue.shift();
          if (au !== undefined) {
            if (this.paused && this.queue.length <= this.limits.maxQueuedAccessUnits / 2) {
              this.paused = false;
              this.socket?.resume();
            }
            return { value: au, done: false };
          }
          if (this.error !== undefined) throw this.error;
          if (this.state === 'closed' || this.state === 'closing') return { value: undefined, done: true };
          await new Promise<void>((resolve) => (this.waiter = { resolve }));
        }
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  // ---- connection and requests

  private async connect(): Promise<void> {
    const secure = this.url.protocol === 'rtsps:';
    this.secure = secure;
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const port = this.url.port === '' ? DEFAULT_PORT[secure ? 'rtsps:' : 'rtsp:'] : Number(this.url.port);
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    this.reader = new RtspReader(this.limits);
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      let s: net.Socket;
      const timer = setTimeout(() => {
        s.destroy();
        reject(
          mediaError(
            MediaErrorCode.CONNECT_FAILED,
            `no connection to ${host}:${port} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const onError = (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        s.destroy();
        reject(connectError(err, host, port, secure));
      };
      if (secure) {
        const t = this.options.tls ?? {};
        const pin = t.fingerprint256 === undefined ? undefined : normalizeFingerprint(t.fingerprint256);
        const servername = t.servername ?? (net.isIP(host) === 0 ? host : undefined);
        // `onread` is tls.connect's too (Node PR #35753), though @types/node leaves it out.
        const options: tls.ConnectionOptions & Pick<net.TcpSocketConnectOpts, 'onread'> = {
          host,
          port,
          ...(servername === undefined ? {} : { servername }),
          ...(t.ca === undefined ? {} : { ca: t.ca }),
          minVersion: t.minVersion ?? 'TLSv1.3',
          rejectUnauthorized: pin === undefined,
          onread: { buffer: RECEIVE_BUFFER, callback: (n: number, buf: Uint8Array) => this.onRead(n, buf) },
          ...(pin === undefined && servername === undefined && t.servername === undefined
            ? {
                checkServerIdentity: (_h: string, cert: tls.PeerCertificate) =>
                  tls.checkServerIdentity(host, cert),
              }
            : {}),
        };
        const secureSocket = tls.connect(options);
        s = secureSocket;
        s.once('secureConnect', () => {
          clearTimeout(timer);
          const actual = secureSocket.getPeerX509Certificate()?.fingerprint256;
          this.peerFingerprint = actual;
          if (pin !== undefined && (actual === undefined || normalizeFingerprint(actual) !== pin)) {
            s.destroy();
            reject(
              mediaError(
                MediaErrorCode.TLS_FAILED,
                `the camera's certificate (SHA-256 ${actual ?? 'none'}) does not match the pinned fingerprint`,
                { fingerprint256: actual },
              ),
            );
            return;
          }
          s.off('error', onError);
          resolve(s);
        });
      } else {
        s = net.connect({
          host,
          port,
          onread: { buffer: RECEIVE_BUFFER, callback: (n: number, buf: Uint8Array) => this.onRead(n, buf) },
        });
        s.once('connect', () => {
          clearTimeout(timer);
          s.off('error', onError);
          resolve(s);
        });
      }
      s.once('error', onError);
    });
    socket.setNoDelay(true);
    this.socket = socket;
    socket.on('error', (err) => this.onSocketGone(socket, err));
    socket.on('close', () => this.onSocketGone(socket, undefined));
  }

  private onSocketGone(socket: net.Socket, err: Error | undefined): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    if (this.state === 'closed') return;
    if (this.state === 'closing') {
      this.finish(undefined);
      return;
    }
    this.fail(
      mediaError(
        MediaErrorCode.CONNECTION_LOST,
        `the camera closed the connection${err === undefined ? '' : `: ${describeError(err)}`}`,
      ),
    );
  }

  /** A read into the shared receive buffer; false stops reading until the batch clock resumes it. */
  private onRead(n: number, buf: Uint8Array): boolean {
    this.onData(RECEIVE_BUFFER.subarray(0, n));
    this.tickBytes += n;
    if (this.batch.ms === 0 || this.state !== 'playing' || this.paused) return true;
    if (this.secure) {
      // A TLS read is one record, whatever is left in the kernel, so its size cannot tell when the
      // tick has read everything. Everything the socket had is read and decrypted in this turn of
      // the event loop; the tick ends right after it.
      if (!this.tlsTickEnding && !this.batchWaiting) {
        this.tlsTickEnding = true;
        setImmediate(this.endTlsTick);
      }
      return true;
    }
    // A full buffer means more is waiting in the kernel: read on now.
    if (n === buf.length) return true;
    if (!this.batchWaiting) this.waitForTick();
    return false;
  }

  private readonly endTlsTick = (): void => {
    this.tlsTickEnding = false;
    if (this.batch.ms === 0 || this.state !== 'playing' || this.paused || this.batchWaiting) return;
    // Stops the TLS layer and the TCP socket beneath it: the kernel holds what arrives meanwhile.
    this.socket?.pause();
    this.waitForTick();
  };

  private waitForTick(): void {
    this.batch.afterTick(this.tickBytes);
    this.tickBytes = 0;
    this.batchWaiting = true;
    this.stats.batchWaits++;
    ReadBatch.every(this.batch.ms).defer(this.resumeBatched);
  }

  private readonly resumeBatched = (): void => {
    this.batchWaiting = false;
    if (!this.paused) this.socket?.resume();
  };

  /**
   * Changes read batching (see `readBatchMs`) while playing: a recorder turns it off while someone
   * watches the camera with low latency.
   */
  setReadBatchMs(ms: number): void {
    this.batch = new BatchInterval(ms);
    if (this.batch.ms === 0 && this.batchWaiting) this.resumeBatched();
  }

  private newDepacketizer(codec: VideoCodec): VideoDepacketizer {
    return createDepacketizer(
      codec,
      this.limits,
      (au) => this.onAccessUnit(au),
      this.options.reuseBuffers === true,
    );
  }

  private onData(chunk: Buffer): void {
    this.stats.reads++;
    try {
      this.reader.push(chunk, this.sink);
    } catch (err) {
      this.fail(asSessionError(err));
    }
  }

  private readonly sink: RtspSink = {
    frame: (channel, data, start, end) => {
      if (channel === this.rtpChannel) this.onRtp(data, start, end, this.interleavedPacket);
      else if (channel === this.rtcpChannel) this.onRtcp(data.subarray(start, end));
    },
    message: (message) => this.onMessage(message),
  };

  private onMessage(item: RtspMessage): void {
    if (item.kind === 'request') {
      // Servers rarely ask anything of a client; answering keeps the connection in step.
      const cseq = item.headers.get('cseq') ?? '0';
      this.socket?.write(formatResponse(501, 'Not Implemented', [['CSeq', cseq.trim()]]));
      return;
    }
    const cseqHeader = item.headers.get('cseq')?.trim();
    let key = cseqHeader !== undefined && /^\d+$/.test(cseqHeader) ? Number(cseqHeader) : undefined;
    if (key === undefined || !this.pending.has(key)) {
      // No usable CSeq: match the oldest outstanding request, as responses arrive in order.
      if (cseqHeader !== undefined && /^\d+$/.test(cseqHeader)) return; // a reply to something we gave up on
      key = this.pending.keys().next().value;
      if (key === undefined) return;
    }
    const p = this.pending.get(key)!;
    this.pending.delete(key);
    if (p.timer !== undefined) clearTimeout(p.timer);
    p.resolve(item);
  }

  private send(
    method: string,
    uri: string,
    headers: [string, string][],
    timeoutMs: number | undefined,
  ): Promise<RtspResponse> {
    const socket = this.socket;
    if (socket === undefined) {
      return Promise.reject(mediaError(MediaErrorCode.CONNECTION_LOST, 'not connected'));
    }
    const cseq = ++this.cseq;
    const all: [string, string][] = [
      ['CSeq', String(cseq)],
      ['User-Agent', this.options.userAgent ?? 'Palisade'],
      ...headers,
    ];
    if (this.sessionId !== undefined) all.push(['Session', this.sessionId]);
    const authorization = this.auth.authorization(method, uri);
    if (authorization !== undefined) all.push(['Authorization', authorization]);
    return new Promise<RtspResponse>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.pending.delete(cseq);
              reject(mediaError(MediaErrorCode.TIMEOUT, `no answer to ${method} within ${timeoutMs} ms`));
            }, timeoutMs);
      this.pending.set(cseq, { resolve, reject, timer });
      socket.write(formatRequest(method, uri, all));
    });
  }

  /** Sends a request, answering authentication challenges. Status handling is the caller's. */
  private async request(
    method: string,
    uri: string,
    headers: [string, string][],
    opts: { acceptAny: boolean; timeoutMs?: number },
  ): Promise<RtspResponse> {
    const timeoutMs = opts.timeoutMs ?? this.options.responseTimeoutMs ?? 10_000;
    let attempts = 0;
    let staleRetries = 0;
    for (;;) {
      const response = await this.send(method, uri, headers, timeoutMs);
      if (response.status !== 401) return response;
      if (this.auth.isAnonymous) {
        throw mediaError(
          MediaErrorCode.AUTH_FAILED,
          'the camera requires credentials and none were configured',
          {
            method,
          },
        );
      }
      const challenges = parseChallenges(response.headers.all('www-authenticate'));
      const hadCredentials = this.auth.active;
      const { stale } = this.auth.accept(challenges, this.url.protocol === 'rtsps:');
      if (stale && staleRetries < STALE_RETRIES) {
        staleRetries++;
        continue;
      }
      if (attempts === 0 && !hadCredentials) {
        attempts++;
        continue;
      }
      throw mediaError(MediaErrorCode.AUTH_FAILED, 'the camera refused the username or password', { method });
    }
  }

  private expectOk(method: string, response: RtspResponse): void {
    if (response.status >= 200 && response.status < 300) return;
    if (response.status === 404) {
      throw mediaError(
        MediaErrorCode.NOT_FOUND,
        `the camera has no stream at this path (404 on ${method}): check the URL`,
        {
          status: 404,
          method,
        },
      );
    }
    throw mediaError(
      MediaErrorCode.REQUEST_FAILED,
      `${method} failed: ${response.status} ${response.reason}`.trim(),
      { status: response.status, method },
    );
  }

  private followRedirect(response: RtspResponse, count: number): void {
    const location = response.headers.get('location');
    if (count > this.limits.maxRedirects) {
      throw mediaError(MediaErrorCode.REDIRECT_FAILED, `more than ${this.limits.maxRedirects} redirects`);
    }
    if (location === undefined || !/^rtsps?:\/\//i.test(location)) {
      throw mediaError(
        MediaErrorCode.REDIRECT_FAILED,
        `redirect to an unusable location: ${location ?? '(none)'}`,
      );
    }
    const next = parseRtspUrl(location);
    if (this.url.protocol === 'rtsps:' && next.url.protocol !== 'rtsps:') {
      throw mediaError(MediaErrorCode.REDIRECT_FAILED, 'refusing a redirect from RTSPS to plain RTSP');
    }
    this.url = next.url;
    this.requestBase = next.requestUrl;
    const old = this.socket;
    this.socket = undefined;
    old?.destroy();
  }

  private async openUdp(): Promise<string> {
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const family = net.isIPv6(host) ? 'udp6' : 'udp4';
    for (let attempt = 0; attempt < 20; attempt++) {
      const base = 20000 + 2 * Math.floor(Math.random() * 20000);
      const sockets = [dgram.createSocket(family), dgram.createSocket(family)];
      try {
        await Promise.all(
          sockets.map(
            (s, i) =>
              new Promise<void>((resolve, reject) => {
                s.once('error', reject);
                s.bind(base + i, () => {
                  s.off('error', reject);
                  resolve();
                });
              }),
          ),
        );
      } catch {
        for (const s of sockets) s.close();
        continue;
      }
      this.udp = sockets;
      const peer = this.socket?.remoteAddress;
      // Only the camera may feed the session: datagrams from any other address are dropped.
      // A datagram is its own buffer and its packet may wait in the reorder window: a packet each.
      sockets[0]!.on('message', (msg, rinfo) => {
        if (rinfo.address === peer) this.onRtp(msg, 0, msg.length, emptyRtpPacket());
      });
      sockets[1]!.on('message', (msg, rinfo) => {
        if (rinfo.address === peer) this.onRtcp(msg);
      });
      return `RTP/AVP;unicast;client_port=${base}-${base + 1}`;
    }
    throw mediaError(MediaErrorCode.UNSUPPORTED_TRANSPORT, 'could not bind a pair of UDP ports');
  }

  private startTimers(timeoutSeconds: number): void {
    const keepAliveMs = Math.max(1000, (timeoutSeconds * 1000) / 2);
    const method = this.publicMethods.includes('GET_PARAMETER') ? 'GET_PARAMETER' : 'OPTIONS';
    this.timers.push(
      setInterval(() => {
        if (this.state !== 'playing') return;
        this.stats.keepAlives++;
        // Any answer (even 405) proves the session is alive; a missing one is caught by the stall timer.
        this.send(method, this.info?.url ?? this.requestBase, [], undefined).catch(() => undefined);
        // Forget unanswered keep-alives so a camera that never answers cannot grow the pending table.
        for (const [k, p] of this.pending)
          if (p.timer === undefined && k < this.cseq - 4) this.pending.delete(k);
      }, keepAliveMs),
    );
    const stallMs = this.options.stallTimeoutMs ?? 10_000;
    this.timers.push(
      setInterval(
        () => {
          if (this.state !== 'playing' || this.paused) return;
          // Stalled means no decodable frame, not no bytes: a camera that floods garbage or sends a
          // codec other than the one it announced is as useless as a silent one.
          const idle = Date.now() - this.lastMediaAt;
          if (idle > stallMs) {
            this.fail(
              mediaError(
                MediaErrorCode.STALLED,
                `no decodable video from the camera for ${(idle / 1000).toFixed(1)} s (${this.stats.rtpPackets} RTP packets received in total)`,
                { rtpPackets: this.stats.rtpPackets, corruptAccessUnits: this.stats.corruptAccessUnits },
              ),
            );
          }
        },
        Math.min(1000, stallMs / 2),
      ),
    );
    for (const t of this.timers) t.unref();
  }

  // ---- media

  /** The RTP packet in `data[start, end)`, parsed into `into`. */
  private onRtp(data: Buffer, start: number, end: number, into: RtpPacket): void {
    if (this.track === undefined || this.sequencer === undefined || this.depacketizer === undefined) return;
    this.stats.rtpPackets++;
    this.stats.rtpBytes += end - start;
    let packet: RtpPacket;
    try {
      packet = parseRtp(data, start, end, into);
    } catch {
      this.stats.invalidPackets++;
      return;
    }
    if (packet.payloadType !== this.track.payloadType) {
      this.stats.ignoredPackets++;
      return;
    }
    if (this.ssrc !== packet.ssrc) {
      if (this.ssrc !== undefined) {
        // The camera restarted its stream: start over, keep the timeline monotonic, wait for a key frame.
        this.stats.ssrcChanges++;
        this.sequencer.reset();
        this.extender.rebase();
        this.depacketizer = this.newDepacketizer(this.track.codec);
        this.clock = undefined;
        this.waitingForKey = true;
        this.discontinuity = true;
      }
      this.ssrc = packet.ssrc;
    }
    try {
      const before = this.sequencer.lost;
      this.sequencer.push(packet, this.toDepacketizer);
      this.stats.lostPackets += this.sequencer.lost - before;
      this.stats.latePackets = this.sequencer.late;
    } catch (err) {
      this.fail(asSessionError(err));
    }
  }

  private readonly toDepacketizer: SequencedOut = (packet, lostBefore) =>
    this.depacketizer!.push(packet, lostBefore);

  private onRtcp(buf: Buffer): void {
    let reports;
    try {
      reports = parseRtcp(buf);
    } catch {
      this.stats.invalidPackets++;
      return;
    }
    for (const sr of reports) {
      if (sr.ssrc !== this.ssrc) continue;
      const extended = this.extender.peek(sr.rtpTimestamp);
      if (extended === undefined) continue;
      this.stats.senderReports++;
      this.clock = { extended, wallClockMs: sr.wallClockMs };
    }
  }

  private onAccessUnit(raw: RawAccessUnit): void {
    if (this.state === 'closed') return raw.release();
    const params = this.params!;
    const frame = params.classify(raw.nalus);
    const { timestamp, discontinuity } = this.extender.extend(raw.rtpTimestamp);
    if (discontinuity) this.discontinuity = true;
    const { info, changed } = params.current();
    if (raw.afterLoss) {
      // Frames this one depends on may be gone: decoding resumes at the next whole key frame.
      this.waitingForKey = true;
      this.discontinuity = true;
    }
    if (raw.corrupt) {
      this.stats.corruptAccessUnits++;
      this.waitingForKey = true;
      this.discontinuity = true;
      return raw.release();
    }
    if (frame.nalus.length === 0) return raw.release(); // parameter sets only
    if (info === undefined || (this.waitingForKey && !frame.key)) {
      this.stats.skippedAccessUnits++;
      return raw.release();
    }
    this.waitingForKey = false;
    if (changed || this.lastDelivered !== info) this.emit('video', info);
    const videoChanged = this.lastDelivered !== info;
    this.lastDelivered = info;
    const au: AccessUnit = {
      codec: params.codec,
      nalus: frame.nalus,
      byteLength: frame.bytes,
      key: frame.key,
      timestamp,
      rtpTimestamp: raw.rtpTimestamp,
      wallClock:
        this.clock === undefined
          ? undefined
          : this.clock.wallClockMs + ((timestamp - this.clock.extended) / 90_000) * 1000,
      discontinuity: this.discontinuity,
      video: info,
      videoChanged,
      release: raw.release,
    };
    this.discontinuity = false;
    this.stats.accessUnits++;
    this.lastMediaAt = Date.now();
    if (this.queue.length >= this.limits.maxQueuedAccessUnits) {
      if (this.transport === 'udp' || this.socket === undefined) {
        // Nothing to push back on: drop this frame and resume at the next key frame.
        this.stats.skippedAccessUnits++;
        this.waitingForKey = true;
        this.discontinuity = true;
        return raw.release();
      }
    }
    this.queue.push(au);
    if (this.queue.length >= this.limits.maxQueuedAccessUnits && !this.paused && this.transport === 'tcp') {
      // TCP backpressure: stop reading; the camera's send buffer fills and it slows or drops itself.
      this.paused = true;
      this.stats.pauses++;
      this.socket?.pause();
    }
    this.wake();
  }

  // ---- lifecycle

  private setState(state: RtspSessionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve();
  }

  private fail(error: PalisadeError): void {
    if (this.state === 'closed') return;
    this.error = error;
    this.finish(error);
  }

  private finish(error: PalisadeError | undefined): void {
    if (this.state === 'closed') return;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const [, p] of this.pending) {
      if (p.timer !== undefined) clearTimeout(p.timer);
      p.reject(error ?? mediaError(MediaErrorCode.CLOSED, 'the session was closed'));
    }
    this.pending.clear();
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
    for (const s of this.udp) s.close();
    this.udp = [];
    this.setState('closed');
    this.wake();
    this.closedResolve(error);
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 305 || status === 307;
}

function asSessionError(err: unknown): PalisadeError {
  if (isPalisadeError(err)) return err;
  return mediaError(MediaErrorCode.CONNECTION_LOST, describeError(err), undefined, err);
}

function normalizeFingerprint(f: string): string {
  return f.replace(/[^0-9a-f]/gi, '').toUpperCase();
}

const TLS_CODES = /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|UNABLE_TO|SELF_SIGNED|HOSTNAME_MISMATCH)/;

function connectError(
  err: NodeJS.ErrnoException,
  host: string,
  port: number,
  secure: boolean,
): PalisadeError {
  const code = err.code ?? '';
  if (secure && (TLS_CODES.test(code) || /SSL|TLS|certificate/i.test(err.message))) {
    return mediaError(MediaErrorCode.TLS_FAILED, `TLS with ${host}:${port} failed: ${err.message}`, {
      cause: code,
    });
  }
  return mediaError(MediaErrorCode.CONNECT_FAILED, `cannot connect to ${host}:${port}: ${err.message}`, {
    cause: code,
  });
}

/** Splits credentials out of an RTSP URL; the request URL never carries them. */
export function parseRtspUrl(input: string): {
  url: URL;
  requestUrl: string;
  username: string;
  password: string;
} {
  const m = /^(rtsps?):\/\/(?:([^@/?#]*)@)?([^/?#]+)(.*)$/i.exec(input.trim());
  if (!m) throw mediaError(MediaErrorCode.BAD_URL, `not an rtsp:// or rtsps:// URL: ${redact(input)}`);
  const scheme = m[1]!.toLowerCase();
  const userinfo = m[2] ?? '';
  const rest = m[4] === '' ? '/' : m[4]!;
  let url: URL;
  try {
    url = new URL(`${scheme}://${m[3]!}${rest}`);
  } catch {
    throw mediaError(MediaErrorCode.BAD_URL, `not a valid URL: ${redact(input)}`);
  }
  if (url.hostname === '') throw mediaError(MediaErrorCode.BAD_URL, `no host in ${redact(input)}`);
  const colon = userinfo.indexOf(':');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return {
    url,
    requestUrl: `${scheme}://${m[3]!}${rest}`,
    username: decode(colon < 0 ? userinfo : userinfo.slice(0, colon)),
    password: decode(colon < 0 ? '' : userinfo.slice(colon + 1)),
  };
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@').slice(0, 200);
}
