import { createPublicKey, hash, verify as verifySignature, type KeyObject } from 'node:crypto';
import { PalisadeError } from '../errors/index.js';
import type { CheckpointSigner } from './signer.js';

/**
 * C2SP signed notes (c2sp.org/signed-note) with Ed25519 signatures:
 *
 *   <text, one or more lines, each ending in "\n">
 *   "\n"
 *   "— " <key name> " " base64(key ID (4 bytes, big-endian) || Ed25519 signature (64 bytes)) "\n"
 *
 * The signature covers the text including its final newline. The key ID is
 * SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]; a verifier key is written
 * `<name>+<key ID, 8 hex digits>+<base64(0x01 || public key)>`.
 */

export const ED25519_TYPE = 0x01;
/** Checkpoint notes are a few hundred bytes; the bound leaves room for many cosignatures. */
export const MAX_NOTE_BYTES = 64 * 1024;
/** C2SP requires accepting at least 16; more than 100 is refused as the reference verifiers do. */
export const MAX_SIGNATURES = 100;
const SIGNATURE_PREFIX = '\u2014 ';

export interface VerifierKey {
  name: string;
  keyId: number;
  publicKey: Buffer;
  /** The `name+id+key` text form. */
  text: string;
}

export interface NoteSignature {
  name: string;
  keyId: number;
  signature: Buffer;
}

function noteInvalid(message: string): PalisadeError {
  return new PalisadeError('NOTE_INVALID', message, { status: 422 });
}

/** Key names must be non-empty and contain neither Unicode spaces nor '+'. */
export function checkKeyName(name: string): void {
  if (name.length === 0 || name.length > 1024 || /[\s+]/u.test(name) || /\p{Cc}/u.test(name)) {
    throw new PalisadeError(
      'NOTE_KEY_INVALID',
      `key name ${JSON.stringify(name.slice(0, 80))} must be non-empty, without spaces, '+' or control characters`,
      { status: 400 },
    );
  }
}

export function keyIdOf(name: string, publicKey: Uint8Array): number {
  const digest = hash(
    'sha256',
    Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0x0a, ED25519_TYPE]), publicKey]),
    'buffer',
  );
  return digest.readUInt32BE(0);
}

export function verifierKeyOf(name: string, publicKey: Uint8Array): VerifierKey {
  checkKeyName(name);
  if (publicKey.length !== 32) {
    throw new PalisadeError('NOTE_KEY_INVALID', `an Ed25519 public key is 32 bytes, got ${publicKey.length}`);
  }
  const keyId = keyIdOf(name, publicKey);
  const encoded = Buffer.concat([Buffer.from([ED25519_TYPE]), publicKey]).toString('base64');
  return {
    name,
    keyId,
    publicKey: Buffer.from(publicKey),
    text: `${name}+${hex8(keyId)}+${encoded}`,
  };
}

/** Parses `name+id+base64key`, checking that the id matches the key (a typo or swap is caught here). */
export function parseVerifierKey(text: string): VerifierKey {
  const trimmed = text.trim();
  const bad = (why: string) =>
    new PalisadeError('NOTE_KEY_INVALID', `verifier key ${JSON.stringify(trimmed.slice(0, 120))}: ${why}`, {
      status: 400,
    });
  if (trimmed.length > 2048) throw bad('too long');
  // Names cannot contain '+', but the base64 key can: split at the first two.
  const first = trimmed.indexOf('+');
  const second = trimmed.indexOf('+', first + 1);
  if (first <= 0 || second < 0) throw bad('expected <name>+<key id>+<base64 key>');
  const [name, id, b64] = [
    trimmed.slice(0, first),
    trimmed.slice(first + 1, second),
    trimmed.slice(second + 1),
  ];
  if (!/^[0-9a-f]{8}$/.test(id)) throw bad('the key id must be 8 lower-case hex digits');
  const raw = strictBase64(b64);
  if (raw === undefined) throw bad('the key is not canonical base64');
  if (raw.length !== 33 || raw[0] !== ED25519_TYPE)
    throw bad('only Ed25519 keys (type 0x01, 32 bytes) are supported');
  const key = verifierKeyOf(name, raw.subarray(1));
  if (hex8(key.keyId) !== id)
    throw bad(`the key id ${id} does not match the key (expected ${hex8(key.keyId)})`);
  return key;
}

