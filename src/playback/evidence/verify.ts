import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Value } from '@sinclair/typebox/value';
import {
  canonicalJson,
  leafHash,
  openCheckpoint,
  parseVerifierKey,
  verifyInclusion,
  type Checkpoint,
  type VerifierKey,
} from '../../audit/index.js';
import { describeError, isPalisadeError } from '../../errors/index.js';
import { SegmentOpener } from '../../keys/index.js';
import { Fmp4File } from '../../media/index.js';
import { rebaseFragment } from '../mp4.js';
import {
  EVIDENCE_FORMAT,
  FILES,
  ManifestSchema,
  SignatureSchema,
  keyFingerprint,
  sha256Hex,
  signatureMessage,
  type EvidenceManifest,
  type FileRef,
} from './manifest.js';
import { ZipReader, type ZipEntryRef } from './zip.js';

/** Why a package does not verify; stable names (docs/formats/evidence-package.md). */
export type EvidenceProblemCode =
  | 'PACKAGE_UNREADABLE'
  | 'FILE_MISSING'
  | 'FILE_MODIFIED'
  | 'UNEXPECTED_FILE'
  | 'MANIFEST_INVALID'
  | 'SIGNATURE_INVALID'
  | 'KEY_UNTRUSTED'
  | 'CHECKPOINT_INVALID'
  | 'SEGMENT_MISSING'
  | 'SEGMENT_MODIFIED'
  | 'SEGMENT_ORDER'
  | 'SEGMENT_NOT_IN_LOG'
  | 'SEGMENT_UNREADABLE'
  | 'VIDEO_MODIFIED'
  | 'VIDEO_MISMATCH'
  | 'AUDIT_ENTRY_INVALID';

export interface EvidenceProblem {
  code: EvidenceProblemCode;
  message: string;
  /** The package file concerned, when there is one. */
  file?: string;
  /** 1-based segment position, when the problem is about one segment. */
  segment?: number;
}

export interface EvidenceVerification {
  ok: boolean;
  problems: EvidenceProblem[];
  /** What the package claims (from the manifest), for the report; absent if the manifest is unreadable. */
  summary?: {
    exportId: string;
    camera: string;
    from: string;
    to: string;
    segments: number;
    frames: number;
    videoSha256: string;
    exporter: string;
    reason: string;
    caseId: string | null;
    signedAt: string;
    evidenceKey: string;
    integrityLogKey: string;
    auditLogKey: string;
    approvals: number;
  };
}

export interface EvidenceVerifyOptions {
  /**
   * Keys to trust: `sha256:<hex>` fingerprints of the evidence key and/or C2SP verifier keys
   * (`name+id+base64`) of the integrity and audit logs. Without any, the package is checked against
   * the keys it names, and the report shows their fingerprints to compare out of band.
   */
  trustedKeys?: readonly string[];
}

const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const MAX_SMALL_BYTES = 1024 * 1024;

/**
 * Verifies an evidence package offline, with nothing but the file: the signature over the manifest,
 * every file's hash, the checkpoints' signatures, each segment's inclusion proof against the video
 * integrity log's checkpoint, each segment's decryption with its disclosed data key, and that the MP4
 * is exactly what those segments rebuild to. Reports every problem it finds, each with its place.
 */
export async function verifyEvidencePackage(
  file: string,
  options: EvidenceVerifyOptions = {},
): Promise<EvidenceVerification> {
  const problems: EvidenceProblem[] = [];
  const report = (p: EvidenceProblem) => problems.push(p);
  let zip: ZipReader;
  try {
    zip = await ZipReader.open(file);
  } catch (err) {
    return { ok: false, problems: [{ code: 'PACKAGE_UNREADABLE', message: describeError(err) }] };
  }
  try {
    const summary = await verifyOpened(zip, options, report);
    return { ok: problems.length === 0, problems, ...(summary ? { summary } : {}) };
  } finally {
    await zip.close();
  }
}

