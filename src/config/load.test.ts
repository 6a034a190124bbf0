import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/support/tmp.js';
import { PalisadeError } from '../errors/index.js';
import { loadConfig } from './index.js';

function invalid(fn: () => unknown): PalisadeError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PalisadeError, `expected PalisadeError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the configuration to be rejected');
}

describe('configuration', () => {
  it('needs no file: embedded defaults are SQLite in ./data on 127.0.0.1:8443', () => {
    const config = loadConfig();
    assert.equal(config.dataDir, './data');
    assert.equal(config.http.host, '127.0.0.1');
    assert.equal(config.http.port, 8443);
    assert.equal(config.database.url, undefined);
    assert.equal(config.http.bodyLimitBytes, 1024 * 1024);
    assert.equal(config.log.level, 'info');
    assert.equal(config.audit.checkpointIntervalSeconds, 60);
    assert.equal(config.audit.origin, undefined);
  });

  it('reads YAML and JSON files, keeping defaults for what they omit', () => {
    const dir = tempDir();
    const yaml = path.join(dir, 'palisade.yaml');
    writeFileSync(yaml, 'http:\n  port: 9443\ndatabase:\n  url: postgres://palisade@db.example/palisade\n');
    const fromYaml = loadConfig({ file: yaml });
    assert.equal(fromYaml.http.port, 9443);
    assert.equal(fromYaml.http.host, '127.0.0.1');
    assert.equal(fromYaml.database.url, 'postgres://palisade@db.example/palisade');

    const json = path.join(dir, 'palisade.json');
    writeFileSync(json, JSON.stringify({ dataDir: '/var/lib/palisade', log: { level: 'warn' } }));
    const fromJson = loadConfig({ file: json });
    assert.equal(fromJson.dataDir, '/var/lib/palisade');
    assert.equal(fromJson.log.level, 'warn');
  });

  it('applies environment over file and overrides over environment', () => {
    const dir = tempDir();
    const file = path.join(dir, 'c.yaml');
    writeFileSync(file, 'http:\n  port: 9000\n  bodyLimitBytes: 4096\n');
    const env = { PALISADE_HTTP__PORT: '9001', PALISADE_HTTP__BODY_LIMIT_BYTES: '8192', HOME: '/root' };
    assert.equal(loadConfig({ file, env }).http.port, 9001);
    assert.equal(loadConfig({ file, env }).http.bodyLimitBytes, 8192);
    assert.equal(loadConfig({ file, env, overrides: { http: { port: 9002 } } }).http.port, 9002);
  });

  it('names the bad key, the reason and the file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'http:\n  port: seventy\n');
    const err = invalid(() => loadConfig({ file }));
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, /^http\.port: /);
    assert.match(err.message, /"seventy"/);
    assert.ok(err.message.includes(file));
    assert.ok(!err.message.includes('\n'), 'the error is one line');
  });

  it('rejects unknown keys instead of ignoring a typo', () => {
    const dir = tempDir();
    const file = path.join(dir, 'typo.yaml');
    writeFileSync(file, 'http:\n  prot: 9443\n');
    const err = invalid(() => loadConfig({ file }));
    assert.match(err.message, /^http(\.prot)?: /);
    assert.match(err.message, /prot|additional/i);
  });

  it('rejects out-of-range values, bad enums and bad database URLs by path', () => {
    assert.match(
      invalid(() => loadConfig({ overrides: { http: { port: 70000 } } })).message,
      /^http\.port: /,
    );
    const fromEnv = invalid(() => loadConfig({ env: { PALISADE_LOG__LEVEL: 'loud' } })).message;
    assert.match(fromEnv, /^log\.level: .* in environment variable PALISADE_LOG__LEVEL$/);
    const stray = invalid(() => loadConfig({ env: { PALISADE_HTTP__PROT: '1' } })).message;
    assert.match(stray, /in environment variable PALISADE_HTTP__PROT$/);
    assert.match(
      invalid(() => loadConfig({ overrides: { database: { url: 'mysql://x' } } })).message,
      /^database\.url: .*postgres/,
    );
    assert.match(
      invalid(() => loadConfig({ overrides: { audit: { checkpointIntervalSeconds: 0 } } })).message,
      /^audit\.checkpointIntervalSeconds: /,
    );
    assert.match(
      invalid(() => loadConfig({ overrides: { audit: { origin: 'has space/audit' } } })).message,
      /^audit\.origin: /,
    );
  });

  it('reports unreadable, malformed and oversized files with their own codes', () => {
    const dir = tempDir();
    assert.equal(
      invalid(() => loadConfig({ file: path.join(dir, 'missing.yaml') })).code,
      'CONFIG_UNREADABLE',
    );
    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, '{"http": ');
    assert.equal(invalid(() => loadConfig({ file: broken })).code, 'CONFIG_INVALID');
    const list = path.join(dir, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    assert.match(invalid(() => loadConfig({ file: list })).message, /mapping/);
    const huge = path.join(dir, 'huge.yaml');
    writeFileSync(huge, `# ${'x'.repeat(300 * 1024)}\n`);
    assert.match(invalid(() => loadConfig({ file: huge })).message, /limit/);
  });
});
