import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
/**
 * Compliance engine benchmarks, each against a baseline measured in the same run:
 * 1. evaluating N zones vs running the same checks directly (the irreducible work): engine overhead;
 * 2. verifying an evidence pack (folder and zip) vs hashing the same bytes with SHA-256 alone.
 * Run: npm run bench:compliance
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CHECKS,
  FactReader,
  zoneViews,
  effectiveCatalogue,
  evaluateCompliance,
  verifyEvidencePack,
  writeEvidencePack,
  type Attestation,
  type AutomatedCheck,
  type Fact,
  type FactCollection,
  type Zone,
} from '../src/compliance/index.js';

const NOW = new Date();

function time<T>(fn: () => T, runs: number): { ms: number; value: T } {
  let value = fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) value = fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6 / runs, value };
}

async function timeAsync<T>(fn: () => Promise<T>, runs: number): Promise<{ ms: number; value: T }> {
  let value = await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6 / runs, value };
}

const fact = (key: string, value: Fact['value'], zone?: string): Fact => ({
  key,
  value,
  observedAt: NOW.toISOString(),
  source: 'bench',
  ...(zone ? { zone } : {}),
});

/** A realistic fact set: every documented key with a passing value, plus one zone-scoped fact per zone. */
function factSet(zones: Zone[]): FactCollection {
  const facts: Fact[] = [
    fact('http.listener.https', {
      address: '127.0.0.1:8443',
      transport: 'tls',
      tls: {
        versions: ['TLSv1.3'],
        refusedVersions: ['TLSv1.2'],
        cipher: 'TLS_AES_256_GCM_SHA384',
        observedBy: 'handshake',
      },
      certificate: {
        subject: 'CN=vms',
        issuer: 'CN=CA',
        selfSigned: false,
        keyType: 'ec',
        keyDetail: 'P-256',
        securityBits: 128,
        notBefore: '2026-01-01T00:00:00.000Z',
        notAfter: '2099-01-01T00:00:00.000Z',
      },
      privateKey: { storage: 'file' },
    }),
    fact('http.routes', { total: 120, unvalidated: [] }),
    fact('http.headers', {
      contentSecurityPolicy: "default-src 'self'; script-src 'self'; object-src 'none'",
    }),
    fact('http.limits', {
      bodyLimitBytes: 1 << 20,
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 15_000,
      keepAliveTimeoutMs: 10_000,
      rateLimit: { max: 600, windowMs: 60_000, enforced: true },
    }),
    fact('http.errors', { uniformShape: true, internalDetailsHidden: true }),
    fact('database.transport', { kind: 'tls' }),
    fact('database.durability', { dialect: 'postgres', durable: true, settings: {} }),
    fact('time.sync', { status: 'synchronized', method: 'chrony', detail: 'chrony', authenticated: true }),
    fact('compliance.settingsExport', ['json', 'evidence-pack']),
    ...Object.entries<Fact['value']>({
      'identity.authentication.enforced': true,
      'identity.authentication.publicRoutes': [],
      'identity.accounts.uniqueHumanIdentities': true,
      'identity.accounts.management': { create: true, disable: true, remove: true, audited: true },
      'identity.accounts.initialCredentialsUnchanged': 0,
      'identity.password.hashAlgorithm': 'argon2id',
      'identity.password.minLength': 14,
      'identity.password.maxAgeDays': 365,
      'identity.password.historyCount': 5,
      'identity.mfa.required': true,
      'identity.mfa.exemptRoles': [],
      'identity.mfa.coverage': 1,
      'identity.mfa.networkExemptions': [],
      'identity.oidc.enabled': true,
      'identity.oidc.mfaEvidenceRequired': true,
      'identity.login.genericFailure': true,
      'identity.login.noticeConfigured': true,
      'identity.lockout.enabled': true,
      'identity.lockout.threshold': 5,
      'identity.session.idleTimeoutSeconds': 900,
      'identity.session.absoluteLifetimeSeconds': 43_200,
      'identity.session.adminTermination': true,
      'identity.session.cookie': { secure: true, httpOnly: true, sameSite: 'strict' },
      'identity.session.csrfProtection': true,
      'identity.session.invalidatedOnLogout': true,
      'identity.session.idEntropyBits': 256,
      'identity.session.idSource': 'csprng',
      'identity.serviceAccounts.tokenAuthentication': true,
      'identity.serviceAccounts.individual': true,
      'identity.serviceAccounts.tokenMaxAgeDays': 90,
      'access.denyByDefault': true,
      'access.enforcement.allRoutes': true,
      'access.enforcement.allSubjects': true,
      'access.permissions.viaRolesOnly': true,
      'access.roles': ['administrator', 'operator'],
      'access.supervisorOverride.enabled': true,
      'access.dualApproval.enabled': true,
      'access.dualApproval.actions': ['keys.kek.destroy'],
      'audit.log.enabled': true,
      'audit.log.healthy': true,
      'audit.log.appendOnly': true,
      'audit.log.systemWide': true,
      'audit.events.actorAttributed': true,
      'audit.timestamps.utc': true,
      'audit.checkpoint.signed': true,
      'audit.checkpoint.ageSeconds': 60,
      'audit.storage.headroomRatio': 0.7,
      'audit.storage.warningThresholdRatio': 0.2,
      'audit.storage.writeOnce': true,
      'audit.failure.mode': 'block',
      'audit.access.restricted': true,
      'audit.query.available': true,
      'audit.export.programmatic': true,
      'audit.integrity.alerts': true,
      'keys.provider.kind': 'pkcs11',
      'keys.atRest.algorithm': 'AES-256-GCM',
      'keys.atRest.coverage': { video: true, secrets: true },
      'keys.cryptoShredding.enabled': true,
    }).map(([k, v]) => fact(k, v)),
  ];
  for (const z of zones) facts.push(fact('identity.session.concurrentLimit', 2, z.id));
  return {
    collectedAt: NOW.toISOString(),
    facts,
    errors: [],
    namespaces: ['http', 'database', 'time', 'identity', 'access', 'audit', 'keys', 'compliance'],
    sources: {},
  };
}

