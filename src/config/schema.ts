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

export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({ minLength: 1, default: './data', description: 'where Palisade keeps its state' }),
    http: HttpSchema,
    database: DatabaseSchema,
    log: LogSchema,
    compliance: ComplianceSchema,
  },
  Strict,
);

export type Config = Static<typeof ConfigSchema>;
