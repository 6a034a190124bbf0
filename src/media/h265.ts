import { BitReader, unescapeRbsp } from './bits.js';
import { MediaErrorCode, mediaError } from './errors.js';
import { u16 } from './h264.js';
import type { ParameterSets } from './video.js';

/** H.265 NAL unit types we act on (ITU-T H.265 table 7-1) and RTP payload structures (RFC 7798 4.4). */
export const H265Nal = {
  IRAP_FIRST: 16,
  IRAP_LAST: 23,
  VPS: 32,
  SPS: 33,
  PPS: 34,
  AUD: 35,
  PREFIX_SEI: 39,
  AP: 48,
  FU: 49,
  PACI: 50,
} as const;

export function h265NalType(nal: Uint8Array): number {
  return ((nal[0] ?? 0) >> 1) & 0x3f;
}

export interface H265Sps {
  profileSpace: number;
  tierFlag: number;
  profileIdc: number;
  profileCompatibility: number;
  /** The 48 constraint-indicator bits, as 6 bytes. */
  constraints: Buffer;
  levelIdc: number;
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  width: number;
  height: number;
  fps: number | undefined;
  temporalIdNesting: boolean;
  maxSubLayers: number;
}

/** Parses an H.265 SPS (7.3.2.2.1) for size, frame rate and the fields hvcC repeats. */
export function parseH265Sps(nal: Uint8Array): H265Sps {
  if (nal.length < 15 || h265NalType(nal) !== H265Nal.SPS) {
    throw mediaError(MediaErrorCode.BITSTREAM_INVALID, 'not an H.265 SPS');
  }
  const rbsp = unescapeRbsp(nal.subarray(2));
  const r = new BitReader(rbsp);
  r.skip(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = r.u(3);
  const temporalIdNesting = r.flag();
  const profileSpace = r.u(2);
  const tierFlag = r.u(1);
  const profileIdc = r.u(5);
  const profileCompatibility = r.u(32);
  const constraints = Buffer.from(rbsp.subarray(6, 12));
  r.skip(48);
  const levelIdc = r.u(8);
  const subProfile: boolean[] = [];
  const subLevel: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    subProfile.push(r.flag());
    subLevel.push(r.flag());
  }
  if (maxSubLayersMinus1 > 0) r.skip(2 * (8 - maxSubLayersMinus1));
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (subProfile[i]) r.skip(88);
    if (subLevel[i]) r.skip(8);
  }
  r.ue(); // sps_seq_parameter_set_id
  const chromaFormatIdc = r.ue();
  if (chromaFormatIdc > 3) throw invalid('chroma_format_idc');
  const separateColourPlane = chromaFormatIdc === 3 ? r.flag() : false;
  let width = r.ue();
  let height = r.ue();
  if (r.flag()) {
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
    const subHeightC = chromaArrayType === 1 ? 2 : 1;
    width -= subWidthC * (r.ue() + r.ue());
    height -= subHeightC * (r.ue() + r.ue());
  }
  if (width <= 0 || height <= 0 || width > 16888 || height > 16888) throw invalid('picture size');
  const bitDepthLuma = 8 + r.ue();
  const bitDepthChroma = 8 + r.ue();
  let fps: number | undefined;
  try {
    fps = readFrameRate(r, maxSubLayersMinus1);
  } catch {
    fps = undefined; // everything after the picture size only informs the frame rate
  }
  return {
    profileSpace,
    tierFlag,
    profileIdc,
    profileCompatibility,
    constraints,
    levelIdc,
    chromaFormatIdc,
    bitDepthLuma,
    bitDepthChroma,
    width,
    height,
    fps,
    temporalIdNesting,
    maxSubLayers: maxSubLayersMinus1 + 1,
  };
}

