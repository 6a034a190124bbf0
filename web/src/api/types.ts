// Shapes of the API answers the console reads (see the OpenAPI document at /api/openapi.json).

export type SessionState = 'active' | 'needs-password-change' | 'needs-mfa' | 'needs-mfa-enrolment';

export interface UserSummary {
  id: string;
  username: string;
  displayName: string;
}

export interface SignInStep {
  state: SessionState;
  csrfToken: string;
  user: UserSummary;
  expiresAt: string;
}

export interface SessionInfo {
  user: UserSummary;
  state: SessionState;
  authMethods: string;
  csrfToken: string;
  expiresAt: string;
  mfaRequired: boolean;
  hasSecondFactor: boolean;
}

export interface AuthConfig {
  notice: string;
  passwordMinLength: number;
  oidc: { enabled: boolean; label: string };
}

export interface MyPermissions {
  userId: string;
  username: string;
  kind: string;
  /** permission -> scopes it is held on */
  permissions: Record<string, string[]>;
  grants: { grantId: string; role: string; scope: string }[];
}

export interface Account {
  id: string;
  username: string;
  displayName: string;
  kind: 'human' | 'service';
  mustChangePassword: boolean;
  disabled: boolean;
  sso: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

export interface Role {
  id: string;
  name: string;
  description: string;
  permissions: string[];
  builtIn: boolean;
  mfaRequired: boolean;
}

export interface Grant {
  id: string;
  userId: string;
  roleId: string;
  scope: string;
  createdAt: string;
  createdBy: string;
}

export interface PermissionInfo {
  id: string;
  description: string;
}

export interface Session {
  id: string;
  userId: string;
  state: SessionState;
  authMethods: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  address: string;
  userAgent: string;
  current: boolean;
}

export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  permissions: string[] | null;
  expiresAt: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface Site {
  id: string;
  name: string;
  description: string;
}

export interface Zone {
  id: string;
  siteId: string;
  name: string;
  description: string;
  /** Target security level per foundational requirement, FR1..FR7 */
  slTarget: number[];
}

export interface AuditEvent {
  v: number;
  time: string;
  action: string;
  outcome: 'success' | 'denied' | 'failure';
  actor: { type: string; id: string; name?: string; auth?: string; address?: string };
  target?: { type: string; id: string; zone?: string };
  reason?: string;
  details?: Record<string, unknown>;
}

export interface AuditPage {
  events: { index: number; event: AuditEvent }[];
  nextCursor?: string;
}

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: string;
  note: string;
  verifierKey: string;
}

export interface VerifyReport {
  ok: boolean;
  log: string;
  origin: string;
  keys: string[];
  entries: number;
  checkpoints: number;
  treeSize: number;
  rootHash: string;
  failure?: { index: number | null; reason: string };
}

export interface PreparedExport {
  id: string;
  treeSize: number;
  rootHash: string;
  entries: number;
  checkpoints: number;
  bytes: number;
  fileName: string;
  download: string;
  expiresAt: string;
}

// ------------------------------------------------------------------ compliance (docs/compliance.md)

export type CheckStatus = 'met' | 'not-met' | 'not-applicable' | 'not-assessed';

export interface Person {
  id: string;
  name: string;
}

