import { ApiError } from './errors';

/** Codes that mean "this browser is no longer signed in": the console goes back to the sign-in page. */
const SIGNED_OUT = new Set(['AUTH_REQUIRED', 'SESSION_EXPIRED']);

/** Downloaded bytes held in the page before they are folded into the download's Blob. */
const FOLD_BYTES = 8 * 1024 * 1024;

type Listener = (error: ApiError) => void;

/**
 * The console's one way to the API: same origin, the session cookie, the CSRF header on every
 * state-changing request, and the uniform error shape turned into an ApiError.
 */
class Api {
  #csrf: string | undefined;
  #signedOut: Listener | undefined;

  set csrfToken(token: string | undefined) {
    this.#csrf = token;
  }

  /** Called when a request is refused because the session is gone. */
  onSignedOut(listener: Listener | undefined): void {
    this.#signedOut = listener;
  }

  async request<T>(method: string, path: string, body?: unknown, accept = 'application/json'): Promise<T> {
    const res = await this.#fetch(method, path, body, accept);
    if (res.status === 204) return undefined as T;
    const json = (await res.json()) as T & { csrfToken?: unknown };
    if (typeof json.csrfToken === 'string') this.#csrf = json.csrfToken;
    return json;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }
  delete<T = void>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /** A change that may wait for dual approval: 200 `{result}` or 202 `{approval}`. */
  async change<R = unknown>(method: string, path: string, body?: unknown): Promise<ChangeAnswer<R>> {
    return this.request<ChangeAnswer<R>>(method, path, body);
  }

  /**
   * A long operation answered as NDJSON: `{progress:{done,total}}` lines, then the result line.
   * `onProgress` sees each progress line; the result (or the streamed error) settles the promise.
   */
  async stream<T>(
    path: string,
    onProgress: (done: number, total: number) => void,
    body: unknown = {},
  ): Promise<T> {
    const res = await this.#fetch('POST', path, body, 'application/x-ndjson');
    if (!res.body) throw new ApiError('INTERNAL_ERROR', 'the server sent no answer', res.status);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    let result: T | undefined;
    for (;;) {
      const { value, done } = await reader.read();
      if (value) buffered += value;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === '') continue;
        const parsed = JSON.parse(line) as {
          progress?: { done: number; total: number };
          error?: { code: string; message: string };
        };
        if (parsed.progress) onProgress(parsed.progress.done, parsed.progress.total);
        else if (parsed.error) throw new ApiError(parsed.error.code, parsed.error.message, 500);
        else result = parsed as T;
      }
      if (done) break;
    }
    if (result === undefined) throw new ApiError('INTERNAL_ERROR', 'the answer ended early', 500);
    return result;
  }

  /**
   * A file produced on request (POST), fetched with the session and CSRF header, counted as it arrives,
   * then handed to the browser as a download under the server's file name.
   */
  async download(
    path: string,
    onProgress: (received: number, total: number | undefined) => void,
    body: unknown = {},
  ): Promise<{ fileName: string; bytes: number }> {
    return this.#save(await this.#fetch('POST', path, body, '*/*'), onProgress);
  }

  /** A file the server already has (GET: an evidence package, an MP4 of a range), saved the same way. */
  async save(
    path: string,
    onProgress: (received: number, total: number | undefined) => void,
  ): Promise<{ fileName: string; bytes: number }> {
    return this.#save(await this.#fetch('GET', path, undefined, '*/*'), onProgress);
  }

  async #save(
    res: Response,
    onProgress: (received: number, total: number | undefined) => void,
  ): Promise<{ fileName: string; bytes: number }> {
    const total = Number(res.headers.get('content-length')) || undefined;
    const disposition = res.headers.get('content-disposition') ?? '';
    const fileName = /filename="([^"]+)"/.exec(disposition)?.[1] ?? 'download';
    const type = res.headers.get('content-type') ?? '';
    // Chunks are folded into a Blob every few MiB: the browser keeps blob data out of the script heap
    // (on disk when large), so a long video or a big evidence package does not sit in page memory.
    let blob = new Blob([], { type });
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let received = 0;
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        pending.push(value);
        pendingBytes += value.length;
        received += value.length;
        if (pendingBytes >= FOLD_BYTES) {
          blob = new Blob([blob, ...(pending as BlobPart[])], { type });
          pending = [];
          pendingBytes = 0;
        }
        onProgress(received, total);
      }
    }
    blob = new Blob([blob, ...(pending as BlobPart[])], { type });
    const url = URL.createObjectURL(blob);
    try {
      const a = document.createElement('a');
      a.href = url;
      a.download = fileName;
      document.body.append(a);
      a.click();
      a.remove();
    } finally {
      // Give the browser a moment to start the download before the object URL goes away.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    }
    return { fileName, bytes: received };
  }

  async #fetch(method: string, path: string, body: unknown, accept: string): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && method !== 'HEAD' && this.#csrf) headers['x-csrf-token'] = this.#csrf;
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new ApiError('NETWORK', err instanceof Error ? err.message : 'network error', 0);
    }
    if (res.ok) return res;
    let code = 'INTERNAL_ERROR';
    let message = `the server answered ${res.status}`;
    try {
      const json = (await res.json()) as { error?: { code?: string; message?: string } };
      if (json.error?.code) code = json.error.code;
      if (json.error?.message) message = json.error.message;
    } catch {
      // not the uniform error shape (a proxy in between?): keep the status
    }
    const error = new ApiError(code, message, res.status);
    if (res.status === 401 && SIGNED_OUT.has(code)) this.#signedOut?.(error);
    throw error;
  }
}

export interface ChangeAnswer<R = unknown> {
  result?: R;
  approval?: Approval;
}

export interface Approval {
  id: string;
  action: string;
  summary: string;
  requestedBy: string;
  requestedAt: string;
  expiresAt: string;
  status: 'pending' | 'approved' | 'rejected' | 'expired' | 'failed';
  decidedBy: string | null;
  decidedAt: string | null;
  decisionReason: string | null;
  result: unknown;
}

export const api = new Api();
