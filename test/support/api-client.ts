import https from 'node:https';
import tls from 'node:tls';
import { Secret, TOTP } from 'otpauth';

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
  /** The body as received, for downloads. */
  bytes: Buffer;
}

/**
 * An HTTPS API client like a browser tab: keeps the session cookie, sends the CSRF token on
 * state-changing requests, trusts only the server's own certificate, and can speak from a chosen
 * loopback source address (127.x.y.z) to act as another machine.
 */
export class ApiClient {
  cookie: string | undefined;
  csrf: string | undefined;
  bearer: string | undefined;
  private readonly agent: https.Agent;

  constructor(
    readonly baseUrl: string,
    readonly ca: string,
    sourceAddress?: string,
  ) {
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 4,
      ca,
      servername: 'localhost',
      checkServerIdentity: (_h, cert) => tls.checkServerIdentity('localhost', cert),
      ...(sourceAddress && { localAddress: sourceAddress }),
    });
  }

  close(): void {
    this.agent.destroy();
  }

  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    const url = new URL(path, this.baseUrl);
    const h: Record<string, string> = { ...headers };
    if (this.cookie) h.cookie = this.cookie;
    if (this.csrf && !['GET', 'HEAD'].includes(method)) h['x-csrf-token'] = this.csrf;
    if (this.bearer) h.authorization = `Bearer ${this.bearer}`;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    if (payload) h['content-type'] = 'application/json';
    return new Promise((resolve, reject) => {
      const req = https.request(url, { method, headers: h, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          for (const line of [res.headers['set-cookie'] ?? []].flat()) {
            const pair = line.split(';')[0]!;
            if (pair.startsWith('__Host-palisade-session=')) {
              this.cookie =
                pair.endsWith('=') || /max-age=0|expires=thu, 01 jan 1970/i.test(line) ? undefined : pair;
            }
          }
          const bytes = Buffer.concat(chunks);
          const text = bytes.toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          const maybe = parsed as { csrfToken?: unknown } | undefined;
          if (maybe && typeof maybe === 'object' && typeof maybe.csrfToken === 'string')
            this.csrf = maybe.csrfToken;
          resolve({ status: res.statusCode ?? 0, body: parsed as T, headers: res.headers, bytes });
        });
      });
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  get<T = unknown>(path: string) {
    return this.request<T>('GET', path);
  }
  post<T = unknown>(path: string, body?: unknown) {
    return this.request<T>('POST', path, body ?? {});
  }
  patch<T = unknown>(path: string, body?: unknown) {
    return this.request<T>('PATCH', path, body ?? {});
  }
  delete<T = unknown>(path: string) {
    return this.request<T>('DELETE', path);
  }
}

export function totpCode(secret: string, time = Date.now()): string {
  return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: time });
}
