import { MediaErrorCode, limitExceeded, mediaError } from './errors.js';
import { DEFAULT_LIMITS, type MediaLimits } from './limits.js';
import type { ParameterSets, VideoCodec } from './video.js';

/** A media section (`m=` and the lines after it) of a session description (RFC 8866 5.14). */
export interface SdpMedia {
  type: string;
  port: number;
  protocol: string;
  /** Format list as written: payload types for RTP, but cameras put other strings here too. */
  formats: string[];
  /** `a=control` (RFC 2326 C.1.1), as written. */
  control: string | undefined;
  rtpmap: Map<number, { encoding: string; clockRate: number; channels: number | undefined }>;
  /** `a=fmtp` parameters per payload type, names lower-cased. */
  fmtp: Map<number, Map<string, string>>;
  attributes: [string, string][];
}

export interface SessionDescription {
  sessionName: string | undefined;
  /** Session-level `a=control` (aggregate control URL), as written. */
  control: string | undefined;
  media: SdpMedia[];
  attributes: [string, string][];
}

/**
 * Parses an SDP the way real cameras write it: CRLF or LF, trailing blanks, missing `o=`/`t=` lines,
 * vendor attributes, payload types that are not numbers. Only what is unusable is an error: not SDP
 * at all, or over the limits.
 */
export function parseSdp(input: string | Buffer, limits: MediaLimits = DEFAULT_LIMITS): SessionDescription {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > limits.maxSdpBytes) throw limitExceeded('maxSdpBytes', size, limits.maxSdpBytes);
  const text = typeof input === 'string' ? input : input.toString('utf8');
  const lines = text.split(/\r?\n|\r/);
  if (lines.length > limits.maxSdpLines) throw limitExceeded('maxSdpLines', lines.length, limits.maxSdpLines);
  const sdp: SessionDescription = { sessionName: undefined, control: undefined, media: [], attributes: [] };
  let current: SdpMedia | undefined;
  let sawVersion = false;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.length < 2 || line[1] !== '=' || !/^[a-z]$/.test(line[0]!)) {
      throw mediaError(MediaErrorCode.SDP_INVALID, `not an SDP line: ${JSON.stringify(line.slice(0, 60))}`);
    }
    const kind = line[0]!;
    const value = line.slice(2).trim();
    if (!sawVersion) {
      if (kind !== 'v' || value !== '0') {
        throw mediaError(MediaErrorCode.SDP_INVALID, 'SDP must start with v=0');
      }
      sawVersion = true;
      continue;
    }
    if (kind === 'm') {
      if (sdp.media.length >= limits.maxSdpMedia) {
        throw limitExceeded('maxSdpMedia', sdp.media.length + 1, limits.maxSdpMedia);
      }
      current = parseMediaLine(value);
      sdp.media.push(current);
    } else if (kind === 's' && current === undefined) {
      sdp.sessionName = value;
    } else if (kind === 'a') {
      const colon = value.indexOf(':');
      const name = colon < 0 ? value : value.slice(0, colon);
      const attr = colon < 0 ? '' : value.slice(colon + 1).trim();
      if (current === undefined) {
        sdp.attributes.push([name, attr]);
        if (name === 'control') sdp.control = attr;
      } else {
        current.attributes.push([name, attr]);
        applyMediaAttribute(current, name, attr);
      }
    }
  }
  if (!sawVersion) throw mediaError(MediaErrorCode.SDP_INVALID, 'empty SDP');
  return sdp;
}

function parseMediaLine(value: string): SdpMedia {
  const [type, port, protocol, ...formats] = value.split(/\s+/);
  if (type === undefined || port === undefined || protocol === undefined) {
    throw mediaError(MediaErrorCode.SDP_INVALID, `m= line has too few fields: ${value.slice(0, 60)}`);
  }
  return {
    type: type.toLowerCase(),
    port: Number.parseInt(port, 10) || 0,
    protocol,
    formats,
    control: undefined,
    rtpmap: new Map(),
    fmtp: new Map(),
    attributes: [],
  };
}

