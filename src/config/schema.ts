import { Type, type Static } from '@sinclair/typebox';

/**
 * The configuration schema. Every key has a default so the embedded setup needs no file; unknown keys
 * are rejected so that a typo never silently falls back to a default.
 */
const Strict = { additionalProperties: false } as const;

export const HttpTlsSchema = Type.Object(
  {
    certFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'PEM certificate chain; omit to use a generated self-signed one',
      }),
    ),
    keyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key for certFile' })),
  },
  Strict,
);

export const HttpSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'address to listen on' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8443, description: '0 picks a free port' }),
    tls: Type.Object(HttpTlsSchema.properties, { ...Strict, default: {} }),
    bodyLimitBytes: Type.Integer({
      minimum: 1024,
      maximum: 64 * 1024 * 1024,
      default: 1024 * 1024,
      description: 'largest request body accepted',
    }),
    publicUrl: Type.Optional(
      Type.String({
        pattern: '^https://[^/]+$',
        description:
          'the origin users type, e.g. https://vms.plant.example:8443; WebAuthn and OIDC redirects are bound to it (default https://localhost:<port>)',
      }),
    ),
    rateLimit: Type.Object(
      {
        max: Type.Integer({
          minimum: 1,
          default: 600,
          description: 'requests per window per client address',
        }),
        windowMs: Type.Integer({ minimum: 1000, default: 60_000 }),
      },
      { ...Strict, default: {} },
    ),
  },
  { ...Strict, default: {} },
);

export const DatabaseSchema = Type.Object(
  {
    url: Type.Optional(
      Type.String({
        pattern: '^(postgres|postgresql|sqlite)://',
        description:
          'postgres://user@host/db, or sqlite:///absolute/path.db; default: SQLite in the data dir',
      }),
    ),
    poolSize: Type.Integer({ minimum: 1, maximum: 200, default: 10, description: 'PostgreSQL connections' }),
  },
  { ...Strict, default: {} },
);

export const LogSchema = Type.Object(
  {
    level: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
  },
  { ...Strict, default: {} },
);

const Seconds = (def: number, min: number, max: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: def, description });

