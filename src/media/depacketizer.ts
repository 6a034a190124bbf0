import { limitExceeded } from './errors.js';
import { H264Nal } from './h264.js';
import { H265Nal } from './h265.js';
import type { MediaLimits } from './limits.js';
import { NalSlabs } from './nal-slabs.js';
import type { RtpPacket } from './rtp.js';
import type { RawAccessUnit, VideoCodec } from './video.js';

/**
 * Reassembles access units from RTP payloads. An access unit ends on the marker bit or when the
 * timestamp changes (cameras that forget the marker). A lost fragment drops its NAL unit and marks
 * the frame corrupt; nothing is guessed. Every size a camera controls is checked before it is kept.
 *
 * NAL units are copied out of the payloads as they arrive (into `NalSlabs`), so a payload may be a
 * view into a receive buffer that is overwritten after `push` returns. Each access unit carries the
 * `release` of its memory (see NalSlabs for when memory is recycled).
 */
abstract class Depacketizer {
  private nalus: Buffer[] = [];
  private bytes = 0;
  private timestamp: number | undefined;
  private corrupt = false;
  /** A fragmented NAL unit is being assembled in the slabs. */
  private fragmenting = false;
  private fragmentBytes = 0;
  private lossBefore = false;
  private readonly slabs: NalSlabs;
  /**
   * The reconstructed NAL header of a fragmented unit, reused; its length is the codec's NAL header
   * size (1 byte for H.264, 2 for H.265), the least a payload must hold.
   */
  protected readonly nalHeader: Buffer;

  constructor(
    protected readonly limits: MediaLimits,
    private readonly emit: (au: RawAccessUnit) => void,
    recycle: boolean,
    headerBytes: number,
  ) {
    this.slabs = new NalSlabs(recycle);
    this.nalHeader = Buffer.alloc(headerBytes);
  }

  /**
   * `lostBefore`: packets are missing between the previous packet and this one. The payload is read
   * in place (by offsets, without views) and what is kept is copied before `push` returns.
   */
  push(packet: RtpPacket, lostBefore: boolean): void {
    const { data, payloadStart: start, payloadEnd: end } = packet;
    const newFrame = this.timestamp === undefined || packet.timestamp !== this.timestamp;
    // Lost packets damage the open frame (its middle, or its tail when the timestamp moved on).
    if (lostBefore && this.timestamp !== undefined) this.corrupt = true;
    if (newFrame && this.timestamp !== undefined) this.finish();
    if (lostBefore) {
      this.lossBefore = true;
      this.dropFragment();
      // A new frame is whole only if this packet visibly starts one (parameter sets, delimiter, or
      // the first slice of a picture); otherwise its head may be what was lost.
      if (!newFrame || !this.startsAccessUnit(data, start, end)) this.corrupt = true;
    }
    this.timestamp = packet.timestamp;
    if (end - start < this.nalHeader.length) this.corrupt = true;
    else this.unpack(data, start, end);
    if (packet.marker) this.finish();
  }

  /** Emits the frame in progress (end of stream). */
  flush(): void {
    this.finish();
  }

  /** Whether the payload `p[start, end)` is the first packet of an access unit (used to judge a loss). */
  protected abstract startsAccessUnit(p: Buffer, start: number, end: number): boolean;
  /** Takes the NAL units (or fragment) out of the payload `p[start, end)`, at least a NAL header long. */
  protected abstract unpack(p: Buffer, start: number, end: number): void;

  protected damaged(): void {
    this.corrupt = true;
  }

  /** Aggregation packet body `p[offset, end)`: [16-bit size, NAL unit]*. */
  protected unpackAggregate(p: Buffer, offset: number, end: number): void {
    this.abandonFragment();
    let o = offset;
    while (o + 2 <= end) {
      const len = p.readUInt16BE(o);
      o += 2;
      if (len === 0 || o + len > end) {
        this.corrupt = true;
        return;
      }
      this.add(p, o, o + len);
      o += len;
    }
    if (o !== end) this.corrupt = true;
  }

