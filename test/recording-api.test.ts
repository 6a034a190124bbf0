import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CameraSimulator } from '../src/sim/index.js';
import { DIALECTS } from './support/dialects.js';
import { signedInUser, startTestServer, type TestServer } from './support/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const dialect of DIALECTS) {
  describe(`recording over the HTTP API on ${dialect.name}`, { skip: dialect.skip }, () => {
    let server: TestServer;
    let sim: CameraSimulator;
    before(async () => {
      sim = await CameraSimulator.start({
        port: 0,
        cameras: [{ path: '/cam1', clip: 'h264-720p', username: 'u', password: 's3cret-pass' }],
      });
      server = await startTestServer(dialect, {
        recording: { segmentSeconds: 2, reconnect: { initialDelayMs: 100 } },
        access: { dualApproval: { actions: ['recording.delete'] } },
      });
    });
    after(async () => {
      await server.stop();
      await sim.close();
    });

    it('adds a camera (password write-only), records it, shows health and segments, audits, and puts deletion under dual approval', async () => {
      const admin = (await signedInUser(server, 'admin2', [{ role: 'administrator', scope: 'all' }])).client;
      const url = sim.cameraList()[0]!.url;
      const created = await admin.post<Record<string, unknown>>('/api/cameras', {
        id: 'door',
        name: 'Door',
        zoneId: 'default',
        streamUrl: url,
        username: 'u',
        password: 's3cret-pass',
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.hasPassword, true);
      assert.ok(!JSON.stringify(created.body).includes('s3cret-pass'), 'the password never comes back');
      const bad = await admin.post('/api/cameras', {
        name: 'x',
        zoneId: 'default',
        streamUrl: 'rtsp://u:p@10.0.0.1/x',
      });
      assert.equal(bad.status, 400, 'credentials in the URL are refused');
      let health: { state: string; bitrate: number } | undefined;
      for (let i = 0; i < 60; i++) {
        await sleep(250);
        health = (await admin.get<{ state: string; bitrate: number }>('/api/cameras/door/health')).body;
        if (health.state === 'recording') break;
      }
      assert.equal(health?.state, 'recording');
      await sleep(5500);
      const from = new Date(Date.now() - 120_000).toISOString();
      const to = new Date(Date.now() + 1000).toISOString();
      const segs = await admin.get<{
        segments: { id: string; sha256: string; frames: number; integrityIndex: number }[];
      }>(`/api/cameras/door/segments?from=${from}&to=${to}`);
      assert.equal(segs.status, 200);
      assert.ok(segs.body.segments.length >= 1, 'segments are indexed and found by time');
      assert.ok(
        segs.body.segments.every(
          (s) => /^[0-9a-f]{64}$/.test(s.sha256) && s.frames > 0 && s.integrityIndex >= 0,
        ),
      );
      const list = await admin.get<{ id: string; health: { state: string } }[]>('/api/cameras');
      assert.deepEqual(
        list.body.map((c) => c.id),
        ['door'],
      );

      // A viewer scoped to another zone sees nothing.
      await server.palisade.zones.createZone({
        id: 'other',
        siteId: 'default',
        name: 'Other',
        description: '',
        slTarget: [2, 2, 2, 2, 2, 2, 2],
      });
      const viewer = (await signedInUser(server, 'viewer2', [{ role: 'viewer', scope: 'zone:other' }]))
        .client;
      assert.deepEqual((await viewer.get<unknown[]>('/api/cameras')).body, []);
      assert.equal((await viewer.get('/api/cameras/door')).status, 403);

      // Stop, start: audited.
      assert.equal((await admin.post('/api/cameras/door/recording/stop')).status, 200);
      assert.equal((await admin.get<{ state: string }>('/api/cameras/door/health')).body.state, 'stopped');
      const auditor = (await signedInUser(server, 'auditor2', [{ role: 'auditor', scope: 'all' }])).client;
      const events = await auditor.get<{ events: { event: { action: string } }[] }>(
        '/api/audit/events?limit=1000',
      );
      const actions = events.body.events.map((e) => e.event.action);
      for (const a of ['camera.created', 'recording.started', 'recording.stopped'])
        assert.ok(actions.includes(a), `${a} is audited`);

      // Deleting recorded video waits for a second person.
      const stored = (
        await admin.get<{ segments: unknown[] }>(`/api/cameras/door/segments?from=${from}&to=${to}`)
      ).body.segments.length;
      const del = await admin.delete<{ approvalId: string }>(
        `/api/cameras/door/segments?from=${from}&to=${to}`,
      );
      assert.equal(del.status, 202);
      assert.ok(del.body.approvalId);
      const still = await admin.get<{ segments: unknown[] }>(
        `/api/cameras/door/segments?from=${from}&to=${to}`,
      );
      assert.equal(still.body.segments.length, stored, 'nothing deleted before approval');
    });
  });
}
