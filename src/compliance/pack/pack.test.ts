import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { tempDir } from '../../../test/support/tmp.js';
import { PalisadeError } from '../../errors/index.js';

import {
  CHECKS,
  createZip,
  effectiveCatalogue,
  evaluateCompliance,
  readZip,
  verifyEvidencePack,
  writeEvidencePack,
  type Attestation,
  type Countermeasure,
  type EvidenceSigner,
  type PackProblemCode,
  type PackResult,
} from '../index.js';

/** An Ed25519 evidence key in memory (the server's lives in the key provider). */
function makeSigner(): EvidenceSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    name: 'test:evidence',
    publicKey: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }).subarray(12)),
    sign: async (message: Uint8Array) => new Uint8Array(cryptoSign(null, message, privateKey)),
  };
}

const SIGNER = makeSigner();

const NOW = new Date('2026-06-01T12:00:00.000Z');
const CHECKPOINT =
  'palisade.example/audit\n4711\nq0Zx3m1Jt2fS9yS6dX5q8w7r6t5y4u3i2o1p0a9s8d7=\n\n— palisade.example/audit Az3p1Q==\n';
const asha = { id: 'u-17', name: 'Asha Rao' };
const ATTACHMENT = Buffer.from('Identifier procedure P-12, rev 4 <script>alert(1)</script>\n');

const attestations: Attestation[] = [
  {
    id: '0b7a51f4-6a53-4c39-9a0b-5e0f0d1f4b11',
    requirement: 'SR 1.4',
    zone: null,
    verdict: 'met',
    statement: 'Identifiers follow P-12 <b>reviewed</b>',
    attestedBy: asha,
    attachments: [{ name: 'P-12 procedure.txt', sha256: 'ignored-by-writer', size: ATTACHMENT.length }],
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2027-01-01T00:00:00.000Z',
    revokedAt: null,
  },
];
const countermeasures: Countermeasure[] = [
  {
    id: 'a1c2e3f4-0000-4000-8000-000000000001',
    requirement: 'SR 3.5',
    zone: null,
    description: 'input filtered by the plant WAF, ruleset W-3',
    recordedBy: asha,
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2027-01-01T00:00:00.000Z',
    revokedAt: null,
  },
];

function evaluation() {
  return evaluateCompliance({
    catalogue: effectiveCatalogue(),
    checks: [...CHECKS],
    facts: {
      collectedAt: NOW.toISOString(),
      facts: [],
      errors: [{ source: 'audit.log', message: 'failed to report: disk gone' }],
      namespaces: ['audit'],
      sources: { audit: ['audit.log'] },
    },
    zones: [{ id: 'plant', name: 'Plant <main>', slTarget: [2, 2, 2, 2, 2, 2, 2] }],
    attestations,
    countermeasures,
    now: NOW,
  });
}

async function writePack(
  outDir: string,
  checkpoint: string | null = CHECKPOINT,
  signer: EvidenceSigner = SIGNER,
): Promise<PackResult> {
  return writeEvidencePack({
    outDir,
    evaluation: evaluation(),
    catalogue: effectiveCatalogue(),
    attestations,
    attachment: async () => ATTACHMENT,
    countermeasures,
    auditCheckpoint: checkpoint,
    signer,
    generator: 'Palisade 0.0.0-test',
    instanceId: 'instance-1',
  });
}

function codes(
  problems: { code: PackProblemCode; path: string | null }[],
): [PackProblemCode, string | null][] {
  return problems.map((p) => [p.code, p.path]);
}

