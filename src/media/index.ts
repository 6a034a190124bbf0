/**
 * Palisade's media library: RTSP(S) client, SDP, RTP/RTCP, H.264/H.265 (de)packetizing, fMP4 writing
 * and reading. Pure protocol code: no database, no configuration, no logging. See docs/media.md.
 */
export { MediaErrorCode, mediaError, limitExceeded } from './errors.js';
export { DEFAULT_LIMITS, resolveLimits, type MediaLimits } from './limits.js';
export type { AccessUnit, ParameterSets, RawAccessUnit, VideoCodec, VideoInfo } from './video.js';
export {
  RtspSession,
  parseRtspUrl,
  type RtspSessionOptions,
  type RtspSessionInfo,
  type RtspSessionState,
  type RtspSessionStats,
  type RtspTlsOptions,
} from './rtsp-client.js';
export {
  RtspHeaders,
  RtspReader,
  formatRequest,
  formatResponse,
  interleavedHeader,
  messageSink,
  parseRtpInfo,
  parseSession,
  parseTransport,
  type RtpInfoEntry,
  type RtspMessage,
  type RtspRequest,
  type RtspResponse,
  type RtspSink,
  type TransportSpec,
} from './rtsp-message.js';
export {
  ClientAuthenticator,
  DigestVerifier,
  parseAuthParams,
  parseChallenges,
  type AuthChallenge,
} from './rtsp-auth.js';
export {
  findVideoTrack,
  parseSdp,
  resolveControl,
  writeSdp,
  type SdpMedia,
  type SessionDescription,
  type VideoTrack,
} from './sdp.js';
export {
  RtpSequencer,
  TimestampExtender,
  buildSenderReport,
  emptyRtpPacket,
  parseRtcp,
  parseRtp,
  writeRtpHeader,
  type RtpPacket,
  type SenderReport,
  type SequencedOut,
} from './rtp.js';
export {
  H264Depacketizer,
  H265Depacketizer,
  createDepacketizer,
  type VideoDepacketizer,
} from './depacketizer.js';
export {
  H264Nal,
  buildAvcC,
  h264NalType,
  packetizeH264,
  parseAvcC,
  parseH264Sps,
  type H264Sps,
} from './h264.js';
export {
  H265Nal,
  buildHvcC,
  h265NalType,
  packetizeH265,
  parseH265Sps,
  parseHvcC,
  type H265Sps,
} from './h265.js';
export { ParameterSetTracker, describeVideo } from './video-track.js';
export {
  Fmp4Fragmenter,
  Fmp4Writer,
  VIDEO_TIMESCALE,
  type Fmp4FragmenterOptions,
  type Fmp4Output,
  type Fmp4Sample,
} from './fmp4-writer.js';
export {
  DEFAULT_FMP4_READER_LIMITS,
  Fmp4File,
  type Fmp4FragmentRef,
  type Fmp4ReaderLimits,
  type Fmp4SampleRef,
  type Fmp4Track,
} from './fmp4-reader.js';
