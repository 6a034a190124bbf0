export { escapeHtml, renderReport, type ReportContext } from './html.js';
export {
  MANIFEST_FILE,
  PACK_FORMAT,
  PACK_VERSION,
  SIGNATURE_FILE,
  type ManifestFile,
  type PackManifest,
} from './manifest.js';
export {
  keyFingerprint,
  publicKeyFromRaw,
  rawPublicKey,
  verifyEd25519,
  type EvidenceSigner,
} from './signer.js';
export {
  verifyEvidencePack,
  VERIFY_LIMITS,
  type PackProblem,
  type PackProblemCode,
  type PackVerification,
  type VerifyOptions,
} from './verify.js';
export { writeEvidencePack, type PackInput, type PackResult } from './write.js';
export { createZip, readZip, DEFAULT_ZIP_LIMITS, type ZipEntry, type ZipLimits } from './zip.js';
