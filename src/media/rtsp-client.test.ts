import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import {
  scriptedCamera,
  type ScriptedAnswer,
  type ScriptedCamera,
} from '../../test/support/scripted-rtsp.js';
import { loadClip } from '../sim/index.js';
import {
  ClientAuthenticator,
  DigestVerifier,
  RtspSession,
  buildSenderReport,
  formatResponse,
  interleavedHeader,
  parseChallenges,
  writeRtpHeader,
  writeSdp,
  type AccessUnit,
  type RtspRequest,
} from './index.js';

const clip = loadClip('h264-720p');
const SDP = writeSdp({
  codec: 'h264',
  parameterSets: clip.video.parameterSets,
  payloadType: 96,
  control: 'trackID=0',
  sessionName: 't',
  origin: '1',
});

function ok(headers: [string, string][] = [], body?: string): Buffer {
  return formatResponse(
    200,
    'OK',
    [['CSeq', '0'], ...headers],
    body === undefined ? undefined : Buffer.from(body),
  );
}

/** A camera that plays `SDP` normally unless `override` answers first. */
async function camera(override?: (req: RtspRequest) => ScriptedAnswer | null): Promise<ScriptedCamera> {
  return scriptedCamera((req) => {
    const o = override?.(req);
    if (o !== undefined && o !== null) return o;
    if (o === null) return undefined; // say nothing
    switch (req.method) {
      case 'OPTIONS':
        return ok([['Public', 'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER']]);
      case 'DESCRIBE':
        return ok([['Content-Type', 'application/sdp']], SDP);
      case 'SETUP':
        return ok([
          ['Transport', 'RTP/AVP/TCP;unicast;interleaved=0-1'],
          ['Session', 'S1;timeout=60'],
        ]);
      default:
        return ok([['Session', 'S1']]);
    }
  });
}

/** Interleaved RTP for clip frames [from, to), with a timestamp offset and SSRC. */
function rtpFrames(
  from: number,
  to: number,
  opts: { ssrc?: number; seq?: number; tsBase?: number; skipPacket?: number } = {},
): Buffer {
  const parts: Buffer[] = [];
  let seq = opts.seq ?? 1000;
  let n = 0;
  for (let i = from; i < to; i++) {
    const f = clip.frames[i % clip.frames.length]!;
    f.payloads.forEach((p, j) => {
      const b = Buffer.alloc(12 + p.length);
      writeRtpHeader(b, 0, {
        payloadType: 96,
        marker: j === f.payloads.length - 1,
        sequence: seq++,
        timestamp: (opts.tsBase ?? 0) + i * 3600,
        ssrc: opts.ssrc ?? 0x11111111,
      });
      p.copy(b, 12);
      if (n++ !== opts.skipPacket) parts.push(interleavedHeader(0, b.length), b);
    });
  }
  return Buffer.concat(parts);
}

async function collect(session: RtspSession, count: number): Promise<AccessUnit[]> {
  const out: AccessUnit[] = [];
  for await (const au of session) {
    out.push(au);
    if (out.length >= count) break;
  }
  return out;
}

