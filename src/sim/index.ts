/**
 * The camera simulator: RTSP(S) cameras looping committed clips in real time, with Digest
 * authentication, TLS and pluggable hostile behaviours. For the demo, tests and benchmarks only;
 * production code never imports it. See docs/simulator.md.
 */
export {
  CameraSimulator,
  type SimCameraConfig,
  type SimCameraStatus,
  type SimulatorOptions,
} from './server.js';
export {
  CLIP_NAMES,
  MAX_RTP_PAYLOAD,
  clipPath,
  loadClip,
  type Clip,
  type ClipFrame,
  type ClipName,
} from './clip.js';
export {
  changeResolution,
  disconnectEvery,
  dropMidFrame,
  floodRtp,
  lieInSdp,
  oversizedNal,
  stallAfter,
  type CameraBehaviour,
  type FrameAction,
  type FrameContext,
} from './behaviours.js';
export type { StreamSender } from './stream.js';
