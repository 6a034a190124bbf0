import { createHash } from 'node:crypto';
import { canonicalJson, type Checkpoint } from '../../audit/index.js';
import type { Segment } from '../../recording/index.js';
import { Mp4Assembler } from '../mp4.js';
import { playbackError } from '../errors.js';
import {
  EVIDENCE_FORMAT,
  FILES,
  SIGNATURE_FORMAT,
  keyFingerprint,
  segmentFile,
  sha256Hex,
  signatureMessage,
  type EvidenceManifest,
  type EvidenceSignature,
  type FileRef,
  type ManifestApproval,
  type ManifestSegment,
} from './manifest.js';
import { MAX_PACKAGE_BYTES, ZipWriter } from './zip.js';

export interface PackageSegment {
  segment: Segment;
  /** The sealed bytes as stored. */
  sealed(): AsyncIterable<Buffer>;
  /** The decrypted fMP4. */
  plaintext(): Promise<Buffer>;
  dataKey: Buffer;
  /** Inclusion proof of the segment's leaf against `integrity.checkpoint`. */
  proof: Buffer[];
}

/** The export's own audit entry, appended once the MP4 is known, with its proof. */
export interface PackageAuditEntry {
  entry: Buffer;
  index: number;
  proof: Buffer[];
  checkpoint: Checkpoint;
  origin: string;
  verifierKey: string;
}

