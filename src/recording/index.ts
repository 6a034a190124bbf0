/**
 * Recording: the camera inventory, one session per camera (ingest through media/, segments sealed
 * through keys/, written through storage/), the segment index, gaps, the video integrity log, crash
 * recovery, retention and storage-capacity alarms. See docs/recording.md.
 */
export { recordingMigration, type RecordingTables, type SegmentState } from './tables.js';
export { paddingFor } from './boxes.js';
export { RECORDING_ERRORS, recordingError, type RecordingErrorCode } from './errors.js';
export {
  CameraStore,
  CAMERA_ID_PATTERN,
  redactUrl,
  type Camera,
  type CameraChange,
  type NewCamera,
  type RecordingMode,
  type RetentionPolicy,
  type ZoneLookup,
} from './cameras.js';
export { SegmentIndex, type Gap, type Segment } from './segment-index.js';
export { VideoIntegrityLog, VIDEO_LOG_NAME, leafBytes, type IntegrityLeaf } from './integrity.js';
export {
  LiveSubscription,
  DEFAULT_LIVE_BUFFER_BYTES,
  type LiveItem,
  type LiveSubscribeOptions,
} from './live.js';
export { CameraSession, backoffDelay, type CameraHealth, type CameraState } from './session.js';
export { recoverSegments, type RecoveryReport } from './recovery.js';
export { effectivePolicy } from './retention.js';
export {
  Recorder,
  liveRecorderPid,
  type Alarm,
  type RecorderOptions,
  type RecorderStatus,
  type RecordingSettings,
  type StorageState,
} from './recorder.js';
export { checkRecordings, type CheckReport, type CheckProblem } from './check.js';
export { recordingFactSources, type FactSourceLike, type ObservationLike } from './facts.js';
export { openSegment, type OpenedSegment } from './open.js';
export { recordingRoutes, type RecordingRouteDeps } from './routes.js';