const attestations: Attestation[] = CHECKS.filter((c) => c.kind === 'attestation').map((c, i) => ({
  id: `a${i}`,
  requirement: c.requirement,
  zone: null,
  verdict: 'met',
  statement: 'procedure in place',
  attestedBy: { id: 'u', name: 'Owner' },
  attachments: [],
  createdAt: new Date(NOW.getTime() - 1000).toISOString(),
  expiresAt: new Date(NOW.getTime() + 86_400_000).toISOString(),
  revokedAt: null,
}));

const rows: string[][] = [];
const catalogue = effectiveCatalogue();
for (const n of [1, 100, 1000]) {
  const zones: Zone[] = Array.from({ length: n }, (_, i) => ({
    id: `z${i}`,
    name: `Zone ${i}`,
    slTarget: [3, 3, 3, 3, 3, 3, 3],
  }));
  const facts = factSet(zones);
  const runs = n === 1000 ? 3 : n === 100 ? 10 : 200;
  const automated = CHECKS.filter((c): c is AutomatedCheck => c.kind === 'automated');
  const baseline = time(() => {
    let met = 0;
    const views = zoneViews(facts.facts);
    for (const z of zones) {
      const view = views(z.id);
      for (const c of automated) {
        if (c.evaluate(new FactReader(view, NOW)).status === 'met') met++;
      }
    }
    return met;
  }, runs);
  const engine = time(() => evaluateCompliance({ catalogue, facts, zones, attestations, now: NOW }), runs);
  const v = engine.value.zones[0]!.slAchieved.join(',');
  rows.push([
    `evaluate ${n} zone(s)`,
    baseline.ms.toFixed(2),
    engine.ms.toFixed(2),
    (engine.ms / baseline.ms).toFixed(2),
    `${(engine.ms / n).toFixed(3)} ms/zone, SL-A ${v}`,
  ]);
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'palisade-bench-'));
try {
  const zones: Zone[] = Array.from({ length: 20 }, (_, i) => ({
    id: `z${i}`,
    name: `Zone ${i}`,
    slTarget: [3, 3, 3, 3, 3, 3, 3],
  }));
  const evaluation = evaluateCompliance({ catalogue, facts: factSet(zones), zones, attestations, now: NOW });
  const docs = Array.from({ length: 4 }, () => randomBytes(16 * 1024 * 1024));
  const withDocs = attestations.map((a, i) =>
    i < docs.length
      ? { ...a, attachments: [{ name: `evidence-${i}.bin`, sha256: '', size: docs[i]!.length }] }
      : a,
  );
  const start = process.hrtime.bigint();
  const pack = await writeEvidencePack({
    outDir: path.join(tmp, 'pack'),
    evaluation,
    catalogue,
    attestations: withDocs,
    attachment: async (id) => docs[Number(id.slice(1))]!,
    countermeasures: [],
    auditCheckpoint: null,
    signer: benchSigner(),
    generator: 'bench',
    instanceId: null,
  });
  const writeMs = Number(process.hrtime.bigint() - start) / 1e6;
  const bytes = pack.files.reduce((s, f) => s + f.size, 0);
  const hashAll = await timeAsync(async () => {
    for (const f of pack.files)
      createHash('sha256')
        .update(readFileSync(path.join(pack.dir, ...f.path.split('/'))))
        .digest('hex');
    return 0;
  }, 3);
  const folder = await timeAsync(() => verifyEvidencePack(pack.dir), 3);
  const zip = await timeAsync(() => verifyEvidencePack(pack.zip), 3);
  if (!folder.value.ok || !zip.value.ok) throw new Error('pack did not verify');
  const mib = bytes / 1024 / 1024;
  // Baseline for writing: the same bytes written twice (folder and archive) and hashed once, nothing else.
  const contents = pack.files.map((f) => readFileSync(path.join(pack.dir, ...f.path.split('/'))));
  const rawStart = process.hrtime.bigint();
  contents.forEach((bytes, i) => {
    writeFileSync(path.join(tmp, `raw-${i}`), bytes);
    createHash('sha256').update(bytes).digest('hex');
  });
  writeFileSync(path.join(tmp, 'raw.bin'), Buffer.concat(contents));
  const rawMs = Number(process.hrtime.bigint() - rawStart) / 1e6;
  rows.push([
    `write pack (20 zones, ${mib.toFixed(0)} MiB)`,
    rawMs.toFixed(0),
    writeMs.toFixed(0),
    (writeMs / rawMs).toFixed(2),
    `folder + zip, ${pack.files.length} files`,
  ]);
  rows.push([
    `verify pack folder (${mib.toFixed(0)} MiB)`,
    hashAll.ms.toFixed(0),
    folder.ms.toFixed(0),
    (folder.ms / hashAll.ms).toFixed(2),
    `${(mib / (folder.ms / 1000)).toFixed(0)} MiB/s`,
  ]);
  rows.push([
    `verify pack zip (${mib.toFixed(0)} MiB)`,
    hashAll.ms.toFixed(0),
    zip.ms.toFixed(0),
    (zip.ms / hashAll.ms).toFixed(2),
    `${(mib / (zip.ms / 1000)).toFixed(0)} MiB/s`,
  ]);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const header = ['case', 'baseline ms', 'palisade ms', 'ratio', 'note'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log(
  '\nbaseline: evaluate = the automated checks run directly on each zone; write = the same bytes written to a folder and one file and hashed; verify = SHA-256 of every file read from disk.',
);

/** An in-memory Ed25519 evidence key, as the key provider would hold one. */
function benchSigner() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    name: 'bench:evidence',
    publicKey: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }).subarray(12)),
    sign: async (message: Uint8Array) => new Uint8Array(cryptoSign(null, message, privateKey)),
  };
}