  /**
   * A fragment of a NAL unit, its body `p[from, to)`; `first` fragments come with the NAL header in
   * `nalHeader`.
   */
  protected fragment(first: boolean, last: boolean, p: Buffer, from: number, to: number): void {
    if (first) {
      this.abandonFragment();
      this.slabs.begin();
      this.slabs.append(this.nalHeader);
      this.fragmenting = true;
      this.fragmentBytes = this.nalHeader.length;
    } else if (!this.fragmenting) {
      this.corrupt = true; // a middle or end whose start was lost
      return;
    }
    this.fragmentBytes += to - from;
    if (this.fragmentBytes > this.limits.maxNalUnitBytes) {
      throw limitExceeded('maxNalUnitBytes', this.fragmentBytes, this.limits.maxNalUnitBytes);
    }
    this.checkAccessUnit(this.bytes + this.fragmentBytes);
    this.slabs.append(p, from, to);
    if (last) {
      this.fragmenting = false;
      this.keep(this.slabs.end());
    }
  }

  /** A payload that is one whole NAL unit, `p[start, end)`. */
  protected single(p: Buffer, start: number, end: number): void {
    this.abandonFragment();
    this.add(p, start, end);
  }

  private abandonFragment(): void {
    if (this.fragmenting) {
      this.dropFragment();
      this.corrupt = true;
    }
  }

  private dropFragment(): void {
    this.fragmenting = false;
    this.slabs.abandon();
  }

  private checkAccessUnit(bytes: number): void {
    if (bytes > this.limits.maxAccessUnitBytes) {
      throw limitExceeded('maxAccessUnitBytes', bytes, this.limits.maxAccessUnitBytes);
    }
  }

  /** A whole NAL unit still in the payload, `p[start, end)`: checked, then copied. */
  private add(p: Buffer, start: number, end: number): void {
    const length = end - start;
    if (length > this.limits.maxNalUnitBytes) {
      throw limitExceeded('maxNalUnitBytes', length, this.limits.maxNalUnitBytes);
    }
    this.checkAccessUnit(this.bytes + length);
    this.keep(this.slabs.copy(p, start, end));
  }

  /** A NAL unit already in the slabs. */
  private keep(nal: Buffer): void {
    if (this.nalus.length >= this.limits.maxNalUnitsPerAccessUnit) {
      throw limitExceeded(
        'maxNalUnitsPerAccessUnit',
        this.nalus.length + 1,
        this.limits.maxNalUnitsPerAccessUnit,
      );
    }
    this.bytes += nal.length;
    this.nalus.push(nal);
  }

  private finish(): void {
    this.abandonFragment();
    const release = this.slabs.seal();
    if (this.timestamp !== undefined && this.nalus.length > 0) {
      this.emit({
        nalus: this.nalus,
        rtpTimestamp: this.timestamp,
        corrupt: this.corrupt,
        afterLoss: this.lossBefore,
        bytes: this.bytes,
        release,
      });
      this.lossBefore = false;
    } else release();
    this.nalus = [];
    this.bytes = 0;
    this.corrupt = false;
    this.timestamp = undefined;
  }
}

/** RFC 6184 non-interleaved mode (packetization-mode 0 and 1): single NAL unit, STAP-A, FU-A. */
export class H264Depacketizer extends Depacketizer {
  constructor(limits: MediaLimits, emit: (au: RawAccessUnit) => void, recycle = false) {
    super(limits, emit, recycle, 1);
  }

