import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { LIVE_HEADER_BYTES, LIVE_KIND, verifyEvidencePackage } from '../src/playback/index.js';
import { CameraSimulator } from '../src/sim/index.js';
import type { ApiClient } from './support/api-client.js';
import { DIALECTS } from './support/dialects.js';
import { ffprobe, toolUnavailable } from './support/media-peers.js';
import { ADMIN } from './support/recording.js';
import { signedInUser, startTestServer, type TestServer } from './support/server.js';
import { recordSynthetic } from './support/synthetic-recording.js';
import { tempDir } from './support/tmp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = tempDir('palisade-playback-api-');

/** Opens the live WebSocket like a browser tab of the console would (cookie, Origin). */
function openLive(
  server: TestServer,
  client: ApiClient,
  camera: string,
  origin: string | undefined,
): Promise<{ ws: WebSocket; status?: number; messages: (Buffer | string)[] }> {
  return new Promise((resolve) => {
    const messages: (Buffer | string)[] = [];
    const ws = new WebSocket(`wss://localhost:${server.palisade.port}/api/cameras/${camera}/live`, {
      ca: server.palisade.tls.certPem,
      headers: { ...(client.cookie ? { cookie: client.cookie } : {}), ...(origin ? { origin } : {}) },
    });
    ws.on('message', (data, binary) =>
      messages.push(binary ? (data as Buffer) : (data as Buffer).toString()),
    );
    ws.on('open', () => resolve({ ws, messages }));
    ws.on('unexpected-response', (_req, res) => resolve({ ws, status: res.statusCode ?? 0, messages }));
    ws.on('error', () => undefined);
  });
}

