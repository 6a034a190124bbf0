import https from 'node:https';
import tls, { type SecureVersion } from 'node:tls';

export interface HttpsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Negotiated TLS protocol, e.g. 'TLSv1.3'. */
  protocol: string | null;
  json<T = unknown>(): T;
}

export interface HttpsOptions {
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** PEM of the server certificate to trust (the server's self-signed one); verification stays on. */
  ca: string;
  maxVersion?: SecureVersion;
  minVersion?: SecureVersion;
}

/** One HTTPS request with certificate verification against `ca`, on a fresh connection. */
export function httpsRequest(url: string, options: HttpsOptions): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = https.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: options.method ?? 'GET',
        headers: options.headers,
        ca: options.ca,
        servername: 'localhost',
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity('localhost', cert),
        maxVersion: options.maxVersion ?? 'TLSv1.3',
        minVersion: options.minVersion ?? 'TLSv1.2',
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            protocol: res.socket instanceof tls.TLSSocket ? res.socket.getProtocol() : null,
            json: <T>() => JSON.parse(body) as T,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Attempts a TLS handshake limited to `maxVersion`; resolves with the error (or null if it succeeded). */
export function tlsHandshake(
  host: string,
  port: number,
  maxVersion: SecureVersion,
  ca: string,
): Promise<Error | null> {
  return new Promise((resolve) => {
    const socket = tls.connect(
      { host, port, maxVersion, minVersion: 'TLSv1', ca, servername: 'localhost' },
      () => {
        socket.end();
        resolve(null);
      },
    );
    socket.on('error', (err: Error) => resolve(err));
  });
}
