import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { describeResponse, scriptedCamera, type ScriptedAnswer } from '../../test/support/scripted-rtsp.js';
import {
  DEFAULT_LIMITS,
  RtspReader,
  RtspSession,
  describeVideo,
  findVideoTrack,
  parseAuthParams,
  parseRtpInfo,
  parseSdp,
  parseSession,
  parseTransport,
  type RtspMessage,
  type RtspRequest,
} from './index.js';

/**
 * Real-camera RTSP transcripts (shared/fixtures/rtsp, see its FORMAT.md): every file is parsed, and
 * drives the client through OPTIONS, DESCRIBE, SETUP and PLAY against a loopback server that replays
 * it, or fails with the error a user can act on.
 */
const DIR = fileURLToPath(new URL('../../../../shared/fixtures/rtsp/', import.meta.url));
const present = existsSync(DIR);
const SKIP = present ? false : `shared fixtures absent (${DIR}); run inside the Palisade workspace`;

function fixture(name: string): Buffer {
  return readFileSync(DIR + name);
}

function parseOne(raw: Buffer): (RtspMessage | { kind: 'interleaved' })[] {
  const items: (RtspMessage | { kind: 'interleaved' })[] = [];
  const reader = new RtspReader(DEFAULT_LIMITS);
  reader.push(raw, { frame: () => items.push({ kind: 'interleaved' }), message: (m) => items.push(m) });
  assert.equal(reader.bufferedBytes, 0, 'the whole file is consumed');
  return items;
}

const GENERIC = {
  options: 'RTSP/1.0 200 OK\r\nCSeq: 0\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n',
  setupTcp:
    'RTSP/1.0 200 OK\r\nCSeq: 0\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 12345678;timeout=60\r\n\r\n',
  play: 'RTSP/1.0 200 OK\r\nCSeq: 0\r\nSession: 12345678\r\n\r\n',
  teardown: 'RTSP/1.0 200 OK\r\nCSeq: 0\r\n\r\n',
};

function setupUdp(req: RtspRequest): string {
  const ports = /client_port=(\d+-\d+)/.exec(req.headers.get('transport') ?? '')?.[1] ?? '0-1';
  return `RTSP/1.0 200 OK\r\nCSeq: 0\r\nTransport: RTP/AVP;unicast;client_port=${ports};server_port=40000-40001\r\nSession: 12345678;timeout=60\r\n\r\n`;
}

interface Flow {
  describe: string;
  setup?: string;
  play?: string;
  options?: string;
  teardown?: string;
  transport?: 'tcp' | 'udp';
}

/** Expected outcome per DESCRIBE / SDP transcript: codec, SETUP URL (resolved), picture size from the SPS. */
const DESCRIBES: Record<string, { codec: string; control: string; size: string }> = {
  'anjvision_describe.txt': { codec: 'h265', control: '{base}/trackID=1', size: '1280x704' },
  'anpviz_sdp.txt': { codec: 'h264', control: '{base}/trackID=1', size: '704x576' },
  'bunny_describe.txt': {
    codec: 'h264',
    control: 'rtsp://wowzaec2demo.streamlock.net/vod/mp4:BigBuckBunny_115k.mov/trackID=2',
    size: '240x160',
  },
  'dahua_describe_h264_aac_onvif.txt': {
    codec: 'h264',
    control:
      'rtsp://192.168.5.111:554/cam/realmonitor?channel=1&subtype=1&unicast=true&proto=Onvif/trackID=0',
    size: '704x480',
  },
  'dahua_describe_h265_pcma.txt': {
    codec: 'h265',
    control: 'rtsp://cam-driveway/cam/realmonitor?channel=1&subtype=2/trackID=0',
    size: '704x480',
  },
  'foscam_describe.txt': {
    codec: 'h264',
    control: 'rtsp://192.168.5.107:65534/videoMain/track1',
    size: '1280x720',
  },
  'geovision_sdp.txt': {
    codec: 'h264',
    control: 'rtsp://192.168.5.237/media/video1/video',
    size: '2688x1520',
  },
  'gw_main_describe.txt': {
    codec: 'h264',
    control: 'rtsp://192.168.1.110:5050/H264?channel=1&subtype=0&unicast=true&proto=Onvif/video',
    size: '1920x1080',
  },
  'gw_sub_describe.txt': {
    codec: 'h264',
    control: 'rtsp://192.168.1.110:5049/H264?channel=1&subtype=1&unicast=true&proto=Onvif/video',
    size: '720x480',
  },
  'h264dvr_describe.txt': {
    codec: 'h264',
    control: 'rtsp://127.0.0.1:554/camera/trackID=3',
    size: '1920x1080',
  },
  'hikvision_describe.txt': {
    codec: 'h264',
    control:
      'rtsp://192.168.5.106:554/Streaming/Channels/101/trackID=1?transportmode=unicast&profile=Profile_1',
    size: '1920x1080',
  },
  'ipcam_describe.txt': { codec: 'h264', control: '{base}/trackID=1', size: '1280x960' },
  'macrovideo_describe.txt': { codec: 'h264', control: '{base}/track1', size: '1280x720' },
  'missing_content_type_describe.txt': { codec: 'h264', control: '{base}/streamid=0', size: '320x180' },
  'reolink_describe.txt': {
    codec: 'h264',
    control: 'rtsp://192.168.5.206/h264Preview_01_main/trackID=1',
    size: '2560x1440',
  },
  'reolink_describe_control_first.txt': {
    codec: 'h264',
    control: 'rtsp://192.168.5.206/h264Preview_01_main/trackID=1',
    size: '2560x1440',
  },
  'tplink_sdp.txt': { codec: 'h265', control: '{base}/track1', size: '2560x1440' },
  'ubiquiti_sdp.txt': { codec: 'h264', control: '{base}/trackID=2', size: '1920x1080' },
  'vstarcam_describe.txt': { codec: 'h264', control: '{base}/track0', size: '1920x1080' },
};

