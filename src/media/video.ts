/** What the library knows about a video stream and its frames, shared by depacketizers, the RTSP client and fMP4. */

export type VideoCodec = 'h264' | 'h265';

/** Parameter sets without start codes. `vps` is empty for H.264. */
export interface ParameterSets {
  vps: Buffer[];
  sps: Buffer[];
  pps: Buffer[];
}

/** Facts parsed from the active SPS (and VPS), enough to write an init segment and show the stream. */
export interface VideoInfo {
  codec: VideoCodec;
  /** Display size after cropping. */
  width: number;
  height: number;
  /** Frames per second from the SPS timing info, when the camera declares it. */
  fps: number | undefined;
  /** RFC 6381 codec string for MSE and HLS, e.g. `avc1.640028`, `hvc1.1.6.L120.90`. */
  codecString: string;
  profile: string;
  parameterSets: ParameterSets;
}

/** One frame as it leaves the depacketizer, before timing and parameter tracking. */
export interface RawAccessUnit {
  nalus: Buffer[];
  rtpTimestamp: number;
  /** A fragment or packet of this frame was lost; decoding it would show artefacts. */
  corrupt: boolean;
  /** Packets were lost since the previous access unit (whole frames may be missing before this one). */
  afterLoss: boolean;
  bytes: number;
  /** Says the NAL units will not be read again, so their memory may be reused (see NalSlabs). */
  release: () => void;
}

/** One frame as the RTSP session hands it to its owner. */
export interface AccessUnit {
  codec: VideoCodec;
  /** VCL and SEI NAL units without start codes; parameter sets and delimiters are in `video`. */
  nalus: Buffer[];
  byteLength: number;
  /** IDR (H.264) or IRAP (H.265): decoding can start here. */
  key: boolean;
  /** Presentation time on a 90 kHz clock, extended past the 32-bit RTP wrap and across SSRC changes. */
  timestamp: number;
  /** The RTP timestamp as received. */
  rtpTimestamp: number;
  /** Milliseconds since the Unix epoch, from the camera's RTCP sender reports; undefined until one arrives. */
  wallClock: number | undefined;
  /** Frames were lost, or the source restarted, between the previous access unit and this one. */
  discontinuity: boolean;
  /** The stream parameters in force for this frame. */
  video: VideoInfo;
  /** The parameters differ from the previous frame's (resolution or codec settings changed): start a new init segment. */
  videoChanged: boolean;
  /**
   * Set by an RTSP session with `reuseBuffers`: call it once the NAL units have been copied or are no
   * longer needed, and the session reuses their memory for later frames. A consumer that keeps the
   * NAL units never calls it (the memory then goes to the garbage collector as usual).
   */
  release?: () => void;
}

export function sameBuffers(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  return a.length === b.length && a.every((x, i) => x.equals(b[i]!));
}
