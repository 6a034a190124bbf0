import { httpsRequest } from './https.js';

/** A minimal per-origin cookie jar for following login redirects without a browser. */
export class CookieJar {
  private readonly jars = new Map<string, Map<string, string>>();

  store(origin: string, setCookie: string | string[] | undefined): void {
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    for (const line of [setCookie ?? []].flat()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    this.jars.set(origin, jar);
  }

  header(origin: string): string {
    return [...(this.jars.get(origin) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get(origin: string, name: string): string | undefined {
    return this.jars.get(origin)?.get(name);
  }
}

/**
 * Follows GET redirects (with cookies) until a Location starts with `stopAt`, and returns that URL.
 * Every hop must be a redirect; anything else is an error with the body for diagnosis.
 */
export async function followRedirects(
  start: string,
  stopAt: string,
  jar: CookieJar,
  ca: string,
  maxHops = 20,
): Promise<string> {
  let url = start;
  for (let hop = 0; hop < maxHops; hop++) {
    if (url.startsWith(stopAt)) return url;
    const origin = new URL(url).origin;
    const res = await httpsRequest(url, { ca, headers: { cookie: jar.header(origin) } });
    jar.store(origin, res.headers['set-cookie']);
    const location = res.headers.location;
    if (res.status < 300 || res.status >= 400 || typeof location !== 'string') {
      throw new Error(`expected a redirect from ${url}, got ${res.status}: ${res.body.slice(0, 500)}`);
    }
    url = new URL(location, url).toString();
  }
  throw new Error(`more than ${maxHops} redirects from ${start}`);
}
