import type dgram from 'node:dgram';
import type net from 'node:net';
import { buildSenderReport, interleavedHeader, writeRtpHeader } from '../media/index.js';
import type { CameraBehaviour } from './behaviours.js';
import type { Clip, ClipFrame } from './clip.js';

/** Where a stream's packets go: interleaved on the RTSP connection, or UDP datagrams. */
export type StreamTarget =
  | { kind: 'tcp'; socket: net.Socket; rtpChannel: number; rtcpChannel: number }
  | { kind: 'udp'; socket: dgram.Socket; address: string; rtpPort: number; rtcpPort: number };

/** A camera that writes faster than its client reads drops frames until the next key frame, like real ones. */
const MAX_SOCKET_BACKLOG = 4 * 1024 * 1024;
const SENDER_REPORT_INTERVAL_MS = 5000;

/**
 * One playing session: loops its clip in real time with continuous RTP timestamps and sequence
 * numbers across loops, and sends RTCP sender reports so the client can map media time to wall time.
 */
export class StreamSender {
  readonly ssrc: number;
  sequence: number;
  readonly timestampBase: number;
  private clip: Clip;
  private index = 0;
  /** 90 kHz time of the clip's start in the current loop, relative to the session start. */
  private loopStart = 0;
  private readonly startMs: number;
  private lastReportMs = 0;
  private packets = 0;
  private octets = 0;
  private waitForKey = false;
  private lastTimestamp: number;
  stopped = false;
  /** Frames not sent because the client did not keep up. */
  droppedFrames = 0;
  sentFrames = 0;

  constructor(
    clip: Clip,
    readonly payloadType: number,
    readonly target: StreamTarget,
    readonly behaviours: readonly CameraBehaviour[],
    private readonly onEnd: (reason: 'disconnect') => void,
  ) {
    this.clip = clip;
    this.ssrc = randomU32();
    this.sequence = randomU32() & 0xffff;
    this.timestampBase = randomU32();
    this.lastTimestamp = this.timestampBase;
    this.startMs = Date.now();
  }

  get playingMs(): number {
    return Date.now() - this.startMs;
  }

  get currentClip(): Clip {
    return this.clip;
  }

  /** Switches to another clip at its first (key) frame, keeping the timeline going. */
  switchClip(clip: Clip): void {
    const next = this.nextPts();
    this.clip = clip;
    this.index = 0;
    this.loopStart = next;
    this.switched = true;
  }

  private switched = false;

  /** The first RTP timestamp and sequence number this session sends (for RTP-Info). */
  rtpInfo(): { seq: number; rtptime: number } {
    return { seq: this.sequence, rtptime: this.timestampBase >>> 0 };
  }

  /** Sends every frame that is due; called by the scheduler tick. */
  tick(now: number): void {
    while (!this.stopped) {
      const frame = this.clip.frames[this.index]!;
      const pts = this.loopStart + frame.pts;
      if (this.startMs + pts / 90 > now) break;
      this.sendFrame(frame, pts, now);
      if (this.switched) this.switched = false;
      else this.advance();
    }
  }

  private nextPts(): number {
    const frame = this.clip.frames[this.index];
    return frame === undefined ? this.loopStart + this.clip.duration : this.loopStart + frame.pts;
  }

  private advance(): void {
    this.index++;
    if (this.index >= this.clip.frames.length) {
      this.index = 0;
      this.loopStart += this.clip.duration;
    }
  }

