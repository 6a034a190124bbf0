import { MediaErrorCode, mediaError } from './errors.js';

/**
 * An RTP packet (RFC 3550 5.1). The payload is `data[payloadStart, payloadEnd)`, a range of the
 * received bytes (no copy, no view object): a camera sends hundreds of packets a second, and the
 * receive path allocates nothing per packet.
 */
export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  data: Buffer;
  payloadStart: number;
  payloadEnd: number;
}

const NO_BYTES = Buffer.alloc(0);

/** A packet to parse into again and again (`parseRtp`'s `into`). */
export function emptyRtpPacket(): RtpPacket {
  return {
    payloadType: 0,
    marker: false,
    sequence: 0,
    timestamp: 0,
    ssrc: 0,
    data: NO_BYTES,
    payloadStart: 0,
    payloadEnd: 0,
  };
}

/**
 * Parses the RTP packet in `data[start, end)` into `into` (a new packet when absent); padding, CSRCs
 * and header extensions are skipped with their lengths checked. A reused `into` is valid until the
 * next parse, and only while `data` is.
 */
export function parseRtp(
  data: Buffer,
  start = 0,
  end = data.length,
  into: RtpPacket = emptyRtpPacket(),
): RtpPacket {
  if (end - start < 12) throw invalidRtp('shorter than the 12-byte header');
  const b0 = data[start]!;
  if (b0 >> 6 !== 2) throw invalidRtp(`version ${b0 >> 6}, expected 2`);
  let offset = start + 12 + (b0 & 0x0f) * 4;
  let payloadEnd = end;
  if ((b0 & 0x10) !== 0) {
    if (offset + 4 > payloadEnd) throw invalidRtp('header extension is truncated');
    offset += 4 + data.readUInt16BE(offset + 2) * 4;
  }
  if ((b0 & 0x20) !== 0) {
    const pad = data[end - 1]!;
    if (pad === 0) throw invalidRtp('padding length 0');
    payloadEnd -= pad;
  }
  if (offset > payloadEnd) throw invalidRtp('headers and padding are longer than the packet');
  const b1 = data[start + 1]!;
  into.payloadType = b1 & 0x7f;
  into.marker = (b1 & 0x80) !== 0;
  into.sequence = data.readUInt16BE(start + 2);
  into.timestamp = data.readUInt32BE(start + 4);
  into.ssrc = data.readUInt32BE(start + 8);
  into.data = data;
  into.payloadStart = offset;
  into.payloadEnd = payloadEnd;
  return into;
}

function invalidRtp(why: string) {
  return mediaError(MediaErrorCode.RTP_INVALID, `malformed RTP packet: ${why}`);
}

