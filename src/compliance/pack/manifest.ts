/**
 * The evidence pack manifest (docs/formats/evidence-pack.md): the list of every file with its size and
 * SHA-256, signed as exact bytes by the evidence key. Shared by the writer and the offline verifier.
 */

export const PACK_FORMAT = 'palisade-evidence-pack';
export const PACK_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Relative paths: segments of letters, digits, dot, dash and underscore; never `.` or `..`. */
export const PACK_PATH =
  /^(?!\.{1,2}(\/|$))[A-Za-z0-9_-][A-Za-z0-9._-]*(\/(?!\.{1,2}(\/|$))[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

export interface PackManifest {
  format: typeof PACK_FORMAT;
  version: typeof PACK_VERSION;
  createdAt: string;
  generator: string;
  instanceId: string | null;
  catalogueVersion: string;
  signer: { name: string; algorithm: 'Ed25519'; publicKey: string; fingerprint: string };
  files: ManifestFile[];
}

/** Checks the shape of a parsed manifest; returns what is wrong, or null. */
export function manifestProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const m = value as Record<string, unknown>;
  if (m.format !== PACK_FORMAT) return `format is not ${PACK_FORMAT}`;
  if (m.version !== PACK_VERSION)
    return `version ${JSON.stringify(m.version)} is not supported (this verifier reads ${PACK_VERSION})`;
  if (
    typeof m.createdAt !== 'string' ||
    typeof m.generator !== 'string' ||
    typeof m.catalogueVersion !== 'string'
  ) {
    return 'createdAt, generator or catalogueVersion missing';
  }
  const signer = m.signer as Record<string, unknown> | undefined;
  if (
    typeof signer !== 'object' ||
    signer.algorithm !== 'Ed25519' ||
    typeof signer.publicKey !== 'string' ||
    typeof signer.name !== 'string' ||
    Buffer.from(signer.publicKey, 'base64').length !== 32
  ) {
    return 'signer must name an Ed25519 public key (32 bytes, base64)';
  }
  if (!Array.isArray(m.files)) return 'files is not a list';
  const seen = new Set<string>();
  for (const f of m.files as unknown[]) {
    const file = f as Record<string, unknown>;
    if (
      typeof file !== 'object' ||
      typeof file.path !== 'string' ||
      !PACK_PATH.test(file.path) ||
      typeof file.size !== 'number' ||
      !Number.isSafeInteger(file.size) ||
      file.size < 0 ||
      typeof file.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(file.sha256)
    ) {
      return `bad file entry ${JSON.stringify(f).slice(0, 200)}`;
    }
    if (file.path === MANIFEST_FILE || file.path === SIGNATURE_FILE) return `${file.path} cannot list itself`;
    if (seen.has(file.path)) return `${file.path} listed twice`;
    seen.add(file.path);
  }
  return null;
}
