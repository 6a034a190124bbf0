import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { RtspSession } from '../src/media/index.js';
import { PALISADE_BIN } from './support/cli.js';
import { ffprobe, toolUnavailable } from './support/media-peers.js';

async function startSim(args: string[]) {
  const child = spawn(process.execPath, [PALISADE_BIN, 'sim', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no camera list; stderr: ${err}`)), 30_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const wanted = Number(/(\d+) cameras? listening/.exec(out)?.[1] ?? NaN);
      if ((out.match(/^rtsps?:\/\/\S+/gm) ?? []).length === wanted) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return {
    out,
    urls: out.match(/^rtsps?:\/\/\S+/gm) ?? [],
    password: /^Password: (\S+)$/m.exec(out)?.[1] ?? '',
    fingerprint: /fingerprint: (\S+)$/m.exec(out)?.[1],
    async stop() {
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

describe('palisade sim', () => {
  it(
    'starts N cameras, prints their URLs and generated credentials; ffprobe reads one',
    { skip: toolUnavailable('ffprobe') ?? false },
    async () => {
      const sim = await startSim(['--cameras', '3', '--port', '0']);
      try {
        assert.equal(sim.urls.length, 3);
        assert.match(sim.out, /Username: admin/);
        assert.ok(sim.password.length >= 16, 'a random password when none is given');
        assert.match(sim.out, /\/cam1 {2}H264 1920x1080 25 fps/);
        assert.match(sim.out, /\/cam3 {2}H265 1920x1080/);
        const u = new URL(sim.urls[0]);
        const probe = await ffprobe(`rtsp://admin:${sim.password}@${u.host}${u.pathname}`, [
          '-rtsp_transport',
          'tcp',
          '-read_intervals',
          '%+1',
        ]);
        assert.equal(probe.codec, 'h264');
        assert.equal(probe.width, 1920);
      } finally {
        assert.equal(await sim.stop(), 0);
      }
    },
  );

  it('--tls serves rtsps:// only and prints the certificate fingerprint to pin', async () => {
    const sim = await startSim([
      '--cameras',
      '1',
      '--port',
      '0',
      '--tls',
      '--user',
      'ops',
      '--password',
      'tls-pass',
    ]);
    try {
      assert.match(sim.urls[0]!, /^rtsps:\/\//);
      assert.ok(sim.fingerprint);
      const session = new RtspSession({
        url: sim.urls[0]!,
        username: 'ops',
        password: 'tls-pass',
        tls: { fingerprint256: sim.fingerprint },
      });
      const info = await session.start();
      assert.equal(info.tls?.protocol, 'TLSv1.3');
      const first = await session[Symbol.asyncIterator]().next();
      assert.equal(first.done, false);
      await session.close();
    } finally {
      assert.equal(await sim.stop(), 0);
    }
  });
});