export interface PackageSigner {
  name: string;
  publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export interface PackageInput {
  exportId: string;
  camera: EvidenceManifest['camera'];
  fromMs: number;
  toMs: number;
  segments: PackageSegment[];
  gaps: EvidenceManifest['gaps'];
  integrity: { origin: string; verifierKey: string; checkpoint: Checkpoint };
  /** Appends `evidence.export.created` (with the MP4's hash) and returns it with its inclusion proof. */
  audit(video: {
    sha256: string;
    size: number;
    frames: number;
    segments: string[];
  }): Promise<PackageAuditEntry>;
  approvals: ManifestApproval[];
  exporter: EvidenceManifest['exporter'];
  reason: string;
  caseId: string | null;
  version: string;
  signer: PackageSigner;
  signedAt: Date;
}

export interface PackageResult {
  manifest: EvidenceManifest;
  signature: EvidenceSignature;
  bytes: number;
}

const hex = (b: Buffer) => b.toString('hex');
const iso = (ms: number) => new Date(ms).toISOString();

async function* hashing(source: AsyncIterable<Buffer>, hash: ReturnType<typeof createHash>) {
  for await (const piece of source) {
    hash.update(piece);
    yield piece;
  }
}

export interface PackageOptions {
  /** Planned size above which the package is written in ZIP64 form (default: 4 GiB less a margin). */
  zip64Above?: number;
}

/** Room for everything but the video and the sealed segments (manifest, notes, ZIP records). */
const SMALL_ENTRIES_MARGIN = 64 * 1024 * 1024;
const ZIP64_ABOVE = MAX_PACKAGE_BYTES - SMALL_ENTRIES_MARGIN;

/**
 * An upper bound of the package's size, known before writing (so the ZIP form is a function of the
 * input): every sealed segment, plus an MP4 no larger than their plaintext. A segment of unknown size
 * counts as huge: the ZIP64 form is always safe.
 */
function plannedBytes(segments: readonly PackageSegment[]): number {
  let total = 0;
  for (const { segment } of segments) {
    if (segment.sealedBytes === null) return Number.POSITIVE_INFINITY;
    total += segment.sealedBytes + (segment.plaintextBytes ?? segment.sealedBytes);
  }
  return total;
}

/**
 * Writes an evidence package to `sink`, entry by entry, in a fixed order: the MP4, the sealed segments,
 * the two checkpoints, the audit entry, the manifest, the signature. Everything but the signature is a
 * function of the input, so the same export gives the same bytes apart from the signing time.
 */
export async function writeEvidencePackage(
  input: PackageInput,
  sink: (chunk: Buffer) => Promise<void>,
  options: PackageOptions = {},
): Promise<PackageResult> {
  const zip = new ZipWriter(sink, {
    zip64: plannedBytes(input.segments) > (options.zip64Above ?? ZIP64_ABOVE),
  });
  const assembler = new Mp4Assembler(input.fromMs, input.toMs);
  const mp4Hash = createHash('sha256');
  const segments = input.segments;
  async function* mp4(): AsyncGenerator<Buffer> {
    for (const s of segments) yield* assembler.add(s.segment, await s.plaintext());
  }
  const video = await zip.add(FILES.video, hashing(mp4(), mp4Hash));
  if (assembler.cuts.length === 0)
    throw playbackError('PLAYBACK_NO_VIDEO', `camera ${input.camera.id} has no recorded video in that range`);
  const videoRef: FileRef = { file: FILES.video, sha256: mp4Hash.digest('hex'), size: video.size };
  const cuts = new Map(assembler.cuts.map((c) => [c.segmentId, c]));
  const used = segments.filter((s) => cuts.has(s.segment.id));

  const manifestSegments: ManifestSegment[] = [];
  for (const [i, s] of used.entries()) {
    const file = segmentFile(i + 1, s.segment.id);
    const hash = createHash('sha256');
    const written = await zip.add(file, hashing(s.sealed(), hash));
    const cut = cuts.get(s.segment.id)!;
    manifestSegments.push({
      n: i + 1,
      id: s.segment.id,
      sealed: { file, sha256: hash.digest('hex'), size: written.size },
      start: iso(s.segment.startMs),
      end: iso(s.segment.endMs ?? s.segment.startMs),
      codec: s.segment.codec,
      width: s.segment.width,
      height: s.segment.height,
      dataKey: hex(s.dataKey),
      integrity: { index: s.segment.integrityIndex!, proof: s.proof.map(hex) },
      mp4: {
        startsAt: iso(cut.startMs),
        firstFragment: cut.firstFragment,
        fragmentCount: cut.fragmentCount,
        offset: cut.mp4Offset,
        length: cut.mp4Length,
        decodeTimeStart: cut.decodeTimeStart,
        frames: cut.frames,
        duration: cut.duration,
      },
    });
  }

  const audit = await input.audit({
    sha256: videoRef.sha256,
    size: videoRef.size,
    frames: assembler.frames,
    segments: used.map((s) => s.segment.id),
  });

  const small = async (file: string, data: Buffer): Promise<FileRef> => {
    await zip.add(file, data);
    return { file, sha256: sha256Hex(data), size: data.length };
  };
  const integrityNote = Buffer.from(input.integrity.checkpoint.note, 'utf8');
  const integrityRef = await small(FILES.integrityCheckpoint, integrityNote);
  const auditNote = Buffer.from(audit.checkpoint.note, 'utf8');
  const auditRef = await small(FILES.auditCheckpoint, auditNote);
  const entryRef = await small(FILES.auditEntry, audit.entry);

  const first = used[0]!.segment;
  const firstCut = cuts.get(first.id)!;
  const manifest: EvidenceManifest = {
    format: EVIDENCE_FORMAT,
    exportId: input.exportId,
    camera: input.camera,
    range: { from: iso(input.fromMs), to: iso(input.toMs) },
    video: {
      ...videoRef,
      codec: first.codec,
      width: first.width,
      height: first.height,
      frames: assembler.frames,
      timescale: assembler.timescale,
      duration: assembler.duration,
      startsAt: iso(firstCut.startMs),
    },
    segments: manifestSegments,
    gaps: input.gaps,
    integrityLog: {
      origin: input.integrity.origin,
      verifierKey: input.integrity.verifierKey,
      checkpoint: {
        ...integrityRef,
        treeSize: input.integrity.checkpoint.size,
        rootHash: hex(input.integrity.checkpoint.rootHash),
      },
    },
    audit: {
      origin: audit.origin,
      verifierKey: audit.verifierKey,
      entry: { ...entryRef, index: audit.index, proof: audit.proof.map(hex) },
      checkpoint: { ...auditRef, treeSize: audit.checkpoint.size, rootHash: hex(audit.checkpoint.rootHash) },
    },
    approvals: input.approvals,
    exporter: input.exporter,
    reason: input.reason,
    caseId: input.caseId,
    software: { name: 'palisade', version: input.version },
  };
  const manifestBytes = Buffer.from(canonicalJson(manifest as never), 'utf8');
  await zip.add(FILES.manifest, manifestBytes);
  const manifestSha256 = sha256Hex(manifestBytes);
  const signedAt = input.signedAt.toISOString();
  const sig = await input.signer.sign(signatureMessage(manifestSha256, signedAt));
  const signature: EvidenceSignature = {
    format: SIGNATURE_FORMAT,
    algorithm: 'Ed25519',
    key: {
      name: input.signer.name,
      publicKey: Buffer.from(input.signer.publicKey).toString('base64'),
      fingerprint: keyFingerprint(input.signer.publicKey),
    },
    signedAt,
    manifestSha256,
    signature: Buffer.from(sig).toString('base64'),
  };
  await zip.add(FILES.signature, Buffer.from(canonicalJson(signature as never), 'utf8'));
  const bytes = await zip.finish();
  return { manifest, signature, bytes };
}