export const IdentitySchema = Type.Object(
  {
    password: Type.Object(
      {
        minLength: Type.Integer({ minimum: 12, maximum: 128, default: 12, description: 'never below 12' }),
        maxLength: Type.Integer({ minimum: 64, maximum: 1024, default: 256 }),
        denyListFile: Type.Optional(
          Type.String({ minLength: 1, description: 'extra refused passwords, one per line' }),
        ),
        maxAgeDays: Type.Optional(
          Type.Integer({
            minimum: 1,
            maximum: 3650,
            description:
              'a human password older than this must be changed at the next sign-in (SR 1.7 RE1); unset: never expires',
          }),
        ),
        historyCount: Type.Integer({
          minimum: 0,
          maximum: 24,
          default: 5,
          description:
            'a new password may not equal any of the last N (the current one included); 0 allows reuse',
        }),
      },
      { ...Strict, default: {} },
    ),
    mfa: Type.Object(
      {
        required: Type.Boolean({
          default: true,
          description:
            'require a second factor for every human account; relax per role only, never globally in production',
        }),
      },
      { ...Strict, default: {} },
    ),
    session: Type.Object(
      {
        idleTimeoutSeconds: Seconds(900, 60, 86_400, 'inactivity before the session locks (SR 2.5)'),
        absoluteLifetimeSeconds: Seconds(43_200, 300, 604_800, 'longest a session lives'),
        maxConcurrent: Type.Integer({
          minimum: 1,
          maximum: 100,
          default: 3,
          description: 'sessions per user (SR 2.7)',
        }),
        onLimit: Type.Union([Type.Literal('evict-oldest'), Type.Literal('reject')], {
          default: 'evict-oldest',
        }),
      },
      { ...Strict, default: {} },
    ),
    lockout: Type.Object(
      {
        accountMaxFailures: Type.Integer({ minimum: 3, maximum: 100, default: 5 }),
        sourceMaxFailures: Type.Integer({ minimum: 3, maximum: 10_000, default: 20 }),
        windowSeconds: Seconds(900, 60, 86_400, 'failures count within this window'),
        lockSeconds: Seconds(900, 1, 86_400, 'first lock; doubles with each further lock'),
        maxLockSeconds: Seconds(86_400, 1, 604_800, 'longest lock'),
      },
      { ...Strict, default: {} },
    ),
    notice: Type.String({
      maxLength: 4000,
      default:
        'This system is for authorised use only. Activity is monitored and recorded. Unauthorised access is prohibited and may be prosecuted.',
      description: 'system use notification shown before sign-in (SR 1.12); empty disables it',
    }),
    tokens: Type.Object(
      { maxLifetimeDays: Type.Integer({ minimum: 1, maximum: 3650, default: 90 }) },
      { ...Strict, default: {} },
    ),
    oidc: Type.Optional(
      Type.Object(
        {
          issuer: Type.String({
            pattern: '^https?://',
            description: 'issuer URL (discovery at /.well-known/openid-configuration)',
          }),
          clientId: Type.String({ minLength: 1 }),
          clientSecretFile: Type.Optional(
            Type.String({ minLength: 1, description: 'file holding the client secret' }),
          ),
          clientSecretEnv: Type.Optional(
            Type.String({ minLength: 1, description: 'environment variable holding the client secret' }),
          ),
          caFile: Type.Optional(
            Type.String({ minLength: 1, description: 'PEM CA bundle to trust for the IdP' }),
          ),
          allowHttp: Type.Boolean({
            default: false,
            description: 'accept a plain-http issuer (loopback testing only)',
          }),
          scopes: Type.String({ default: 'openid profile email' }),
          usernameClaim: Type.String({ default: 'preferred_username' }),
          groupsClaim: Type.String({ default: 'groups' }),
          roleMapping: Type.Array(
            Type.Object(
              {
                group: Type.String({ minLength: 1 }),
                role: Type.String({ minLength: 1 }),
                scope: Type.String({
                  default: 'all',
                  description: 'all, site:<id>, zone:<id> or camera-group:<id>',
                }),
              },
              Strict,
            ),
            { default: [] },
          ),
          mfa: Type.Union([Type.Literal('require-idp'), Type.Literal('idp-or-local')], {
            default: 'require-idp',
            description:
              'require MFA evidence (amr/acr) from the IdP, or accept a Palisade second factor instead',
          }),
          acceptedAmr: Type.Array(Type.String(), {
            default: ['mfa', 'otp', 'hwk', 'swk', 'sc', 'fpt', 'face', 'pin'],
          }),
          acceptedAcr: Type.Array(Type.String(), { default: [] }),
          buttonLabel: Type.String({ default: 'Sign in with single sign-on' }),
        },
        Strict,
      ),
    ),
  },
  { ...Strict, default: {} },
);

export const AccessSchema = Type.Object(
  {
    dualApproval: Type.Object(
      {
        actions: Type.Array(
          Type.Union(
            ['evidence.export', 'recording.delete', 'keys.kek.destroy', 'role.change'].map((a) =>
              Type.Literal(a),
            ),
          ),
          {
            default: ['keys.kek.destroy'],
            description: 'actions that wait for a second authorised person (SR 2.1 RE4)',
          },
        ),
        expirySeconds: Seconds(86_400, 60, 2_592_000, 'a pending request expires after this'),
      },
      { ...Strict, default: {} },
    ),
  },
  { ...Strict, default: {} },
);