/** Each SETUP / PLAY / OPTIONS / TEARDOWN transcript, in the flow of the camera it came from. */
const FLOWS: Record<string, Flow> = {
  bunny: { describe: 'bunny_describe.txt', setup: 'bunny_setup.txt', play: 'bunny_play.txt' },
  bad_rtptime: { describe: 'bunny_describe.txt', setup: 'bunny_setup.txt', play: 'bad_rtptime.txt' },
  dahua: {
    describe: 'dahua_describe_h264_aac_onvif.txt',
    options: 'dahua_options.txt',
    setup: 'dahua_setup.txt',
    play: 'dahua_play.txt',
  },
  gw_main: { describe: 'gw_main_describe.txt', setup: 'gw_main_setup_video.txt', play: 'gw_main_play.txt' },
  gw_main_audio_channels: {
    describe: 'gw_main_describe.txt',
    setup: 'gw_main_setup_audio.txt',
    play: 'gw_main_play.txt',
  },
  gw_sub: { describe: 'gw_sub_describe.txt', setup: 'gw_sub_setup.txt', play: 'gw_sub_play.txt' },
  h264dvr: {
    describe: 'h264dvr_describe.txt',
    setup: 'h264dvr_setup_video.txt',
    play: 'h264dvr_play.txt',
    transport: 'udp',
  },
  h264dvr_audio_setup: {
    describe: 'h264dvr_describe.txt',
    setup: 'h264dvr_setup_audio.txt',
    play: 'h264dvr_play.txt',
    transport: 'udp',
  },
  hikvision: { describe: 'hikvision_describe.txt', setup: 'hikvision_setup.txt', play: 'hikvision_play.txt' },
  hikvision_ssrc_space: {
    describe: 'hikvision_describe.txt',
    setup: 'hikvision_setup_ssrc_space.txt',
    play: 'hikvision_play.txt',
  },
  laureii: { describe: 'ipcam_describe.txt', play: 'laureii_play.txt' },
  luckfox_tcp: { describe: 'reolink_describe.txt', setup: 'luckfox_rkipc_setup_tcp.txt' },
  luckfox_udp: { describe: 'reolink_describe.txt', setup: 'luckfox_rkipc_setup_udp.txt', transport: 'udp' },
  reolink: {
    describe: 'reolink_describe.txt',
    setup: 'reolink_setup.txt',
    play: 'reolink_play.txt',
    teardown: 'reolink_teardown.txt',
  },
};

function describeBytes(name: string): Buffer {
  return name.endsWith('_sdp.txt') ? describeResponse(fixture(name)) : fixture(name);
}

