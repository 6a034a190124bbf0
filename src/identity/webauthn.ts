import { randomUUID } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Kysely } from 'kysely';
import { describeError } from '../errors/index.js';
import type { IdentityTables } from './tables.js';

export interface RelyingParty {
  /** The host name the credentials are bound to, e.g. `vms.plant.example` (no scheme, no port). */
  id: string;
  name: string;
  /** The exact origin browsers show, e.g. `https://vms.plant.example:8443`. */
  origin: string;
}

export interface WebAuthnCredentialInfo {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/**
 * WebAuthn second factor (passkeys and security keys). The challenge of each ceremony is stored on the
 * caller's session and consumed by the verification, so a response can be used once and only by the
 * session that asked for it.
 */
export class WebAuthnFactor {
  constructor(
    private readonly db: Kysely<IdentityTables>,
    private readonly rp: RelyingParty,
  ) {}

  async registrationOptions(user: {
    id: string;
    username: string;
    displayName: string;
  }): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const existing = await this.credentials(user.id);
    return generateRegistrationOptions({
      rpName: this.rp.name,
      rpID: this.rp.id,
      userName: user.username,
      userDisplayName: user.displayName,
      userID: new TextEncoder().encode(user.id),
      attestationType: 'none',
      excludeCredentials: existing.map((c) => ({ id: c.id })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
  }

  /** Verifies a registration against the session's challenge and stores the credential. */
  async register(
    userId: string,
    response: unknown,
    challenge: string,
    name: string,
  ): Promise<{ ok: true } | { ok: false; reason: string }> {
    try {
      const result = await verifyRegistrationResponse({
        response: response as RegistrationResponseJSON,
        expectedChallenge: challenge,
        expectedOrigin: this.rp.origin,
        expectedRPID: this.rp.id,
      });
      if (!result.verified) return { ok: false, reason: 'the authenticator response did not verify' };
      const c = result.registrationInfo.credential;
      await this.db
        .insertInto('webauthn_credential')
        .values({
          id: c.id,
          user_id: userId,
          public_key: Buffer.from(c.publicKey).toString('base64'),
          counter: c.counter,
          transports: JSON.stringify(c.transports ?? []),
          name: name.slice(0, 64) || `security key ${randomUUID().slice(0, 8)}`,
          created_at: new Date().toISOString(),
          last_used_at: null,
        })
        .execute();
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: describeError(err) };
    }
  }

  async authenticationOptions(userId: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const creds = await this.rows(userId);
    return generateAuthenticationOptions({
      rpID: this.rp.id,
      userVerification: 'preferred',
      allowCredentials: creds.map((c) => ({
        id: c.id,
        transports: JSON.parse(c.transports) as AuthenticatorTransport[],
      })),
    });
  }

  async verify(
    userId: string,
    response: unknown,
    challenge: string,
  ): Promise<{ ok: true } | { ok: false; reason: string }> {
    const id = (response as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return { ok: false, reason: 'no credential id in the response' };
    const row = await this.db
      .selectFrom('webauthn_credential')
      .selectAll()
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!row) return { ok: false, reason: 'unknown credential for this account' };
    try {
      const result = await verifyAuthenticationResponse({
        response: response as AuthenticationResponseJSON,
        expectedChallenge: challenge,
        expectedOrigin: this.rp.origin,
        expectedRPID: this.rp.id,
        credential: {
          id: row.id,
          publicKey: new Uint8Array(Buffer.from(row.public_key, 'base64')),
          counter: row.counter,
          transports: JSON.parse(row.transports) as AuthenticatorTransport[],
        },
      });
      if (!result.verified) return { ok: false, reason: 'the assertion did not verify' };
      await this.db
        .updateTable('webauthn_credential')
        .set({ counter: result.authenticationInfo.newCounter, last_used_at: new Date().toISOString() })
        .where('id', '=', row.id)
        .execute();
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: describeError(err) };
    }
  }

  async credentials(userId: string): Promise<WebAuthnCredentialInfo[]> {
    const rows = await this.rows(userId);
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at }));
  }

  async remove(userId: string, credentialId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('webauthn_credential')
      .where('user_id', '=', userId)
      .where('id', '=', credentialId)
      .executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  private rows(userId: string) {
    return this.db
      .selectFrom('webauthn_credential')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute();
  }
}
