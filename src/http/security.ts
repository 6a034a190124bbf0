import { X509Certificate, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls, { type SecureVersion } from 'node:tls';
import type { FastifyInstance, RouteOptions } from 'fastify';

/**
 * What the HTTPS server can say about its own security, observed on the built instance rather than
 * taken from configuration where possible: a TLS handshake against the listening socket, the headers
 * of a real response, the route table as Fastify registered it. The composition root turns this into
 * compliance facts; this file knows nothing about compliance.
 */

export interface ListenerDescription {
  /** `host:port` actually bound, or null when the server is not listening. */
  address: string | null;
  transport: 'tls';
  tls: {
    /** Protocol versions the listener accepts. */
    versions: SecureVersion[];
    /** Versions a client offered and the listener refused (handshake observations only). */
    refusedVersions: SecureVersion[];
    /** The TLS 1.3 suite negotiated in the probe, or null when not observed. */
    cipher: string | null;
    /** `handshake`: observed by connecting; `server-options`: read from the options the server was built with. */
    observedBy: 'handshake' | 'server-options';
  };
  certificate: CertificateDescription;
  privateKey: { storage: 'file' };
}

export interface CertificateDescription {
  subject: string;
  issuer: string;
  selfSigned: boolean;
  keyType: string;
  keyDetail: string;
  /** Comparable strength in bits (NIST SP 800-57 part 1 table 2). */
  securityBits: number;
  notBefore: string;
  notAfter: string;
  fingerprint256: string;
}

export interface RouteInputs {
  method: string;
  url: string;
  /** Inputs the route can receive that have no schema. */
  unvalidated: ('body' | 'querystring' | 'params')[];
}

export interface HttpSecurityDescription {
  observedAt: string;
  listener: ListenerDescription;
  routes: RouteInputs[];
  /** Security headers of a real response to GET /healthz (lower-case names). */
  headers: Record<string, string>;
  limits: {
    bodyLimitBytes: number;
    requestTimeoutMs: number;
    headersTimeoutMs: number;
    keepAliveTimeoutMs: number;
    rateLimit: { max: number; windowMs: number; enforced: boolean };
  };
  errors: { uniformShape: boolean; internalDetailsHidden: boolean };
}

interface BuildRecord {
  certPem: string;
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  rateLimit: { max: number; windowMs: number };
  routes: RouteInputs[];
}

const RECORDS = new WeakMap<FastifyInstance, BuildRecord>();
const VERSIONS: SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const SECURITY_HEADERS = [
  'content-security-policy',
  'strict-transport-security',
  'x-frame-options',
  'x-content-type-options',
  'referrer-policy',
  'cache-control',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
];

/** Called by buildHttpServer before any route exists, so every route lands in the table. */
export function recordBuild(app: FastifyInstance, record: Omit<BuildRecord, 'routes'>): void {
  const routes: RouteInputs[] = [];
  RECORDS.set(app, { ...record, routes });
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const schema = route.schema ?? {};
    for (const method of methods) {
      const m = method.toUpperCase();
      const unvalidated: RouteInputs['unvalidated'] = [];
      if (BODY_METHODS.has(m) && schema.body === undefined) unvalidated.push('body');
      if (schema.querystring === undefined && (schema as { query?: unknown }).query === undefined)
        unvalidated.push('querystring');
      if (/[:*]/.test(route.url) && schema.params === undefined) unvalidated.push('params');
      routes.push({ method: m, url: route.url, unvalidated });
    }
  });
}

