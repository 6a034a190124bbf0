import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { IdentityTables } from './tables.js';

const COUNT = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/**
 * One-time recovery codes for a lost second factor. Each has ~60 bits of entropy, so an unsalted
 * SHA-256 is enough to store it (guessing is bounded by the login throttle, not by the hash).
 */
export class RecoveryCodes {
  constructor(private readonly db: Kysely<IdentityTables>) {}

  /** Replaces any previous codes; returns the new ones, shown to the user once. */
  async generate(userId: string): Promise<string[]> {
    const codes = Array.from({ length: COUNT }, () => randomCode());
    await this.db.deleteFrom('recovery_code').where('user_id', '=', userId).execute();
    const now = new Date().toISOString();
    await this.db
      .insertInto('recovery_code')
      .values(
        codes.map((c) => ({
          id: randomUUID(),
          user_id: userId,
          code_hash: digest(normalise(c)),
          created_at: now,
          used_at: null,
        })),
      )
      .execute();
    return codes;
  }

  /** Spends a code; true only the first time a valid code is presented. */
  async use(userId: string, code: string): Promise<boolean> {
    const normalised = normalise(code);
    if (normalised.length > 32) return false;
    const r = await this.db
      .updateTable('recovery_code')
      .set({ used_at: new Date().toISOString() })
      .where('user_id', '=', userId)
      .where('code_hash', '=', digest(normalised))
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  async remaining(userId: string): Promise<number> {
    const rows = await this.db
      .selectFrom('recovery_code')
      .select('id')
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .execute();
    return rows.length;
  }
}

function randomCode(): string {
  const bytes = randomBytes(12);
  const chars = [...bytes].map((b) => ALPHABET[b % ALPHABET.length]!).join('');
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
}

/** Users type codes with or without dashes and spaces, in any case. */
function normalise(code: string): string {
  return code.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function digest(code: string): string {
  return createHash('sha256').update(code).digest('hex');
}
