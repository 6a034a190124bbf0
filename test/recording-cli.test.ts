import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from './support/cli.js';
import { tempDir } from './support/tmp.js';

describe('palisade cameras and palisade check', () => {
  it('adds (password sealed, never printed), lists, removes cameras; check reports a clean store', () => {
    const dir = tempDir();
    const add = runCli(
      [
        'cameras',
        'add',
        '--data-dir',
        dir,
        '--id',
        'gate',
        '--url',
        'rtsp://127.0.0.1:9/gate',
        '--username',
        'op',
        '--no-record',
        '--json',
        '--password-env',
        'CAM_PW',
      ],
      {
        CAM_PW: 'never-shown-9',
      },
    );
    assert.equal(add.status, 0, add.stderr);
    assert.ok(!add.stdout.includes('never-shown-9'));
    assert.equal((JSON.parse(add.stdout) as { hasPassword: boolean }).hasPassword, true);
    const bad = runCli(['cameras', 'add', '--data-dir', dir, '--url', 'rtsp://u:p@127.0.0.1/x']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /CAMERA_INVALID/);
    const list = runCli(['cameras', 'list', '--data-dir', dir, '--json']);
    assert.deepEqual(
      (JSON.parse(list.stdout) as { id: string }[]).map((c) => c.id),
      ['gate'],
    );
    assert.ok(!list.stdout.includes('never-shown-9'));
    assert.equal(runCli(['cameras', 'remove', 'gate', '--data-dir', dir]).status, 0);
    assert.equal(runCli(['cameras', 'list', '--data-dir', dir]).stdout.trim(), 'no cameras');
    const check = runCli(['check', '--data-dir', dir]);
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /clean/);
  });
});