/** Describes the server as built (and, when it is listening, as observed over TLS). */
export async function describeHttpSecurity(app: FastifyInstance): Promise<HttpSecurityDescription> {
  const record = RECORDS.get(app);
  if (!record) throw new Error('describeHttpSecurity: this instance was not built by buildHttpServer');
  await app.ready();

  const certificate = describeCertificate(record.certPem);
  const configured = VERSIONS.slice(
    VERSIONS.indexOf(record.minVersion),
    VERSIONS.indexOf(record.maxVersion) + 1,
  );
  let listenerTls: ListenerDescription['tls'] = {
    versions: configured,
    refusedVersions: [],
    cipher: null,
    observedBy: 'server-options',
  };
  let address: string | null = null;
  if (app.server.listening) {
    const bound = app.server.address() as AddressInfo;
    address = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
    listenerTls = await probeTls(bound, certificate.fingerprint256);
  }

  const probe = await app.inject({ method: 'GET', url: '/healthz' });
  const headers: Record<string, string> = {};
  for (const name of SECURITY_HEADERS) {
    const value = probe.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  // Two requests that must fail: an unknown route (404 handler) and a probe with a query parameter
  // /healthz does not take (schema validation, which goes through the error handler). Only the uniform
  // handler answers both with `{ error: { code, message } }`; Fastify's default would not.
  const token = randomBytes(8).toString('hex');
  const notFound = await app.inject({ method: 'GET', url: `/compliance-probe-${token}` });
  const invalid = await app.inject({ method: 'GET', url: `/healthz?compliance-probe=${token}` });
  const notFoundCode = errorCode(notFound.statusCode, notFound.body, 404);
  const invalidCode = errorCode(invalid.statusCode, invalid.body, 400);
  const uniformShape = notFoundCode === 'NOT_FOUND' && invalidCode === 'REQUEST_INVALID';

  // Fastify keeps HEAD routes it derives from GET routes; they take the GET route's schemas.
  const gets = new Set(record.routes.filter((r) => r.method === 'GET').map((r) => r.url));
  const routes = record.routes.filter((r) => !(r.method === 'HEAD' && gets.has(r.url)));

  return {
    observedAt: new Date().toISOString(),
    listener: { address, transport: 'tls', tls: listenerTls, certificate, privateKey: { storage: 'file' } },
    routes,
    headers,
    limits: {
      bodyLimitBytes: app.initialConfig.bodyLimit ?? 0,
      // Read from the Node server itself: these are the timeouts its sockets actually get.
      requestTimeoutMs: app.server.requestTimeout,
      headersTimeoutMs: app.server.headersTimeout,
      keepAliveTimeoutMs: app.server.keepAliveTimeout,
      rateLimit: { ...record.rateLimit, enforced: probe.headers['x-ratelimit-limit'] !== undefined },
    },
    errors: { uniformShape, internalDetailsHidden: invalidCode === 'REQUEST_INVALID' },
  };
}

/** The `error.code` of a response in the uniform shape with the expected status, or null. */
function errorCode(status: number, body: string, expected: number): string | null {
  if (status !== expected) return null;
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    const ok =
      Object.keys(parsed).length === 1 &&
      typeof parsed.error?.code === 'string' &&
      typeof parsed.error.message === 'string' &&
      Object.keys(parsed.error).length === 2;
    return ok ? (parsed.error!.code as string) : null;
  } catch {
    return null;
  }
}

/** Connects to the listener as a TLS 1.3 client and as a TLS 1.2-only client. */
async function probeTls(
  bound: AddressInfo,
  expectedFingerprint: string,
): Promise<ListenerDescription['tls']> {
  const host = bound.address === '0.0.0.0' ? '127.0.0.1' : bound.address === '::' ? '::1' : bound.address;
  const versions: SecureVersion[] = [];
  const refused: SecureVersion[] = [];
  let cipher: string | null = null;
  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    const result = await handshake(host, bound.port, version);
    if (result.ok && result.fingerprint === expectedFingerprint) {
      versions.push(version);
      if (version === 'TLSv1.3') cipher = result.cipher;
    } else refused.push(version);
  }
  return { versions, refusedVersions: refused, cipher, observedBy: 'handshake' };
}

function handshake(
  host: string,
  port: number,
  version: SecureVersion,
): Promise<{ ok: boolean; cipher: string | null; fingerprint: string | null }> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      minVersion: version,
      maxVersion: version,
      servername: 'localhost',
      // The probe checks who answered by the certificate fingerprint, not by the trust store.
      rejectUnauthorized: false,
      timeout: 5000,
    });
    const done = (ok: boolean) => {
      const cert = ok ? socket.getPeerX509Certificate() : undefined;
      const result = {
        ok,
        cipher: ok ? socket.getCipher().standardName : null,
        fingerprint: cert?.fingerprint256 ?? null,
      };
      socket.destroy();
      resolve(result);
    };
    socket.once('secureConnect', () => done(socket.getProtocol() === version));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

export function describeCertificate(certPem: string): CertificateDescription {
  const cert = new X509Certificate(certPem);
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  let keyDetail: string = key.asymmetricKeyType ?? 'unknown';
  let securityBits = 0;
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = details.namedCurve ?? 'unknown';
      keyDetail = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[curve] ?? curve;
      securityBits = { 'P-256': 128, 'P-384': 192, 'P-521': 256 }[keyDetail] ?? 0;
      break;
    }
    case 'rsa':
    case 'rsa-pss': {
      const bits = details.modulusLength ?? 0;
      keyDetail = `RSA ${bits}`;
      securityBits = bits >= 15360 ? 256 : bits >= 7680 ? 192 : bits >= 3072 ? 128 : bits >= 2048 ? 112 : 80;
      break;
    }
    case 'ed25519':
      keyDetail = 'Ed25519';
      securityBits = 128;
      break;
    case 'ed448':
      keyDetail = 'Ed448';
      securityBits = 224;
      break;
    default:
      break;
  }
  return {
    subject: cert.subject.replaceAll('\n', ', '),
    issuer: cert.issuer.replaceAll('\n', ', '),
    // Issuer equal to subject and signed by its own key. (checkIssued would also demand keyCertSign.)
    selfSigned: cert.issuer === cert.subject && cert.verify(key),
    keyType: key.asymmetricKeyType ?? 'unknown',
    keyDetail,
    securityBits,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
  };
}