describe('evidence pack', () => {
  // Created here, not in the hook: tempDir() removes its folder when the enclosing suite ends.
  const outRoot = tempDir();
  let pack: PackResult;

  before(async () => {
    pack = await writePack(path.join(outRoot, 'pack'));
  });

  it('writes the report, every check with its evidence, catalogue, facts, attestations, countermeasures and checkpoint', () => {
    assert.deepEqual(
      pack.files.map((f) => f.path),
      [
        'attachments/0b7a51f4-6a53-4c39-9a0b-5e0f0d1f4b11/P-12_procedure.txt',
        'attestations.json',
        'audit-checkpoint.txt',
        'catalogue.json',
        'checks.json',
        'countermeasures.json',
        'facts.json',
        'report.html',
        'summary.json',
      ],
    );
    assert.ok(
      existsSync(path.join(pack.dir, 'manifest.json')) && existsSync(path.join(pack.dir, 'manifest.sig')),
    );
    assert.ok(existsSync(pack.zip));
    const checks = JSON.parse(readFileSync(path.join(pack.dir, 'checks.json'), 'utf8')) as {
      zones: { results: unknown[] }[];
    };
    assert.equal(checks.zones[0]!.results.length, 100);
    const catalogue = JSON.parse(readFileSync(path.join(pack.dir, 'catalogue.json'), 'utf8')) as {
      version: string;
      iec62443_3_3: unknown[];
    };
    assert.equal(catalogue.version, 'palisade-compliance-catalogue/1.0.0');
    assert.equal(catalogue.iec62443_3_3.length, 100);
    assert.equal(readFileSync(path.join(pack.dir, 'audit-checkpoint.txt'), 'utf8'), CHECKPOINT);
    assert.ok(
      readFileSync(
        path.join(pack.dir, 'attachments/0b7a51f4-6a53-4c39-9a0b-5e0f0d1f4b11/P-12_procedure.txt'),
      ).equals(ATTACHMENT),
    );
    const atts = JSON.parse(readFileSync(path.join(pack.dir, 'attestations.json'), 'utf8')) as {
      attestations: { attachments: { path: string }[] }[];
    };
    assert.equal(
      atts.attestations[0]!.attachments[0]!.path,
      'attachments/0b7a51f4-6a53-4c39-9a0b-5e0f0d1f4b11/P-12_procedure.txt',
    );
    assert.equal(statSync(pack.dir).mode & 0o077, 0);
  });

  it('renders a self-contained HTML report: no script, no external asset, everything escaped', () => {
    const html = readFileSync(path.join(pack.dir, 'report.html'), 'utf8');
    assert.ok(!/<script/i.test(html), 'no script');
    assert.ok(!/(src|href)\s*=\s*["']?(https?:)?\/\//i.test(html), 'no external asset');
    assert.ok(!/<link\b/i.test(html), 'no linked stylesheet');
    assert.match(html, /Plant &lt;main&gt;/);
    assert.match(html, /Identifiers follow P-12 &lt;b&gt;reviewed&lt;\/b&gt;/);
    assert.match(html, /<th>SL-A \(achieved\)<\/th><td class="n low">0<\/td>/);
    assert.match(html, /compensating countermeasure<\/b> by Asha Rao: input filtered by the plant WAF/);
    assert.match(html, /audit\.log: failed to report: disk gone/);
    assert.match(html, /4711/);
    assert.ok(html.includes(pack.fingerprint));
  });

  it('says so in the report when no audit checkpoint is given', async () => {
    const other = await writePack(path.join(tempDir(), 'no-checkpoint'), null);
    assert.ok(!other.files.some((f) => f.path === 'audit-checkpoint.txt'));
    assert.match(readFileSync(path.join(other.dir, 'report.html'), 'utf8'), /No audit checkpoint was given/);
    const summary = JSON.parse(readFileSync(path.join(other.dir, 'summary.json'), 'utf8')) as {
      auditCheckpoint: unknown;
    };
    assert.equal(summary.auditCheckpoint, null);
    assert.equal((await verifyEvidencePack(other.dir)).ok, true);
  });

  it('verifies offline, as a folder and as a zip, with the same key fingerprint', async () => {
    for (const target of [pack.dir, pack.zip]) {
      const v = await verifyEvidencePack(target, { trustedFingerprint: pack.fingerprint });
      assert.deepEqual(v.problems, []);
      assert.equal(v.ok, true);
      assert.equal(v.signatureValid, true);
      assert.equal(v.verifiedFiles, pack.files.length);
      assert.equal(v.fingerprint, pack.fingerprint);
      assert.equal(v.manifest?.generator, 'Palisade 0.0.0-test');
    }
    assert.equal((await verifyEvidencePack(pack.zip)).kind, 'zip');
  });

  it('verifies with OpenSSL alone, as docs/formats/evidence-pack.md says a third party can', (t) => {
    if (spawnSync('openssl', ['version']).status !== 0) {
      t.skip('openssl not installed');
      return;
    }
    const scratch = tempDir();
    const manifest = JSON.parse(readFileSync(path.join(pack.dir, 'manifest.json'), 'utf8')) as {
      signer: { publicKey: string };
      files: { path: string; sha256: string }[];
    };
    const spki = Buffer.concat([
      Buffer.from('302a300506032b6570032100', 'hex'),
      Buffer.from(manifest.signer.publicKey, 'base64'),
    ]);
    writeFileSync(path.join(scratch, 'key.der'), spki);
    writeFileSync(
      path.join(scratch, 'sig'),
      Buffer.from(readFileSync(path.join(pack.dir, 'manifest.sig'), 'ascii').trim(), 'base64'),
    );
    const verify = (file: string) =>
      spawnSync(
        'openssl',
        [
          'pkeyutl',
          '-verify',
          '-pubin',
          '-keyform',
          'DER',
          '-inkey',
          path.join(scratch, 'key.der'),
          '-rawin',
          '-in',
          file,
          '-sigfile',
          path.join(scratch, 'sig'),
        ],
        { encoding: 'utf8' },
      );
    const good = verify(path.join(pack.dir, 'manifest.json'));
    assert.equal(good.status, 0, good.stderr);
    assert.match(good.stdout, /Signature Verified Successfully/);
    const altered = path.join(scratch, 'manifest.json');
    writeFileSync(
      altered,
      readFileSync(path.join(pack.dir, 'manifest.json'), 'utf8').replace('"version": 1', '"version":  1'),
    );
    assert.notEqual(verify(altered).status, 0, 'OpenSSL rejects a manifest changed by one space');
    for (const f of manifest.files) {
      const digest = execFileSync(
        'openssl',
        ['dgst', '-sha256', '-r', path.join(pack.dir, ...f.path.split('/'))],
        { encoding: 'utf8' },
      ).split(' ')[0];
      assert.equal(digest, f.sha256, f.path);
    }
  });

  it('names every file changed by a single byte', async () => {
    for (const f of pack.files) {
      const copy = path.join(tempDir(), 'p');
      cpSync(pack.dir, copy, { recursive: true });
      const file = path.join(copy, ...f.path.split('/'));
      const bytes = readFileSync(file);
      const i = Math.floor(bytes.length / 2);
      bytes[i] = bytes[i]! ^ 0x01;
      writeFileSync(file, bytes);
      const v = await verifyEvidencePack(copy);
      assert.equal(v.ok, false);
      assert.deepEqual(codes(v.problems), [['FILE_ALTERED', f.path]], f.path);
      assert.equal(v.signatureValid, true, 'the manifest itself is intact');
    }
    const copy = path.join(tempDir(), 'p');
    cpSync(pack.dir, copy, { recursive: true });
    appendFileSync(path.join(copy, 'checks.json'), ' ');
    assert.match(
      (await verifyEvidencePack(copy)).problems[0]!.message,
      /has \d+ bytes; the manifest says \d+/,
    );
  });

  it('names every missing file', async () => {
    for (const f of pack.files) {
      const copy = path.join(tempDir(), 'p');
      cpSync(pack.dir, copy, { recursive: true });
      rmSync(path.join(copy, ...f.path.split('/')));
      assert.deepEqual(codes((await verifyEvidencePack(copy)).problems), [['FILE_MISSING', f.path]], f.path);
    }
  });

  it('names extra files, at the top, in a folder, and links', async () => {
    const copy = path.join(tempDir(), 'p');
    cpSync(pack.dir, copy, { recursive: true });
    writeFileSync(path.join(copy, 'notes.txt'), 'added later');
    mkdirSync(path.join(copy, 'attachments', 'new'));
    writeFileSync(path.join(copy, 'attachments', 'new', 'x.pdf'), '%PDF');
    symlinkSync('/etc/hostname', path.join(copy, 'link'));
    assert.deepEqual(codes((await verifyEvidencePack(copy)).problems).sort(), [
      ['FILE_EXTRA', 'attachments/new/x.pdf'],
      ['FILE_EXTRA', 'link'],
      ['FILE_EXTRA', 'notes.txt'],
    ]);
  });

  it('detects a changed manifest, a changed or missing signature, and a missing manifest', async () => {
    const variant = async (change: (dir: string) => void) => {
      const copy = path.join(tempDir(), 'p');
      cpSync(pack.dir, copy, { recursive: true });
      change(copy);
      return verifyEvidencePack(copy);
    };
    // An attacker who edits a file and its hash in the manifest still breaks the signature.
    const forged = await variant((dir) => {
      const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
        files: { path: string; sha256: string; size: number }[];
      };
      writeFileSync(path.join(dir, 'summary.json'), '{"zones":[{"slAchieved":[4,4,4,4,4,4,4]}]}\n');
      const entry = m.files.find((f) => f.path === 'summary.json')!;
      entry.size = Buffer.byteLength('{"zones":[{"slAchieved":[4,4,4,4,4,4,4]}]}\n');
      entry.sha256 = '0'.repeat(64);
      writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(m, null, 2)}\n`);
    });
    assert.deepEqual(codes(forged.problems), [
      ['SIGNATURE_INVALID', 'manifest.json'],
      ['FILE_ALTERED', 'summary.json'],
    ]);
    assert.deepEqual(codes((await variant((dir) => rmSync(path.join(dir, 'manifest.sig')))).problems), [
      ['SIGNATURE_MISSING', 'manifest.sig'],
    ]);
    assert.deepEqual(
      codes((await variant((dir) => writeFileSync(path.join(dir, 'manifest.sig'), 'not base64!'))).problems),
      [['SIGNATURE_INVALID', 'manifest.sig']],
    );
    const flipped = await variant((dir) => {
      const sig = Buffer.from(readFileSync(path.join(dir, 'manifest.sig'), 'ascii').trim(), 'base64');
      sig[5] = sig[5]! ^ 0x80;
      writeFileSync(path.join(dir, 'manifest.sig'), sig.toString('base64'));
    });
    assert.deepEqual(codes(flipped.problems), [['SIGNATURE_INVALID', 'manifest.json']]);
    assert.deepEqual(codes((await variant((dir) => rmSync(path.join(dir, 'manifest.json')))).problems), [
      ['MANIFEST_MISSING', 'manifest.json'],
    ]);
    assert.deepEqual(
      codes((await variant((dir) => writeFileSync(path.join(dir, 'manifest.json'), '{"format":'))).problems),
      [['MANIFEST_INVALID', 'manifest.json']],
    );
  });

  it('tells a pack re-signed with another key from the one the auditor trusts', async () => {
    const forger = await writePack(path.join(tempDir(), 'forged'), CHECKPOINT, makeSigner());
    assert.equal((await verifyEvidencePack(forger.dir)).ok, true, 'internally consistent');
    const v = await verifyEvidencePack(forger.dir, { trustedFingerprint: pack.fingerprint });
    assert.deepEqual(codes(v.problems), [['KEY_UNTRUSTED', null]]);
    assert.match(
      v.problems[0]!.message,
      new RegExp(`signed by ${forger.fingerprint}, not by the trusted key`),
    );
  });

  it('names altered, missing, extra and duplicated entries in the zip too', async () => {
    const entries = readZip(readFileSync(pack.zip));
    const rezip = (list: { name: string; data: Buffer }[]) => {
      const file = path.join(tempDir(), 'p.zip');
      writeFileSync(file, createZip(list, NOW));
      return verifyEvidencePack(file);
    };
    const altered = entries.map((e) =>
      e.name === 'facts.json' ? { ...e, data: Buffer.concat([e.data, Buffer.from(' ')]) } : e,
    );
    assert.deepEqual(codes((await rezip(altered)).problems), [['FILE_ALTERED', 'facts.json']]);
    assert.deepEqual(codes((await rezip(entries.filter((e) => e.name !== 'report.html'))).problems), [
      ['FILE_MISSING', 'report.html'],
    ]);
    assert.deepEqual(
      codes((await rezip([...entries, { name: 'extra/x.txt', data: Buffer.from('x') }])).problems),
      [['FILE_EXTRA', 'extra/x.txt']],
    );
    assert.deepEqual(
      codes((await rezip([...entries, { name: '../evil', data: Buffer.from('x') }])).problems),
      [['FILE_EXTRA', '../evil']],
    );
    const dup = await rezip([...entries, { name: 'checks.json', data: Buffer.from('{}') }]);
    assert.deepEqual(codes(dup.problems), [['FILE_EXTRA', 'checks.json']]);

    const broken = path.join(tempDir(), 'broken.zip');
    const bytes = readFileSync(pack.zip);
    writeFileSync(broken, bytes.subarray(0, bytes.length - 30));
    const v = await verifyEvidencePack(broken);
    assert.equal(v.ok, false);
    assert.equal(v.problems[0]!.code, 'PACK_UNREADABLE');
    assert.deepEqual(codes((await verifyEvidencePack(path.join(tempDir(), 'nothing-here'))).problems), [
      ['PACK_UNREADABLE', null],
    ]);
  });

  it('refuses to write over an existing pack', async () => {
    await assert.rejects(writePack(pack.dir), { code: 'PACK_OUT_EXISTS' });
    const dir = path.join(tempDir(), 'fresh');
    writeFileSync(`${dir}.zip`, 'x');
    await assert.rejects(writePack(dir), { code: 'PACK_OUT_EXISTS' });
  });
});

describe('pack zip reader', () => {
  it('reads back what the writer wrote (property)', () => {
    const entry = fc.record({
      name: fc.stringMatching(/^[a-z0-9_-]{1,12}(\/[a-z0-9_.-]{1,12}){0,2}$/),
      data: fc.uint8Array({ maxLength: 4096 }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(entry, { selector: (e) => e.name, maxLength: 12 }), (list) => {
        const back = readZip(createZip(list, NOW));
        assert.deepEqual(
          back.map((e) => [e.name, [...e.data]]),
          list.map((e) => [e.name, [...e.data]]),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('rejects hostile input with PACK_ZIP_INVALID only, never another error (fuzz)', () => {
    const valid = createZip(
      [
        { name: 'manifest.json', data: Buffer.from('{"a":1}'.repeat(50)) },
        { name: 'report.html', data: Buffer.alloc(2000, 65) },
      ],
      NOW,
    );
    const mutated = fc
      .array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      })
      .map((edits) => {
        const copy = Buffer.from(valid);
        for (const [i, b] of edits) copy[i] = b;
        return copy;
      });
    const input = fc.oneof(
      mutated,
      fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
      fc.nat({ max: valid.length }).map((n) => valid.subarray(0, n)),
    );
    fc.assert(
      fc.property(input, (buf) => {
        try {
          const entries = readZip(buf, {
            maxEntries: 16,
            maxEntryBytes: 64 * 1024,
            maxTotalBytes: 128 * 1024,
          });
          assert.ok(entries.every((e) => e.data.length <= 64 * 1024));
        } catch (err) {
          assert.ok(
            err instanceof PalisadeError && err.code === 'PACK_ZIP_INVALID',
            `unexpected ${String(err)}`,
          );
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a zip bomb by its declared and its real size', () => {
    const bomb = createZip([{ name: 'zeros', data: Buffer.alloc(4 * 1024 * 1024) }], NOW);
    assert.ok(bomb.length < 8 * 1024, 'deflate squeezes 4 MiB of zeros');
    assert.throws(
      () => readZip(bomb, { maxEntries: 10, maxEntryBytes: 1024 * 1024, maxTotalBytes: 1024 * 1024 }),
      /larger than 1048576 bytes/,
    );
    // Lie about the size in the central directory: inflation stops at the declared size.
    const lie = Buffer.from(bomb);
    const cd = lie.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    lie.writeUInt32LE(1000, cd + 24);
    assert.throws(() => readZip(lie), { code: 'PACK_ZIP_INVALID' });
  });
});

describe('pack manifest parsing', () => {
  it('reports any manifest.json a stranger could write as a problem, never a crash (fuzz)', async () => {
    const dir = tempDir();
    const json = fc.oneof(
      fc.jsonValue(),
      fc.record({
        format: fc.constantFrom('palisade-evidence-pack', 'x'),
        version: fc.constantFrom(1, 2, '1'),
        createdAt: fc.string(),
        generator: fc.string(),
        catalogueVersion: fc.string(),
        signer: fc.record({
          name: fc.string(),
          algorithm: fc.constantFrom('Ed25519', 'RSA'),
          publicKey: fc.base64String(),
        }),
        files: fc.array(
          fc.record({
            path: fc.string(),
            size: fc.oneof(fc.integer(), fc.double()),
            sha256: fc.stringMatching(/^[0-9a-f]{0,64}$/),
          }),
        ),
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          json.map((v) => JSON.stringify(v)),
          fc.string(),
        ),
        async (text) => {
          const copy = path.join(dir, 'p');
          rmSync(copy, { recursive: true, force: true });
          mkdirSync(copy);
          writeFileSync(path.join(copy, 'manifest.json'), text);
          writeFileSync(path.join(copy, 'manifest.sig'), 'AAAA');
          const v = await verifyEvidencePack(copy);
          assert.equal(v.ok, false);
          assert.ok(v.problems.length > 0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