  private sendFrame(frame: ClipFrame, pts: number, now: number): void {
    const timestamp = (this.timestampBase + pts) >>> 0;
    this.lastTimestamp = timestamp;
    let payloads = frame.payloads;
    for (const b of this.behaviours) {
      const action = b.beforeFrame?.({ sender: this, frame, timestamp, playingMs: now - this.startMs });
      if (action === undefined || action === 'send') continue;
      if (action === 'skip') return;
      if (action === 'disconnect') {
        this.stop();
        this.onEnd('disconnect');
        return;
      }
      payloads = action.payloads;
      if (action.thenDisconnect === true) {
        this.sendPayloads(payloads, timestamp, false);
        this.stop();
        this.onEnd('disconnect');
        return;
      }
    }
    if (this.backlog() > MAX_SOCKET_BACKLOG) {
      this.droppedFrames++;
      this.waitForKey = true;
      return;
    }
    if (this.waitForKey && !frame.key) {
      this.droppedFrames++;
      return;
    }
    this.waitForKey = false;
    this.sendPayloads(payloads, timestamp, true);
    this.sentFrames++;
    if (now - this.lastReportMs >= SENDER_REPORT_INTERVAL_MS) {
      this.lastReportMs = now;
      this.sendReport(timestamp, this.startMs + pts / 90);
    }
  }

  /** Sends RTP payloads with this session's headers; `marker` on the last one ends the access unit. */
  sendPayloads(payloads: readonly Buffer[], timestamp = this.lastTimestamp, marker = true): void {
    if (this.stopped || payloads.length === 0) return;
    const tcp = this.target.kind === 'tcp';
    const prefix = tcp ? 4 : 0;
    let total = 0;
    for (const p of payloads) total += prefix + 12 + p.length;
    const out = Buffer.allocUnsafe(total);
    let o = 0;
    const datagrams: Buffer[] = [];
    payloads.forEach((p, i) => {
      const start = o;
      if (this.target.kind === 'tcp') {
        out[o] = 0x24;
        out[o + 1] = this.target.rtpChannel;
        out.writeUInt16BE(12 + p.length, o + 2);
        o += 4;
      }
      writeRtpHeader(out, o, {
        payloadType: this.payloadType,
        marker: marker && i === payloads.length - 1,
        sequence: this.sequence,
        timestamp,
        ssrc: this.ssrc,
      });
      this.sequence = (this.sequence + 1) & 0xffff;
      p.copy(out, o + 12);
      o += 12 + p.length;
      if (!tcp) datagrams.push(out.subarray(start, o));
      this.packets++;
      this.octets += p.length;
    });
    this.write(out, datagrams, false);
  }

  private sendReport(rtpTimestamp: number, wallClockMs: number): void {
    const sr = buildSenderReport({
      ssrc: this.ssrc,
      wallClockMs,
      rtpTimestamp,
      packetCount: this.packets,
      octetCount: this.octets,
    });
    if (this.target.kind === 'tcp') {
      this.write(Buffer.concat([interleavedHeader(this.target.rtcpChannel, sr.length), sr]), [], true);
    } else this.write(sr, [sr], true);
  }

  private write(tcpBytes: Buffer, datagrams: Buffer[], rtcp: boolean): void {
    const t = this.target;
    if (t.kind === 'tcp') {
      if (!t.socket.destroyed) t.socket.write(tcpBytes);
      return;
    }
    for (const d of datagrams) t.socket.send(d, rtcp ? t.rtcpPort : t.rtpPort, t.address);
  }

  private backlog(): number {
    return this.target.kind === 'tcp' ? this.target.socket.writableLength : 0;
  }

  stop(): void {
    this.stopped = true;
  }
}

function randomU32(): number {
  return Math.floor(Math.random() * 0x100000000) >>> 0;
}

/** One timer drives every stream of a simulator: hundreds of cameras cost one wake-up per tick. */
export class Scheduler {
  private readonly senders = new Set<StreamSender>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly tickMs = 5) {}

  add(sender: StreamSender): void {
    this.senders.add(sender);
    sender.tick(Date.now());
    this.timer ??= setInterval(() => this.tick(), this.tickMs);
  }

  remove(sender: StreamSender): void {
    sender.stop();
    this.senders.delete(sender);
    if (this.senders.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  get size(): number {
    return this.senders.size;
  }

  private tick(): void {
    const now = Date.now();
    for (const s of this.senders) {
      if (s.stopped) this.senders.delete(s);
      else s.tick(now);
    }
  }

  stop(): void {
    for (const s of this.senders) s.stop();
    this.senders.clear();
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