describe('RTSP client session', () => {
  it('follows a redirect to another server and plays there; too many redirects is RTSP_REDIRECT_FAILED', async () => {
    const target = await camera();
    const redirector = await camera((req) =>
      req.method === 'DESCRIBE'
        ? formatResponse(302, 'Found', [
            ['CSeq', '0'],
            ['Location', target.url('/moved')],
          ])
        : undefined,
    );
    try {
      const s = new RtspSession({ url: redirector.url() });
      const info = await s.start();
      assert.equal(info.url, target.url('/moved'));
      assert.equal(target.requests.find((r) => r.method === 'DESCRIBE')?.uri, target.url('/moved'));
      await s.close();
      const loop = await camera((req) =>
        req.method === 'DESCRIBE'
          ? formatResponse(301, 'Moved', [
              ['CSeq', '0'],
              ['Location', loop.url('/again')],
            ])
          : undefined,
      );
      await assert.rejects(new RtspSession({ url: loop.url() }).start(), { code: 'RTSP_REDIRECT_FAILED' });
      await loop.close();
    } finally {
      await redirector.close();
      await target.close();
    }
  });

  it('limits: huge headers, too many headers, big bodies and big interleaved frames end the session, typed', async () => {
    const cases: [string, (req: RtspRequest) => ScriptedAnswer | undefined, Record<string, number>][] = [
      [
        'maxHeaderBytes',
        (r) =>
          r.method === 'OPTIONS'
            ? `RTSP/1.0 200 OK\r\nCSeq: 1\r\nX: ${'a'.repeat(40_000)}\r\n\r\n`
            : undefined,
        {},
      ],
      [
        'maxHeaderCount',
        (r) =>
          r.method === 'OPTIONS' ? `RTSP/1.0 200 OK\r\nCSeq: 1\r\n${'X: y\r\n'.repeat(100)}\r\n` : undefined,
        {},
      ],
      [
        'maxBodyBytes',
        (r) =>
          r.method === 'DESCRIBE'
            ? `RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 9999999\r\n\r\n`
            : undefined,
        {},
      ],
      [
        'maxSdpBytes',
        (r) => (r.method === 'DESCRIBE' ? ok([], `v=0\r\n${'a=x\r\n'.repeat(3000)}`) : undefined),
        { maxSdpBytes: 4096 },
      ],
    ];
    for (const [limit, answer, limits] of cases) {
      const cam = await camera(answer);
      try {
        await assert.rejects(
          new RtspSession({ url: cam.url(), limits }).start(),
          (e: { code: string; details: { limit: string } }) => {
            assert.equal(e.code, 'RTSP_LIMIT_EXCEEDED');
            assert.equal(e.details.limit, limit);
            return true;
          },
        );
      } finally {
        await cam.close();
      }
    }
    const cam = await camera();
    try {
      const s = new RtspSession({ url: cam.url(), limits: { maxInterleavedBytes: 2000 } });
      await s.start();
      cam.send(Buffer.concat([interleavedHeader(0, 3000), Buffer.alloc(3000)]));
      await assert.rejects(collect(s, 1), {
        code: 'RTSP_LIMIT_EXCEEDED',
        details: { limit: 'maxInterleavedBytes', value: 3000, max: 2000 },
      });
    } finally {
      await cam.close();
    }
  });

  it('failures a user can act on: bad URL, refused, timeout, 404, codec, transport', async () => {
    assert.throws(() => new RtspSession({ url: 'http://cam/x' }), { code: 'RTSP_BAD_URL' });
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise((r) => free.close(r));
    await assert.rejects(new RtspSession({ url: `rtsp://127.0.0.1:${port}/x` }).start(), {
      code: 'RTSP_CONNECT_FAILED',
    });

    const checks: [(req: RtspRequest) => ScriptedAnswer | null | undefined, object, string][] = [
      [
        (r) => (r.method === 'DESCRIBE' ? null : undefined),
        { code: 'RTSP_TIMEOUT', message: /DESCRIBE/ },
        'silent',
      ],
      [
        (r) => (r.method === 'DESCRIBE' ? formatResponse(404, 'Not Found', [['CSeq', '0']]) : undefined),
        { code: 'RTSP_NOT_FOUND' },
        '404',
      ],
      [
        (r) =>
          r.method === 'DESCRIBE' ? formatResponse(503, 'Service Unavailable', [['CSeq', '0']]) : undefined,
        { code: 'RTSP_REQUEST_FAILED', details: { status: 503, method: 'DESCRIBE' } },
        '503',
      ],
      [
        (r) =>
          r.method === 'DESCRIBE'
            ? ok([], 'v=0\r\nm=video 0 RTP/AVP 26\r\nm=audio 0 RTP/AVP 0\r\n')
            : undefined,
        { code: 'MEDIA_UNSUPPORTED_CODEC', message: /offers JPEG.*H\.264 or H\.265/ },
        'MJPEG',
      ],
      [
        (r) => (r.method === 'DESCRIBE' ? ok([], '<html>login</html>') : undefined),
        { code: 'SDP_INVALID' },
        'html',
      ],
      [
        (r) =>
          r.method === 'SETUP' ? formatResponse(461, 'Unsupported Transport', [['CSeq', '0']]) : undefined,
        { code: 'RTSP_UNSUPPORTED_TRANSPORT' },
        '461',
      ],
      [
        (r) =>
          r.method === 'SETUP'
            ? ok([
                ['Transport', 'RTP/AVP;unicast;client_port=5000-5001'],
                ['Session', 'x'],
              ])
            : undefined,
        { code: 'RTSP_UNSUPPORTED_TRANSPORT', message: /use the UDP transport/ },
        'udp answer',
      ],
      [
        (r) => (r.method === 'SETUP' ? ok([['Transport', 'RTP/AVP/TCP;interleaved=0-1']]) : undefined),
        { code: 'RTSP_MALFORMED', message: /no Session/ },
        'no session',
      ],
      [
        (r) => (r.method === 'DESCRIBE' ? 'HTTP/1.1 200 OK\r\n\r\n' : undefined),
        { code: 'RTSP_MALFORMED' },
        'http',
      ],
    ];
    for (const [answer, expected, name] of checks) {
      const cam = await camera(answer);
      try {
        const s = new RtspSession({ url: cam.url(), responseTimeoutMs: 300 });
        await assert.rejects(s.start(), expected, name);
        assert.equal(s.state, 'closed', name);
      } finally {
        await cam.close();
      }
    }
  });

  it('Basic authentication is refused on plain RTSP unless allowed; Digest SHA-256 is preferred over MD5', async () => {
    const basic = await camera((req) =>
      req.headers.get('authorization') === `Basic ${Buffer.from('u:p').toString('base64')}`
        ? undefined
        : formatResponse(401, 'Unauthorized', [
            ['CSeq', '0'],
            ['WWW-Authenticate', 'Basic realm="cam"'],
          ]),
    );
    try {
      await assert.rejects(new RtspSession({ url: basic.url(), username: 'u', password: 'p' }).start(), {
        code: 'RTSP_AUTH_INSECURE',
      });
      const s = new RtspSession({
        url: basic.url(),
        username: 'u',
        password: 'p',
        allowBasicAuthInClear: true,
      });
      await s.start();
      assert.equal(s.state, 'playing');
      await s.close();
    } finally {
      await basic.close();
    }
    const verifier = new DigestVerifier('cam');
    const seen: string[] = [];
    const digest = await camera((req) => {
      const auth = req.headers.get('authorization');
      if (auth !== undefined) seen.push(/algorithm=([\w-]+)/.exec(auth)?.[1] ?? 'MD5');
      return verifier.verify(req.method, auth, { username: 'u', password: 'p' }) === 'ok'
        ? undefined
        : formatResponse(401, 'Unauthorized', [
            ['CSeq', '0'],
            ...verifier
              .challenges()
              .reverse()
              .map((c): [string, string] => ['WWW-Authenticate', c]),
          ]);
    });
    try {
      const s = new RtspSession({ url: digest.url(), username: 'u', password: 'p' });
      await s.start();
      assert.ok(seen.length >= 3 && seen.every((a) => a === 'SHA-256'), seen.join());
      await s.close();
    } finally {
      await digest.close();
    }
  });

  it('Digest: a stale nonce is retried with the new one; a verifier refuses a replay under another method', () => {
    const verifier = new DigestVerifier('realm', 0);
    const client = new ClientAuthenticator('u', 'p', false);
    client.accept(parseChallenges(verifier.challenges()), false);
    const header = client.authorization('DESCRIBE', 'rtsp://h/x');
    assert.equal(
      verifier.verify('DESCRIBE', header, { username: 'u', password: 'p' }),
      'stale',
      'nonce lifetime 0',
    );
    assert.equal(verifier.verify('PLAY', header, { username: 'u', password: 'p' }), 'refused');
    assert.equal(verifier.verify('DESCRIBE', header, { username: 'u', password: 'q' }), 'refused');
    const fresh = new DigestVerifier('realm');
    client.accept(parseChallenges(fresh.challenges(true)), false);
    assert.equal(
      fresh.verify('SETUP', client.authorization('SETUP', 'rtsp://h/x/t'), { username: 'u', password: 'p' }),
      'ok',
    );
  });

  it('media: access units with key frames, 90 kHz timestamps, SR wall clock; loss skips to the next key frame; SSRC change keeps time monotonic', async () => {
    const cam = await camera();
    try {
      const s = new RtspSession({ url: cam.url() });
      await s.start();
      const now = Date.now();
      cam.send(rtpFrames(0, 10, { tsBase: 90_000 }));
      cam.send(
        Buffer.concat([
          interleavedHeader(1, 28),
          buildSenderReport({
            ssrc: 0x11111111,
            wallClockMs: now,
            rtpTimestamp: 90_000 + 10 * 3600,
            packetCount: 1,
            octetCount: 1,
          }),
        ]),
      );
      cam.send(rtpFrames(10, 20, { tsBase: 90_000, seq: 2000 })); // a sequence gap: frame 10 corrupt, wait for key frame 50
      cam.send(rtpFrames(50, 55, { tsBase: 90_000, seq: 2000 + 1000 }));
      cam.send(rtpFrames(0, 5, { ssrc: 0x22222222, tsBase: 777_777_777, seq: 5 })); // a restarted source
      const aus = await collect(s, 20);
      assert.equal(aus.length, 20);
      assert.equal(aus[0]!.key, true);
      assert.equal(aus[0]!.videoChanged, true);
      assert.equal(aus[0]!.video.width, 1280);
      assert.deepEqual(
        aus.slice(0, 10).map((a) => a.timestamp - aus[0]!.timestamp),
        [...Array(10).keys()].map((i) => i * 3600),
      );
      assert.equal(aus[0]!.wallClock, undefined, 'no sender report yet');
      // After the gap nothing until the key frame of the next GOP (clip frame 50).
      assert.equal(aus[10]!.key, true);
      assert.equal(aus[10]!.discontinuity, true);
      assert.equal(aus[10]!.timestamp - aus[0]!.timestamp, 50 * 3600);
      assert.ok(
        Math.abs(aus[10]!.wallClock! - (now + 40 * 40)) < 2,
        'SR maps 90 kHz time to wall-clock time',
      );
      // SSRC change: the new source's key frame continues the timeline one frame later.
      assert.equal(aus[15]!.discontinuity, true);
      assert.equal(aus[15]!.timestamp, aus[14]!.timestamp + 3600);
      assert.equal(aus[16]!.timestamp, aus[15]!.timestamp + 3600);
      assert.ok(s.stats.lostPackets > 0);
      assert.equal(s.stats.ssrcChanges, 1);
      await s.close();
    } finally {
      await cam.close();
    }
  });

  it('backpressure: a slow consumer pauses TCP reading (bounded queue) and loses nothing', async () => {
    const cam = await camera();
    try {
      const s = new RtspSession({ url: cam.url(), limits: { maxQueuedAccessUnits: 8 } });
      await s.start();
      cam.send(rtpFrames(0, 100));
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(s.stats.pauses >= 1, 'reading paused');
      assert.ok(s.stats.accessUnits < 100, `only ${s.stats.accessUnits} frames taken in while paused`);
      const aus = await collect(s, 100);
      assert.equal(aus.length, 100);
      assert.equal(aus.filter((a) => a.discontinuity).length, 0);
      await s.close();
    } finally {
      await cam.close();
    }
  });

  it('keeps the session alive with GET_PARAMETER at half the session timeout, OPTIONS when not offered', async () => {
    for (const [publicMethods, expected] of [
      ['OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER', 'GET_PARAMETER'],
      ['OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN', 'OPTIONS'],
    ] as const) {
      const cam = await camera((req) => {
        if (req.method === 'OPTIONS') return ok([['Public', publicMethods]]);
        if (req.method === 'SETUP')
          return ok([
            ['Transport', 'RTP/AVP/TCP;interleaved=0-1'],
            ['Session', 'K;timeout=2'],
          ]);
        return undefined;
      });
      try {
        const s = new RtspSession({ url: cam.url(), stallTimeoutMs: 60_000 });
        await s.start();
        await new Promise((r) => setTimeout(r, 1800));
        const after = cam.requests.slice(4).map((r) => r.method);
        assert.ok(after.includes(expected), after.join());
        assert.equal(cam.requests.at(-1)?.headers.get('session'), 'K');
        await s.close();
      } finally {
        await cam.close();
      }
    }
  });
});
