import assert from 'node:assert/strict';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { tempDir } from '../../test/support/tmp.js';
import { PalisadeError } from '../errors/index.js';
import { checkpointText, openCheckpoint, parseCheckpointText, signCheckpoint } from './checkpoint.js';
import { EMPTY_ROOT } from './merkle.js';
import { parseNote, parseVerifierKey, signNote, verifierKeyOf, verifyNote } from './note.js';
import { openFileSigner, type CheckpointSigner } from './signer.js';

/**
 * The signed-note example published with Go's golang.org/x/mod/sumdb/note (the reference implementation
 * of the C2SP signed-note format): its signer key, verifier key, text and signed note.
 */
const GO_SIGNER_KEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VERIFIER_KEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

/** A signer from the Go key: its base64 part is 0x01 followed by the 32-byte Ed25519 seed. */
function goSigner(): CheckpointSigner {
  // PRIVATE+KEY+<name>+<id>+<base64>; the base64 itself may contain '+'.
  const seed = Buffer.from(GO_SIGNER_KEY.split('+').slice(4).join('+'), 'base64').subarray(1);
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const x = createPublicKey(privateKey).export({ format: 'jwk' }).x!;
  return {
    name: 'PeterNeumann',
    publicKey: Buffer.from(x, 'base64url'),
    sign: async (message) => sign(null, message, privateKey),
  };
}

function code(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof PalisadeError, `typed error expected, got ${String(err)}`);
    return err.code;
  }
}

describe('C2SP signed notes', () => {
  it('reproduces the Go sumdb/note example byte for byte: key id, verifier key and signature', async () => {
    const signer = goSigner();
    assert.equal(verifierKeyOf(signer.name, signer.publicKey).text, GO_VERIFIER_KEY);
    assert.equal(await signNote(GO_TEXT, signer), GO_NOTE);
    assert.equal(verifyNote(GO_NOTE, [parseVerifierKey(GO_VERIFIER_KEY)]).text, GO_TEXT);
  });

  it('rejects a changed text, a changed signature and a note signed only by unknown keys', () => {
    const key = parseVerifierKey(GO_VERIFIER_KEY);
    assert.equal(
      code(() => verifyNote(GO_NOTE.replace('answer', 'Answer'), [key])),
      'NOTE_SIGNATURE_INVALID',
    );
    assert.equal(
      code(() => verifyNote(GO_NOTE.replace('x08go', 'x08gp'), [key])),
      'NOTE_SIGNATURE_INVALID',
    );
    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!;
    const stranger = verifierKeyOf('Someone', Buffer.from(other, 'base64url'));
    assert.match(
      (() => {
        try {
          verifyNote(GO_NOTE, [stranger]);
          return '';
        } catch (err) {
          return (err as Error).message;
        }
      })(),
      /no signature by a trusted key; the note is signed by PeterNeumann \(c74f20a3\)/,
    );
  });

  it('accepts extra signatures from unknown keys (cosigners) next to a trusted one', async () => {
    const extra =
      GO_NOTE +
      '— witness.example/w1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n';
    assert.equal(verifyNote(extra, [parseVerifierKey(GO_VERIFIER_KEY)]).text, GO_TEXT);
  });

  it('refuses malformed verifier keys, including a key id that does not match the key', () => {
    for (const bad of [
      '',
      'PeterNeumann',
      'PeterNeumann+c74f20a3',
      'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'PeterNeumann+c74f20a3+AhpcQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T',
    ]) {
      assert.equal(
        code(() => parseVerifierKey(bad)),
        'NOTE_KEY_INVALID',
        bad,
      );
    }
  });

  it('parses hostile notes into a typed error, never a crash or an unbounded read', () => {
    const key = parseVerifierKey(GO_VERIFIER_KEY);
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.nat({ max: GO_NOTE.length }), (noise, at) => {
        for (const note of [noise, GO_NOTE.slice(0, at) + noise + GO_NOTE.slice(at)]) {
          const result = code(() => verifyNote(note, [key]));
          assert.ok(['ok', 'NOTE_INVALID', 'NOTE_SIGNATURE_INVALID'].includes(result), result);
        }
      }),
      { numRuns: 500 },
    );
    assert.equal(
      code(() => parseNote(`${'a'.repeat(70_000)}\n\n— k AAAAAAA=\n`)),
      'NOTE_INVALID',
    );
    assert.equal(
      code(() => parseNote(`t\n\n${'— k AAAAAAA=\n'.repeat(101)}`)),
      'NOTE_INVALID',
    );
  });
});

describe('C2SP checkpoints', () => {
  it('writes origin, size and base64 root, each on its own line, and reads them back strictly', async () => {
    const signer = goSigner();
    const root = Buffer.alloc(32, 7);
    assert.equal(
      checkpointText('example.com/log', 12, root),
      `example.com/log\n12\n${root.toString('base64')}\n`,
    );
    const c = await signCheckpoint(signer, 'example.com/log', 12, root);
    const opened = openCheckpoint(c.note, [verifierKeyOf(signer.name, signer.publicKey)], 'example.com/log');
    assert.equal(opened.size, 12);
    assert.deepEqual(opened.rootHash, root);
    assert.equal(
      code(() => openCheckpoint(c.note, [verifierKeyOf(signer.name, signer.publicKey)], 'example.com/other')),
      'CHECKPOINT_INVALID',
    );
  });

  it('rejects sizes with leading zeros or beyond 2^53, roots that are not 32 bytes, empty extension lines', () => {
    const root = EMPTY_ROOT.toString('base64');
    assert.equal(parseCheckpointText(`o\n0\n${root}\n`).size, 0);
    assert.equal(parseCheckpointText(`o\n5\n${root}\next one\n`).size, 5);
    for (const bad of [
      `o\n05\n${root}\n`,
      `o\n-1\n${root}\n`,
      `o\n18446744073709551615\n${root}\n`,
      `o\n5\n${Buffer.alloc(31).toString('base64')}\n`,
      `o\n5\n${root}`,
      `\n5\n${root}\n`,
      `o\n5\n`,
    ]) {
      assert.equal(
        code(() => parseCheckpointText(bad)),
        'CHECKPOINT_INVALID',
        JSON.stringify(bad),
      );
    }
  });
});

describe('file signer', () => {
  it('creates an Ed25519 key file with mode 0600 once, then reuses it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'keys', 'audit-checkpoint.pem');
    const first = openFileSigner({ file, name: 'example.com/log' });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    const second = openFileSigner({ file, name: 'example.com/log' });
    assert.deepEqual(second.publicKey, first.publicKey);
    const note = await signNote('hello\n', second);
    assert.equal(verifyNote(note, [verifierKeyOf(first.name, first.publicKey)]).text, 'hello\n');
  });

  it('refuses a key file others can read, a file that is not an Ed25519 key, and a bad key name', () => {
    const dir = tempDir();
    const file = path.join(dir, 'k.pem');
    openFileSigner({ file, name: 'n' });
    chmodSync(file, 0o644);
    assert.equal(
      code(() => openFileSigner({ file, name: 'n' })),
      'AUDIT_KEY_INSECURE',
    );
    const ec = path.join(dir, 'ec.pem');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(ec, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    assert.equal(
      code(() => openFileSigner({ file: ec, name: 'n' })),
      'AUDIT_KEY_INVALID',
    );
    assert.equal(
      code(() => openFileSigner({ file: path.join(dir, 'x.pem'), name: 'has space' })),
      'NOTE_KEY_INVALID',
    );
  });
});
