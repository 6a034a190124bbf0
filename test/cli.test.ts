import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli, startCli } from './support/cli.js';
import { httpsRequest, tlsHandshake } from './support/https.js';
import { tempDir } from './support/tmp.js';

describe('palisade command line', () => {
  it('demo on a fresh data dir: prints its URL and fingerprint, answers /healthz on TLS 1.3 only', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const server = await startCli(['demo', '--data-dir', dataDir, '--port', '0']);
    try {
      assert.match(server.stdout(), /TLS: generated a self-signed certificate/);
      const ca = readFileSync(path.join(dataDir, 'tls/server.crt'), 'utf8');
      const health = await httpsRequest(`${server.url}/healthz`, { ca });
      assert.equal(health.status, 200);
      assert.equal(health.protocol, 'TLSv1.3');
      assert.equal((await httpsRequest(`${server.url}/readyz`, { ca })).status, 200);
      const port = Number(new URL(server.url).port);
      const refused = await tlsHandshake('127.0.0.1', port, 'TLSv1.2', ca);
      assert.ok(refused, 'a TLS 1.2-only client must be refused');
      // Everything written into the data dir is private to the service account.
      assert.equal(statSync(dataDir).mode & 0o077, 0);
      assert.equal(statSync(path.join(dataDir, 'palisade.db')).mode & 0o077, 0);
      assert.equal(statSync(path.join(dataDir, 'tls/server.key')).mode & 0o777, 0o600);
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0, 'clean exit on SIGTERM');
    }
  });

  it('an invalid config file is a one-line error naming the key, and a non-zero exit', () => {
    const dir = tempDir();
    const file = path.join(dir, 'palisade.yaml');
    writeFileSync(file, 'http:\n  port: 99999\n');
    const r = runCli(['serve', '--config', file, '--data-dir', path.join(dir, 'data')]);
    assert.equal(r.status, 78);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
    assert.match(lines[0]!, /^palisade: CONFIG_INVALID: http\.port: /);
    assert.equal(r.stdout, '');
  });

  it('environment overrides are validated the same way', () => {
    const r = runCli(['init', '--data-dir', path.join(tempDir(), 'd')], {
      PALISADE_DATABASE__URL: 'mysql://x',
    });
    assert.equal(r.status, 78);
    assert.match(r.stderr, /^palisade: CONFIG_INVALID: database\.url: /);
  });

  it('init creates the first administrator once, with a one-time password; users reset-password issues a new one', () => {
    const dataDir = path.join(tempDir(), 'data');
    const first = runCli(['init', '--data-dir', dataDir]);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /First administrator: admin/);
    const otp = /One-time password: (\S+)/.exec(first.stdout)?.[1];
    assert.ok(otp && otp.length >= 20);
    const again = runCli(['init', '--data-dir', dataDir]);
    assert.ok(!again.stdout.includes('One-time password'), 'the password is shown only once');
    const reset = runCli(['users', 'reset-password', 'admin', '--data-dir', dataDir]);
    assert.equal(reset.status, 0, reset.stderr);
    const next = /One-time password for admin: (\S+)/.exec(reset.stdout)?.[1];
    assert.ok(next && next !== otp);
    const unknown = runCli(['users', 'reset-password', 'nobody', '--data-dir', dataDir]);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /^palisade: USER_NOT_FOUND: /);
  });

  it('init is repeatable and keeps the instance identity', () => {
    const dataDir = path.join(tempDir(), 'data');
    const first = runCli(['init', '--data-dir', dataDir]);
    assert.equal(first.status, 0, first.stderr);
    const second = runCli(['init', '--data-dir', dataDir]);
    assert.equal(second.status, 0, second.stderr);
    const id = (s: string) => /Instance: (\S+)/.exec(s)?.[1];
    assert.ok(id(first.stdout));
    assert.equal(id(second.stdout), id(first.stdout));
    const fp = (s: string) => /fingerprint: (\S+)/.exec(s)?.[1];
    assert.equal(fp(second.stdout), fp(first.stdout));
  });

  it('--version and --help on every command', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const version = runCli(['--version']);
    assert.equal(version.status, 0);
    assert.equal(version.stdout.trim(), pkg.version);
    for (const command of [[], ['serve'], ['demo'], ['init']]) {
      const r = runCli([...command, '--help']);
      assert.equal(r.status, 0, `${command.join(' ')} --help`);
      assert.match(r.stdout, /Usage: palisade/);
    }
    const serveHelp = runCli(['serve', '--help']).stdout;
    for (const flag of ['--data-dir', '--host', '--port', '--config'])
      assert.ok(serveHelp.includes(flag), flag);
  });

  it('an unknown command or flag is a usage error', () => {
    assert.equal(runCli(['frobnicate']).status, 2);
    assert.equal(runCli(['serve', '--no-such-flag']).status, 2);
  });
});
