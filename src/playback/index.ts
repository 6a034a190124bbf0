/**
 * Playback: live view over WebSocket (fMP4 for Media Source Extensions, straight from the recording
 * session), recorded playback as HLS fMP4 VOD playlists with byte ranges decrypted on the fly, MP4
 * downloads of any range, and court-grade evidence packages with their offline verifier. Every route
 * passes access/ (camera scope) and every playback, download and export is audited before it is served.
 * See docs/playback.md and docs/formats/evidence-package.md.
 */
export { PLAYBACK_ERRORS, playbackError, type PlaybackErrorCode } from './errors.js';
export { playbackMigration, type PlaybackTables, type ExportState } from './tables.js';
export {
  buildTimeline,
  segmentGops,
  initLength,
  type Gop,
  type PlaybackTimeline,
  type TimelineRun,
} from './timeline.js';
export { vodPlaylist } from './hls.js';
export { PlaybackTokens, type PlaybackGrant } from './token.js';
export { Mp4Assembler, chooseFragments, rebaseFragment, type SegmentCut } from './mp4.js';
export {
  PlaybackService,
  DEFAULT_PLAYBACK_SETTINGS,
  parseInstant,
  checkRange,
  type Playback,
  type PlaybackDeps,
  type PlaybackSettings,
} from './service.js';
export {
  serveLive,
  liveFrame,
  LIVE_FLAG,
  LIVE_HEADER_BYTES,
  LIVE_KIND,
  type LiveViewContext,
} from './live.js';
export {
  EvidenceService,
  EVIDENCE_KEY_NAME,
  type EvidenceDeps,
  type EvidenceExport,
  type ExportRequest,
} from './evidence/service.js';
export {
  writeEvidencePackage,
  type PackageInput,
  type PackageOptions,
  type PackageResult,
  type PackageSegment,
  type PackageAuditEntry,
} from './evidence/package.js';
export {
  verifyEvidencePackage,
  type EvidenceProblem,
  type EvidenceProblemCode,
  type EvidenceVerification,
  type EvidenceVerifyOptions,
} from './evidence/verify.js';
export {
  EVIDENCE_FORMAT,
  FILES as EVIDENCE_FILES,
  keyFingerprint,
  type EvidenceManifest,
  type EvidenceSignature,
} from './evidence/manifest.js';
export { ZipReader, ZipWriter, MAX_PACKAGE_BYTES } from './evidence/zip.js';
export { playbackRoutes, type PlaybackRouteDeps } from './routes.js';
