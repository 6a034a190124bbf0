import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { tempDir } from '../../test/support/tmp.js';
import {
  AGE_CHUNK_BYTES,
  AgeEncryption,
  ageDecrypt,
  formatAgeRecipient,
  parseAgeIdentities,
  parseAgeRecipient,
  type AgeIdentity,
} from './index.js';
import { bech32Decode, bech32Encode } from './bech32.js';

const AGE = '/usr/bin/age';
const haveAge = spawnSync(AGE, ['--version']).status === 0;
const needAge = haveAge
  ? {}
  : { skip: 'the age command is not installed (Debian package "age", listed in .ci/packages.txt)' };

async function* pieces(data: Buffer, size = 10_000): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of it) out.push(b);
  return Buffer.concat(out);
}

async function encrypt(recipients: string[], plain: Buffer): Promise<{ file: Buffer; size: number }> {
  const enc = AgeEncryption.to(recipients);
  const file = await collect(enc.encrypt(pieces(plain)));
  return { file, size: enc.encryptedSize(plain.length) };
}

const decrypt = (file: Buffer, ids: readonly AgeIdentity[]) => collect(ageDecrypt(pieces(file, 7777), ids));

/** A key pair from Debian's age-keygen (the independent peer), or our own encoding when it is absent. */
function keygen(): { identityFile: string; identities: AgeIdentity[]; recipient: string } {
  const dir = tempDir();
  const file = path.join(dir, 'key.txt');
  if (haveAge) {
    const r = spawnSync('/usr/bin/age-keygen', ['-o', file]);
    assert.equal(r.status, 0, r.stderr.toString());
  } else {
    writeFileSync(file, `${bech32Encode('AGE-SECRET-KEY-', randomBytes(32))}\n`);
  }
  const identities = parseAgeIdentities(readFileSync(file, 'utf8'));
  return { identityFile: file, identities, recipient: formatAgeRecipient(identities[0]!.publicKey) };
}