function readFrameRate(r: BitReader, maxSubLayersMinus1: number): number | undefined {
  const log2MaxPocLsb = r.ue() + 4;
  const orderingInfo = r.flag();
  for (let i = orderingInfo ? 0 : maxSubLayersMinus1; i <= maxSubLayersMinus1; i++) {
    r.ue();
    r.ue();
    r.ue();
  }
  for (let i = 0; i < 6; i++) r.ue(); // coding and transform block sizes, hierarchy depths
  if (r.flag() && r.flag()) skipScalingListData(r);
  r.skip(2); // amp_enabled_flag, sample_adaptive_offset_enabled_flag
  if (r.flag()) {
    r.skip(8);
    r.ue();
    r.ue();
    r.skip(1);
  }
  const numShortTermSets = r.ue();
  if (numShortTermSets > 64) throw invalid('num_short_term_ref_pic_sets');
  const numDeltaPocs: number[] = [];
  for (let i = 0; i < numShortTermSets; i++) numDeltaPocs.push(skipShortTermRefPicSet(r, i, numDeltaPocs));
  if (r.flag()) {
    const n = r.ue();
    if (n > 32) throw invalid('num_long_term_ref_pics_sps');
    for (let i = 0; i < n; i++) r.skip(log2MaxPocLsb + 1);
  }
  r.skip(2); // sps_temporal_mvp_enabled_flag, strong_intra_smoothing_enabled_flag
  if (!r.flag()) return undefined;
  if (r.flag() && r.u(8) === 255) r.skip(32);
  if (r.flag()) r.skip(1);
  if (r.flag()) {
    r.skip(4);
    if (r.flag()) r.skip(24);
  }
  if (r.flag()) {
    r.ue();
    r.ue();
  }
  r.skip(3); // neutral_chroma, field_seq, frame_field_info
  if (r.flag()) for (let i = 0; i < 4; i++) r.ue();
  if (!r.flag()) return undefined;
  const numUnitsInTick = r.u(32);
  const timeScale = r.u(32);
  if (numUnitsInTick === 0 || timeScale === 0) return undefined;
  return Math.round((timeScale / numUnitsInTick) * 1000) / 1000;
}

function skipScalingListData(r: BitReader): void {
  for (let sizeId = 0; sizeId < 4; sizeId++) {
    for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
      if (!r.flag()) r.ue();
      else {
        const coefs = Math.min(64, 1 << (4 + (sizeId << 1)));
        if (sizeId > 1) r.se();
        for (let i = 0; i < coefs; i++) r.se();
      }
    }
  }
}

/** st_ref_pic_set(idx) as it appears in an SPS (7.3.7); returns NumDeltaPocs[idx]. */
function skipShortTermRefPicSet(r: BitReader, idx: number, numDeltaPocs: number[]): number {
  if (idx !== 0 && r.flag()) {
    r.skip(1); // delta_rps_sign
    r.ue(); // abs_delta_rps_minus1
    let count = 0;
    for (let j = 0; j <= numDeltaPocs[idx - 1]!; j++) {
      const used = r.flag();
      const useDelta = used ? true : r.flag();
      if (used || useDelta) count++;
    }
    return count;
  }
  const negative = r.ue();
  const positive = r.ue();
  if (negative > 16 || positive > 16) throw invalid('num_negative_pics');
  for (let i = 0; i < negative + positive; i++) {
    r.ue();
    r.skip(1);
  }
  return negative + positive;
}

function invalid(field: string) {
  return mediaError(MediaErrorCode.BITSTREAM_INVALID, `H.265 SPS has an invalid ${field}`);
}

function reverseBits32(n: number): number {
  let out = 0;
  for (let i = 0; i < 32; i++) out = out * 2 + ((n >>> i) & 1);
  return out;
}

/** RFC 6381 / ISO/IEC 14496-15 annex E codec string, e.g. `hvc1.1.6.L120.90`. */
export function h265CodecString(sps: H265Sps): string {
  const space = ['', 'A', 'B', 'C'][sps.profileSpace]!;
  const constraints = [...sps.constraints];
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  return [
    'hvc1',
    `${space}${sps.profileIdc}`,
    reverseBits32(sps.profileCompatibility).toString(16),
    `${sps.tierFlag ? 'H' : 'L'}${sps.levelIdc}`,
    ...constraints.map((c) => c.toString(16)),
  ].join('.');
}

export function h265ProfileName(profileIdc: number): string {
  const names: Record<number, string> = { 1: 'Main', 2: 'Main 10', 3: 'Main Still Picture', 4: 'RExt' };
  return names[profileIdc] ?? `profile ${profileIdc}`;
}

/** HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1) with 4-byte NAL lengths. */
export function buildHvcC(sets: ParameterSets): Buffer {
  const sps = sets.sps[0];
  if (sps === undefined || sets.pps.length === 0 || sets.vps.length === 0) {
    throw mediaError(MediaErrorCode.FMP4_WRITE_FAILED, 'H.265 needs a VPS, an SPS and a PPS');
  }
  const p = parseH265Sps(sps);
  const head = Buffer.alloc(23);
  head[0] = 1;
  head[1] = (p.profileSpace << 6) | (p.tierFlag << 5) | p.profileIdc;
  head.writeUInt32BE(p.profileCompatibility >>> 0, 2);
  p.constraints.copy(head, 6);
  head[12] = p.levelIdc;
  head.writeUInt16BE(0xf000, 13); // min_spatial_segmentation_idc 0
  head[15] = 0xfc; // parallelismType 0
  head[16] = 0xfc | p.chromaFormatIdc;
  head[17] = 0xf8 | (p.bitDepthLuma - 8);
  head[18] = 0xf8 | (p.bitDepthChroma - 8);
  head.writeUInt16BE(0, 19); // avgFrameRate unspecified
  head[21] = ((p.maxSubLayers & 7) << 3) | ((p.temporalIdNesting ? 1 : 0) << 2) | 3;
  head[22] = 3;
  const parts: Buffer[] = [head];
  for (const [type, list] of [
    [H265Nal.VPS, sets.vps],
    [H265Nal.SPS, sets.sps],
    [H265Nal.PPS, sets.pps],
  ] as const) {
    parts.push(Buffer.from([0x80 | type]), u16(list.length));
    for (const nal of list) parts.push(u16(nal.length), nal);
  }
  return Buffer.concat(parts);
}

export function parseHvcC(record: Buffer): { sets: ParameterSets; lengthSize: number } {
  const fail = () => mediaError(MediaErrorCode.FMP4_INVALID, 'hvcC record is truncated');
  if (record.length < 23) throw fail();
  const lengthSize = (record[21]! & 3) + 1;
  const sets: ParameterSets = { vps: [], sps: [], pps: [] };
  let o = 23;
  const arrays = record[22]!;
  for (let a = 0; a < arrays; a++) {
    if (o + 3 > record.length) throw fail();
    const type = record[o]! & 0x3f;
    const count = record.readUInt16BE(o + 1);
    o += 3;
    for (let i = 0; i < count; i++) {
      if (o + 2 > record.length) throw fail();
      const len = record.readUInt16BE(o);
      if (o + 2 + len > record.length) throw fail();
      const nal = Buffer.from(record.subarray(o + 2, o + 2 + len));
      o += 2 + len;
      if (type === H265Nal.VPS) sets.vps.push(nal);
      else if (type === H265Nal.SPS) sets.sps.push(nal);
      else if (type === H265Nal.PPS) sets.pps.push(nal);
    }
  }
  return { sets, lengthSize };
}

/** Splits one access unit into RTP payloads (RFC 7798): aggregation packets for small NAL units, FUs for big ones. */
export function packetizeH265(nalus: readonly Buffer[], maxPayload: number): Buffer[] {
  const out: Buffer[] = [];
  let ap: Buffer[] = [];
  let apBytes = 2;
  const flushAp = () => {
    if (ap.length === 1) out.push(ap[0]!);
    else if (ap.length > 1) {
      // AP header: F=0, type 48, the lowest layer id and temporal id of the aggregated units.
      const layer = Math.min(...ap.map((n) => ((n[0]! & 1) << 5) | (n[1]! >> 3)));
      const tid = Math.min(...ap.map((n) => n[1]! & 7));
      const parts: Buffer[] = [Buffer.from([(H265Nal.AP << 1) | (layer >> 5), ((layer & 31) << 3) | tid])];
      for (const n of ap) parts.push(u16(n.length), n);
      out.push(Buffer.concat(parts));
    }
    ap = [];
    apBytes = 2;
  };
  for (const nal of nalus) {
    if (nal.length < 2) continue;
    if (nal.length + 4 <= maxPayload && nal.length < 512) {
      if (apBytes + 2 + nal.length > maxPayload) flushAp();
      ap.push(nal);
      apBytes += 2 + nal.length;
      continue;
    }
    flushAp();
    if (nal.length <= maxPayload) {
      out.push(nal);
      continue;
    }
    const type = h265NalType(nal);
    const h0 = (nal[0]! & 0x81) | (H265Nal.FU << 1);
    const h1 = nal[1]!;
    const chunk = maxPayload - 3;
    for (let o = 2; o < nal.length; o += chunk) {
      const end = Math.min(o + chunk, nal.length);
      const pkt = Buffer.allocUnsafe(3 + end - o);
      pkt[0] = h0;
      pkt[1] = h1;
      pkt[2] = type | (o === 2 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0);
      nal.copy(pkt, 3, o, end);
      out.push(pkt);
    }
  }
  flushAp();
  return out;
}
