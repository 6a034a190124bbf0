import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from './support/cli.js';
import { tempDir } from './support/tmp.js';

interface StatusJson {
  catalogueVersion: string;
  overrides: { requirement: string; level: number | null }[];
  zones: {
    zone: { id: string };
    slTarget: number[];
    slAchieved: number[];
    results: { requirement: string; status: string; basis: string; evidence: { key: string }[] }[];
  }[];
  facts: { facts: { key: string; source: string }[] };
}

describe('palisade compliance', () => {
  it('status prints SL-T against SL-A and the gap list for the default zone, observed from the assembled server', () => {
    const dataDir = path.join(tempDir(), 'data');
    const r = runCli(['compliance', 'status', '--data-dir', dataDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /^IEC 62443-3-3 status, catalogue palisade-compliance-catalogue\/1\.0\.0, evaluated /,
    );
    assert.match(r.stdout, /Zone default: /);
    assert.match(r.stdout, /\n {2}SL-T {10}2 {8}2 {8}2 {8}2 {8}2 {8}2 {8}2\n/);
    assert.match(r.stdout, /\n {2}SL-A {10}0 {8}0 {8}0 {8}2 {8}0 {8}1 {8}0\n/);
    // A fresh install's only account still has its one-time password: SR 1.5 holds FR1 at 0.
    assert.match(r.stdout, /FR1 IAC: SL-A 0 \(target 2\); SL 1 needs:\n {4}- SR 1\.5 .*initial credential/);
    assert.match(
      r.stdout,
      /FR4 DC: SL-A 2 \(target 2\); SL 3 needs:\n {4}- SR 4\.2 RE1 .*\[not-assessed\]: no attestation recorded/,
    );
    assert.match(
      r.stdout,
      /Fact sources: http\.server, database, host\.time, compliance, identity, access, audit, keys, recording\.segments, recording\.storage, recording\.inventory/,
    );
    assert.ok(!r.stderr.includes('incoming request'), 'the probe server stays quiet');

    const json = runCli(['compliance', 'status', '--data-dir', dataDir, '--json', '--zone', 'default']);
    assert.equal(json.status, 0, json.stderr);
    const s = JSON.parse(json.stdout) as StatusJson;
    assert.deepEqual(
      s.zones.map((z) => z.zone.id),
      ['default'],
    );
    const tls = s.zones[0]!.results.find((x) => x.requirement === 'SR 3.1 RE1')!;
    assert.deepEqual([tls.status, tls.basis], ['met', 'observed']);
    assert.deepEqual(
      tls.evidence.map((e) => e.key),
      ['database.transport', 'http.listener.https'],
    );
    const self = s.zones[0]!.results.find((x) => x.requirement === 'SR 1.8')!;
    assert.equal(self.status, 'not-met', 'the generated certificate is self-signed');

    const unknown = runCli(['compliance', 'status', '--data-dir', dataDir, '--zone', 'office']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /^palisade: COMPLIANCE_UNKNOWN_ZONE: no zone office; zones: default\n$/);
  });

  it('takes the target and disputed gating from configuration, and refuses an override of an undisputed cell', () => {
    const dir = tempDir();
    const config = path.join(dir, 'palisade.yaml');
    writeFileSync(
      config,
      'compliance:\n  defaultTarget: [1, 1, 1, 3, 1, 1, 1]\n  gatingOverrides:\n    "SR 3.4": 1\n',
    );
    const r = runCli([
      'compliance',
      'status',
      '--config',
      config,
      '--data-dir',
      path.join(dir, 'data'),
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as StatusJson;
    assert.deepEqual(s.zones[0]!.slTarget, [1, 1, 1, 3, 1, 1, 1]);
    assert.deepEqual(s.overrides, [{ requirement: 'SR 3.4', level: 1 }]);

    writeFileSync(config, 'compliance:\n  gatingOverrides:\n    "SR 1.1": 2\n');
    const bad = runCli(['compliance', 'status', '--config', config, '--data-dir', path.join(dir, 'data')]);
    assert.equal(bad.status, 78);
    assert.match(
      bad.stderr,
      /^palisade: CONFIG_INVALID: compliance\.gatingOverrides\.SR 1\.1: not a disputed cell/,
    );
  });

  it('attest, countermeasure, pack and verify: the pack verifies offline and names a tampered file', () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const doc = path.join(dir, 'ups-test.txt');
    writeFileSync(doc, 'UPS switch-over test, 2026-03-02: recorder stayed up\n');
    const expires = new Date(Date.now() + 200 * 86_400_000).toISOString();
    const attest = runCli([
      'compliance',
      'attest',
      '--data-dir',
      dataDir,
      '--requirement',
      'SR 7.5',
      '--statement',
      'UPS covers the recorder; tested yearly',
      '--by',
      'u-4',
      '--by-name',
      'R. Iyer',
      '--expires',
      expires,
      '--attach',
      doc,
    ]);
    assert.equal(attest.status, 0, attest.stderr);
    assert.match(attest.stdout, /^Attestation [0-9a-f-]{36} recorded for SR 7\.5 \(met\), expires /);
    const refused = runCli([
      'compliance',
      'attest',
      '--data-dir',
      dataDir,
      '--requirement',
      'SR 3.5',
      '--statement',
      'x',
      '--by',
      'u-4',
      '--by-name',
      'R. Iyer',
      '--expires',
      expires,
    ]);
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      /COMPLIANCE_RECORD_INVALID: requirement: SR 3\.5 is assessed from observed facts/,
    );
    const cm = runCli([
      'compliance',
      'countermeasure',
      '--data-dir',
      dataDir,
      '--requirement',
      'SR 5.1',
      '--description',
      'camera VLAN segmented by plant firewall FW-2',
      '--by',
      'u-4',
      '--by-name',
      'R. Iyer',
      '--expires',
      expires,
    ]);
    assert.equal(cm.status, 0, cm.stderr);

    const checkpoint = path.join(dir, 'checkpoint.txt');
    writeFileSync(checkpoint, 'palisade.example/audit\n12\nAAAA\n');
    const out = path.join(dir, 'pack');
    const pack = runCli([
      'compliance',
      'pack',
      '--data-dir',
      dataDir,
      '--out',
      out,
      '--audit-checkpoint',
      checkpoint,
    ]);
    assert.equal(pack.status, 0, pack.stderr);
    const fingerprint = /Signing key fingerprint: (sha256:[0-9a-f]{64})/.exec(pack.stdout)![1]!;
    assert.ok(existsSync(`${out}.zip`));
    const checks = JSON.parse(readFileSync(path.join(out, 'checks.json'), 'utf8')) as {
      zones: { results: { requirement: string; status: string; basis: string }[] }[];
    };
    const ups = checks.zones[0]!.results.find((x) => x.requirement === 'SR 7.5')!;
    assert.deepEqual([ups.status, ups.basis], ['met', 'attested']);
    assert.equal(checks.zones[0]!.results.find((x) => x.requirement === 'SR 5.1')!.basis, 'compensated');
    assert.equal(
      readFileSync(path.join(out, 'audit-checkpoint.txt'), 'utf8'),
      'palisade.example/audit\n12\nAAAA\n',
    );

    for (const target of [out, `${out}.zip`]) {
      const v = runCli(['compliance', 'verify', target, '--trusted-key', fingerprint]);
      assert.equal(v.status, 0, v.stdout + v.stderr);
      assert.match(v.stdout, /Signature: valid; files verified: 9\nOK: the pack is intact and signed\n$/);
    }

    writeFileSync(path.join(out, 'summary.json'), '{"zones":[]}\n');
    const tampered = runCli(['compliance', 'verify', out]);
    assert.equal(tampered.status, 1);
    assert.match(
      tampered.stdout,
      /FILE_ALTERED summary\.json: summary\.json has 13 bytes; the manifest says \d+/,
    );
    assert.match(tampered.stderr, /^palisade: PACK_VERIFICATION_FAILED: 1 problem\(s\): summary\.json\n$/);
    const asJson = JSON.parse(runCli(['compliance', 'verify', out, '--json']).stdout) as {
      ok: boolean;
      problems: { code: string; path: string }[];
    };
    assert.deepEqual(
      [asJson.ok, asJson.problems.map((p) => [p.code, p.path])],
      [false, [['FILE_ALTERED', 'summary.json']]],
    );

    const wrongKey = runCli([
      'compliance',
      'verify',
      `${out}.zip`,
      '--trusted-key',
      `sha256:${'0'.repeat(64)}`,
    ]);
    assert.equal(wrongKey.status, 1);
    assert.match(wrongKey.stdout, /KEY_UNTRUSTED: signed by sha256:/);

    const again = runCli(['compliance', 'pack', '--data-dir', dataDir, '--out', out]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /PACK_OUT_EXISTS/);
  });

  it('prints help for every compliance command', () => {
    for (const command of ['status', 'pack', 'verify', 'attest', 'countermeasure']) {
      const r = runCli(['compliance', command, '--help']);
      assert.equal(r.status, 0, command);
      assert.match(r.stdout, new RegExp(`Usage: palisade compliance ${command}`));
    }
  });
});