for (const dialect of DIALECTS) {
  describe(
    `playback, live view and evidence over the HTTP API on ${dialect.name}`,
    { skip: dialect.skip },
    () => {
      let server: TestServer;
      let sim: CameraSimulator;
      let operator: ApiClient;
      let investigator: ApiClient;
      let approver: ApiClient;
      let outsider: ApiClient;
      const T0 = Math.floor(Date.now() / 1000) * 1000 - 5 * 60_000;
      let origin = '';

      before(async () => {
        sim = await CameraSimulator.start({
          port: 0,
          cameras: [{ path: '/live', clip: 'h264-720p', username: 'u', password: 'lobby-pass-1' }],
        });
        server = await startTestServer(dialect, {
          recording: { segmentSeconds: 4 },
          access: { dualApproval: { actions: ['evidence.export'] } },
        });
        origin = `https://localhost:${server.palisade.port}`;
        const p = server.palisade;
        await p.zones.createZone({
          id: 'other',
          siteId: 'default',
          name: 'Other',
          description: '',
          slTarget: [2, 2, 2, 2, 2, 2, 2],
        });
        await p.recorder.createCamera(
          {
            id: 'door',
            name: 'Door',
            zoneId: 'default',
            streamUrl: 'rtsp://127.0.0.1:1/door',
            recordingMode: 'off',
          },
          ADMIN,
        );
        await recordSynthetic(p.recorder, p.keyring, {
          cameraId: 'door',
          zoneId: 'default',
          startMs: T0,
          seconds: 12,
        });
        await p.recorder.createCamera(
          {
            id: 'lobby',
            name: 'Lobby',
            zoneId: 'default',
            streamUrl: sim.cameraList()[0]!.url,
            username: 'u',
            password: 'lobby-pass-1',
          },
          ADMIN,
        );
        operator = (await signedInUser(server, 'olga', [{ role: 'operator', scope: 'all' }], '127.0.0.11'))
          .client;
        investigator = (
          await signedInUser(server, 'ivan', [{ role: 'investigator', scope: 'all' }], '127.0.0.12')
        ).client;
        approver = (
          await signedInUser(server, 'sam', [{ role: 'security-admin', scope: 'all' }], '127.0.0.13')
        ).client;
        outsider = (
          await signedInUser(server, 'otto', [{ role: 'operator', scope: 'zone:other' }], '127.0.0.14')
        ).client;
      });
      after(async () => {
        await server.stop();
        await sim.close();
      });

      const range = (a: number, b: number) =>
        `from=${encodeURIComponent(new Date(a).toISOString())}&to=${encodeURIComponent(new Date(b).toISOString())}`;

      it('playback: JSON and HLS, media by byte range with a token, no-store', async () => {
        const pb = await operator.get<{
          token: string;
          startsAt: string;
          runs: {
            segments: { url: string; init: { length: number }; gops: { offset: number; length: number }[] }[];
          }[];
        }>(`/api/cameras/door/playback?${range(T0 + 3_000, T0 + 9_000)}`);
        assert.equal(pb.status, 200, JSON.stringify(pb.body));
        assert.ok(Date.parse(pb.body.startsAt) <= T0 + 3_000);
        const seg = pb.body.runs[0]!.segments[0]!;
        const gop = seg.gops[0]!;
        const media = await operator.request<string>('GET', seg.url, undefined, {
          range: `bytes=${gop.offset}-${gop.offset + gop.length - 1}`,
        });
        assert.equal(media.status, 206);
        assert.equal(
          media.headers['content-range'],
          `bytes ${gop.offset}-${gop.offset + gop.length - 1}/${/\/(\d+)$/.exec(String(media.headers['content-range']))![1]}`,
        );
        assert.equal(media.headers['cache-control'], 'no-store');
        assert.equal(media.headers['content-type'], 'video/mp4');
        assert.equal(Number(media.headers['content-length']), gop.length);
        const hls = await operator.request<string>(
          'GET',
          `/api/cameras/door/playback.m3u8?${range(T0, T0 + 12_000)}`,
        );
        assert.equal(hls.status, 200);
        assert.match(String(hls.headers['content-type']), /mpegurl/);
        assert.match(
          hls.body,
          /#EXT-X-MAP:URI="\/api\/cameras\/door\/media\/[^"]+\?token=[^"]+",BYTERANGE="\d+@0"/,
        );
        // A token is the user's own: another user with the same permission cannot reuse it.
        const stolen = await investigator.request('GET', seg.url, undefined, { range: 'bytes=0-99' });
        assert.equal(stolen.status, 403);
        assert.equal((stolen.body as { error: { code: string } }).error.code, 'PLAYBACK_TOKEN_INVALID');
        const events = await server.palisade.audit.query({ actionPrefix: 'video.playback.start' });
        const ev = events.events.find((e) => e.event.actor.name === 'olga')!;
        assert.equal(ev.event.target?.id, 'door');
        assert.equal(ev.event.target.zone, 'default');
        assert.equal(ev.event.details?.from, new Date(T0 + 3_000).toISOString());
      });

      it('a user without the camera in scope gets 403 on every video route, each refusal audited with the camera', async () => {
        const before = (await server.palisade.audit.query({ actionPrefix: 'access.denied', limit: 1000 }))
          .events.length;
        const paths = [
          `/api/cameras/door/playback?${range(T0, T0 + 5_000)}`,
          `/api/cameras/door/playback.m3u8?${range(T0, T0 + 5_000)}`,
          `/api/cameras/door/media/x?token=y`,
          `/api/cameras/door/live`,
        ];
        for (const p of paths) {
          const res = await outsider.get<{ error: { code: string } }>(p);
          assert.equal(res.status, 403, p);
          assert.equal(res.body.error.code, 'ACCESS_DENIED', p);
        }
        const ws = await openLive(server, outsider, 'lobby', origin);
        assert.equal(ws.status, 403, 'the WebSocket upgrade passes the same guard');
        const denied = (await server.palisade.audit.query({ actionPrefix: 'access.denied', limit: 1000 }))
          .events;
        assert.equal(denied.length, before + paths.length + 1);
        assert.ok(
          denied
            .slice(0, paths.length)
            .every((e) => e.event.target?.type === 'camera' && e.event.actor.name === 'otto'),
        );
        assert.ok(denied.some((e) => e.event.target?.id === 'door' && e.event.target.zone === 'default'));
        // The operator may watch but not export.
        const dl = await operator.get(`/api/cameras/door/download?${range(T0, T0 + 5_000)}`);
        assert.equal(dl.status, 403);
      });

      it('download: one MP4 that ffprobe reads, audited', { skip: toolUnavailable('ffprobe') }, async () => {
        const res = await new Promise<{ status: number; body: Buffer; headers: Record<string, unknown> }>(
          (resolve, reject) => {
            void import('node:https').then((https) => {
              const req = https.request(
                `https://localhost:${server.palisade.port}/api/cameras/door/download?${range(T0 + 1_000, T0 + 9_000)}`,
                { headers: { cookie: investigator.cookie! }, ca: server.palisade.tls.certPem },
                (r) => {
                  const chunks: Buffer[] = [];
                  r.on('data', (c: Buffer) => chunks.push(c));
                  r.on('end', () =>
                    resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks), headers: r.headers }),
                  );
                },
              );
              req.on('error', reject);
              req.end();
            });
          },
        );
        assert.equal(res.status, 200);
        assert.match(String(res.headers['content-disposition']), /attachment; filename="door_/);
        const file = path.join(dir, `dl-${dialect.name}.mp4`);
        await writeFile(file, res.body);
        const probe = await ffprobe(file);
        assert.equal(probe.width, 1280);
        assert.ok(probe.frames >= 8 * 25, `${probe.frames} frames`);
        const ev = await server.palisade.audit.query({ actionPrefix: 'video.download' });
        assert.equal(ev.events.length, 1);
      });

      it('evidence export under dual approval: 202, a second person approves, the requester downloads a package that verifies', async () => {
        const req = await investigator.post<{
          export: { id: string; state: string };
          approval: { id: string };
        }>('/api/cameras/door/evidence', {
          from: new Date(T0 + 1_000).toISOString(),
          to: new Date(T0 + 10_000).toISOString(),
          reason: 'break-in',
          caseId: 'C-7',
        });
        assert.equal(req.status, 202, JSON.stringify(req.body));
        assert.equal(req.body.export.state, 'pending-approval');
        const own = await investigator.post(`/api/approvals/${req.body.approval.id}/approve`, {});
        assert.equal(
          own.status,
          403,
          'the requester cannot approve (no approvals.decide, and not their own)',
        );
        const ok = await approver.post(`/api/approvals/${req.body.approval.id}/approve`, {
          reason: 'case opened',
        });
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        let state = '';
        for (let i = 0; i < 100 && state !== 'ready' && state !== 'failed'; i++) {
          await sleep(100);
          state = (await investigator.get<{ state: string }>(`/api/evidence/${req.body.export.id}`)).body
            .state;
        }
        assert.equal(state, 'ready');
        const download = (query = '') =>
          new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>(
            (resolve, reject) => {
              void import('node:https').then((https) => {
                https
                  .get(
                    `https://localhost:${server.palisade.port}/api/evidence/${req.body.export.id}/package${query}`,
                    { headers: { cookie: investigator.cookie! }, ca: server.palisade.tls.certPem },
                    (r) => {
                      const chunks: Buffer[] = [];
                      r.on('data', (c: Buffer) => chunks.push(c));
                      r.on('end', () =>
                        resolve({ status: r.statusCode!, headers: r.headers, body: Buffer.concat(chunks) }),
                      );
                    },
                  )
                  .on('error', reject);
              });
            },
          );
        const plain = await download();
        assert.equal(plain.status, 200);
        const pkg = plain.body;
        const file = path.join(dir, `evidence-${dialect.name}.zip`);
        await writeFile(file, pkg);
        const verified = await verifyEvidencePackage(file);
        assert.deepEqual(verified.problems, []);
        assert.equal(verified.summary?.approvals, 1);
        assert.equal(verified.summary.caseId, 'C-7');
        assert.equal(verified.summary.exporter, 'ivan');
        // The same package encrypted to a recipient (age v1): Debian's age opens it with the
        // recipient's key and gives back exactly the package; a mistyped recipient is a 400.
        const keyFile = path.join(dir, `court-${dialect.name}.key`);
        const keygen = spawnSync('/usr/bin/age-keygen', ['-o', keyFile], { encoding: 'utf8' });
        assert.equal(keygen.status, 0, `age-keygen (Debian package "age"): ${keygen.stderr}`);
        const recipient = /age1[0-9a-z]+/.exec(keygen.stderr)![0];
        const sealed = await download(`?recipients=${recipient}`);
        assert.equal(sealed.status, 200);
        assert.match(String(sealed.headers['content-disposition']), /\.zip\.age"$/);
        assert.equal(Number(sealed.headers['content-length']), sealed.body.length);
        const opened = spawnSync('/usr/bin/age', ['--decrypt', '--identity', keyFile], {
          input: sealed.body,
          maxBuffer: 1 << 28,
        });
        assert.equal(opened.status, 0, opened.stderr.toString());
        assert.ok(opened.stdout.equals(pkg), 'the decrypted package is the package');
        const typo = await download('?recipients=age1notakey');
        assert.equal(typo.status, 400);
        assert.match(typo.body.toString(), /AGE_RECIPIENT_INVALID/);
        const outsiderList = await outsider.get<unknown[]>('/api/evidence');
        assert.equal(outsiderList.status, 403, 'no video.export anywhere');
        const listed = await investigator.get<{ id: string }[]>('/api/evidence');
        assert.deepEqual(
          listed.body.map((e) => e.id),
          [req.body.export.id],
        );
        const audited = await server.palisade.audit.query({ actionPrefix: 'evidence.export' });
        assert.deepEqual(audited.events.map((e) => e.event.action).sort(), [
          'evidence.export.created',
          'evidence.export.downloaded',
          'evidence.export.downloaded',
          'evidence.export.requested',
        ]);
        const downloads = audited.events.filter((e) => e.event.action === 'evidence.export.downloaded');
        assert.deepEqual(
          downloads.map((e) => (e.event.details as { encryptedTo?: string[] }).encryptedTo ?? null).sort(),
          [[recipient], null],
          'the audit log says who a copy was encrypted to',
        );
      });

      it('live view: refused from a foreign origin, then an init segment and per-frame fragments from the recording session', async () => {
        for (let i = 0; i < 80 && server.palisade.recorder.health('lobby')?.state !== 'recording'; i++)
          await sleep(100);
        const foreign = await openLive(server, operator, 'lobby', 'https://evil.example');
        assert.equal(foreign.status, 403, 'cross-site WebSocket hijacking is refused');
        const noOrigin = await openLive(server, operator, 'lobby', undefined);
        assert.equal(noOrigin.status, 403, 'a browser session must name its origin');
        const notRecording = await openLive(server, operator, 'door', origin);
        assert.equal(notRecording.status, 409);
        const live = await openLive(server, operator, 'lobby', origin);
        assert.equal(live.status, undefined, 'upgraded');
        for (let i = 0; i < 100 && live.messages.filter((m) => typeof m !== 'string').length < 20; i++)
          await sleep(100);
        live.ws.close();
        const [hello, init, ...rest] = live.messages;
        assert.equal(typeof hello, 'string');
        const h = JSON.parse(hello as string) as {
          type: string;
          mime: string;
          width: number;
          height: number;
        };
        assert.equal(h.type, 'init');
        assert.equal(h.width, 1280);
        assert.match(h.mime, /^video\/mp4; codecs="avc1\./);
        assert.equal((init as Buffer)[0], LIVE_KIND.init);
        const frags = rest.filter((m): m is Buffer => typeof m !== 'string');
        assert.ok(frags.length >= 15, `${frags.length} fragments`);
        assert.ok(
          frags.every(
            (f) =>
              f[0] === LIVE_KIND.fragment &&
              f.subarray(LIVE_HEADER_BYTES, LIVE_HEADER_BYTES + 8).toString('latin1', 4, 8) === 'moof',
          ),
        );
        assert.equal(frags[0]![1]! & 0x01, 1, 'the first fragment starts with a key frame');
        // One frame per fragment: 40 ms at 25 fps.
        assert.ok(
          frags.slice(1, 10).every((f) => f.readUInt32BE(4) === 3600),
          'one-frame fragments',
        );
        const wall = frags.at(-1)!.readDoubleBE(8);
        assert.ok(Math.abs(Date.now() - wall) < 3000, 'fragments carry the recorder wall clock');
        await sleep(200);
        const ev = await server.palisade.audit.query({ actionPrefix: 'video.live' });
        assert.deepEqual(ev.events.map((e) => e.event.action).sort(), [
          'video.live.start',
          'video.live.stop',
        ]);
      });
    },
  );
}
