/**
 * Every size and count a peer controls is bounded. Defaults fit real cameras with a wide margin (a
 * 4K I-frame is 1–2 MiB) while keeping the worst case per session to a few MiB. docs/media.md lists
 * them; a violation ends the session with RTSP_LIMIT_EXCEEDED naming the limit.
 */
export interface MediaLimits {
  /** Status/request line plus headers of one RTSP message, in bytes. */
  maxHeaderBytes: number;
  /** Header lines in one RTSP message. */
  maxHeaderCount: number;
  /** Body of one RTSP message (an SDP, a GET_PARAMETER reply). */
  maxBodyBytes: number;
  /** SDP description, in bytes (a subset of maxBodyBytes; kept apart for standalone SDP parsing). */
  maxSdpBytes: number;
  /** Lines in one SDP, and media sections in it. */
  maxSdpLines: number;
  maxSdpMedia: number;
  /** One `$`-framed interleaved packet (the wire format allows 65535). */
  maxInterleavedBytes: number;
  /** One NAL unit after FU reassembly. */
  maxNalUnitBytes: number;
  /** One access unit (all its NAL units). */
  maxAccessUnitBytes: number;
  /** NAL units in one access unit (slices, SEI). */
  maxNalUnitsPerAccessUnit: number;
  /** Distinct parameter sets (per kind: VPS, SPS, PPS) one stream may declare. */
  maxParameterSets: number;
  /** One parameter set, in bytes. */
  maxParameterSetBytes: number;
  /** Redirects followed while opening a session. */
  maxRedirects: number;
  /** RTP packets held back to repair reordering (UDP). */
  maxReorderPackets: number;
  /** Access units buffered for a slow consumer before the session pauses reading (TCP) or drops (UDP). */
  maxQueuedAccessUnits: number;
}

export const DEFAULT_LIMITS: Readonly<MediaLimits> = Object.freeze({
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 64,
  maxBodyBytes: 64 * 1024,
  maxSdpBytes: 32 * 1024,
  maxSdpLines: 512,
  maxSdpMedia: 16,
  maxInterleavedBytes: 65535,
  maxNalUnitBytes: 4 * 1024 * 1024,
  maxAccessUnitBytes: 8 * 1024 * 1024,
  maxNalUnitsPerAccessUnit: 512,
  maxParameterSets: 8,
  maxParameterSetBytes: 4096,
  maxRedirects: 3,
  maxReorderPackets: 64,
  maxQueuedAccessUnits: 64,
});

export function resolveLimits(overrides: Partial<MediaLimits> | undefined): MediaLimits {
  return { ...DEFAULT_LIMITS, ...overrides };
}
