import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { Secret, TOTP } from 'otpauth';
import { PalisadeError } from '../errors/index.js';
import type { SecretBox } from './secret-box.js';
import type { IdentityTables } from './tables.js';

const PERIOD = 30;
const DIGITS = 6;
/** Accept the previous and next 30-second step too: clocks on phones drift. */
const WINDOW = 1;

/** `replayed`: a valid code for a time step already used (or older). */
export type TotpResult = 'ok' | 'invalid' | 'replayed' | 'not-enrolled';

export interface TotpEnrolment {
  /** Base32 secret, shown to the user once. */
  secret: string;
  /** otpauth:// URI for authenticator apps (QR code). */
  uri: string;
}

/**
 * TOTP second factor (RFC 6238: HMAC-SHA-1, 6 digits, 30 s). A code is accepted at most once: the last
 * accepted time step is stored and a code for that step or an earlier one is refused as a replay, even
 * inside the validity window (the update is conditional, so two racing requests cannot both win).
 */
export class TotpFactor {
  constructor(
    private readonly db: Kysely<IdentityTables>,
    private readonly box: SecretBox,
    private readonly issuer: string,
  ) {}

  private label(userId: string): string {
    return `totp:${userId}`;
  }

  /** Starts (or restarts) enrolment; the factor counts only after `confirm`. */
  async begin(userId: string, accountName: string): Promise<TotpEnrolment> {
    const secret = new Secret({ buffer: randomBytes(20).buffer });
    const existing = await this.db
      .selectFrom('totp_credential')
      .selectAll()
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (existing?.confirmed === 1) {
      throw new PalisadeError(
        'MFA_ALREADY_ENROLLED',
        'a TOTP authenticator is already enrolled; remove it first',
        { status: 409 },
      );
    }
    if (existing) {
      // An enrolment begun and never confirmed is replaced, and its secret destroyed.
      await this.db.deleteFrom('totp_credential').where('user_id', '=', userId).execute();
      await this.box.discard(existing.secret_sealed);
    }
    const sealed = await this.box.seal(Buffer.from(secret.bytes), this.label(userId));
    await this.db
      .insertInto('totp_credential')
      .values({
        user_id: userId,
        secret_sealed: sealed,
        last_step: 0,
        confirmed: 0,
        created_at: new Date().toISOString(),
      })
      .execute();
    const totp = this.totp(secret, accountName);
    return { secret: secret.base32, uri: totp.toString() };
  }

  async confirm(userId: string, code: string, now = Date.now()): Promise<TotpResult> {
    const result = await this.check(userId, code, now, false);
    if (result === 'ok')
      await this.db
        .updateTable('totp_credential')
        .set({ confirmed: 1 })
        .where('user_id', '=', userId)
        .execute();
    return result;
  }

  async verify(userId: string, code: string, now = Date.now()): Promise<TotpResult> {
    return this.check(userId, code, now, true);
  }

  async isEnrolled(userId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('totp_credential')
      .select('user_id')
      .where('user_id', '=', userId)
      .where('confirmed', '=', 1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async remove(userId: string): Promise<boolean> {
    const row = await this.db
      .deleteFrom('totp_credential')
      .where('user_id', '=', userId)
      .returning('secret_sealed')
      .executeTakeFirst();
    if (row) await this.box.discard(row.secret_sealed);
    return row !== undefined;
  }

  private async check(
    userId: string,
    code: string,
    now: number,
    confirmedOnly: boolean,
  ): Promise<TotpResult> {
    if (!/^\d{6}$/.test(code)) return 'invalid';
    const row = await this.db
      .selectFrom('totp_credential')
      .selectAll()
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!row || (confirmedOnly && row.confirmed !== 1)) return 'not-enrolled';
    const secret = new Secret({
      buffer: new Uint8Array(await this.box.open(row.secret_sealed, this.label(userId))).buffer,
    });
    const delta = this.totp(secret, '').validate({ token: code, timestamp: now, window: WINDOW });
    if (delta === null) return 'invalid';
    const step = Math.floor(now / 1000 / PERIOD) + delta;
    const claimed = await this.db
      .updateTable('totp_credential')
      .set({ last_step: step })
      .where('user_id', '=', userId)
      .where('last_step', '<', step)
      .executeTakeFirst();
    return claimed.numUpdatedRows > 0n ? 'ok' : 'replayed';
  }

  private totp(secret: Secret, label: string): TOTP {
    return new TOTP({
      issuer: this.issuer,
      label,
      algorithm: 'SHA1',
      digits: DIGITS,
      period: PERIOD,
      secret,
    });
  }
}