export const AuditSchema = Type.Object(
  {
    checkpointIntervalSeconds: Type.Integer({
      minimum: 1,
      maximum: 86_400,
      default: 60,
      description: 'sign a checkpoint of the audit log this often, when it has grown',
    }),
    origin: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        pattern: '^[^\\s+]+$',
        description:
          'checkpoint origin (and key name) of the audit log, fixed once the log exists; default palisade/<instance id>/audit',
      }),
    ),
  },
  { ...Strict, default: {} },
);

const Level = Type.Integer({ minimum: 0, maximum: 4 });

export const ComplianceSchema = Type.Object(
  {
    defaultTarget: Type.Array(Level, {
      minItems: 7,
      maxItems: 7,
      default: [2, 2, 2, 2, 2, 2, 2],
      description: 'SL-T of the default zone, one level 0-4 per FR (FR1..FR7)',
    }),
    gatingOverrides: Type.Record(
      Type.String({ pattern: '^SR [1-7]\\.[0-9]{1,2}( RE[0-9])?$' }),
      Type.Union([Type.Integer({ minimum: 1, maximum: 4 }), Type.Literal('omitted')]),
      {
        default: {},
        additionalProperties: false,
        description: 'the level chosen for a disputed gating cell, e.g. "SR 3.4": 1 (see docs/compliance.md)',
      },
    ),
  },
  { ...Strict, default: {} },
);

const CHUNK_SIZES = [4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304];

export const KeysSchema = Type.Object(
  {
    provider: Type.Union([Type.Literal('local'), Type.Literal('pkcs11')], {
      default: 'local',
      description:
        'where key-encryption keys live: local (a key file, not hardware-backed) or pkcs11 (an HSM)',
    }),
    local: Type.Object(
      {
        file: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'the local key file; default: <dataDir>/keys/local-keys.json',
          }),
        ),
      },
      { ...Strict, default: {} },
    ),
    pkcs11: Type.Object(
      {
        module: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so',
          }),
        ),
        tokenLabel: Type.Optional(
          Type.String({ minLength: 1, maxLength: 32, description: 'label of the token' }),
        ),
        pinFile: Type.Optional(
          Type.String({ minLength: 1, description: 'file holding the user PIN (mode 0600 or 0400)' }),
        ),
        pinEnv: Type.Optional(
          Type.String({
            pattern: '^(?!PALISADE_)[A-Z_][A-Z0-9_]*$',
            description: 'name of an environment variable holding the user PIN (not PALISADE_*)',
          }),
        ),
        sessions: Type.Integer({
          minimum: 1,
          maximum: 32,
          default: 4,
          description: 'sessions opened with the token',
        }),
      },
      { ...Strict, default: {} },
    ),
    chunkSize: Type.Union(
      CHUNK_SIZES.map((n) => Type.Literal(n)),
      { default: 262144, description: 'chunk size of sealed objects: a power of two from 4096 to 4194304' },
    ),
    rewrapBatchSize: Type.Integer({
      minimum: 1,
      maximum: 5000,
      default: 500,
      description: 'data keys re-wrapped per transaction after a rotation',
    }),
    kekMaxAgeDays: Type.Integer({
      minimum: 1,
      maximum: 3650,
      default: 365,
      description: 'a KEK version older than this is reported as due for rotation',
    }),
  },
  { ...Strict, default: {} },
);