describe('age v1 encryption to a recipient', () => {
  it('bech32: the age spec example recipient decodes and re-encodes; case and checksum errors refused', () => {
    const example = 'age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj';
    const d = bech32Decode(example)!;
    assert.equal(d.hrp, 'age');
    assert.equal(d.data.length, 32);
    assert.equal(bech32Encode('age', d.data), example);
    assert.equal(bech32Decode(example.toUpperCase())?.hrp, 'age');
    assert.equal(
      bech32Decode(example.slice(0, 10) + example.slice(10, 20).toUpperCase() + example.slice(20)),
      undefined,
    );
    assert.equal(bech32Decode(example.slice(0, -1) + (example.endsWith('j') ? 'k' : 'j')), undefined);
    assert.throws(() => parseAgeRecipient('age1notakey'), { code: 'AGE_RECIPIENT_INVALID' });
    assert.throws(() => parseAgeRecipient(example.toUpperCase()), { code: 'AGE_RECIPIENT_INVALID' });
  });

  it(
    'the identity file as age-keygen writes it gives the recipient age-keygen prints',
    { ...needAge },
    () => {
      const { identityFile, recipient } = keygen();
      const printed = spawnSync('/usr/bin/age-keygen', ['-y', identityFile]).stdout.toString().trim();
      assert.equal(recipient, printed);
      assert.throws(() => parseAgeIdentities('# only a comment\n'), { code: 'AGE_IDENTITY_INVALID' });
      const bad = (() => {
        try {
          parseAgeIdentities('AGE-SECRET-KEY-1QQQQ-secret-material\n');
        } catch (err) {
          return err as Error & { code: string };
        }
      })();
      assert.equal(bad?.code, 'AGE_IDENTITY_INVALID');
      assert.ok(!bad.message.includes('secret-material'), 'the error does not echo the identity file');
    },
  );

  it('round trip at every chunk boundary; the size is known before encrypting', async () => {
    const a = keygen();
    for (const n of [
      0,
      1,
      AGE_CHUNK_BYTES - 1,
      AGE_CHUNK_BYTES,
      AGE_CHUNK_BYTES + 1,
      3 * AGE_CHUNK_BYTES,
      200_001,
    ]) {
      const plain = randomBytes(n);
      const { file, size } = await encrypt([a.recipient], plain);
      assert.equal(file.length, size, `size of ${n} bytes`);
      assert.ok((await decrypt(file, a.identities)).equals(plain), `${n} bytes`);
    }
  });

  it('Debian age decrypts what Palisade encrypts, to either of two recipients', { ...needAge }, async () => {
    const a = keygen();
    const b = keygen();
    const plain = randomBytes(3 * AGE_CHUNK_BYTES + 123);
    const { file } = await encrypt([a.recipient, b.recipient], plain);
    const target = path.join(tempDir(), 'package.zip.age');
    writeFileSync(target, file);
    for (const who of [a, b]) {
      const r = spawnSync(AGE, ['--decrypt', '--identity', who.identityFile, target], { maxBuffer: 1 << 24 });
      assert.equal(r.status, 0, r.stderr.toString());
      assert.ok(r.stdout.equals(plain));
    }
  });

  it('Palisade decrypts what Debian age encrypts', { ...needAge }, async () => {
    const a = keygen();
    const plain = randomBytes(2 * AGE_CHUNK_BYTES);
    const r = spawnSync(AGE, ['--encrypt', '--recipient', a.recipient], { input: plain, maxBuffer: 1 << 24 });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.ok((await decrypt(r.stdout, a.identities)).equals(plain));
  });

  it('every kind of damage has its own error', async () => {
    const a = keygen();
    const other = keygen();
    const plain = randomBytes(3 * AGE_CHUNK_BYTES + 10);
    const { file } = await encrypt([a.recipient], plain);
    const headerEnd = file.indexOf('\n', file.indexOf('\n--- ') + 1) + 1;
    const payload = headerEnd + 16;
    const sealed = AGE_CHUNK_BYTES + 16;
    const flip = (at: number) => {
      const c = Buffer.from(file);
      c[at]! ^= 1;
      return c;
    };
    const fails = async (bytes: Buffer, ids: readonly AgeIdentity[], code: string, why: string) =>
      assert.rejects(decrypt(bytes, ids), { code }, why);
    await fails(file, other.identities, 'AGE_NO_IDENTITY_MATCHED', 'someone else’s key');
    await fails(flip(headerEnd - 5), a.identities, 'AGE_HEADER_INVALID', 'MAC altered');
    await fails(flip(payload + 100), a.identities, 'AGE_PAYLOAD_CORRUPT', 'first chunk altered');
    await fails(flip(file.length - 1), a.identities, 'AGE_PAYLOAD_CORRUPT', 'final chunk altered');
    await fails(flip(headerEnd + 3), a.identities, 'AGE_PAYLOAD_CORRUPT', 'payload nonce altered');
    await fails(
      file.subarray(0, payload + 2 * sealed),
      a.identities,
      'AGE_TRUNCATED',
      'cut at a chunk boundary',
    );
    await fails(
      file.subarray(0, payload + sealed + 500),
      a.identities,
      'AGE_PAYLOAD_CORRUPT',
      'cut mid-chunk',
    );
    await fails(file.subarray(0, payload), a.identities, 'AGE_TRUNCATED', 'no payload at all');
    const swapped = Buffer.concat([
      file.subarray(0, payload),
      file.subarray(payload + sealed, payload + 2 * sealed),
      file.subarray(payload, payload + sealed),
      file.subarray(payload + 2 * sealed),
    ]);
    await fails(swapped, a.identities, 'AGE_PAYLOAD_CORRUPT', 'two chunks swapped');
    // Header bytes another recipient's stanza replaced: the MAC no longer matches.
    const { file: forB } = await encrypt([other.recipient], plain);
    const stanzaA = file.subarray(file.indexOf('-> '), file.indexOf('\n--- '));
    const mixed = Buffer.concat([
      forB.subarray(0, forB.indexOf('-> ')),
      stanzaA,
      forB.subarray(forB.indexOf('\n--- ')),
    ]);
    await fails(mixed, a.identities, 'AGE_HEADER_INVALID', 'a stanza moved into another file');
    await fails(Buffer.from('PK\x03\x04 not an age file'), a.identities, 'AGE_HEADER_INVALID', 'a ZIP');
  });

  it('fuzz: random and mutated headers are AGE_* errors with bounded reads, never a crash', async () => {
    const a = keygen();
    const { file } = await encrypt([a.recipient], randomBytes(1000));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
          fc
            .tuple(fc.nat({ max: file.length - 1 }), fc.uint8Array({ minLength: 1, maxLength: 8 }))
            .map(([at, bytes]) => {
              const c = Buffer.from(file);
              c.set(bytes.subarray(0, c.length - at), at);
              return c;
            }),
          fc.string({ maxLength: 300 }).map((s) => Buffer.from(`age-encryption.org/v1\n-> ${s}\n--- `)),
        ),
        async (bytes) => {
          try {
            const out = await decrypt(bytes, a.identities);
            // Only the untouched file (a mutation that changed nothing) may decrypt.
            assert.ok(bytes.equals(file), 'a changed file decrypted');
            assert.equal(out.length, 1000);
          } catch (err) {
            assert.match((err as { code?: string }).code ?? String(err), /^AGE_/);
          }
        },
      ),
      { numRuns: 400 },
    );
    // A header that never ends is refused after 64 KiB, not read to the end.
    let served = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) {
        served += 4096;
        yield Buffer.alloc(4096, 0x41);
      }
    }
    await assert.rejects(collect(ageDecrypt(endless(), a.identities)), { code: 'AGE_HEADER_INVALID' });
    assert.ok(served <= 72 * 1024, `read ${served} bytes of an endless header`);
  });
});