/** Signs `text` (which must end in a newline) and returns the complete note. */
export async function signNote(text: string, signer: CheckpointSigner): Promise<string> {
  checkNoteText(text);
  const key = verifierKeyOf(signer.name, signer.publicKey);
  const signature = await signer.sign(Buffer.from(text, 'utf8'));
  if (signature.length !== 64) {
    throw new PalisadeError('NOTE_SIGNER_FAILED', `the signer returned ${signature.length} bytes, not 64`);
  }
  const id = Buffer.alloc(4);
  id.writeUInt32BE(key.keyId);
  const note = `${text}\n${SIGNATURE_PREFIX}${key.name} ${Buffer.concat([id, signature]).toString('base64')}\n`;
  // Never hand out a note we would not accept ourselves (a faulty signer is caught here, not by auditors).
  verifyNote(note, [key]);
  return note;
}

function checkNoteText(text: string): void {
  if (!text.endsWith('\n')) throw noteInvalid('the note text must end with a newline');
  if (text.includes('\n\n') || text.startsWith('\n'))
    throw noteInvalid('the note text must not contain empty lines');
  if (hasControlCharacter(text)) throw noteInvalid('the note text contains control characters');
}

/** ASCII control characters other than newline are not allowed anywhere in a note. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

/** Splits a note into text and signature lines, enforcing the format and the size limits. */
export function parseNote(note: string): { text: string; signatures: NoteSignature[] } {
  if (Buffer.byteLength(note, 'utf8') > MAX_NOTE_BYTES) {
    throw noteInvalid(`the note is larger than ${MAX_NOTE_BYTES} bytes`);
  }
  if (/\p{Cs}/u.test(note)) throw noteInvalid('the note is not valid UTF-8');
  if (hasControlCharacter(note)) throw noteInvalid('the note contains control characters');
  if (!note.endsWith('\n')) throw noteInvalid('the note must end with a newline');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw noteInvalid('the note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw noteInvalid(`the note has more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line) => {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw noteInvalid('a signature line must start with "— "');
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.lastIndexOf(' ');
    if (space <= 0) throw noteInvalid('a signature line needs a key name and a signature');
    const name = rest.slice(0, space);
    try {
      checkKeyName(name);
    } catch {
      throw noteInvalid(`bad key name in signature line: ${JSON.stringify(name.slice(0, 80))}`);
    }
    const raw = strictBase64(rest.slice(space + 1));
    if (raw === undefined || raw.length < 5)
      throw noteInvalid('a signature is not canonical base64 of at least 5 bytes');
    return { name, keyId: raw.readUInt32BE(0), signature: raw.subarray(4) };
  });
  return { text, signatures };
}

/**
 * Verifies a note against trusted keys: signatures by unknown keys are ignored, a signature by a known
 * key that fails rejects the note, and at least one known key must have signed. Returns the text.
 */
export function verifyNote(note: string, keys: readonly VerifierKey[]): { text: string; key: VerifierKey } {
  const { text, signatures } = parseNote(note);
  let verifiedBy: VerifierKey | undefined;
  for (const sig of signatures) {
    const key = keys.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!key) continue;
    const ok =
      sig.signature.length === 64 &&
      verifySignature(null, Buffer.from(text, 'utf8'), publicKeyObject(key), sig.signature);
    if (!ok) {
      throw new PalisadeError(
        'NOTE_SIGNATURE_INVALID',
        `the signature by ${key.name} (${hex8(key.keyId)}) does not verify`,
        {
          status: 422,
        },
      );
    }
    verifiedBy ??= key;
  }
  if (!verifiedBy) {
    const names = signatures.map((s) => `${s.name} (${hex8(s.keyId)})`).join(', ');
    throw new PalisadeError(
      'NOTE_SIGNATURE_INVALID',
      `no signature by a trusted key; the note is signed by ${names || 'nobody'}`,
      { status: 422 },
    );
  }
  return { text, key: verifiedBy };
}

const keyObjects = new WeakMap<VerifierKey, KeyObject>();

function publicKeyObject(key: VerifierKey): KeyObject {
  let object = keyObjects.get(key);
  if (!object) {
    object = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: key.publicKey.toString('base64url') },
      format: 'jwk',
    });
    keyObjects.set(key, object);
  }
  return object;
}

/** Decodes standard padded base64, refusing anything that does not re-encode to the same text. */
export function strictBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const raw = Buffer.from(text, 'base64');
  return raw.toString('base64') === text ? raw : undefined;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}