async function runFlow(flow: Flow) {
  let base = '';
  const camera = await scriptedCamera((req): ScriptedAnswer => {
    switch (req.method) {
      case 'OPTIONS':
        return flow.options === undefined ? GENERIC.options : fixture(flow.options);
      case 'DESCRIBE':
        return describeBytes(flow.describe);
      case 'SETUP':
        if (flow.setup !== undefined) return fixture(flow.setup);
        return flow.transport === 'udp' ? setupUdp(req) : GENERIC.setupTcp;
      case 'PLAY':
        return flow.play === undefined ? GENERIC.play : fixture(flow.play);
      case 'TEARDOWN':
        return flow.teardown === undefined ? GENERIC.teardown : fixture(flow.teardown);
      default:
        return GENERIC.teardown;
    }
  });
  base = camera.url();
  const session = new RtspSession({
    url: camera.url(),
    transport: flow.transport ?? 'tcp',
    responseTimeoutMs: 3000,
  });
  const states: string[] = [];
  session.on('state', (s: string) => states.push(s));
  try {
    const info = await session.start();
    return { info, session, camera, states, base };
  } catch (err) {
    await camera.close();
    throw err;
  }
}

describe('real-camera RTSP transcripts', { skip: SKIP }, () => {
  it('every response file parses as exactly one RTSP response, bare SDPs as SDP', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.txt') && !f.startsWith('LICENSE'));
    assert.equal(files.length, 43, 'FORMAT.md promises 43 data files');
    for (const f of files) {
      if (f.endsWith('_sdp.txt')) {
        assert.ok(parseSdp(fixture(f)).media.length > 0, f);
        continue;
      }
      const items = parseOne(fixture(f));
      assert.equal(items.length, 1, f);
      const r = items[0]!;
      assert.ok(r.kind === 'response', f);
      assert.equal(r.status, f === 'longse_unauthorized.txt' ? 401 : 200, f);
      assert.match(r.headers.get('cseq') ?? '', /^\d+$/, `${f}: CSeq (any capitalisation, trimmed)`);
      if (r.headers.get('session') !== undefined)
        assert.ok(parseSession(r.headers.get('session')!).id.length > 0, f);
      if (r.headers.get('transport') !== undefined) parseTransport(r.headers.get('transport')!);
    }
  });

  it('Transport, Session and RTP-Info quirks are read as the camera meant them', () => {
    const header = (f: string, name: string) => {
      const r = parseOne(fixture(f))[0]!;
      assert.ok(r.kind === 'response');
      return r.headers.get(name)!;
    };
    assert.equal(parseTransport(header('hikvision_setup_ssrc_space.txt', 'transport')).ssrc, 0xd6d6627);
    assert.equal(parseTransport(header('hikvision_setup.txt', 'transport')).mode, 'PLAY');
    assert.deepEqual(parseTransport(header('luckfox_rkipc_setup_tcp.txt', 'transport')).interleaved, [0, 1]);
    assert.deepEqual(
      parseTransport(header('luckfox_rkipc_setup_udp.txt', 'transport')).serverPort,
      [49152, 49153],
    );
    assert.deepEqual(parseTransport(header('gw_main_setup_audio.txt', 'transport')).interleaved, [2, 3]);
    assert.equal(parseTransport(header('h264dvr_setup_video.txt', 'transport')).lower, 'UDP');
    assert.deepEqual(parseSession(header('gw_main_setup_video.txt', 'session')), {
      id: '9a90de54',
      timeoutSeconds: 60,
    });
    assert.deepEqual(parseSession(header('hikvision_setup.txt', 'session')), {
      id: '708345999',
      timeoutSeconds: 60,
    });
    const bad = parseRtpInfo(header('bad_rtptime.txt', 'rtp-info'));
    assert.equal(bad.length, 2);
    assert.equal(bad[0]!.rtptime, undefined, 'rtptime=-1 is ignored, not wrapped');
    assert.equal(bad[0]!.seq, 1);
    const laureii = parseRtpInfo(header('laureii_play.txt', 'rtp-info'));
    assert.deepEqual(laureii, [{ url: 'rtsp://192.168.1.19:554/0/main/trackID=0', seq: 0, rtptime: 0 }]);
    const dahua = parseRtpInfo(header('dahua_play.txt', 'rtp-info'));
    assert.deepEqual(
      dahua.map((e) => e.url),
      ['trackID=0', 'trackID=1', 'trackID=4'],
    );
  });

  for (const [file, expected] of Object.entries(DESCRIBES)) {
    it(`${file}: ${expected.codec} track, SPS ${expected.size}, client reaches PLAY`, async () => {
      const sdpBody = file.endsWith('_sdp.txt')
        ? fixture(file)
        : (parseOne(fixture(file))[0] as { body: Buffer }).body;
      const track = findVideoTrack(parseSdp(sdpBody));
      assert.equal(track.codec, expected.codec);
      const video = describeVideo(track.codec, track.parameterSets);
      assert.equal(`${video.width}x${video.height}`, expected.size);

      const flow: Flow = { describe: file, transport: file.startsWith('h264dvr') ? 'udp' : 'tcp' };
      const { info, session, camera, states, base } = await runFlow(flow);
      try {
        assert.equal(session.state, 'playing');
        assert.deepEqual(states, ['connecting', 'describing', 'setting-up', 'playing']);
        assert.equal(info.codec, expected.codec);
        assert.equal(info.control, expected.control.replace('{base}', base));
        const setup = camera.requests.find((r) => r.method === 'SETUP')!;
        assert.equal(setup.uri, info.control, 'SETUP goes to the resolved control URL');
        assert.equal(`${info.video?.width}x${info.video?.height}`, expected.size);
        assert.deepEqual(
          camera.requests.map((r) => r.method),
          ['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY'],
        );
        const play = camera.requests.find((r) => r.method === 'PLAY')!;
        assert.equal(play.headers.get('session'), info.sessionId);
      } finally {
        await session.close();
        await camera.close();
      }
    });
  }

  for (const [name, flow] of Object.entries(FLOWS)) {
    it(`${name}: ${[flow.options, flow.setup, flow.play, flow.teardown].filter(Boolean).join(', ')} drive the client to PLAY and TEARDOWN`, async () => {
      const { info, session, camera } = await runFlow(flow);
      try {
        assert.equal(session.state, 'playing');
        const setupResponse = flow.setup === undefined ? undefined : parseOne(fixture(flow.setup))[0];
        if (setupResponse?.kind === 'response') {
          assert.equal(info.sessionId, parseSession(setupResponse.headers.get('session')!).id);
          assert.equal(
            info.timeoutSeconds,
            parseSession(setupResponse.headers.get('session')!).timeoutSeconds,
          );
        }
        assert.equal(info.transport, flow.transport ?? 'tcp');
        if (name === 'bunny')
          assert.deepEqual(info.rtpInfo, {
            url: 'rtsp://wowzaec2demo.streamlock.net/vod/mp4:BigBuckBunny_115k.mov/trackID=2',
            seq: 1,
            rtptime: 0,
          });
        if (name === 'bad_rtptime') assert.equal(info.rtpInfo?.rtptime, undefined);
        if (name === 'hikvision') assert.equal(info.rtpInfo?.rtptime, 1270711678);
        if (name === 'dahua') assert.equal(info.rtpInfo?.seq, 47121);
        await session.close();
        assert.equal(session.state, 'closed');
        assert.equal(camera.requests.at(-1)?.method, 'TEARDOWN');
        assert.equal(camera.requests.at(-1)?.headers.get('session'), info.sessionId);
        assert.equal(await session.closed, undefined, 'a clean close is not an error');
      } finally {
        await session.close();
        await camera.close();
      }
    });
  }

  it('longse_unauthorized.txt: Digest MD5 answered correctly, then a refused password is RTSP_AUTH_FAILED', async () => {
    const challenge = fixture('longse_unauthorized.txt');
    let accept = true;
    const camera = await scriptedCamera((req) => {
      if (req.method === 'OPTIONS') return GENERIC.options;
      const auth = req.headers.get('authorization');
      if (auth === undefined || !accept) return challenge;
      const p = parseAuthParams(auth.replace(/^Digest\s+/, ''));
      const md5 = (s: string) => createHash('md5').update(s).digest('hex');
      const expected = md5(
        `${md5('admin:Surveillance Server:12345')}:98481030:${md5(`${req.method}:${p.get('uri')}`)}`,
      );
      if (p.get('response') !== expected || p.get('realm') !== 'Surveillance Server') return challenge;
      if (req.method === 'DESCRIBE') return fixture('reolink_describe.txt');
      if (req.method === 'SETUP') return GENERIC.setupTcp;
      return GENERIC.play;
    });
    try {
      const ok = new RtspSession({ url: camera.url(), username: 'admin', password: '12345' });
      await ok.start();
      assert.equal(ok.state, 'playing');
      await ok.close();

      const wrong = new RtspSession({ url: camera.url(), username: 'admin', password: 'nope' });
      await assert.rejects(wrong.start(), {
        code: 'RTSP_AUTH_FAILED',
        message: /refused the username or password/,
      });
      const none = new RtspSession({ url: camera.url() });
      await assert.rejects(none.start(), { code: 'RTSP_AUTH_FAILED', message: /requires credentials/ });
      accept = false;
    } finally {
      await camera.close();
    }
  });
});