/** Writes a 12-byte RTP header (no CSRC, no extension) at `offset` of `out`. */
export function writeRtpHeader(
  out: Buffer,
  offset: number,
  h: { payloadType: number; marker: boolean; sequence: number; timestamp: number; ssrc: number },
): void {
  out[offset] = 0x80;
  out[offset + 1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  out.writeUInt16BE(h.sequence & 0xffff, offset + 2);
  out.writeUInt32BE(h.timestamp >>> 0, offset + 4);
  out.writeUInt32BE(h.ssrc >>> 0, offset + 8);
}

/** An RTCP sender report's timing (RFC 3550 6.4.1): which RTP timestamp was sampled at which wall-clock time. */
export interface SenderReport {
  ssrc: number;
  /** NTP time converted to milliseconds since the Unix epoch. */
  wallClockMs: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** Finds the sender reports in a compound RTCP packet; other packet types are skipped by their length. */
export function parseRtcp(buf: Buffer): SenderReport[] {
  const reports: SenderReport[] = [];
  let o = 0;
  while (o + 4 <= buf.length) {
    if (buf[o]! >> 6 !== 2) throw mediaError(MediaErrorCode.RTP_INVALID, 'malformed RTCP packet: version');
    const pt = buf[o + 1]!;
    const len = (buf.readUInt16BE(o + 2) + 1) * 4;
    if (o + len > buf.length) throw mediaError(MediaErrorCode.RTP_INVALID, 'malformed RTCP packet: length');
    if (pt === 200 && len >= 28) {
      const seconds = buf.readUInt32BE(o + 8);
      const fraction = buf.readUInt32BE(o + 12);
      reports.push({
        ssrc: buf.readUInt32BE(o + 4),
        wallClockMs: (seconds - NTP_UNIX_OFFSET_S) * 1000 + (fraction / 2 ** 32) * 1000,
        rtpTimestamp: buf.readUInt32BE(o + 16),
        packetCount: buf.readUInt32BE(o + 20),
        octetCount: buf.readUInt32BE(o + 24),
      });
    }
    o += len;
  }
  return reports;
}

/** Builds an RTCP sender report with no reception blocks. */
export function buildSenderReport(sr: SenderReport): Buffer {
  const out = Buffer.alloc(28);
  out[0] = 0x80;
  out[1] = 200;
  out.writeUInt16BE(6, 2);
  out.writeUInt32BE(sr.ssrc >>> 0, 4);
  const seconds = Math.floor(sr.wallClockMs / 1000);
  out.writeUInt32BE((seconds + NTP_UNIX_OFFSET_S) >>> 0, 8);
  out.writeUInt32BE(Math.floor(((sr.wallClockMs - seconds * 1000) / 1000) * 2 ** 32) >>> 0, 12);
  out.writeUInt32BE(sr.rtpTimestamp >>> 0, 16);
  out.writeUInt32BE(sr.packetCount >>> 0, 20);
  out.writeUInt32BE(sr.octetCount >>> 0, 24);
  return out;
}

/** Signed distance from sequence number `a` to `b` on the 16-bit circle. */
function seqDelta(a: number, b: number): number {
  const d = (b - a) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}

/** Receives packets in order; `lostBefore`: packets were lost (or skipped after waiting) just before this one. */
export type SequencedOut = (packet: RtpPacket, lostBefore: boolean) => void;

/**
 * Puts packets of one SSRC back in sequence order (RFC 3550 A.1 ideas). Over TCP packets never
 * reorder, so `window` 0 passes them straight through and only detects gaps. Over UDP up to `window`
 * packets are held; when the window is full the missing ones are declared lost. A jump of more than
 * 3000 packets either way is a source restart: tracking starts again from that packet.
 *
 * Only a packet that passes straight through may be one the caller parses into again: with a
 * `window`, give each packet its own object (and bytes), as a held one is delivered later.
 */
export class RtpSequencer {
  private expected: number | undefined;
  private readonly held = new Map<number, RtpPacket>();
  lost = 0;
  late = 0;

  constructor(private readonly window: number) {}

  push(packet: RtpPacket, out: SequencedOut): void {
    if (this.expected === undefined) {
      this.release(packet, false, out);
      return;
    }
    const d = seqDelta(this.expected, packet.sequence);
    if (d === 0) {
      this.release(packet, false, out);
      this.drain(out);
    } else if (d < 0) {
      if (d < -3000) this.restart(packet, out);
      else this.late++; // duplicate or too late: already declared lost
    } else if (d > 3000) {
      this.restart(packet, out);
    } else if (this.window === 0) {
      this.lost += d;
      this.release(packet, true, out);
    } else {
      if (this.held.size < this.window) this.held.set(packet.sequence, packet);
      if (this.held.size >= this.window) this.skipToHeld(out);
    }
  }

  reset(): void {
    this.expected = undefined;
    this.held.clear();
  }

  private restart(packet: RtpPacket, out: SequencedOut): void {
    this.held.clear();
    this.release(packet, true, out);
  }

  private release(packet: RtpPacket, lostBefore: boolean, out: SequencedOut): void {
    this.expected = (packet.sequence + 1) & 0xffff;
    out(packet, lostBefore);
  }

  private drain(out: SequencedOut): void {
    for (;;) {
      const next = this.held.get(this.expected!);
      if (next === undefined) return;
      this.held.delete(this.expected!);
      this.release(next, false, out);
    }
  }

  /** The window is full: give up on the missing packets and continue from the oldest held one. */
  private skipToHeld(out: SequencedOut): void {
    let best: number | undefined;
    for (const seq of this.held.keys()) {
      if (best === undefined || seqDelta(this.expected!, seq) < seqDelta(this.expected!, best)) best = seq;
    }
    const first = this.held.get(best!)!;
    this.held.delete(best!);
    this.lost += seqDelta(this.expected!, best!);
    this.release(first, true, out);
    this.drain(out);
  }
}

/**
 * Extends 32-bit RTP timestamps to a monotonic timeline that survives the wrap (every 13 h at
 * 90 kHz) and source restarts. A jump of more than `maxJump` ticks either way (an SSRC change, a
 * camera reboot, a looping file that resets) is a discontinuity: the timeline continues from the
 * last value plus one nominal frame, so recorded time never runs backwards.
 */
export class TimestampExtender {
  private lastRtp: number | undefined;
  private last = 0;

  constructor(
    private readonly maxJump: number,
    private readonly nominalFrame: number,
  ) {}

  private pendingRebase = false;

  /** Returns the extended timestamp and whether the timeline was re-anchored. */
  extend(rtp: number): { timestamp: number; discontinuity: boolean } {
    if (this.lastRtp === undefined) {
      this.lastRtp = rtp;
      if (!this.pendingRebase) {
        this.last = rtp;
        return { timestamp: rtp, discontinuity: false };
      }
      this.pendingRebase = false;
      this.last += this.nominalFrame;
      return { timestamp: this.last, discontinuity: true };
    }
    const delta = signed32(rtp - this.lastRtp);
    this.lastRtp = rtp;
    if (Math.abs(delta) > this.maxJump) {
      this.last += this.nominalFrame;
      return { timestamp: this.last, discontinuity: true };
    }
    this.last += delta;
    return { timestamp: this.last, discontinuity: false };
  }

  /** The extended value a 32-bit timestamp near the current position maps to, without moving. */
  peek(rtp: number): number | undefined {
    if (this.lastRtp === undefined) return undefined;
    const delta = signed32(rtp - this.lastRtp);
    return Math.abs(delta) > this.maxJump ? undefined : this.last + delta;
  }

  /** Forgets the source (its SSRC changed); the next timestamp continues the timeline one frame later. */
  rebase(): void {
    if (this.lastRtp === undefined) return;
    this.lastRtp = undefined;
    this.pendingRebase = true;
  }
}

function signed32(d: number): number {
  const u = d >>> 0;
  return u >= 0x80000000 ? u - 0x100000000 : u;
}
