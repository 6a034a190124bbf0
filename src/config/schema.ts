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

export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({ minLength: 1, default: './data', description: 'where Palisade keeps its state' }),
    http: HttpSchema,
    database: DatabaseSchema,
    log: LogSchema,
    keys: KeysSchema,
  },
  Strict,
);

export type Config = Static<typeof ConfigSchema>;
