import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { bech32Decode, bech32Encode } from './bech32.js';
import { keyError } from './errors.js';

/**
 * Encryption to a recipient in the age v1 format (c2sp.org/age, X25519 recipients only), so that a
 * package handed over to a court, an insurer or another agency opens with the standard `age` tool
 * and the recipient's own key, and with nothing from Palisade. The format is specified in
 * docs/formats/age-encryption.md; this module follows it byte for byte and is tested against the
 * `age` command of Debian in both directions.
 */

const VERSION_LINE = 'age-encryption.org/v1';
const X25519_LABEL = 'age-encryption.org/v1/X25519';
const RECIPIENT_HRP = 'age';
const IDENTITY_HRP = 'AGE-SECRET-KEY-';
const FILE_KEY_BYTES = 16;
const NONCE_BYTES = 16;
const TAG_BYTES = 16;
/** Plaintext bytes per payload chunk (fixed by the format). */
export const AGE_CHUNK_BYTES = 64 * 1024;
const SEALED_CHUNK_BYTES = AGE_CHUNK_BYTES + TAG_BYTES;

/** Bounds on what an encrypted file or an identity file may make us read or try. */
export const AGE_LIMITS = {
  /** Recipients of one file. */
  maxRecipients: 64,
  /** The textual header, version line to MAC line. */
  maxHeaderBytes: 64 * 1024,
  /** Recipient stanzas in a header (each one may cost an X25519 per identity). */
  maxStanzas: 64,
  /** An identity file. */
  maxIdentityFileBytes: 64 * 1024,
} as const;

// DER prefixes that turn a raw 32-byte X25519 key into SPKI / PKCS#8 for node:crypto.
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** An X25519 identity: the secret that opens files encrypted to its recipient. */
export interface AgeIdentity {
  readonly privateKey: KeyObject;
  /** The recipient (public key), raw 32 bytes. */
  readonly publicKey: Buffer;
}

const b64 = (data: Uint8Array) => Buffer.from(data).toString('base64').replace(/=+$/, '');

/** Unpadded, canonical base64 (the format refuses any other spelling of the same bytes). */
function fromB64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*$/.test(text)) return undefined;
  const data = Buffer.from(text, 'base64');
  return b64(data) === text ? data : undefined;
}

function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
}

function seal(key: Buffer, nonce: Buffer, plaintext: Uint8Array): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  const out = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return out;
}

/** ChaCha20-Poly1305 open; undefined when authentication fails. */
function open(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer | undefined {
  if (sealed.length < TAG_BYTES) return undefined;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const plain = d.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    d.final();
  } catch {
    return undefined;
  }
  return plain;
}

const publicKeyObject = (raw: Buffer) =>
  createPublicKey({ key: Buffer.concat([SPKI_X25519, raw]), format: 'der', type: 'spki' });
const rawPublic = (key: KeyObject) =>
  key.export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519.length);

/** X25519; undefined for an all-zero result (a low-order point), which the format says to refuse. */
function x25519(privateKey: KeyObject, publicKey: Buffer): Buffer | undefined {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey: publicKeyObject(publicKey) });
  } catch {
    return undefined;
  }
  return shared.every((b) => b === 0) ? undefined : shared;
}

/** Parses an `age1…` recipient into its raw X25519 public key. */
export function parseAgeRecipient(text: string): Buffer {
  const decoded = bech32Decode(text.trim());
  if (
    !decoded ||
    decoded.hrp !== RECIPIENT_HRP ||
    decoded.data.length !== 32 ||
    text.trim() !== text.trim().toLowerCase()
  )
    throw keyError('AGE_RECIPIENT_INVALID', `not an age X25519 recipient (age1…): ${text.slice(0, 80)}`);
  return decoded.data;
}

/** The `age1…` text of a recipient. */
export function formatAgeRecipient(publicKey: Uint8Array): string {
  return bech32Encode(RECIPIENT_HRP, publicKey);
}

/**
 * The identities in an identity file as `age-keygen` writes it: `#` comment lines, blank lines and one
 * `AGE-SECRET-KEY-1…` per line. Anything else is refused (the error never echoes the file: it holds
 * secrets).
 */
