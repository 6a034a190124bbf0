import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openServices } from '../src/app/index.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/log/index.js';
import { runCli } from './support/cli.js';
import { ADMIN } from './support/recording.js';
import { recordSynthetic } from './support/synthetic-recording.js';
import { tempDir } from './support/tmp.js';

describe('palisade evidence export | verify', () => {
  it('exports a range from the data dir, verifies it offline, and names what a tampered copy breaks', async () => {
    const dir = tempDir('palisade-evidence-cli-');
    const T0 = Math.floor(Date.now() / 1000) * 1000 - 3 * 60_000;
    {
      const config = loadConfig({
        overrides: { dataDir: dir, log: { level: 'silent' }, recording: { segmentSeconds: 4 } },
      });
      const s = await openServices(config, createLogger('silent'), { periodicCheckpoints: false });
      try {
        await s.recorder.createCamera(
          {
            id: 'dock',
            name: 'Dock',
            zoneId: 'default',
            streamUrl: 'rtsp://127.0.0.1:1/dock',
            recordingMode: 'off',
          },
          ADMIN,
        );
        await recordSynthetic(s.recorder, s.keyring, {
          cameraId: 'dock',
          zoneId: 'default',
          startMs: T0,
          seconds: 9,
        });
      } finally {
        await s.close();
      }
    }
    /** `palisade evidence export` of the recorded range to `file`, with more flags. */
    const exportTo = (file: string, ...more: string[]) =>
      runCli([
        'evidence',
        'export',
        '--data-dir',
        dir,
        '--camera',
        'dock',
        '--from',
        new Date(T0 + 500).toISOString(),
        '--to',
        new Date(T0 + 8_500).toISOString(),
        '--out',
        file,
        ...more,
      ]);
    const out = path.join(dir, 'dock.zip');
    const exported = exportTo(out, '--reason', 'forklift collision', '--case', 'HSE-19', '--json');
    assert.equal(exported.status, 0, exported.stderr);
    const summary = JSON.parse(exported.stdout) as { segments: number; frames: number; evidenceKey: string };
    assert.equal(summary.segments, 3);
    assert.ok(summary.frames > 8 * 25);

    const ok = runCli(['evidence', 'verify', out, '--trusted-key', summary.evidenceKey]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^OK: .* verifies/);
    assert.match(ok.stdout, /case HSE-19: forklift collision/);

    // One flipped byte in the middle of the package: reported with its place, exit status 1.
    const bytes = await readFile(out);
    const bad = Buffer.from(bytes);
    bad[Math.floor(bad.length / 3)]! ^= 0x20;
    const badFile = path.join(dir, 'dock-bad.zip');
    await writeFile(badFile, bad);
    const failed = runCli(['evidence', 'verify', badFile, '--json']);
    assert.equal(failed.status, 1);
    const report = JSON.parse(failed.stdout) as { ok: boolean; problems: { code: string; file?: string }[] };
    assert.equal(report.ok, false);
    assert.ok(report.problems.length > 0);
    assert.match(failed.stderr, /EVIDENCE_INVALID/);

    const other = runCli(['evidence', 'verify', out, '--trusted-key', `sha256:${'1'.repeat(64)}`]);
    assert.equal(other.status, 1);
    assert.match(other.stdout, /KEY_UNTRUSTED/);

    // Encrypted to a recipient: the court's key pair comes from Debian's age-keygen, and Debian's age
    // opens the package without Palisade.
    const courtKey = path.join(dir, 'court.key');
    const keygen = spawnSync('/usr/bin/age-keygen', ['-o', courtKey], { encoding: 'utf8' });
    assert.equal(keygen.status, 0, `age-keygen (Debian package "age"): ${keygen.stderr}`);
    const recipient = /age1[0-9a-z]+/.exec(keygen.stderr)![0];
    const sealed = path.join(dir, 'dock.zip.age');
    const enc = exportTo(sealed, '--reason', 'handed to the court', '--recipient', recipient);
    assert.equal(enc.status, 0, enc.stderr);
    assert.match(enc.stdout, new RegExp(`encrypted to ${recipient}`));
    const sealedBytes = await readFile(sealed);
    assert.ok(sealedBytes.subarray(0, 22).equals(Buffer.from('age-encryption.org/v1\n')));
    assert.equal(sealedBytes.indexOf('PK\x03\x04'), -1, 'no plaintext ZIP header in the encrypted file');
    const opened = spawnSync('/usr/bin/age', [
      '--decrypt',
      '--identity',
      courtKey,
      '--output',
      path.join(dir, 'court.zip'),
      sealed,
    ]);
    assert.equal(opened.status, 0, opened.stderr.toString());
    const byAge = runCli([
      'evidence',
      'verify',
      path.join(dir, 'court.zip'),
      '--trusted-key',
      summary.evidenceKey,
    ]);
    assert.equal(byAge.status, 0, byAge.stdout + byAge.stderr);
    assert.match(byAge.stdout, /handed to the court/);

    const withIdentity = runCli([
      'evidence',
      'verify',
      sealed,
      '--identity',
      courtKey,
      '--trusted-key',
      summary.evidenceKey,
    ]);
    assert.equal(withIdentity.status, 0, withIdentity.stdout + withIdentity.stderr);
    assert.match(withIdentity.stdout, /Decrypted .* \(age v1\)[\s\S]*OK: .* verifies/);
    const noIdentity = runCli(['evidence', 'verify', sealed]);
    assert.equal(noIdentity.status, 1);
    assert.match(noIdentity.stderr, /EVIDENCE_ENCRYPTED/);
    const wrongKey = path.join(dir, 'someone-else.key');
    assert.equal(spawnSync('/usr/bin/age-keygen', ['-o', wrongKey]).status, 0);
    const wrong = runCli(['evidence', 'verify', sealed, '--identity', wrongKey]);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /AGE_NO_IDENTITY_MATCHED/);
    const typo = exportTo(path.join(dir, 'x.age'), '--recipient', 'age1typo');
    assert.equal(typo.status, 1);
    assert.match(typo.stderr, /AGE_RECIPIENT_INVALID/);
  });
});
