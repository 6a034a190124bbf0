import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readFileSync, readdirSync, type Stats } from 'node:fs';
import path from 'node:path';
import { describeError } from '../../errors/index.js';
import {
  MANIFEST_FILE,
  MAX_MANIFEST_BYTES,
  PACK_PATH,
  SIGNATURE_FILE,
  manifestProblem,
  type PackManifest,
} from './manifest.js';
import { keyFingerprint, verifyEd25519 } from './signer.js';
import { DEFAULT_ZIP_LIMITS, readZip } from './zip.js';

/**
 * The offline verifier: needs only the pack (folder or zip). It names every altered, missing or extra
 * file, a bad or missing signature, and, when the auditor supplies the fingerprint they trust, a pack
 * signed by another key.
 */

export type PackProblemCode =
  | 'PACK_UNREADABLE'
  | 'MANIFEST_MISSING'
  | 'MANIFEST_INVALID'
  | 'SIGNATURE_MISSING'
  | 'SIGNATURE_INVALID'
  | 'KEY_UNTRUSTED'
  | 'FILE_MISSING'
  | 'FILE_ALTERED'
  | 'FILE_EXTRA'
  | 'FILE_UNREADABLE';

export interface PackProblem {
  code: PackProblemCode;
  /** The file concerned, relative to the pack root; null for the pack as a whole. */
  path: string | null;
  message: string;
}

export interface PackVerification {
  ok: boolean;
  kind: 'directory' | 'zip';
  manifest: Pick<
    PackManifest,
    'createdAt' | 'generator' | 'instanceId' | 'catalogueVersion' | 'signer'
  > | null;
  /** sha256 fingerprint of the key that signed the manifest, computed from the key itself. */
  fingerprint: string | null;
  signatureValid: boolean;
  /** Files listed in the manifest that were present and matched. */
  verifiedFiles: number;
  problems: PackProblem[];
}

export interface VerifyOptions {
  /** `sha256:<hex>` of the public key the auditor expects (given to them out of band). */
  trustedFingerprint?: string;
}

/** Largest pack file read when verifying a zip, and the most files walked in a folder. */
export const VERIFY_LIMITS = { zipBytes: 1024 * 1024 * 1024, files: 10_000, depth: 16 };

interface PackEntry {
  size: number;
  sha256(): Promise<string>;
  bytes(max: number): Buffer | null;
}

export async function verifyEvidencePack(
  target: string,
  options: VerifyOptions = {},
): Promise<PackVerification> {
  const problems: PackProblem[] = [];
  let stats: Stats;
  try {
    stats = lstatSync(target);
  } catch (err) {
    return unreadable('directory', `cannot open ${target}: ${describeError(err)}`);
  }
  const kind = stats.isDirectory() ? 'directory' : 'zip';
  let entries: Map<string, PackEntry>;
  try {
    entries = kind === 'directory' ? walk(target, problems) : unzip(target, stats, problems);
  } catch (err) {
    return unreadable(kind, describeError(err));
  }

  const result: PackVerification = {
    ok: false,
    kind,
    manifest: null,
    fingerprint: null,
    signatureValid: false,
    verifiedFiles: 0,
    problems,
  };
  const manifestEntry = entries.get(MANIFEST_FILE);
  if (!manifestEntry) {
    problems.push({
      code: 'MANIFEST_MISSING',
      path: MANIFEST_FILE,
      message: 'manifest.json is missing; no file can be checked',
    });
    return result;
  }
  const manifestBytes = manifestEntry.bytes(MAX_MANIFEST_BYTES);
  let manifest: PackManifest | null = null;
  if (manifestBytes === null) {
    problems.push({
      code: 'MANIFEST_INVALID',
      path: MANIFEST_FILE,
      message: `manifest.json is larger than ${MAX_MANIFEST_BYTES} bytes`,
    });
  } else {
    try {
      const parsed = JSON.parse(manifestBytes.toString('utf8')) as unknown;
      const problem = manifestProblem(parsed);
      if (problem)
        problems.push({
          code: 'MANIFEST_INVALID',
          path: MANIFEST_FILE,
          message: `manifest.json: ${problem}`,
        });
      else manifest = parsed as PackManifest;
    } catch (err) {
      problems.push({
        code: 'MANIFEST_INVALID',
        path: MANIFEST_FILE,
        message: `manifest.json is not JSON: ${describeError(err)}`,
      });
    }
  }
  if (!manifest || !manifestBytes) return result;

  const publicKey = Buffer.from(manifest.signer.publicKey, 'base64');
  result.fingerprint = keyFingerprint(publicKey);
  result.manifest = {
    createdAt: manifest.createdAt,
    generator: manifest.generator,
    instanceId: manifest.instanceId,
    catalogueVersion: manifest.catalogueVersion,
    signer: manifest.signer,
  };
  if (manifest.signer.fingerprint !== result.fingerprint) {
    problems.push({
      code: 'MANIFEST_INVALID',
      path: MANIFEST_FILE,
      message: `the manifest states fingerprint ${manifest.signer.fingerprint} but its key's fingerprint is ${result.fingerprint}`,
    });
  }
  const sigEntry = entries.get(SIGNATURE_FILE);
  const sigBytes = sigEntry?.bytes(1024);
  if (!sigEntry) {
    problems.push({
      code: 'SIGNATURE_MISSING',
      path: SIGNATURE_FILE,
      message: 'manifest.sig is missing: the manifest is not signed',
    });
  } else {
    const text = sigBytes?.toString('ascii').trim() ?? '';
    const signature = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : Buffer.alloc(0);
    result.signatureValid = signature.length === 64 && verifyEd25519(publicKey, manifestBytes, signature);
    if (!result.signatureValid) {
      problems.push({
        code: 'SIGNATURE_INVALID',
        path: signature.length === 64 ? MANIFEST_FILE : SIGNATURE_FILE,
        message:
          signature.length === 64
            ? 'the signature does not match manifest.json: the manifest (or manifest.sig) was altered'
            : 'manifest.sig does not hold a base64 Ed25519 signature',
      });
    }
  }
  if (
    options.trustedFingerprint !== undefined &&
    options.trustedFingerprint.toLowerCase() !== result.fingerprint
  ) {
    problems.push({
      code: 'KEY_UNTRUSTED',
      path: null,
      message: `signed by ${result.fingerprint}, not by the trusted key ${options.trustedFingerprint}`,
    });
  }

  const listed = new Set<string>();
  for (const file of manifest.files) {
    listed.add(file.path);
    const entry = entries.get(file.path);
    if (!entry) {
      problems.push({
        code: 'FILE_MISSING',
        path: file.path,
        message: `${file.path} is listed in the manifest but missing`,
      });
      continue;
    }
    let digest: string;
    try {
      digest = entry.size === file.size ? await entry.sha256() : '';
    } catch (err) {
      problems.push({
        code: 'FILE_UNREADABLE',
        path: file.path,
        message: `${file.path}: ${describeError(err)}`,
      });
      continue;
    }
    if (entry.size !== file.size || digest !== file.sha256) {
      problems.push({
        code: 'FILE_ALTERED',
        path: file.path,
        message:
          entry.size !== file.size
            ? `${file.path} has ${entry.size} bytes; the manifest says ${file.size}`
            : `${file.path} does not match its SHA-256 in the manifest`,
      });
    } else result.verifiedFiles++;
  }
  for (const p of [...entries.keys()].sort()) {
    if (p === MANIFEST_FILE || p === SIGNATURE_FILE || listed.has(p)) continue;
    problems.push({ code: 'FILE_EXTRA', path: p, message: `${p} is not listed in the manifest` });
  }
  result.ok = problems.length === 0;
  return result;
}