export interface Attestation {
  id: string;
  requirement: string;
  zone: string | null;
  verdict: 'met' | 'not-applicable';
  statement: string;
  attestedBy: Person;
  attachments: { name: string; sha256: string; size: number }[];
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

export interface Countermeasure {
  id: string;
  requirement: string;
  zone: string | null;
  description: string;
  recordedBy: Person;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

export interface Fact {
  key: string;
  value: unknown;
  observedAt: string;
  source: string;
  zone?: string;
}

export interface RequirementResult {
  requirement: string;
  fr: number;
  title: string;
  level: number | null;
  kind: 'automated' | 'attestation' | 'pending';
  status: CheckStatus;
  basis: 'observed' | 'attested' | 'compensated' | 'none';
  check: { status: CheckStatus; reason: string; remedy?: string };
  remedy: string | null;
  evidence: Fact[];
  attestation?: Attestation;
  countermeasure?: Countermeasure;
}

export interface GapItem {
  requirement: string;
  title: string;
  level: number;
  status: CheckStatus;
  kind: string;
  reason: string;
  remedy: string;
}

export interface FrGap {
  fr: number;
  code: string;
  achieved: number;
  target: number;
  compensated: boolean;
  next: { level: number; blockers: GapItem[] } | null;
  toTarget: GapItem[];
}

export interface ZoneEvaluation {
  zone: { id: string; siteId: string; name: string; description: string };
  slTarget: number[];
  slAchieved: number[];
  compensated: boolean[];
  results: RequirementResult[];
  gaps: FrGap[];
}

export interface ComplianceResults {
  evaluatedAt: string;
  catalogueVersion: string;
  zones: ZoneEvaluation[];
  facts: { errors: { source: string; message: string }[] };
}

// ------------------------------------------------------------------ keys (docs/keys.md)

export interface KekStatus {
  kekId: string;
  version: number;
  provider: string;
  label: string;
  state: 'active' | 'retired' | 'destroyed';
  createdAt: string;
  retiredAt: string | null;
  destroyedAt: string | null;
  ageDays: number;
  liveDataKeys: number;
}

export interface RewrapJob {
  jobId: string;
  kekId: string;
  targetVersion: number;
  state: 'running' | 'completed' | 'superseded' | 'cancelled';
  total: number;
  done: number;
  failed: number;
  startedAt: string;
  updatedAt: string;
  completedAt: string | null;
}

export interface KeysStatus {
  provider: {
    kind: string;
    hardwareBacked: boolean;
    description: string;
    module?: string;
    tokenLabel?: string;
    manufacturer?: string;
  };
  keks: KekStatus[];
  dataKeys: { live: number; destroyed: number; rewrapErrors: number };
  rewrapJobs: RewrapJob[];
  secrets: number;
  signingKeys: { name: string; provider: string; algorithm: string; publicKey: string; createdAt: string }[];
}

export interface SecretInfo {
  id: string;
  name: string;
  kind: string;
  kekId: string;
  createdAt: string;
}

// ------------------------------------------------------------------ cameras (docs/recording.md)

export type CameraState = 'stopped' | 'starting' | 'recording' | 'reconnecting' | 'failed';

export interface CameraHealth {
  cameraId: string;
  state: CameraState;
  lastError: { code: string; message: string; at: string } | null;
  since: string;
  /** bits per second, over the last few seconds */
  bitrate: number;
  fps: number;
  lastKeyFrameAt: string | null;
  video: { codec: string; width: number; height: number } | null;
  currentSegment: string | null;
  segmentsWritten: number;
  framesRecorded: number;
  reconnects: number;
  attempts: number;
  gaps: number;
  liveSubscribers: number;
  gapSecondsLast24h: number;
}

export interface Camera {
  id: string;
  name: string;
  zoneId: string;
  streamUrl: string;
  transport: 'tcp' | 'udp';
  username: string | null;
  /** Credentials are write-only: the API says only whether a password is stored. */
  hasPassword: boolean;
  tlsFingerprint: string | null;
  recordingMode: 'continuous' | 'off';
  retention: { maxAgeDays: number | null; maxBytes: number | null };
  /** Recorded by ONVIF onboarding (devices/), which is not built yet: absent or null until then. */
  firmware?: string | null;
  createdAt: string;
  updatedAt: string;
  health: CameraHealth;
}

export interface RecorderStatus {
  storage: {
    state: string;
    location: string;
    totalBytes: number;
    availableBytes: number;
    freeRatio: number;
  };
  cameras: { total: number; recording: number; reconnecting: number; failed: number; stopped: number };
  alarms: { code: string; message: string; since: string; cameraId?: string }[];
}

// ------------------------------------------------------------------ playback (docs/playback.md)

export interface PlaybackGop {
  offset: number;
  length: number;
  /** wall clock of the key frame */
  start: string;
  /** seconds */
  duration: number;
}

export interface PlaybackSegment {
  id: string;
  url: string;
  codec: string;
  mime: string;
  width: number;
  height: number;
  init: { offset: number; length: number };
  gops: PlaybackGop[];
}

export interface PlaybackAnswer {
  playback: string;
  camera: string;
  from: string;
  to: string;
  /** The key frame at or before `from`, where playback really starts. */
  startsAt: string;
  expiresAt: string;
  token: string;
  playlist: string;
  /** Stretches that play without a break; a new run follows a gap or a change of stream parameters. */
  runs: { segments: PlaybackSegment[] }[];
}

export type EvidenceState = 'pending-approval' | 'running' | 'ready' | 'failed';

export interface EvidenceExport {
  id: string;
  cameraId: string;
  zoneId: string;
  from: string;
  to: string;
  reason: string;
  caseId: string | null;
  requestedBy: string;
  requestedByName: string | null;
  state: EvidenceState;
  approvalId: string | null;
  size: number | null;
  /** SHA-256 of the signed manifest */
  sha256: string | null;
  error: string | null;
  createdAt: string;
  completedAt: string | null;
}

export interface EvidenceRequested {
  export: EvidenceExport;
  approval?: { id: string; expiresAt: string };
}
