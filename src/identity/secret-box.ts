/**
 * How identity keeps secrets it must be able to read back (TOTP shared secrets, the OIDC client
 * secret): sealed under a key held by the key provider. `label` binds the ciphertext to its purpose
 * and owner, so a sealed value copied into another row does not open.
 */
export interface SecretBox {
  seal(plaintext: Buffer, label: string): Promise<string>;
  open(sealed: string, label: string): Promise<Buffer>;
  /** Destroys a sealed value that is no longer needed (a replaced or removed second factor). */
  discard(sealed: string): Promise<void>;
}