export const RecordingSchema = Type.Object(
  {
    storageDir: Type.Optional(
      Type.String({ minLength: 1, description: 'where sealed video is stored; default <dataDir>/video' }),
    ),
    segmentSeconds: Type.Integer({
      minimum: 2,
      maximum: 3600,
      default: 60,
      description: 'segment length: a new segment starts at the first key frame after this many seconds',
    }),
    fragmentMs: Type.Integer({
      minimum: 200,
      maximum: 2000,
      default: 1000,
      description:
        'longest fMP4 fragment; each finished fragment is on disk at once, so this bounds the video a crash can lose',
    }),
    chunkSize: Type.Union(
      [4096, 8192, 16384, 32768, 65536].map((n) => Type.Literal(n)),
      {
        default: 16384,
        description: 'chunk size of sealed segments (each fragment is padded to a chunk boundary)',
      },
    ),
    fsyncIntervalMs: Type.Integer({
      minimum: 0,
      maximum: 10_000,
      default: 1000,
      description: 'fsync an open segment at most this long after a fragment (0: after every fragment)',
    }),
    stallTimeoutMs: Type.Integer({ minimum: 1000, maximum: 120_000, default: 10_000 }),
    readBatchMs: Type.Integer({
      minimum: 0,
      maximum: 500,
      default: 100,
      description:
        'read each camera at most this often, all cameras on one clock, so the recorder wakes once per interval instead of once per packet burst (0: read at once); adds up to this much delay to recorded-fragment live views, none to low-latency ones',
    }),
    reconnect: Type.Object(
      {
        initialDelayMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),
        maxDelayMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),
        failedAfter: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 5,
          description:
            'consecutive failed attempts after which a camera is reported failed (it keeps retrying)',
        }),
      },
      { ...Strict, default: {} },
    ),
    retention: Type.Object(
      {
        maxAgeDays: Type.Number({
          minimum: 0.0001,
          maximum: 36_500,
          default: 30,
          description: 'default for cameras and zones without their own policy',
        }),
        maxBytes: Type.Optional(Type.Integer({ minimum: 1, description: 'default per-camera byte cap' })),
        intervalSeconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 }),
      },
      { ...Strict, default: {} },
    ),
    capacity: Type.Object(
      {
        warnFreeRatio: Type.Number({
          minimum: 0,
          maximum: 0.9,
          default: 0.15,
          description: 'warn (SR 2.9) when the free share of the video storage falls below this',
        }),
        stopFreeRatio: Type.Number({
          minimum: 0,
          maximum: 0.5,
          default: 0.02,
          description: 'stop recording cleanly when the free share falls below this',
        }),
        resumeFreeRatio: Type.Number({
          minimum: 0,
          maximum: 0.9,
          default: 0.05,
          description: 'resume recording once the free share is back above this',
        }),
        checkIntervalMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 5000 }),
      },
      { ...Strict, default: {} },
    ),
  },
  { ...Strict, default: {} },
);

export const PlaybackSchema = Type.Object(
  {
    maxRangeHours: Type.Integer({
      minimum: 1,
      maximum: 24 * 31,
      default: 24,
      description: 'longest time range of one playback (playlist)',
    }),
    maxDownloadMinutes: Type.Integer({
      minimum: 1,
      maximum: 24 * 60,
      default: 360,
      description: 'longest time range of one MP4 download or evidence export',
    }),
    tokenTtlSeconds: Type.Integer({
      minimum: 60,
      maximum: 86_400,
      default: 14_400,
      description: 'how long the media token of a playback stays valid',
    }),
    live: Type.Object(
      {
        maxBufferedBytes: Type.Integer({
          minimum: 65_536,
          maximum: 64 * 1024 * 1024,
          default: 4 * 1024 * 1024,
          description: 'most bytes queued for one live viewer before it skips to the next key frame',
        }),
        recheckSeconds: Type.Integer({
          minimum: 1,
          maximum: 3600,
          default: 30,
          description: "how often a live view re-checks the viewer's session and permission",
        }),
      },
      { ...Strict, default: {} },
    ),
  },
  { ...Strict, default: {} },
);

export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({ minLength: 1, default: './data', description: 'where Palisade keeps its state' }),
    http: HttpSchema,
    database: DatabaseSchema,
    log: LogSchema,
    audit: AuditSchema,
    identity: IdentitySchema,
    access: AccessSchema,
    keys: KeysSchema,
    compliance: ComplianceSchema,
    recording: RecordingSchema,
    playback: PlaybackSchema,
  },
  Strict,
);

export type Config = Static<typeof ConfigSchema>;
