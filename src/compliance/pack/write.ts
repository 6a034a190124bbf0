import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PalisadeError } from '../../errors/index.js';
import {
  ANNEX_A_CONTROLS,
  ISO27001_VERSION,
  NDAA889_RULES,
  NDAA889_VERSION,
  STQC_AREAS,
  STQC_VERSION,
  type EffectiveCatalogue,
} from '../catalogue/index.js';
import type { ComplianceEvaluation } from '../engine.js';
import type { Attestation, Countermeasure } from '../records.js';
import { renderReport } from './html.js';
import {
  MANIFEST_FILE,
  PACK_FORMAT,
  PACK_PATH,
  PACK_VERSION,
  SIGNATURE_FILE,
  type ManifestFile,
  type PackManifest,
} from './manifest.js';
import { keyFingerprint, type EvidenceSigner } from './signer.js';
import { createZip } from './zip.js';

export interface PackInput {
  /** The folder to create; the zip is written beside it as `<outDir>.zip`. */
  outDir: string;
  evaluation: ComplianceEvaluation;
  catalogue: EffectiveCatalogue;
  attestations: readonly Attestation[];
  /** Bytes of each attachment, fetched from the store. */
  attachment(attestationId: string, name: string): Promise<Uint8Array>;
  countermeasures: readonly Countermeasure[];
  /** The audit log's current checkpoint as text (opaque here), or null when there is none. */
  auditCheckpoint: string | null;
  signer: EvidenceSigner;
  generator: string;
  instanceId: string | null;
}

export interface PackResult {
  dir: string;
  zip: string;
  files: ManifestFile[];
  fingerprint: string;
}

const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');

/**
 * Writes the evidence pack: the files, a manifest of their SHA-256 hashes signed by the evidence key,
 * and the same content as a zip. Refuses to write over anything that exists.
 */
export async function writeEvidencePack(input: PackInput): Promise<PackResult> {
  const dir = path.resolve(input.outDir);
  const zip = `${dir}.zip`;
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new PalisadeError('PACK_OUT_EXISTS', `${dir} exists and is not empty; choose a new --out`);
  }
  if (existsSync(zip)) throw new PalisadeError('PACK_OUT_EXISTS', `${zip} exists; choose a new --out`);

  const e = input.evaluation;
  const files = new Map<string, Buffer>();
  files.set(
    'summary.json',
    json({
      evaluatedAt: e.evaluatedAt,
      catalogueVersion: e.catalogueVersion,
      overrides: e.overrides,
      auditCheckpoint: input.auditCheckpoint === null ? null : 'audit-checkpoint.txt',
      zones: e.zones.map((z) => ({
        id: z.zone.id,
        name: z.zone.name,
        slTarget: z.slTarget,
        slAchieved: z.slAchieved,
        compensated: z.compensated,
        gaps: z.gaps,
      })),
    }),
  );
  files.set(
    'checks.json',
    json({
      evaluatedAt: e.evaluatedAt,
      catalogueVersion: e.catalogueVersion,
      zones: e.zones.map((z) => ({ id: z.zone.id, name: z.zone.name, results: z.results })),
    }),
  );
  files.set(
    'catalogue.json',
    json({
      version: input.catalogue.version,
      overrides: input.catalogue.overrides,
      iec62443_3_3: input.catalogue.requirements,
      iso27001: { version: ISO27001_VERSION, controls: ANNEX_A_CONTROLS },
      stqc: { version: STQC_VERSION, areas: STQC_AREAS },
      ndaa889: { version: NDAA889_VERSION, rules: NDAA889_RULES },
    }),
  );
  files.set('facts.json', json(e.facts));

  const attestations = [];
  for (const a of input.attestations) {
    const stored = [];
    for (const f of a.attachments) {
      const safe = f.name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._-]+/, '') || 'attachment';
      const p = `attachments/${a.id}/${safe}`;
      const bytes = Buffer.from(await input.attachment(a.id, f.name));
      if (!PACK_PATH.test(p) || files.has(p))
        throw new PalisadeError('PACK_INVALID', `cannot store attachment ${f.name}`);
      files.set(p, bytes);
      stored.push({ ...f, path: p });
    }
    attestations.push({ ...a, attachments: stored });
  }
  files.set('attestations.json', json({ attestations }));
  files.set('countermeasures.json', json({ countermeasures: input.countermeasures }));
  if (input.auditCheckpoint !== null)
    files.set('audit-checkpoint.txt', Buffer.from(input.auditCheckpoint, 'utf8'));

  const fingerprint = keyFingerprint(input.signer.publicKey);
  files.set(
    'report.html',
    Buffer.from(
      renderReport({
        evaluation: e,
        attestations: input.attestations,
        countermeasures: input.countermeasures,
        auditCheckpoint: input.auditCheckpoint,
        generator: input.generator,
        instanceId: input.instanceId,
        signerFingerprint: fingerprint,
        signerName: input.signer.name,
      }),
      'utf8',
    ),
  );

  const listed: ManifestFile[] = [...files.entries()]
    .map(([p, bytes]) => ({
      path: p,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest: PackManifest = {
    format: PACK_FORMAT,
    version: PACK_VERSION,
    createdAt: e.evaluatedAt,
    generator: input.generator,
    instanceId: input.instanceId,
    catalogueVersion: e.catalogueVersion,
    signer: {
      name: input.signer.name,
      algorithm: 'Ed25519',
      publicKey: Buffer.from(input.signer.publicKey).toString('base64'),
      fingerprint,
    },
    files: listed,
  };
  const manifestBytes = json(manifest);
  const signature = await input.signer.sign(manifestBytes);
  files.set(MANIFEST_FILE, manifestBytes);
  files.set(SIGNATURE_FILE, Buffer.from(`${Buffer.from(signature).toString('base64')}\n`, 'ascii'));

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ordered = [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [p, bytes] of ordered) {
    const full = path.join(dir, ...p.split('/'));
    mkdirSync(path.dirname(full), { recursive: true, mode: 0o700 });
    writeFileSync(full, bytes, { flag: 'wx', mode: 0o600 });
  }
  writeFileSync(
    zip,
    createZip(
      ordered.map(([name, data]) => ({ name, data })),
      new Date(e.evaluatedAt),
    ),
    { flag: 'wx', mode: 0o600 },
  );
  return { dir, zip, files: listed, fingerprint };
}