export function parseAgeIdentities(text: string): AgeIdentity[] {
  if (Buffer.byteLength(text) > AGE_LIMITS.maxIdentityFileBytes)
    throw keyError(
      'AGE_IDENTITY_INVALID',
      `an identity file is at most ${AGE_LIMITS.maxIdentityFileBytes} bytes`,
    );
  const identities: AgeIdentity[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const decoded = bech32Decode(line);
    if (
      !decoded ||
      decoded.hrp !== IDENTITY_HRP.toLowerCase() ||
      decoded.data.length !== 32 ||
      line !== line.toUpperCase()
    )
      throw keyError(
        'AGE_IDENTITY_INVALID',
        `line ${i + 1} of the identity file is not an AGE-SECRET-KEY-1… identity`,
      );
    const privateKey = createPrivateKey({
      key: Buffer.concat([PKCS8_X25519, decoded.data]),
      format: 'der',
      type: 'pkcs8',
    });
    identities.push({ privateKey, publicKey: rawPublic(createPublicKey(privateKey)) });
  });
  if (identities.length === 0) throw keyError('AGE_IDENTITY_INVALID', 'the identity file holds no identity');
  return identities;
}

/** The 12-byte payload nonce: 11-byte big-endian chunk counter, then 0x01 for the final chunk. */
function chunkNonce(counter: number, final: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeUIntBE(counter, 5, 6);
  n[11] = final ? 1 : 0;
  return n;
}

/**
 * One encryption: a fresh file key wrapped for each recipient in the header, then the payload in
 * 64 KiB chunks. The header is known before any plaintext, so the size of the result is too.
 */
export class AgeEncryption {
  readonly header: Buffer;
  readonly #fileKey: Buffer;
  #used = false;

  private constructor(header: Buffer, fileKey: Buffer) {
    this.header = header;
    this.#fileKey = fileKey;
  }

  /** Encrypts to every `age1…` recipient given (any one of them can decrypt). */
  static to(recipients: readonly string[]): AgeEncryption {
    if (recipients.length === 0) throw keyError('AGE_RECIPIENT_INVALID', 'at least one recipient is needed');
    if (recipients.length > AGE_LIMITS.maxRecipients)
      throw keyError('AGE_RECIPIENT_INVALID', `at most ${AGE_LIMITS.maxRecipients} recipients`);
    const keys = recipients.map(parseAgeRecipient);
    const fileKey = randomBytes(FILE_KEY_BYTES);
    let text = `${VERSION_LINE}\n`;
    for (const recipient of keys) {
      const ephemeral = generateKeyPairSync('x25519');
      const share = rawPublic(ephemeral.publicKey);
      const shared = x25519(ephemeral.privateKey, recipient);
      if (!shared) throw keyError('AGE_RECIPIENT_INVALID', 'the recipient is a low-order point');
      const wrapKey = hkdf(shared, Buffer.concat([share, recipient]), X25519_LABEL);
      const body = seal(wrapKey, Buffer.alloc(12), fileKey);
      // A 32-byte body is 43 base64 characters: one final line shorter than 64 columns.
      text += `-> X25519 ${b64(share)}\n${b64(body)}\n`;
    }
    text += '---';
    const mac = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header'))
      .update(text)
      .digest();
    return new AgeEncryption(Buffer.from(`${text} ${b64(mac)}\n`, 'latin1'), fileKey);
  }

  /** Bytes of the encrypted file for `plaintextBytes` of input. */
  encryptedSize(plaintextBytes: number): number {
    const chunks = Math.max(1, Math.ceil(plaintextBytes / AGE_CHUNK_BYTES));
    return this.header.length + NONCE_BYTES + plaintextBytes + chunks * TAG_BYTES;
  }