function applyMediaAttribute(media: SdpMedia, name: string, value: string): void {
  if (name === 'control') media.control = value;
  else if (name === 'rtpmap') {
    const m = /^(\d+)\s+([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(value);
    if (m) {
      media.rtpmap.set(Number(m[1]), {
        encoding: m[2]!,
        clockRate: Number(m[3]),
        channels: m[4] === undefined ? undefined : Number(m[4]),
      });
    }
  } else if (name === 'fmtp') {
    const m = /^(\d+)\s*(.*)$/.exec(value);
    if (m) {
      const params = new Map<string, string>();
      for (const part of m[2]!.split(';')) {
        const eq = part.indexOf('=');
        if (eq <= 0) continue;
        params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
      }
      media.fmtp.set(Number(m[1]), params);
    }
  }
}

/** The video track the RTSP client records, with what the SDP says about it. */
export interface VideoTrack {
  media: SdpMedia;
  codec: VideoCodec;
  payloadType: number;
  clockRate: number;
  /** Parameter sets from `sprop-parameter-sets` / `sprop-vps|sps|pps`; may be empty (then in-band). */
  parameterSets: ParameterSets;
  /** RFC 6184 packetization-mode (0 or 1; 2 is interleaved and refused). */
  packetizationMode: number;
}

const CODECS: Record<string, VideoCodec> = { h264: 'h264', h265: 'h265', hevc: 'h265' };

/**
 * Picks the first H.264 or H.265 video section. Without one, MEDIA_UNSUPPORTED_CODEC names what the
 * camera offers, so a user knows to switch the camera's encoder setting.
 */
export function findVideoTrack(sdp: SessionDescription, limits: MediaLimits = DEFAULT_LIMITS): VideoTrack {
  const seen: string[] = [];
  for (const media of sdp.media) {
    if (media.type !== 'video') continue;
    for (const format of media.formats) {
      const pt = Number(format);
      if (!Number.isInteger(pt) || pt < 0 || pt > 127) continue;
      const map = media.rtpmap.get(pt);
      const encoding = map?.encoding ?? (pt === 26 ? 'JPEG' : `payload type ${pt}`);
      const codec = CODECS[encoding.toLowerCase()];
      if (codec === undefined) {
        seen.push(encoding);
        continue;
      }
      const fmtp = media.fmtp.get(pt) ?? new Map<string, string>();
      const packetizationMode = Number(fmtp.get('packetization-mode') ?? '0') || 0;
      if (codec === 'h264' && packetizationMode === 2) {
        seen.push('H264 interleaved mode (packetization-mode=2)');
        continue;
      }
      return {
        media,
        codec,
        payloadType: pt,
        clockRate: map?.clockRate ?? 90000,
        parameterSets: spropParameterSets(codec, fmtp, limits),
        packetizationMode,
      };
    }
  }
  const offered = seen.length > 0 ? seen.join(', ') : 'no video track';
  throw mediaError(
    MediaErrorCode.UNSUPPORTED_CODEC,
    `the camera offers ${offered}; Palisade records H.264 or H.265: change the camera's video encoding`,
    { offered: seen },
  );
}

function spropParameterSets(
  codec: VideoCodec,
  fmtp: Map<string, string>,
  limits: MediaLimits,
): ParameterSets {
  const decode = (value: string | undefined): Buffer[] => {
    if (value === undefined) return [];
    const out: Buffer[] = [];
    for (const part of value.split(',')) {
      const nal = stripStartCodes(Buffer.from(part.trim(), 'base64'));
      if (nal.length < 2 || nal.length > limits.maxParameterSetBytes) continue;
      if (out.length >= limits.maxParameterSets) break;
      out.push(nal);
    }
    return out;
  };
  if (codec === 'h265') {
    return {
      vps: decode(fmtp.get('sprop-vps')),
      sps: decode(fmtp.get('sprop-sps')),
      pps: decode(fmtp.get('sprop-pps')),
    };
  }
  const sps: Buffer[] = [];
  const pps: Buffer[] = [];
  for (const nal of decode(fmtp.get('sprop-parameter-sets'))) {
    const type = nal[0]! & 0x1f;
    if (type === 7) sps.push(nal);
    else if (type === 8) pps.push(nal);
  }
  return { vps: [], sps, pps };
}

/** Some cameras append or prepend Annex B start codes to sprop values. */
function stripStartCodes(nal: Buffer): Buffer {
  let start = 0;
  let end = nal.length;
  while (
    start + 3 <= end &&
    nal[start] === 0 &&
    nal[start + 1] === 0 &&
    (nal[start + 2] === 1 || (nal[start + 2] === 0 && nal[start + 3] === 1))
  ) {
    start += nal[start + 2] === 1 ? 3 : 4;
  }
  while (end - start >= 3 && nal[end - 1] === 1 && nal[end - 2] === 0 && nal[end - 3] === 0) {
    end -= 3;
    while (end > start && nal[end - 1] === 0) end--;
  }
  return nal.subarray(start, end);
}

/**
 * Resolves a control attribute against the base URL the way cameras expect (RFC 2326 C.1.1 plus
 * practice): absolute `rtsp(s)://` URLs stand alone; `*` means the base; anything else is appended to
 * the base with one `/` between, keeping the base's query string where cameras put it.
 */
export function resolveControl(base: string, control: string | undefined): string {
  if (control === undefined || control === '' || control === '*') return base;
  if (/^rtsps?:\/\//i.test(control)) return control;
  return base.endsWith('/') ? base + control : `${base}/${control}`;
}

/** Writes the SDP the simulator serves for one H.264 or H.265 stream. */
export function writeSdp(options: {
  codec: VideoCodec;
  parameterSets: ParameterSets;
  payloadType: number;
  control: string;
  sessionName: string;
  origin: string;
  width?: number;
  height?: number;
  fps?: number;
}): string {
  const b64 = (list: Buffer[]) => list.map((b) => b.toString('base64')).join(',');
  const ps = options.parameterSets;
  const fmtp =
    options.codec === 'h264'
      ? `packetization-mode=1;profile-level-id=${ps.sps[0]?.subarray(1, 4).toString('hex') ?? '42e01f'};sprop-parameter-sets=${b64([...ps.sps, ...ps.pps])}`
      : `sprop-vps=${b64(ps.vps)};sprop-sps=${b64(ps.sps)};sprop-pps=${b64(ps.pps)}`;
  const lines = [
    'v=0',
    `o=- ${options.origin} 1 IN IP4 0.0.0.0`,
    `s=${options.sessionName}`,
    'c=IN IP4 0.0.0.0',
    't=0 0',
    'a=control:*',
    'a=range:npt=now-',
    `m=video 0 RTP/AVP ${options.payloadType}`,
    `a=rtpmap:${options.payloadType} ${options.codec === 'h264' ? 'H264' : 'H265'}/90000`,
    `a=fmtp:${options.payloadType} ${fmtp}`,
  ];
  if (options.width !== undefined && options.height !== undefined) {
    lines.push(`a=x-dimensions:${options.width},${options.height}`);
  }
  if (options.fps !== undefined) lines.push(`a=framerate:${options.fps}`);
  lines.push(`a=control:${options.control}`, 'a=recvonly', '');
  return lines.join('\r\n');
}
