import { BitReader, unescapeRbsp } from './bits.js';
import { MediaErrorCode, mediaError } from './errors.js';
import type { ParameterSets } from './video.js';

/** H.264 NAL unit types we act on (ITU-T H.264 table 7-1) and RTP payload structures (RFC 6184 5.2). */
export const H264Nal = {
  NON_IDR: 1,
  IDR: 5,
  SEI: 6,
  SPS: 7,
  PPS: 8,
  AUD: 9,
  STAP_A: 24,
  STAP_B: 25,
  MTAP16: 26,
  MTAP24: 27,
  FU_A: 28,
  FU_B: 29,
} as const;

export function h264NalType(nal: Uint8Array): number {
  return (nal[0] ?? 0) & 0x1f;
}

export interface H264Sps {
  profileIdc: number;
  constraintFlags: number;
  levelIdc: number;
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  width: number;
  height: number;
  fps: number | undefined;
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Parses the fields of an H.264 SPS (7.3.2.1.1) needed for size, frame rate and avcC. */
export function parseH264Sps(nal: Uint8Array): H264Sps {
  if (nal.length < 4 || h264NalType(nal) !== H264Nal.SPS) {
    throw mediaError(MediaErrorCode.BITSTREAM_INVALID, 'not an H.264 SPS');
  }
  const r = new BitReader(unescapeRbsp(nal.subarray(1)));
  const profileIdc = r.u(8);
  const constraintFlags = r.u(8);
  const levelIdc = r.u(8);
  r.ue(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  let bitDepthLuma = 8;
  let bitDepthChroma = 8;
  let separateColourPlane = false;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc > 3) throw invalid('chroma_format_idc');
    if (chromaFormatIdc === 3) separateColourPlane = r.flag();
    bitDepthLuma = 8 + r.ue();
    bitDepthChroma = 8 + r.ue();
    r.skip(1); // qpprime_y_zero_transform_bypass_flag
    if (r.flag()) {
      const lists = chromaFormatIdc === 3 ? 12 : 8;
      for (let i = 0; i < lists; i++) if (r.flag()) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.skip(1);
    r.se();
    r.se();
    const cycle = r.ue();
    if (cycle > 255) throw invalid('num_ref_frames_in_pic_order_cnt_cycle');
    for (let i = 0; i < cycle; i++) r.se();
  } else if (pocType !== 2) throw invalid('pic_order_cnt_type');
  r.ue(); // max_num_ref_frames
  r.skip(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.flag();
  if (!frameMbsOnly) r.skip(1);
  r.skip(1); // direct_8x8_inference_flag
  let crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (r.flag()) crop = { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() };
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subHeightC = chromaArrayType === 1 ? 2 : 1;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * (frameMbsOnly ? 1 : 2);
  const width = widthMbs * 16 - cropUnitX * (crop.left + crop.right);
  const height = (frameMbsOnly ? 1 : 2) * heightMapUnits * 16 - cropUnitY * (crop.top + crop.bottom);
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384) throw invalid('picture size');
  let fps: number | undefined;
  if (r.flag()) fps = readVuiFrameRate(r);
  return {
    profileIdc,
    constraintFlags,
    levelIdc,
    chromaFormatIdc,
    bitDepthLuma,
    bitDepthChroma,
    width,
    height,
    fps,
  };
}

function readVuiFrameRate(r: BitReader): number | undefined {
  try {
    if (r.flag()) {
      const aspectRatioIdc = r.u(8);
      if (aspectRatioIdc === 255) r.skip(32);
    }
    if (r.flag()) r.skip(1); // overscan
    if (r.flag()) {
      r.skip(4);
      if (r.flag()) r.skip(24);
    }
    if (r.flag()) {
      r.ue();
      r.ue();
    }
    if (!r.flag()) return undefined;
    const numUnitsInTick = r.u(32);
    const timeScale = r.u(32);
    if (numUnitsInTick === 0 || timeScale === 0) return undefined;
    // Frame rate is half the field rate the SPS declares (E.2.1).
    return Math.round((timeScale / (2 * numUnitsInTick)) * 1000) / 1000;
  } catch {
    return undefined; // a truncated VUI loses only the frame rate, not the stream
  }
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

function invalid(field: string) {
  return mediaError(MediaErrorCode.BITSTREAM_INVALID, `H.264 SPS has an invalid ${field}`);
}

export function h264CodecString(sps: Uint8Array): string {
  return `avc1.${Buffer.from(sps.subarray(1, 4)).toString('hex')}`;
}

export function h264ProfileName(profileIdc: number): string {
  const names: Record<number, string> = { 66: 'Baseline', 77: 'Main', 88: 'Extended', 100: 'High' };
  return names[profileIdc] ?? `profile ${profileIdc}`;
}

/** AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1) with 4-byte NAL lengths. */
export function buildAvcC(sets: ParameterSets): Buffer {
  const sps = sets.sps[0];
  if (sps === undefined || sets.pps.length === 0) {
    throw mediaError(MediaErrorCode.FMP4_WRITE_FAILED, 'H.264 needs an SPS and a PPS');
  }
  const parsed = parseH264Sps(sps);
  const parts: Buffer[] = [Buffer.from([1, sps[1]!, sps[2]!, sps[3]!, 0xff, 0xe0 | sets.sps.length])];
  for (const s of sets.sps) parts.push(u16(s.length), s);
  parts.push(Buffer.from([sets.pps.length]));
  for (const p of sets.pps) parts.push(u16(p.length), p);
  if (HIGH_PROFILES.has(parsed.profileIdc) && parsed.profileIdc !== 66) {
    parts.push(
      Buffer.from([
        0xfc | parsed.chromaFormatIdc,
        0xf8 | (parsed.bitDepthLuma - 8),
        0xf8 | (parsed.bitDepthChroma - 8),
        0,
      ]),
    );
  }
  return Buffer.concat(parts);
}

/** Reads the parameter sets and NAL length size out of an avcC record. */
export function parseAvcC(record: Buffer): { sets: ParameterSets; lengthSize: number } {
  const fail = () => mediaError(MediaErrorCode.FMP4_INVALID, 'avcC record is truncated');
  if (record.length < 7) throw fail();
  const lengthSize = (record[4]! & 3) + 1;
  let o = 5;
  const take = (count: number, out: Buffer[]) => {
    for (let i = 0; i < count; i++) {
      if (o + 2 > record.length) throw fail();
      const len = record.readUInt16BE(o);
      if (o + 2 + len > record.length) throw fail();
      out.push(Buffer.from(record.subarray(o + 2, o + 2 + len)));
      o += 2 + len;
    }
  };
  const sps: Buffer[] = [];
  const pps: Buffer[] = [];
  take(record[o++]! & 0x1f, sps);
  if (o >= record.length) throw fail();
  take(record[o++]!, pps);
  return { sets: { vps: [], sps, pps }, lengthSize };
}

export function u16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(n);
  return b;
}

/**
 * Splits one access unit into RTP payloads (RFC 6184, packetization-mode 1): NAL units that fit
 * are aggregated into STAP-A while small (parameter sets) or sent alone; bigger ones are cut into FU-A.
 */
export function packetizeH264(nalus: readonly Buffer[], maxPayload: number): Buffer[] {
  const out: Buffer[] = [];
  let stap: Buffer[] = [];
  let stapBytes = 1;
  const flushStap = () => {
    if (stap.length === 1) out.push(stap[0]!);
    else if (stap.length > 1) {
      const parts: Buffer[] = [Buffer.from([(Math.max(...stap.map((n) => n[0]! & 0x60)) | 24) & 0x7f])];
      for (const n of stap) parts.push(u16(n.length), n);
      out.push(Buffer.concat(parts));
    }
    stap = [];
    stapBytes = 1;
  };
  for (const nal of nalus) {
    if (nal.length === 0) continue;
    if (nal.length + 3 <= maxPayload && nal.length < 512) {
      if (stapBytes + 2 + nal.length > maxPayload) flushStap();
      stap.push(nal);
      stapBytes += 2 + nal.length;
      continue;
    }
    flushStap();
    if (nal.length <= maxPayload) {
      out.push(nal);
      continue;
    }
    const indicator = (nal[0]! & 0xe0) | H264Nal.FU_A;
    const type = nal[0]! & 0x1f;
    const chunk = maxPayload - 2;
    for (let o = 1; o < nal.length; o += chunk) {
      const end = Math.min(o + chunk, nal.length);
      const header = type | (o === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0);
      const pkt = Buffer.allocUnsafe(2 + end - o);
      pkt[0] = indicator;
      pkt[1] = header;
      nal.copy(pkt, 2, o, end);
      out.push(pkt);
    }
  }
  flushStap();
  return out;
}