  /** The encrypted file: header, nonce, then each sealed chunk as the plaintext arrives. Once only. */
  async *encrypt(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
    if (this.#used) throw new Error('an AgeEncryption encrypts one file');
    this.#used = true;
    const nonce = randomBytes(NONCE_BYTES);
    const key = hkdf(this.#fileKey, nonce, 'payload');
    yield Buffer.concat([this.header, nonce]);
    // A full chunk is held back until more input shows it is not the last one.
    const pending = Buffer.alloc(AGE_CHUNK_BYTES);
    let fill = 0;
    let counter = 0;
    for await (const piece of source) {
      let off = 0;
      while (off < piece.length) {
        if (fill === AGE_CHUNK_BYTES) {
          // seal() writes a new buffer: the plaintext one is free for the next chunk.
          yield seal(key, chunkNonce(counter++, false), pending);
          fill = 0;
        }
        const n = Math.min(piece.length - off, AGE_CHUNK_BYTES - fill);
        pending.set(piece.subarray(off, off + n), fill);
        fill += n;
        off += n;
      }
    }
    yield seal(key, chunkNonce(counter, true), pending.subarray(0, fill));
  }
}

interface Stanza {
  args: string[];
  body: Buffer;
}

/** Parses the header text (without its MAC line's value), or throws AGE_HEADER_INVALID. */
function parseHeader(text: string): { stanzas: Stanza[]; mac: Buffer; macInput: string } {
  const bad = (why: string) => keyError('AGE_HEADER_INVALID', `the age header is malformed: ${why}`);
  if (!/^[\x20-\x7e\n]*$/.test(text)) throw bad('it holds bytes that are not printable ASCII');
  const lines = text.split('\n');
  if (lines[0] !== VERSION_LINE) throw bad(`it does not start with ${VERSION_LINE}`);
  const stanzas: Stanza[] = [];
  let i = 1;
  let macInputLength = VERSION_LINE.length + 1;
  while (i < lines.length && lines[i]!.startsWith('-> ')) {
    if (stanzas.length >= AGE_LIMITS.maxStanzas)
      throw bad(`more than ${AGE_LIMITS.maxStanzas} recipient stanzas`);
    const args = lines[i]!.slice(3).split(' ');
    if (args.some((a) => a.length === 0)) throw bad(`stanza ${stanzas.length + 1} has an empty argument`);
    macInputLength += lines[i]!.length + 1;
    i++;
    let body = '';
    for (;;) {
      const line = lines[i];
      if (line === undefined) throw bad(`stanza ${stanzas.length + 1} has no body`);
      macInputLength += line.length + 1;
      i++;
      if (line.length > 64)
        throw bad(`a body line of stanza ${stanzas.length + 1} is longer than 64 columns`);
      body += line;
      if (line.length < 64) break;
    }
    const decoded = fromB64(body);
    if (!decoded) throw bad(`stanza ${stanzas.length + 1} has a body that is not canonical base64`);
    stanzas.push({ args, body: decoded });
  }
  if (stanzas.length === 0) throw bad('it has no recipient stanza');
  const last = lines[i];
  if (last === undefined || !last.startsWith('--- ') || i !== lines.length - 1)
    throw bad('no MAC line after the stanzas');
  const mac = fromB64(last.slice(4));
  if (!mac || mac.length !== 32) throw bad('the MAC is not 32 bytes of canonical base64');
  return { stanzas, mac, macInput: text.slice(0, macInputLength + 3) };
}

/** The file key from the first X25519 stanza one of the identities opens. */
function unwrapFileKey(stanzas: Stanza[], identities: readonly AgeIdentity[]): Buffer | undefined {
  for (const s of stanzas) {
    if (s.args[0] !== 'X25519') continue;
    const share = s.args.length === 2 ? fromB64(s.args[1]!) : undefined;
    if (!share || share.length !== 32 || s.body.length !== FILE_KEY_BYTES + TAG_BYTES)
      throw keyError('AGE_HEADER_INVALID', 'the age header has a malformed X25519 stanza');
    for (const id of identities) {
      const shared = x25519(id.privateKey, share);
      if (!shared) continue;
      const wrapKey = hkdf(shared, Buffer.concat([share, id.publicKey]), X25519_LABEL);
      const fileKey = open(wrapKey, Buffer.alloc(12), s.body);
      if (fileKey) return fileKey;
    }
  }
  return undefined;
}

/**
 * Decrypts an age file, yielding plaintext chunk by chunk. Each chunk is authenticated before it is
 * yielded, but a file is only whole once the iteration ends without an error: a consumer writes to a
 * temporary place and keeps the result only then. Errors: AGE_HEADER_INVALID, AGE_NO_IDENTITY_MATCHED,
 * AGE_PAYLOAD_CORRUPT (a modified, reordered or foreign chunk), AGE_TRUNCATED (the end is missing).
 */
export async function* ageDecrypt(
  source: AsyncIterable<Uint8Array>,
  identities: readonly AgeIdentity[],
): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  let buf = Buffer.alloc(0);
  let ended = false;
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const r = await iterator.next();
    if (r.done) {
      ended = true;
      return false;
    }
    buf = buf.length === 0 ? Buffer.from(r.value) : Buffer.concat([buf, r.value]);
    return true;
  };

