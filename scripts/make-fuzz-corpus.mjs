#!/usr/bin/env node
// Regenerates the seed corpus of the media fuzz tests (test/corpus/media/<target>/) from Palisade's
// own writers and the committed clips. Run after `npm run build`. The seeds are our own bytes; the
// shared real-camera transcripts are read at test time, never copied here.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as media from '../dist/src/media/index.js';
import { loadClip } from '../dist/src/sim/index.js';

const root = path.resolve(import.meta.dirname, '..', 'test', 'corpus', 'media');
const put = (target, name, bytes) => {
  mkdirSync(path.join(root, target), { recursive: true });
  writeFileSync(path.join(root, target, name), bytes);
};
rmSync(root, { recursive: true, force: true });

const h264 = loadClip('h264-720p');
const h265 = loadClip('h265-1080p');
const sdp264 = media.writeSdp({
  codec: 'h264',
  parameterSets: h264.video.parameterSets,
  payloadType: 96,
  control: 'trackID=0',
  sessionName: 's',
  origin: '1',
  width: 1280,
  height: 720,
  fps: 25,
});
const sdp265 = media.writeSdp({
  codec: 'h265',
  parameterSets: h265.video.parameterSets,
  payloadType: 98,
  control: 'rtsp://10.0.0.1/a/track1',
  sessionName: 's',
  origin: '1',
});
put('sdp', 'h264.sdp', sdp264);
put('sdp', 'h265.sdp', sdp265);
put(
  'sdp',
  'quirks.sdp',
  'v=0\ns=x\nm=video 0 RTP/AVP 96 \t\r\na=rtpmap:96 H264/90000 \na=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z00AKpWoHgCJ+WbgICAgQAAAAAE=,aO48gA==\nm=application/X 0 RTP/AVP smart/1/90000\na=control:track3\n',
);

const resp = (status, reason, headers, body) =>
  media.formatResponse(status, reason, headers, body && Buffer.from(body));
put(
  'rtsp',
  'describe.bin',
  resp(
    200,
    'OK',
    [
      ['CSeq', '2'],
      ['Content-Base', 'rtsp://cam/x/'],
      ['Content-Type', 'application/sdp'],
    ],
    sdp264,
  ),
);
put(
  'rtsp',
  'unauthorized.bin',
  resp(401, 'Unauthorized', [
    ['CSeq', '1 '],
    ['WWW-Authenticate', 'Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth"'],
    ['WWW-Authenticate', 'Basic realm="r"'],
  ]),
);
put(
  'rtsp',
  'setup.bin',
  resp(200, 'OK', [
    ['Cseq', '3'],
    ['Transport', 'RTP/AVP/TCP;ssrc= d6d6627;interleaved=2-3;mode="play"'],
    ['Session', '  708345999; timeout=60'],
  ]),
);
put(
  'rtsp',
  'play.bin',
  resp(200, 'OK', [
    ['CSeq', '4'],
    ['Session', 'abc'],
    ['RTP-Info', 'url=trackID=1;seq=1;rtptime=-1,url=rtsp://h/p/trackID=2;seq=65535;rtptime=4294967295;'],
  ]),
);
const rtp = (payload, seq, marker) => {
  const b = Buffer.alloc(12 + payload.length);
  media.writeRtpHeader(b, 0, { payloadType: 96, marker, sequence: seq, timestamp: 1000, ssrc: 0x1234 });
  payload.copy(b, 12);
  return b;
};
const frame = h264.frames[1].payloads.slice(0, 3).map((p, i) => rtp(p, i, i === 2));
const interleaved = Buffer.concat([
  ...frame.flatMap((p) => [media.interleavedHeader(0, p.length), p]),
  resp(200, 'OK', [['CSeq', '9']]),
  media.interleavedHeader(1, 28),
  media.buildSenderReport({
    ssrc: 0x1234,
    wallClockMs: 1.7e12,
    rtpTimestamp: 1000,
    packetCount: 3,
    octetCount: 9,
  }),
]);
put('interleaved', 'mixed.bin', interleaved);
put('rtp', 'rtp.bin', frame[0]);
put(
  'rtp',
  'rtp-ext-pad.bin',
  Buffer.concat([
    Buffer.from([0xb0, 0xe0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 7, 0xbe, 0xde, 0, 1, 1, 2, 3, 4]),
    Buffer.from([0x65, 1, 2, 0, 0, 3]),
  ]),
);
put(
  'rtp',
  'sr.bin',
  media.buildSenderReport({ ssrc: 1, wallClockMs: 1.7e12, rtpTimestamp: 5, packetCount: 1, octetCount: 2 }),
);

// Depacketizer inputs: records of [flags u8 (bit0 marker, bit1 next timestamp, bit2 lost before)][len u16][payload].
const records = (payloadLists) =>
  Buffer.concat(
    payloadLists.flatMap((payloads) =>
      payloads.map((p, i) => {
        const head = Buffer.alloc(3);
        head[0] = (i === payloads.length - 1 ? 1 : 0) | (i === 0 ? 2 : 0);
        head.writeUInt16BE(p.length, 1);
        return Buffer.concat([head, p]);
      }),
    ),
  );
const small = (clip) =>
  clip.frames
    .filter((f) => !f.key)
    .sort((a, b) => a.bytes - b.bytes)
    .slice(0, 3)
    .map((f) => f.payloads);
const ps = (clip) =>
  (clip.video.codec === 'h264' ? media.packetizeH264 : media.packetizeH265)(
    [...clip.video.parameterSets.vps, ...clip.video.parameterSets.sps, ...clip.video.parameterSets.pps],
    1400,
  );
put('h264', 'frames.bin', records([ps(h264), ...small(h264)]));
put('h264', 'fu.bin', records([media.packetizeH264([Buffer.alloc(4000, 0x41)], 1400)]));
put('h265', 'frames.bin', records([ps(h265), ...small(h265)]));
put(
  'h265',
  'fu.bin',
  records([media.packetizeH265([Buffer.concat([Buffer.from([2, 1]), Buffer.alloc(4000, 9)])], 1400)]),
);

const writer = new media.Fmp4Writer(h264.video);
const nal = (f) => {
  const out = [];
  const d = new media.H264Depacketizer(media.DEFAULT_LIMITS, (au) => out.push(...au.nalus));
  f.payloads.forEach((p, i) =>
    d.push(
      {
        payloadType: 96,
        marker: i === f.payloads.length - 1,
        sequence: i,
        timestamp: 0,
        ssrc: 1,
        payload: p,
      },
      false,
    ),
  );
  return out;
};
const tiny = small(h264)[0];
put(
  'fmp4',
  'two-fragments.mp4',
  Buffer.concat([
    writer.initSegment(),
    writer.fragment([{ nalus: nal({ payloads: tiny }), duration: 3600, key: true }], 0),
    writer.fragment([{ nalus: nal({ payloads: tiny }), duration: 3600, key: false }], 3600),
  ]),
);
console.log(`corpus written to ${root}`);
