import { MediaErrorCode, limitExceeded, mediaError } from './errors.js';
import { H264Nal, h264CodecString, h264NalType, h264ProfileName, parseH264Sps } from './h264.js';
import { H265Nal, h265CodecString, h265NalType, h265ProfileName, parseH265Sps } from './h265.js';
import type { MediaLimits } from './limits.js';
import { sameBuffers, type ParameterSets, type VideoCodec, type VideoInfo } from './video.js';

/** Describes a stream from its parameter sets; throws MEDIA_BITSTREAM_INVALID when the SPS is unusable. */
export function describeVideo(codec: VideoCodec, sets: ParameterSets): VideoInfo {
  const sps = sets.sps[0];
  if (sps === undefined) throw mediaError(MediaErrorCode.BITSTREAM_INVALID, 'no SPS');
  if (codec === 'h264') {
    const p = parseH264Sps(sps);
    return {
      codec,
      width: p.width,
      height: p.height,
      fps: p.fps,
      codecString: h264CodecString(sps),
      profile: h264ProfileName(p.profileIdc),
      parameterSets: sets,
    };
  }
  const p = parseH265Sps(sps);
  return {
    codec,
    width: p.width,
    height: p.height,
    fps: p.fps,
    codecString: h265CodecString(p),
    profile: h265ProfileName(p.profileIdc),
    parameterSets: sets,
  };
}

/** What one frame's NAL units hold once parameter sets and delimiters are taken out. */
export interface ClassifiedFrame {
  nalus: Buffer[];
  key: boolean;
  bytes: number;
}

/**
 * Tracks the parameter sets in force for one stream: starts from the SDP's, takes in-band ones as
 * they come, and says when they change (a camera switching resolution mid-stream).
 */
export class ParameterSetTracker {
  private sets: ParameterSets = { vps: [], sps: [], pps: [] };
  private info: VideoInfo | undefined;
  private dirty = false;
  /** In-band SPS that could not be parsed and were ignored. */
  rejected = 0;

  constructor(
    readonly codec: VideoCodec,
    private readonly limits: MediaLimits,
    initial?: ParameterSets,
  ) {
    if (initial !== undefined) {
      this.sets = {
        vps: initial.vps.slice(0, 1),
        sps: initial.sps.slice(0, 1),
        pps: initial.pps.slice(0, 1),
      };
      this.dirty = true;
    }
  }

  /**
   * Takes parameter sets and delimiters out of a frame (they live in `video`), remembers the newest
   * of each kind, and classifies the frame.
   */
  classify(nalus: readonly Buffer[]): ClassifiedFrame {
    const kept: Buffer[] = [];
    let key = false;
    let bytes = 0;
    for (const nal of nalus) {
      if (this.codec === 'h264') {
        const type = h264NalType(nal);
        if (type === H264Nal.SPS) this.update('sps', nal);
        else if (type === H264Nal.PPS) this.update('pps', nal);
        else if (type === H264Nal.AUD) continue;
        else {
          if (type === H264Nal.IDR) key = true;
          kept.push(nal);
          bytes += nal.length;
        }
      } else {
        const type = h265NalType(nal);
        if (type === H265Nal.VPS) this.update('vps', nal);
        else if (type === H265Nal.SPS) this.update('sps', nal);
        else if (type === H265Nal.PPS) this.update('pps', nal);
        else if (type === H265Nal.AUD) continue;
        else {
          if (type >= H265Nal.IRAP_FIRST && type <= H265Nal.IRAP_LAST) key = true;
          kept.push(nal);
          bytes += nal.length;
        }
      }
    }
    return { nalus: kept, key, bytes };
  }

  /**
   * The stream description in force, recomputed when a parameter set changed; undefined while the
   * camera has not sent the ones needed (then frames cannot be decoded and are skipped).
   */
  current(): { info: VideoInfo | undefined; changed: boolean } {
    if (!this.dirty) return { info: this.info, changed: false };
    const complete =
      this.sets.sps.length > 0 &&
      this.sets.pps.length > 0 &&
      (this.codec === 'h264' || this.sets.vps.length > 0);
    if (!complete) return { info: undefined, changed: false };
    this.dirty = false;
    const previous = this.info;
    this.info = describeVideo(this.codec, {
      vps: [...this.sets.vps],
      sps: [...this.sets.sps],
      pps: [...this.sets.pps],
    });
    const changed =
      previous === undefined ||
      !sameBuffers(previous.parameterSets.sps, this.info.parameterSets.sps) ||
      !sameBuffers(previous.parameterSets.pps, this.info.parameterSets.pps) ||
      !sameBuffers(previous.parameterSets.vps, this.info.parameterSets.vps);
    return { info: this.info, changed };
  }

  private update(kind: keyof ParameterSets, nal: Buffer): void {
    if (nal.length > this.limits.maxParameterSetBytes) {
      throw limitExceeded('maxParameterSetBytes', nal.length, this.limits.maxParameterSetBytes);
    }
    const now = this.sets[kind];
    if (now.length === 1 && now[0]!.equals(nal)) return;
    if (kind === 'sps') {
      // A damaged or forged SPS must not replace a good one: the stream keeps its last valid one.
      try {
        if (this.codec === 'h264') parseH264Sps(nal);
        else parseH265Sps(nal);
      } catch {
        this.rejected++;
        return;
      }
    }
    // Copy: the NAL unit may be a view into a large receive buffer we must not pin.
    this.sets[kind] = [Buffer.from(nal)];
    this.dirty = true;
  }
}