  // The header ends with the line after "\n--- ".
  let headerEnd = -1;
  for (;;) {
    const mark = buf.indexOf('\n--- ');
    if (mark >= 0) {
      const nl = buf.indexOf(0x0a, mark + 1);
      if (nl >= 0) {
        headerEnd = nl + 1;
        break;
      }
    }
    if (buf.length > AGE_LIMITS.maxHeaderBytes)
      throw keyError(
        'AGE_HEADER_INVALID',
        `the age header is longer than ${AGE_LIMITS.maxHeaderBytes} bytes`,
      );
    if (!(await more()))
      throw keyError(
        buf.length === 0 ? 'AGE_TRUNCATED' : 'AGE_HEADER_INVALID',
        buf.length === 0 ? 'the file is empty' : 'the file is not age-encrypted, or its header is cut short',
      );
  }
  if (headerEnd > AGE_LIMITS.maxHeaderBytes)
    throw keyError('AGE_HEADER_INVALID', `the age header is longer than ${AGE_LIMITS.maxHeaderBytes} bytes`);
  const header = parseHeader(buf.subarray(0, headerEnd - 1).toString('latin1'));
  const fileKey = unwrapFileKey(header.stanzas, identities);
  if (!fileKey)
    throw keyError('AGE_NO_IDENTITY_MATCHED', 'the file is not encrypted to any of the identities given');
  const expected = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header'))
    .update(header.macInput)
    .digest();
  if (!timingSafeEqual(expected, header.mac))
    throw keyError('AGE_HEADER_INVALID', 'the age header was modified (its MAC does not match)');
  buf = buf.subarray(headerEnd);

  while (buf.length < NONCE_BYTES)
    if (!(await more())) throw keyError('AGE_TRUNCATED', 'the payload nonce is missing');
  const key = hkdf(fileKey, buf.subarray(0, NONCE_BYTES), 'payload');
  buf = buf.subarray(NONCE_BYTES);
  let counter = 0;
  for (;;) {
    // More than one sealed chunk buffered: the first is certainly not the last.
    while (buf.length <= SEALED_CHUNK_BYTES && (await more()));
    if (buf.length > SEALED_CHUNK_BYTES) {
      const plain = open(key, chunkNonce(counter, false), buf.subarray(0, SEALED_CHUNK_BYTES));
      if (!plain) throw keyError('AGE_PAYLOAD_CORRUPT', `payload chunk ${counter} was modified or moved`);
      counter++;
      buf = buf.subarray(SEALED_CHUNK_BYTES);
      yield plain;
      continue;
    }
    // The input ended: what is left must be the final chunk.
    if (buf.length === 0)
      throw keyError('AGE_TRUNCATED', `the file ends after chunk ${counter - 1}, before its final chunk`);
    const plain = open(key, chunkNonce(counter, true), buf);
    if (!plain) {
      // A whole chunk that opens as a middle one: the chunks after it were cut off.
      const truncated =
        buf.length === SEALED_CHUNK_BYTES && open(key, chunkNonce(counter, false), buf) !== undefined;
      throw truncated
        ? keyError('AGE_TRUNCATED', `the file ends after chunk ${counter}, before its final chunk`)
        : keyError('AGE_PAYLOAD_CORRUPT', `the final payload chunk (${counter}) was modified`);
    }
    if (plain.length === 0 && counter > 0)
      throw keyError(
        'AGE_PAYLOAD_CORRUPT',
        'an empty final chunk after other chunks (not allowed by the format)',
      );
    yield plain;
    return;
  }
}

/** Whether bytes start like an age file (to tell an encrypted package from a ZIP). */
export function looksLikeAge(start: Uint8Array): boolean {
  return Buffer.from(start.subarray(0, VERSION_LINE.length + 1)).toString('latin1') === `${VERSION_LINE}\n`;
}
