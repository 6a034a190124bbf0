import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { playbackError } from './errors.js';

/**
 * What a playback token grants: the media of one camera within one time range, to one user, until it
 * expires. A playlist request is audited (`video.playback.start`) and hands out a token; media requests
 * must carry it, so every byte of recorded video served belongs to an audited playback. The request
 * guard still decides `video.playback` on every media request: revoking a grant stops playback at once.
 */
export interface PlaybackGrant {
  /** Playback id, as audited. */
  id: string;
  userId: string;
  cameraId: string;
  fromMs: number;
  toMs: number;
  expiresMs: number;
}

const MAX_TOKEN_CHARS = 1024;

/**
 * Stateless tokens, HMAC-SHA-256 under a key that lives only in this process: nothing to store per
 * playback, nothing to grow, and a restart invalidates every token (players fetch a new playlist).
 */
export class PlaybackTokens {
  readonly #key = randomBytes(32);

  issue(grant: PlaybackGrant): string {
    const body = Buffer.from(
      JSON.stringify([grant.id, grant.userId, grant.cameraId, grant.fromMs, grant.toMs, grant.expiresMs]),
    ).toString('base64url');
    return `${body}.${this.#mac(body)}`;
  }

  /** Verifies a token for this user and camera; PLAYBACK_TOKEN_INVALID or _EXPIRED otherwise. */
  check(token: string | undefined, userId: string, cameraId: string, now = Date.now()): PlaybackGrant {
    const bad = () =>
      playbackError(
        'PLAYBACK_TOKEN_INVALID',
        'media requests need the token of a playlist this user fetched',
      );
    if (token === undefined || token.length > MAX_TOKEN_CHARS) throw bad();
    const dot = token.indexOf('.');
    if (dot < 0) throw bad();
    const body = token.slice(0, dot);
    const mac = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.#mac(body), 'base64url');
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) throw bad();
    let fields: unknown;
    try {
      fields = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw bad();
    }
    const [id, uid, cid, fromMs, toMs, expiresMs] = fields as [
      string,
      string,
      string,
      number,
      number,
      number,
    ];
    if (uid !== userId || cid !== cameraId) throw bad();
    if (now >= expiresMs)
      throw playbackError('PLAYBACK_TOKEN_EXPIRED', 'the playback has expired: fetch the playlist again');
    return { id, userId: uid, cameraId: cid, fromMs, toMs, expiresMs };
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest('base64url');
  }
}