function unreadable(kind: PackVerification['kind'], message: string): PackVerification {
  return {
    ok: false,
    kind,
    manifest: null,
    fingerprint: null,
    signatureValid: false,
    verifiedFiles: 0,
    problems: [{ code: 'PACK_UNREADABLE', path: null, message }],
  };
}

function walk(root: string, problems: PackProblem[]): Map<string, PackEntry> {
  const out = new Map<string, PackEntry>();
  let count = 0;
  const visit = (dir: string, rel: string, depth: number) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const relPath = rel ? `${rel}/${name}` : name;
      if (++count > VERIFY_LIMITS.files) throw new Error(`more than ${VERIFY_LIMITS.files} files`);
      const st = lstatSync(full);
      if (st.isDirectory()) {
        if (depth >= VERIFY_LIMITS.depth)
          throw new Error(`folders nested deeper than ${VERIFY_LIMITS.depth}`);
        visit(full, relPath, depth + 1);
      } else if (st.isFile()) {
        out.set(relPath, {
          size: st.size,
          sha256: () => hashFile(full),
          bytes: (max) => (st.size > max ? null : readFileSync(full)),
        });
      } else {
        // A symlink could point anywhere; the pack holds only regular files.
        problems.push({ code: 'FILE_EXTRA', path: relPath, message: `${relPath} is not a regular file` });
      }
    }
  };
  visit(root, '', 0);
  return out;
}

function unzip(file: string, stats: Stats, problems: PackProblem[]): Map<string, PackEntry> {
  if (!stats.isFile()) throw new Error(`${file} is neither a folder nor a zip file`);
  if (stats.size > VERIFY_LIMITS.zipBytes)
    throw new Error(`${file} is larger than ${VERIFY_LIMITS.zipBytes} bytes`);
  const out = new Map<string, PackEntry>();
  for (const entry of readZip(readFileSync(file), DEFAULT_ZIP_LIMITS)) {
    if (!PACK_PATH.test(entry.name)) {
      problems.push({
        code: 'FILE_EXTRA',
        path: entry.name,
        message: `${JSON.stringify(entry.name)} is not a valid pack path`,
      });
      continue;
    }
    if (out.has(entry.name)) {
      problems.push({
        code: 'FILE_EXTRA',
        path: entry.name,
        message: `${entry.name} appears twice in the zip`,
      });
      continue;
    }
    const data = entry.data;
    out.set(entry.name, {
      size: data.length,
      sha256: async () => createHash('sha256').update(data).digest('hex'),
      bytes: (max) => (data.length > max ? null : data),
    });
  }
  return out;
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file, { highWaterMark: 1024 * 1024 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
