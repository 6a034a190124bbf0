import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { PalisadeError, isPalisadeError } from '../errors/index.js';
import {
  DEFAULT_LIMITS,
  DigestVerifier,
  RtspReader,
  messageSink,
  formatResponse,
  parseTransport,
  writeSdp,
  type RtspRequest,
} from '../media/index.js';
import type { CameraBehaviour } from './behaviours.js';
import { loadClip, type Clip } from './clip.js';
import { Scheduler, StreamSender, type StreamTarget } from './stream.js';

export interface SimCameraConfig {
  /** URL path, e.g. `/cam1`. */
  path: string;
  /** A ClipName, or the path of an fMP4 file. */
  clip: string;
  username: string;
  password: string;
  /** Reachable only on the TLS listener. */
  tls?: boolean;
  /** Hostile behaviours (see behaviours.ts). */
  behaviours?: CameraBehaviour[];
}

export interface SimulatorOptions {
  host?: string;
  /** Plain RTSP port; 0 picks a free one. Omitted when every camera is TLS-only and `port` is undefined. */
  port?: number;
  /** RTSPS port; requires `tls`. */
  tlsPort?: number;
  tls?: { certPem: string; keyPem: string };
  cameras: SimCameraConfig[];
  realm?: string;
  /** Seconds without any bytes from a client before its session is dropped (as cameras do). */
  sessionTimeoutSeconds?: number;
}

export interface SimCameraStatus {
  path: string;
  url: string;
  clip: Clip;
  tls: boolean;
}

const PAYLOAD_TYPE = 96;
const SERVER_NAME = 'Palisade camera simulator';

interface Camera {
  config: SimCameraConfig;
  clip: Clip;
}

interface Session {
  id: string;
  camera: Camera;
  target: StreamTarget | undefined;
  sender: StreamSender | undefined;
}

/**
 * An RTSP(S) server of simulated cameras, built on the media library: one listener (or one plain and
 * one TLS) serves every camera by path, Digest authentication on every stream, one scheduler for all
 * streams. Used by `palisade sim`, the tests and the benchmarks.
 */
export class CameraSimulator {
  private readonly cameras: Camera[];
  private readonly servers: net.Server[] = [];
  private readonly connections = new Set<net.Socket>();
  private readonly scheduler = new Scheduler();
  private readonly digest: DigestVerifier;
  private udp: dgram.Socket | undefined;
  port: number | undefined;
  tlsPort: number | undefined;
  /** Connections and requests seen, for tests and the benchmark. */
  readonly stats = { connections: 0, requests: 0, unauthorized: 0, sessions: 0 };
  /** Every stream sender ever created, per camera path (tests compare what was sent with what was recorded). */
  private readonly senders = new Map<string, StreamSender[]>();

  private constructor(private readonly options: SimulatorOptions) {
    this.digest = new DigestVerifier(options.realm ?? SERVER_NAME);
    this.cameras = options.cameras.map((config) => ({ config, clip: loadClip(config.clip) }));
  }

  static async start(options: SimulatorOptions): Promise<CameraSimulator> {
    for (const c of options.cameras) {
      if (c.username === '' || c.password === '') {
        throw new PalisadeError(
          'SIM_CONFIG_INVALID',
          `camera ${c.path}: a username and a password are required`,
        );
      }
    }
    const sim = new CameraSimulator(options);
    const host = options.host ?? '127.0.0.1';
    const wantsPlain = options.cameras.some((c) => c.tls !== true);
    const wantsTls = options.cameras.some((c) => c.tls === true) || options.tlsPort !== undefined;
    if (wantsTls && options.tls === undefined) {
      throw new PalisadeError('SIM_CONFIG_INVALID', 'TLS cameras need a certificate and key');
    }
    if (wantsPlain) {
      await sim.openUdp(host);
      const server = net.createServer((s) => sim.accept(s, false));
      sim.port = await listen(server, host, options.port ?? 0);
      sim.servers.push(server);
    }
    if (wantsTls) {
      const server = tls.createServer(
        { cert: options.tls!.certPem, key: options.tls!.keyPem, minVersion: 'TLSv1.3' },
        (s) => sim.accept(s, true),
      );
      // A failed handshake is the client's problem, not the simulator's.
      server.on('tlsClientError', () => undefined);
      sim.tlsPort = await listen(server, host, options.tlsPort ?? 0);
      sim.servers.push(server);
    }
    return sim;
  }