async function hashEntry(zip: ZipReader, entry: ZipEntryRef): Promise<{ sha256: string; crcOk: boolean }> {
  const h = createHash('sha256');
  let crc = 0;
  for await (const piece of zip.stream(entry)) {
    h.update(piece);
    crc = crc32(piece, crc);
  }
  return { sha256: h.digest('hex'), crcOk: crc === entry.crc };
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** The first schema error, as `path: message`. */
function schemaError(schema: Parameters<typeof Value.Errors>[0], value: unknown): string {
  const e = Value.Errors(schema, value).First();
  return e ? `${e.path || '/'}: ${e.message}` : 'not valid';
}

function trusted(options: EvidenceVerifyOptions): { fingerprints: string[]; logKeys: VerifierKey[] } {
  const fingerprints: string[] = [];
  const logKeys: VerifierKey[] = [];
  for (const k of options.trustedKeys ?? []) {
    if (/^sha256:[0-9a-f]{64}$/.test(k)) fingerprints.push(k);
    else logKeys.push(parseVerifierKey(k));
  }
  return { fingerprints, logKeys };
}

async function verifyOpened(
  zip: ZipReader,
  options: EvidenceVerifyOptions,
  report: (p: EvidenceProblem) => void,
): Promise<EvidenceVerification['summary']> {
  const trust = trusted(options);
  const manifestEntry = zip.entry(FILES.manifest);
  const signatureEntry = zip.entry(FILES.signature);
  if (!manifestEntry || !signatureEntry) {
    for (const f of [FILES.manifest, FILES.signature])
      if (!zip.entry(f)) report({ code: 'FILE_MISSING', file: f, message: `${f} is missing` });
    return undefined;
  }
  const manifestBytes = await zip.read(manifestEntry, MAX_MANIFEST_BYTES);
  const signatureBytes = await zip.read(signatureEntry, MAX_SMALL_BYTES);

  // 1. The signature over the manifest.
  const signature = parseJson(signatureBytes);
  const manifestSha256 = sha256Hex(manifestBytes);
  let evidenceKey = '';
  let signedAt = '';
  if (!Value.Check(SignatureSchema, signature)) {
    report({
      code: 'SIGNATURE_INVALID',
      file: FILES.signature,
      message: `signature.json is not a Palisade evidence signature (${schemaError(SignatureSchema, signature)})`,
    });
  } else {
    const publicKey = Buffer.from(signature.key.publicKey, 'base64');
    evidenceKey = publicKey.length === 32 ? keyFingerprint(publicKey) : '';
    signedAt = signature.signedAt;
    if (signature.manifestSha256 !== manifestSha256) {
      report({
        code: 'FILE_MODIFIED',
        file: FILES.manifest,
        message: `manifest.json has SHA-256 ${manifestSha256}, but the signature covers ${signature.manifestSha256}: the manifest was changed after signing`,
      });
    } else if (
      !ed25519Verify(
        publicKey,
        signatureMessage(signature.manifestSha256, signature.signedAt),
        signature.signature,
      )
    ) {
      report({
        code: 'SIGNATURE_INVALID',
        file: FILES.signature,
        message: 'the Ed25519 signature over the manifest does not verify',
      });
    }
    if (trust.fingerprints.length > 0 && !trust.fingerprints.includes(evidenceKey)) {
      report({
        code: 'KEY_UNTRUSTED',
        file: FILES.signature,
        message: `the package is signed by ${evidenceKey || 'an invalid key'}, not by a trusted evidence key`,
      });
    }
  }

  const manifest = parseJson(manifestBytes);
  if (!Value.Check(ManifestSchema, manifest)) {
    report({
      code: 'MANIFEST_INVALID',
      file: FILES.manifest,
      message: `manifest.json is not a ${EVIDENCE_FORMAT} manifest (${schemaError(ManifestSchema, manifest)})`,
    });
    return undefined;
  }
  if (canonicalJson(manifest) !== manifestBytes.toString('utf8')) {
    report({
      code: 'MANIFEST_INVALID',
      file: FILES.manifest,
      message: 'manifest.json is not in canonical form (RFC 8785)',
    });
  }

  // 2. Every file the manifest names, and nothing else.
  const named = new Map<string, FileRef>();
  const add = (r: FileRef | undefined) => r && named.set(r.file, r);
  add(manifest.video);
  for (const s of manifest.segments) add(s.sealed);
  add(manifest.integrityLog.checkpoint);
  add(manifest.audit.checkpoint);
  add(manifest.audit.entry);
  for (const e of zip.entries) {
    if (e.name !== FILES.manifest && e.name !== FILES.signature && !named.has(e.name))
      report({ code: 'UNEXPECTED_FILE', file: e.name, message: `${e.name} is not named in the manifest` });
  }
  const segmentHashes = new Map(manifest.segments.map((s) => [s.sealed.sha256, s.n]));
  for (const ref of named.values()) {
    const entry = zip.entry(ref.file);
    const segment = manifest.segments.find((s) => s.sealed.file === ref.file);
    if (!entry) {
      report({
        code: segment ? 'SEGMENT_MISSING' : 'FILE_MISSING',
        file: ref.file,
        ...(segment ? { segment: segment.n } : {}),
        message: segment
          ? `segment ${segment.n} (${segment.id}, ${segment.start} – ${segment.end}) is missing from the package`
          : `${ref.file} is missing`,
      });
      continue;
    }
    const { sha256: actual, crcOk } = await hashEntry(zip, entry);
    if (!crcOk)
      report({ code: 'FILE_MODIFIED', file: ref.file, message: `${ref.file} does not match its ZIP CRC-32` });
    if (actual === ref.sha256 && entry.size === ref.size) continue;
    if (segment) {
      const other = segmentHashes.get(actual);
      report({
        code: other !== undefined ? 'SEGMENT_ORDER' : 'SEGMENT_MODIFIED',
        file: ref.file,
        segment: segment.n,
        message:
          other !== undefined
            ? `${ref.file} holds the bytes of segment ${other}, not of segment ${segment.n}: segments were reordered`
            : `segment ${segment.n} (${segment.id}) does not have the recorded SHA-256 ${ref.sha256}`,
      });
    } else {
      report({
        code: ref.file === FILES.video ? 'VIDEO_MODIFIED' : 'FILE_MODIFIED',
        file: ref.file,
        message: `${ref.file} has SHA-256 ${actual} and ${entry.size} bytes; the manifest says ${ref.sha256} and ${ref.size}`,
      });
    }
  }

  // 3. The checkpoints, signed by the logs' keys.
  const integrityCp = await checkpointOf(
    zip,
    manifest.integrityLog,
    FILES.integrityCheckpoint,
    trust.logKeys,
    report,
  );
  const auditCp = await checkpointOf(zip, manifest.audit, FILES.auditCheckpoint, trust.logKeys, report);

  // 4. Segments: order, inclusion in the integrity log, decryption, and the MP4 they rebuild.
  await verifySegments(zip, manifest, integrityCp, report);

  // 5. The export's own audit entry.
  await verifyAuditEntry(zip, manifest, auditCp, report);

  return {
    exportId: manifest.exportId,
    camera: manifest.camera.id,
    from: manifest.range.from,
    to: manifest.range.to,
    segments: manifest.segments.length,
    frames: manifest.video.frames,
    videoSha256: manifest.video.sha256,
    exporter: manifest.exporter.name ?? manifest.exporter.id,
    reason: manifest.reason,
    caseId: manifest.caseId,
    signedAt,
    evidenceKey,
    integrityLogKey: manifest.integrityLog.verifierKey,
    auditLogKey: manifest.audit.verifierKey,
    approvals: manifest.approvals.length,
  };
}

function ed25519Verify(publicKey: Buffer, message: Buffer, signatureB64: string): boolean {
  try {
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: publicKey.toString('base64url') },
      format: 'jwk',
    });
    return verifySignature(null, message, key, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

async function checkpointOf(
  zip: ZipReader,
  log: { origin: string; verifierKey: string; checkpoint: FileRef & { treeSize: number; rootHash: string } },
  file: string,
  trustedLogKeys: VerifierKey[],
  report: (p: EvidenceProblem) => void,
): Promise<Checkpoint | undefined> {
  const entry = zip.entry(file);
  if (!entry) return undefined;
  try {
    const key = parseVerifierKey(log.verifierKey);
    if (trustedLogKeys.length > 0 && !trustedLogKeys.some((k) => k.text === key.text)) {
      report({
        code: 'KEY_UNTRUSTED',
        file,
        message: `${file} is signed by ${key.text}, which is not trusted`,
      });
    }
    const cp = openCheckpoint((await zip.read(entry, MAX_SMALL_BYTES)).toString('utf8'), [key], log.origin);
    if (cp.size !== log.checkpoint.treeSize || cp.rootHash.toString('hex') !== log.checkpoint.rootHash) {
      report({
        code: 'CHECKPOINT_INVALID',
        file,
        message: `${file} is for tree size ${cp.size}, root ${cp.rootHash.toString('hex')}; the manifest names size ${log.checkpoint.treeSize}, root ${log.checkpoint.rootHash}`,
      });
    }
    return cp;
  } catch (err) {
    report({ code: 'CHECKPOINT_INVALID', file, message: `${file}: ${describeError(err)}` });
    return undefined;
  }
}

async function plaintextOf(
  zip: ZipReader,
  entry: ZipEntryRef,
  dataKey: Buffer,
  objectId: string,
  cameraId: string,
) {
  const opener = new SegmentOpener(dataKey, { objectId, cameraId });
  const parts: Buffer[] = [];
  for await (const piece of zip.stream(entry)) parts.push(...opener.update(piece));
  opener.final();
  return Buffer.concat(parts);
}

async function verifySegments(
  zip: ZipReader,
  manifest: EvidenceManifest,
  checkpoint: Checkpoint | undefined,
  report: (p: EvidenceProblem) => void,
): Promise<void> {
  const video = zip.entry(FILES.video);
  let init: Buffer | undefined;
  let sequence = 0;
  let decodeTime = 0;
  let offset = 0;
  let previous: EvidenceManifest['segments'][number] | undefined;
  let rebuildable = true;
  for (const [i, s] of manifest.segments.entries()) {
    const where = { file: s.sealed.file, segment: s.n };
    if (
      s.n !== i + 1 ||
      (previous && (s.start < previous.end || s.integrity.index === previous.integrity.index))
    ) {
      report({
        code: 'SEGMENT_ORDER',
        ...where,
        message: `segment ${s.n} (${s.id}) is out of order in the manifest`,
      });
    }
    previous = s;
    // Inclusion: the leaf the recorder appended when it finished this segment.
    const leaf = Buffer.from(
      canonicalJson({
        camera: manifest.camera.id,
        end: s.end,
        segment: s.id,
        sha256: s.sealed.sha256,
        size: s.sealed.size,
        start: s.start,
        v: 1,
      }),
      'utf8',
    );
    if (checkpoint) {
      try {
        verifyInclusion(
          s.integrity.index,
          checkpoint.size,
          leafHash(leaf),
          s.integrity.proof.map((h) => Buffer.from(h, 'hex')),
          checkpoint.rootHash,
        );
      } catch (err) {
        report({
          code: 'SEGMENT_NOT_IN_LOG',
          ...where,
          message: `segment ${s.n} (${s.id}) is not proven in the video integrity log at size ${checkpoint.size}: ${describeError(err)}`,
        });
      }
    }
    // Decrypt with the disclosed key and rebuild this segment's part of the MP4.
    const entry = zip.entry(s.sealed.file);
    if (!entry) {
      rebuildable = false;
      continue;
    }
    let file: Fmp4File;
    try {
      file = Fmp4File.parse(
        await plaintextOf(zip, entry, Buffer.from(s.dataKey, 'hex'), s.id, manifest.camera.id),
      );
    } catch (err) {
      report({
        code: 'SEGMENT_UNREADABLE',
        ...where,
        message: `segment ${s.n} (${s.id}) does not open with its data key: ${isPalisadeError(err) ? `${err.code}: ` : ''}${describeError(err)}`,
      });
      rebuildable = false;
      continue;
    }
    // Once a segment is missing or unreadable the MP4 cannot be rebuilt past it; it is reported already.
    if (!video || !rebuildable) continue;
    const expected: Buffer[] = [];
    let start = offset;
    if (init === undefined) {
      init = Buffer.from(file.initSegment());
      expected.push(init);
      start = 0;
    } else if (!file.initSegment().equals(init)) {
      report({
        code: 'VIDEO_MISMATCH',
        ...where,
        message: `segment ${s.n} has other stream parameters than the MP4's init section`,
      });
    }
    const fragmentsAt = start + (expected.length > 0 ? init.length : 0);
    if (s.mp4.offset !== fragmentsAt || s.mp4.decodeTimeStart !== decodeTime) {
      report({
        code: 'SEGMENT_ORDER',
        ...where,
        message: `segment ${s.n} does not continue the MP4 where the segment before it ended`,
      });
    }
    const frags = file.fragments.slice(s.mp4.firstFragment, s.mp4.firstFragment + s.mp4.fragmentCount);
    if (frags.length !== s.mp4.fragmentCount || s.mp4.fragmentCount === 0) {
      report({
        code: 'VIDEO_MISMATCH',
        ...where,
        message: `segment ${s.n} has no fragments ${s.mp4.firstFragment}..${s.mp4.firstFragment + s.mp4.fragmentCount - 1}`,
      });
      rebuildable = false;
      continue;
    }
    for (const f of frags) {
      expected.push(rebaseFragment(file.fragmentBytes(f), ++sequence, decodeTime));
      decodeTime += f.duration;
    }
    const rebuilt = Buffer.concat(expected);
    const actual = await zip.range(video, start, rebuilt.length);
    const at = firstDifference(rebuilt, actual);
    if (at >= 0) {
      report({
        code: 'VIDEO_MISMATCH',
        file: FILES.video,
        segment: s.n,
        message: `video.mp4 differs at byte ${start + at} from what segment ${s.n} (${s.id}) rebuilds to`,
      });
    }
    offset = start + rebuilt.length;
  }
  if (video && rebuildable && offset !== video.size && manifest.segments.length > 0) {
    report({
      code: 'VIDEO_MISMATCH',
      file: FILES.video,
      message: `video.mp4 has ${video.size} bytes; the segments rebuild ${offset}`,
    });
  }
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

async function verifyAuditEntry(
  zip: ZipReader,
  manifest: EvidenceManifest,
  checkpoint: Checkpoint | undefined,
  report: (p: EvidenceProblem) => void,
): Promise<void> {
  const ref = manifest.audit.entry;
  const entry = zip.entry(ref.file);
  if (!entry) return;
  const bytes = await zip.read(entry, MAX_SMALL_BYTES);
  if (checkpoint) {
    try {
      verifyInclusion(
        ref.index,
        checkpoint.size,
        leafHash(bytes),
        ref.proof.map((h) => Buffer.from(h, 'hex')),
        checkpoint.rootHash,
      );
    } catch (err) {
      report({
        code: 'AUDIT_ENTRY_INVALID',
        file: ref.file,
        message: `the export's audit entry is not proven in the audit log: ${describeError(err)}`,
      });
    }
  }
  const event = parseJson(bytes) as
    { action?: unknown; target?: { id?: unknown }; details?: Record<string, unknown> } | undefined;
  const d = event?.details ?? {};
  const expected: [string, unknown, unknown][] = [
    ['action', event?.action, 'evidence.export.created'],
    ['camera', event?.target?.id, manifest.camera.id],
    ['export id', d.export, manifest.exportId],
    ['from', d.from, manifest.range.from],
    ['to', d.to, manifest.range.to],
    ['video SHA-256', d.videoSha256, manifest.video.sha256],
  ];
  for (const [what, actual, wanted] of expected) {
    if (actual !== wanted)
      report({
        code: 'AUDIT_ENTRY_INVALID',
        file: ref.file,
        message: `the audit entry's ${what} is ${JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`,
      });
  }
}
