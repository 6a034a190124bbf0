import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';

/**
 * The evidence package's manifest and signature (docs/formats/evidence-package.md). The manifest is
 * RFC 8785 canonical JSON; the signature file signs its SHA-256 with the evidence key.
 */

export const EVIDENCE_FORMAT = 'palisade-evidence/1';
export const SIGNATURE_FORMAT = 'palisade-evidence-signature/1';
export const FILES = {
  video: 'video.mp4',
  manifest: 'manifest.json',
  signature: 'signature.json',
  integrityCheckpoint: 'checkpoints/video-integrity.note',
  auditCheckpoint: 'checkpoints/audit.note',
  auditEntry: 'audit/export-entry.json',
} as const;

export function segmentFile(n: number, segmentId: string): string {
  return `segments/${String(n).padStart(4, '0')}-${segmentId}.pseg`;
}

const Str = Type.String({ maxLength: 4096 });
const NullableStr = Type.Union([Str, Type.Null()]);
const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Proof = Type.Array(Hex64, { maxItems: 64 });

const FileRefSchema = Type.Object({ file: Str, sha256: Hex64, size: Count });
export type FileRef = Static<typeof FileRefSchema>;

const CheckpointRef = Type.Composite([FileRefSchema, Type.Object({ treeSize: Count, rootHash: Hex64 })]);

const SegmentSchema = Type.Object({
  /** 1-based position in time order. */
  n: Count,
  id: Str,
  /** The sealed segment as stored, byte for byte. */
  sealed: FileRefSchema,
  start: Str,
  end: Str,
  codec: Str,
  width: Count,
  height: Count,
  /** The segment's data key, hex: opens `sealed` (docs/formats/segment-encryption.md). */
  dataKey: Hex64,
  /** The segment's leaf in the video integrity log and its RFC 9162 inclusion proof (hex hashes). */
  integrity: Type.Object({ index: Count, proof: Proof }),
  /** What of it is in the MP4 (docs/formats/evidence-package.md, "Rebuilding the MP4"). */
  mp4: Type.Object({
    /** Wall clock of the first frame taken from this segment. */
    startsAt: Str,
    firstFragment: Count,
    fragmentCount: Count,
    offset: Count,
    length: Count,
    decodeTimeStart: Count,
    frames: Count,
    duration: Count,
  }),
});
export type ManifestSegment = Static<typeof SegmentSchema>;

const ApprovalSchema = Type.Object({
  id: Str,
  action: Str,
  requestedBy: Str,
  requestedAt: Str,
  status: Str,
  decidedBy: NullableStr,
  decidedAt: NullableStr,
  decisionReason: NullableStr,
});
export type ManifestApproval = Static<typeof ApprovalSchema>;

export const ManifestSchema = Type.Object({
  format: Type.Literal(EVIDENCE_FORMAT),
  exportId: Str,
  camera: Type.Object({
    id: Str,
    name: Str,
    zoneId: Str,
    siteId: Str,
    streamUrl: Str,
    tlsFingerprint: NullableStr,
    /** Device facts from onboarding; null until devices/ records them. */
    vendor: NullableStr,
    model: NullableStr,
    firmware: NullableStr,
  }),
  range: Type.Object({ from: Str, to: Str }),
  video: Type.Composite([
    FileRefSchema,
    Type.Object({
      codec: Str,
      width: Count,
      height: Count,
      frames: Count,
      timescale: Count,
      duration: Count,
      /** Wall clock of the first frame in the file. */
      startsAt: Str,
    }),
  ]),
  segments: Type.Array(SegmentSchema, { maxItems: 100_000 }),
  gaps: Type.Array(Type.Object({ start: Str, end: NullableStr, reason: Str }), { maxItems: 100_000 }),
  integrityLog: Type.Object({
    origin: Str,
    /** C2SP verifier key (`name+id+base64`) of the log's checkpoints. */
    verifierKey: Str,
    checkpoint: CheckpointRef,
  }),
  audit: Type.Object({
    origin: Str,
    verifierKey: Str,
    /** The `evidence.export.created` event, exactly the leaf bytes of the audit log. */
    entry: Type.Composite([FileRefSchema, Type.Object({ index: Count, proof: Proof })]),
    checkpoint: CheckpointRef,
  }),
  approvals: Type.Array(ApprovalSchema, { maxItems: 100 }),
  exporter: Type.Object({ id: Str, name: NullableStr, auth: NullableStr }),
  reason: Str,
  caseId: NullableStr,
  software: Type.Object({ name: Type.Literal('palisade'), version: Str }),
});
export type EvidenceManifest = Static<typeof ManifestSchema>;

export const SignatureSchema = Type.Object({
  format: Type.Literal(SIGNATURE_FORMAT),
  algorithm: Type.Literal('Ed25519'),
  key: Type.Object({ name: Str, publicKey: Str, fingerprint: Str }),
  signedAt: Str,
  manifestSha256: Hex64,
  /** base64 Ed25519 signature over `signatureMessage(manifestSha256, signedAt)`. */
  signature: Str,
});
export type EvidenceSignature = Static<typeof SignatureSchema>;

/** What the evidence key signs: binds the manifest's hash and the signing time. */
export function signatureMessage(manifestSha256: string, signedAt: string): Buffer {
  return Buffer.from(`${SIGNATURE_FORMAT}\n${manifestSha256}\n${signedAt}\n`, 'utf8');
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `sha256:<hex>` of the raw Ed25519 public key: what a court compares out of band. */
export function keyFingerprint(publicKey: Uint8Array): string {
  return `sha256:${createHash('sha256').update(publicKey).digest('hex')}`;
}