  /** Every camera with the URL it answers on (without credentials). */
  cameraList(): SimCameraStatus[] {
    const host = this.options.host ?? '127.0.0.1';
    const h = net.isIPv6(host) ? `[${host}]` : host;
    return this.cameras.map((c) => ({
      path: c.config.path,
      url:
        c.config.tls === true
          ? `rtsps://${h}:${this.tlsPort}${c.config.path}`
          : `rtsp://${h}:${this.port}${c.config.path}`,
      clip: c.clip,
      tls: c.config.tls === true,
    }));
  }

  /** Frames sent to clients of a camera so far, over all its sessions. */
  framesSent(path: string): number {
    return (this.senders.get(path) ?? []).reduce((n, s) => n + s.sentFrames, 0);
  }

  /** Stops sending media on every stream (connections stay open), so what was sent can be counted. */
  pauseAll(): void {
    this.scheduler.stop();
  }

  get playingStreams(): number {
    return this.scheduler.size;
  }

  async close(): Promise<void> {
    this.scheduler.stop();
    for (const s of this.connections) s.destroy();
    this.udp?.close();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  // ---- connections

  private accept(socket: net.Socket, secure: boolean): void {
    this.stats.connections++;
    this.connections.add(socket);
    socket.setNoDelay(true);
    const reader = new RtspReader(DEFAULT_LIMITS);
    const sessions = new Map<string, Session>();
    // Like a camera, drop a client that has sent nothing (no request, no RTCP) for the session
    // timeout. Node's own socket timeout would not do: the media we write counts as activity.
    const timeoutMs = (this.options.sessionTimeoutSeconds ?? 60) * 1000;
    let lastHeard = Date.now();
    const idle = setInterval(
      () => {
        if (Date.now() - lastHeard > timeoutMs) socket.destroy();
      },
      Math.min(5000, timeoutMs),
    );
    idle.unref();
    const end = () => {
      clearInterval(idle);
      this.connections.delete(socket);
      for (const s of sessions.values()) if (s.sender) this.scheduler.remove(s.sender);
      sessions.clear();
    };
    socket.on('close', end);
    socket.on('error', () => socket.destroy());
    const sink = messageSink((item) => {
      if (item.kind === 'request') this.handle(socket, secure, item, sessions);
    });
    socket.on('data', (chunk: Buffer) => {
      lastHeard = Date.now();
      try {
        reader.push(chunk, sink);
      } catch (err) {
        const status = isPalisadeError(err) && err.code === 'RTSP_LIMIT_EXCEEDED' ? 413 : 400;
        socket.end(formatResponse(status, status === 413 ? 'Request Entity Too Large' : 'Bad Request', []));
      }
    });
  }

  private handle(
    socket: net.Socket,
    secure: boolean,
    req: RtspRequest,
    sessions: Map<string, Session>,
  ): void {
    this.stats.requests++;
    const cseq = req.headers.get('cseq')?.trim() ?? '0';
    const reply = (status: number, reason: string, headers: [string, string][] = [], body?: Buffer) => {
      if (!socket.destroyed) {
        socket.write(
          formatResponse(status, reason, [['CSeq', cseq], ['Server', SERVER_NAME], ...headers], body),
        );
      }
    };
    if (req.method === 'OPTIONS') {
      reply(200, 'OK', [
        ['Public', 'OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER'],
      ]);
      return;
    }
    const path = requestPath(req.uri);
    const camera = this.cameras.find((c) => path === c.config.path || path.startsWith(`${c.config.path}/`));
    if (camera === undefined || (camera.config.tls === true) !== secure) {
      reply(404, 'Not Found');
      return;
    }
    const verdict = this.digest.verify(req.method, req.headers.get('authorization'), camera.config);
    if (verdict !== 'ok') {
      this.stats.unauthorized++;
      reply(
        401,
        'Unauthorized',
        this.digest.challenges(verdict === 'stale').map((c): [string, string] => ['WWW-Authenticate', c]),
      );
      return;
    }
    const sessionHeader = req.headers.get('session')?.split(';')[0]?.trim();
    const session = sessionHeader === undefined ? undefined : sessions.get(sessionHeader);
    switch (req.method) {
      case 'DESCRIBE': {
        const base = baseUrl(req.uri, camera.config.path);
        let sdp = writeSdp({
          codec: camera.clip.video.codec,
          parameterSets: camera.clip.video.parameterSets,
          payloadType: PAYLOAD_TYPE,
          control: 'trackID=0',
          sessionName: `${SERVER_NAME} ${camera.config.path}`,
          origin: String(Date.now()),
          width: camera.clip.video.width,
          height: camera.clip.video.height,
          ...(camera.clip.video.fps === undefined ? {} : { fps: camera.clip.video.fps }),
        });
        for (const b of camera.config.behaviours ?? []) if (b.describe) sdp = b.describe(sdp);
        reply(
          200,
          'OK',
          [
            ['Content-Base', `${base}/`],
            ['Content-Type', 'application/sdp'],
          ],
          Buffer.from(sdp),
        );
        return;
      }
      case 'SETUP': {
        if (sessionHeader !== undefined && session === undefined) {
          reply(454, 'Session Not Found');
          return;
        }
        let t;
        try {
          t = parseTransport(req.headers.get('transport') ?? '');
        } catch {
          reply(461, 'Unsupported Transport');
          return;
        }
        const s = session ?? {
          id: randomBytes(8).toString('hex'),
          camera,
          target: undefined,
          sender: undefined,
        };
        let answer: string;
        if (t.lower === 'TCP') {
          const [rtp, rtcp] = t.interleaved ?? [0, 1];
          s.target = { kind: 'tcp', socket, rtpChannel: rtp, rtcpChannel: rtcp };
          answer = `RTP/AVP/TCP;unicast;interleaved=${rtp}-${rtcp}`;
        } else if (t.clientPort !== undefined && socket.remoteAddress !== undefined) {
          if (this.udp === undefined) {
            reply(461, 'Unsupported Transport');
            return;
          }
          s.target = {
            kind: 'udp',
            socket: this.udp,
            address: socket.remoteAddress.replace(/^::ffff:/, ''),
            rtpPort: t.clientPort[0],
            rtcpPort: t.clientPort[1],
          };
          const local = this.udp.address().port;
          answer = `RTP/AVP;unicast;client_port=${t.clientPort[0]}-${t.clientPort[1]};server_port=${local}-${local}`;
        } else {
          reply(461, 'Unsupported Transport');
          return;
        }
        sessions.set(s.id, s);
        this.stats.sessions++;
        reply(200, 'OK', [
          ['Transport', answer],
          ['Session', `${s.id};timeout=${this.options.sessionTimeoutSeconds ?? 60}`],
        ]);
        return;
      }
      case 'PLAY': {
        if (session?.target === undefined) {
          reply(454, 'Session Not Found');
          return;
        }
        if (session.sender === undefined || session.sender.stopped) {
          session.sender = new StreamSender(
            camera.clip,
            PAYLOAD_TYPE,
            session.target,
            camera.config.behaviours ?? [],
            () => socket.destroy(),
          );
          const list = this.senders.get(camera.config.path) ?? [];
          list.push(session.sender);
          this.senders.set(camera.config.path, list);
        }
        const info = session.sender.rtpInfo();
        reply(200, 'OK', [
          ['Session', session.id],
          ['Range', 'npt=now-'],
          [
            'RTP-Info',
            `url=${baseUrl(req.uri, camera.config.path)}/trackID=0;seq=${info.seq};rtptime=${info.rtptime}`,
          ],
        ]);
        this.scheduler.add(session.sender);
        return;
      }
      case 'PAUSE':
      case 'TEARDOWN': {
        if (session === undefined) {
          reply(454, 'Session Not Found');
          return;
        }
        if (session.sender) this.scheduler.remove(session.sender);
        session.sender = undefined;
        if (req.method === 'TEARDOWN') sessions.delete(session.id);
        reply(200, 'OK', [['Session', session.id]]);
        return;
      }
      case 'GET_PARAMETER':
      case 'SET_PARAMETER':
        reply(200, 'OK', session === undefined ? [] : [['Session', session.id]]);
        return;
      default:
        reply(501, 'Not Implemented');
    }
  }

  private async openUdp(host: string): Promise<void> {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // Sending to a client that went away raises ICMP errors; they end nothing here.
    socket.on('error', () => undefined);
    this.udp = socket;
  }
}

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** The path of a request URI (`rtsp://host:port/cam1/trackID=0` -> `/cam1/trackID=0`). */
function requestPath(uri: string): string {
  const m = /^rtsps?:\/\/[^/]+(\/[^?#]*)?/i.exec(uri);
  return m?.[1] ?? (uri.startsWith('/') ? uri : '/');
}

function baseUrl(uri: string, path: string): string {
  const m = /^(rtsps?:\/\/[^/]+)/i.exec(uri);
  return `${m?.[1] ?? ''}${path}`;
}