  protected startsAccessUnit(p: Buffer, start: number, end: number): boolean {
    const at = (i: number): number | undefined => (start + i < end ? p[start + i] : undefined);
    let type = at(0)! & 0x1f;
    let slice = at(1);
    if (type === H264Nal.STAP_A) {
      type = (at(3) ?? 0) & 0x1f;
      slice = at(4);
    } else if (type === H264Nal.FU_A) {
      if (((at(1) ?? 0) & 0x80) === 0) return false;
      type = at(1)! & 0x1f;
      slice = at(2);
    }
    if (type >= H264Nal.SEI && type <= H264Nal.AUD) return true;
    // first_mb_in_slice is ue(v): a leading 1 bit codes 0, the first slice of a picture.
    return (type === H264Nal.NON_IDR || type === H264Nal.IDR) && slice !== undefined && (slice & 0x80) !== 0;
  }

  protected unpack(p: Buffer, start: number, end: number): void {
    const type = p[start]! & 0x1f;
    if (type >= 1 && type <= 23) this.single(p, start, end);
    else if (type === H264Nal.STAP_A) this.unpackAggregate(p, start + 1, end);
    else if (type === H264Nal.FU_A) {
      if (end - start < 3) return this.damaged();
      const fu = p[start + 1]!;
      const first = (fu & 0x80) !== 0;
      if (first) this.nalHeader[0] = (p[start]! & 0xe0) | (fu & 0x1f);
      this.fragment(first, (fu & 0x40) !== 0, p, start + 2, end);
    } else {
      // STAP-B, MTAP and FU-B belong to interleaved mode, which no camera uses: count as damage.
      this.damaged();
    }
  }
}

/** RFC 7798 without DONL (sprop-max-don-diff 0, as every camera sends): single, AP, FU. */
export class H265Depacketizer extends Depacketizer {
  constructor(limits: MediaLimits, emit: (au: RawAccessUnit) => void, recycle = false) {
    super(limits, emit, recycle, 2);
  }

  protected startsAccessUnit(p: Buffer, start: number, end: number): boolean {
    const at = (i: number): number | undefined => (start + i < end ? p[start + i] : undefined);
    let type = ((at(0) ?? 0) >> 1) & 0x3f;
    let slice = at(2);
    if (type === H265Nal.AP) {
      type = ((at(4) ?? 0) >> 1) & 0x3f;
      slice = at(6);
    } else if (type === H265Nal.FU) {
      if (((at(2) ?? 0) & 0x80) === 0) return false;
      type = at(2)! & 0x3f;
      slice = at(3);
    }
    if ((type >= H265Nal.VPS && type <= H265Nal.AUD) || type === H265Nal.PREFIX_SEI) return true;
    // first_slice_segment_in_pic_flag is the first bit of a VCL slice segment header.
    return type < 32 && slice !== undefined && (slice & 0x80) !== 0;
  }

  protected unpack(p: Buffer, start: number, end: number): void {
    const type = (p[start]! >> 1) & 0x3f;
    if (type < H265Nal.AP) this.single(p, start, end);
    else if (type === H265Nal.AP) this.unpackAggregate(p, start + 2, end);
    else if (type === H265Nal.FU) {
      if (end - start < 4) return this.damaged();
      const fu = p[start + 2]!;
      const first = (fu & 0x80) !== 0;
      if (first) {
        this.nalHeader[0] = (p[start]! & 0x81) | ((fu & 0x3f) << 1);
        this.nalHeader[1] = p[start + 1]!;
      }
      this.fragment(first, (fu & 0x40) !== 0, p, start + 3, end);
    } else {
      this.damaged(); // PACI and reserved types
    }
  }
}

export type VideoDepacketizer = H264Depacketizer | H265Depacketizer;

/**
 * `recycle`: reuse the memory of access units once they are released (see NalSlabs); only for a
 * consumer that copies what it keeps.
 */
export function createDepacketizer(
  codec: VideoCodec,
  limits: MediaLimits,
  emit: (au: RawAccessUnit) => void,
  recycle = false,
): VideoDepacketizer {
  return codec === 'h264'
    ? new H264Depacketizer(limits, emit, recycle)
    : new H265Depacketizer(limits, emit, recycle);
}
