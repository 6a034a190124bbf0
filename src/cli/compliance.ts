import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { openCompliance, type ComplianceContext } from '../app/index.js';
import type { AuditActor } from '../audit/index.js';
import {
  ATTESTATION_LIMITS,
  FOUNDATIONAL_REQUIREMENTS,
  verifyEvidencePack,
  type ComplianceEvaluation,
  type ZoneEvaluation,
} from '../compliance/index.js';
import { PalisadeError, describeError } from '../errors/index.js';
import { addStateFlags, loggerFor, resolveConfig, type StateFlags } from './context.js';

/** Largest audit checkpoint accepted: a signed note is a few hundred bytes. */
const MAX_CHECKPOINT_BYTES = 64 * 1024;

/** Commands run by whoever has the data dir: recorded as the local operator. */
const CLI_ACTOR: AuditActor = { type: 'system', id: 'palisade.cli', auth: 'local-operator' };

export function registerCompliance(program: Command): void {
  const compliance = program
    .command('compliance')
    .description('IEC 62443 security level per zone, evidence packs and their offline verification');

  addStateFlags(
    compliance
      .command('status')
      .description('print SL-T against SL-A per zone and what blocks the next level')
      .option('--zone <id>', 'only this zone')
      .option('--json', 'machine-readable output (the whole evaluation, facts included)'),
    false,
  ).action((flags: StateFlags & { zone?: string; json?: boolean }) =>
    withCompliance(flags, async (ctx) => {
      const evaluation = await ctx.evaluate();
      const zones = selectZones(evaluation, flags.zone);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ ...evaluation, zones }, null, 2)}\n`);
      } else process.stdout.write(formatStatus({ ...evaluation, zones }));
    }),
  );

  addStateFlags(
    compliance
      .command('pack')
      .description('write a signed evidence pack (folder and zip) for an auditor')
      .requiredOption('--out <dir>', 'folder to create; the zip is written beside it as <dir>.zip')
      .option(
        '--audit-checkpoint <file>',
        'include this audit checkpoint (signed note) instead of signing a fresh one of the current log',
      ),
    false,
  ).action((flags: StateFlags & { out: string; auditCheckpoint?: string }) =>
    withCompliance(flags, async (ctx) => {
      const given = flags.auditCheckpoint === undefined ? undefined : readCheckpoint(flags.auditCheckpoint);
      const result = await ctx.pack(flags.out, CLI_ACTOR, given);
      process.stdout.write(
        [
          `Evidence pack: ${result.dir}`,
          `Zip: ${result.zip}`,
          `Files: ${result.files.length} (listed in manifest.json, signed in manifest.sig)`,
          `Signing key fingerprint: ${result.fingerprint}`,
          given === undefined
            ? 'Audit checkpoint: signed now, covering the whole log'
            : 'Audit checkpoint: the one given',
          '',
        ].join('\n'),
      );
    }),
  );

  compliance
    .command('verify')
    .description('check an evidence pack offline: signature, every file hash, nothing missing or extra')
    .argument('<pack>', 'the pack folder or its zip')
    .option(
      '--trusted-key <fingerprint>',
      'sha256:... fingerprint of the key you expect (from the asset owner)',
    )
    .option('--json', 'machine-readable output')
    .action(async (pack: string, flags: { trustedKey?: string; json?: boolean }) => {
      const report = await verifyEvidencePack(
        pack,
        flags.trustedKey === undefined ? {} : { trustedFingerprint: flags.trustedKey },
      );
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        const lines = [`Pack: ${path.resolve(pack)} (${report.kind})`];
        if (report.manifest) {
          lines.push(
            `Made by ${report.manifest.generator} at ${report.manifest.createdAt}, catalogue ${report.manifest.catalogueVersion}`,
          );
        }
        if (report.fingerprint) {
          lines.push(
            `Signed by ${report.manifest?.signer.name ?? '?'}, key fingerprint ${report.fingerprint}${flags.trustedKey ? '' : ' (compare it with the one the asset owner gave you, or pass --trusted-key)'}`,
          );
        }
        lines.push(
          `Signature: ${report.signatureValid ? 'valid' : 'NOT VALID'}; files verified: ${report.verifiedFiles}`,
        );
        for (const p of report.problems) lines.push(`  ${p.code}${p.path ? ` ${p.path}` : ''}: ${p.message}`);
        lines.push(
          report.ok ? 'OK: the pack is intact and signed' : `FAILED: ${report.problems.length} problem(s)`,
          '',
        );
        process.stdout.write(lines.join('\n'));
      }
      if (!report.ok) {
        throw new PalisadeError(
          'PACK_VERIFICATION_FAILED',
          `${report.problems.length} problem(s): ${report.problems.map((p) => p.path ?? p.code).join(', ')}`,
        );
      }
    });

  addStateFlags(
    compliance
      .command('attest')
      .description('record a named statement that an organisational requirement is met (or does not apply)')
      .requiredOption('--requirement <id>', 'e.g. "SR 1.4"')
      .requiredOption('--statement <text>', "what is attested, in the attester's words")
      .requiredOption('--by <id>', 'id of the person attesting')
      .requiredOption('--by-name <name>', 'name of the person attesting')
      .requiredOption(
        '--expires <date>',
        'ISO date after which it no longer counts (at most three years ahead)',
      )
      .option('--zone <id>', 'the zone it speaks for (default: every zone)')
      .option('--not-applicable', 'the requirement does not apply; the statement is the justification')
      .option('--attach <file...>', 'supporting documents, stored with their SHA-256'),
    false,
  ).action(
    (
      flags: StateFlags & {
        requirement: string;
        statement: string;
        by: string;
        byName: string;
        expires: string;
        zone?: string;
        notApplicable?: boolean;
        attach?: string[];
      },
    ) =>
      withCompliance(flags, async (ctx) => {
        const record = await ctx.store.recordAttestation({
          requirement: flags.requirement,
          zone: flags.zone ?? null,
          verdict: flags.notApplicable ? 'not-applicable' : 'met',
          statement: flags.statement,
          attestedBy: { id: flags.by, name: flags.byName },
          expiresAt: flags.expires,
          attachments: (flags.attach ?? []).map(readAttachment),
        });
        await ctx.audit.append({
          action: 'compliance.attestation.recorded',
          outcome: 'success',
          actor: { type: 'user', id: flags.by, name: flags.byName, auth: 'local-operator' },
          target: {
            type: 'compliance-record',
            id: record.id,
            ...(record.zone !== null && { zone: record.zone }),
          },
          details: { requirement: record.requirement, verdict: record.verdict, via: 'cli' },
        });
        process.stdout.write(
          `Attestation ${record.id} recorded for ${record.requirement} (${record.verdict}), expires ${record.expiresAt}\n`,
        );
      }),
  );

  addStateFlags(
    compliance
      .command('countermeasure')
      .description('record a compensating countermeasure for a requirement the system does not meet itself')
      .requiredOption('--requirement <id>', 'e.g. "SR 1.9 RE1"')
      .requiredOption('--description <text>', 'the alternative measure and where it is documented')
      .requiredOption('--by <id>', 'id of the person recording it')
      .requiredOption('--by-name <name>', 'name of the person recording it')
      .requiredOption('--expires <date>', 'ISO date after which it no longer counts')
      .option('--zone <id>', 'the zone it applies to (default: every zone)'),
    false,
  ).action(
    (
      flags: StateFlags & {
        requirement: string;
        description: string;
        by: string;
        byName: string;
        expires: string;
        zone?: string;
      },
    ) =>
      withCompliance(flags, async (ctx) => {
        const record = await ctx.store.recordCountermeasure({
          requirement: flags.requirement,
          zone: flags.zone ?? null,
          description: flags.description,
          recordedBy: { id: flags.by, name: flags.byName },
          expiresAt: flags.expires,
        });
        await ctx.audit.append({
          action: 'compliance.countermeasure.recorded',
          outcome: 'success',
          actor: { type: 'user', id: flags.by, name: flags.byName, auth: 'local-operator' },
          target: {
            type: 'compliance-record',
            id: record.id,
            ...(record.zone !== null && { zone: record.zone }),
          },
          details: { requirement: record.requirement, via: 'cli' },
        });
        process.stdout.write(
          `Countermeasure ${record.id} recorded for ${record.requirement}, expires ${record.expiresAt}\n`,
        );
      }),
  );
}

async function withCompliance(
  flags: StateFlags,
  run: (ctx: ComplianceContext) => Promise<void>,
): Promise<void> {
  const config = resolveConfig(flags);
  const ctx = await openCompliance(config, loggerFor(config));
  try {
    await run(ctx);
  } finally {
    await ctx.close();
  }
}

function selectZones(evaluation: ComplianceEvaluation, zone: string | undefined): ZoneEvaluation[] {
  if (zone === undefined) return evaluation.zones;
  const found = evaluation.zones.filter((z) => z.zone.id === zone);
  if (found.length === 0) {
    throw new PalisadeError(
      'COMPLIANCE_UNKNOWN_ZONE',
      `no zone ${zone}; zones: ${evaluation.zones.map((z) => z.zone.id).join(', ')}`,
    );
  }
  return found;
}

function readLimited(file: string, max: number, what: string): Buffer {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new PalisadeError(
      'COMPLIANCE_FILE_UNREADABLE',
      `cannot read ${what} ${file}: ${describeError(err)}`,
    );
  }
  if (size > max)
    throw new PalisadeError('COMPLIANCE_FILE_UNREADABLE', `${what} ${file} is larger than ${max} bytes`);
  return readFileSync(file);
}

function readCheckpoint(file: string): string {
  const bytes = readLimited(file, MAX_CHECKPOINT_BYTES, 'audit checkpoint');
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes) || text.includes('\u0000')) {
    throw new PalisadeError('COMPLIANCE_FILE_UNREADABLE', `audit checkpoint ${file} is not UTF-8 text`);
  }
  return text;
}

function readAttachment(file: string): { name: string; bytes: Uint8Array } {
  return {
    name: path.basename(file),
    bytes: readLimited(file, ATTESTATION_LIMITS.attachmentBytes, 'attachment'),
  };
}

/** The text table and gap list `compliance status` prints. */
function formatStatus(evaluation: ComplianceEvaluation): string {
  const out: string[] = [];
  out.push(
    `IEC 62443-3-3 status, catalogue ${evaluation.catalogueVersion}, evaluated ${evaluation.evaluatedAt}`,
  );
  out.push(
    evaluation.overrides.length === 0
      ? 'Gating overrides: none'
      : `Gating overrides: ${evaluation.overrides.map((o) => `${o.requirement} at ${o.level ?? 'omitted'}`).join(', ')}`,
  );
  const labels = FOUNDATIONAL_REQUIREMENTS.map((f) => `FR${f.fr} ${f.code}`);
  const width = Math.max(...labels.map((l) => l.length)) + 2;
  const row = (title: string, cells: string[]) =>
    `  ${title.padEnd(6)}${cells.map((c) => c.padStart(width)).join('')}`;
  for (const z of evaluation.zones) {
    out.push('', `Zone ${z.zone.id}: ${z.zone.name}`);
    out.push(row('', labels));
    out.push(row('SL-T', z.slTarget.map(String)));
    out.push(
      row(
        'SL-A',
        z.slAchieved.map((n, i) => `${n}${z.compensated[i] ? '*' : ''}`),
      ),
    );
    if (z.compensated.some(Boolean)) out.push('  * reached only with a compensating countermeasure');
    const counts = { met: 0, 'not-met': 0, 'not-applicable': 0, 'not-assessed': 0 };
    for (const r of z.results) if (r.level !== null) counts[r.status]++;
    out.push(
      `  Requirements: ${counts.met} met, ${counts['not-met']} not met, ${counts['not-applicable']} not applicable, ${counts['not-assessed']} not assessed`,
    );
    out.push('', '  Gap list (what blocks the next level, most actionable first):');
    for (const g of z.gaps) {
      if (!g.next) {
        out.push(`  FR${g.fr} ${g.code}: SL 4 reached`);
        continue;
      }
      out.push(
        `  FR${g.fr} ${g.code}: SL-A ${g.achieved}${g.compensated ? '*' : ''} (target ${g.target}); SL ${g.next.level} needs:`,
      );
      for (const b of g.next.blockers) {
        out.push(`    - ${b.requirement} ${b.title} [${b.status}]: ${b.reason}`);
        out.push(`      -> ${b.remedy}`);
      }
      const beyond = g.toTarget.filter((t) => t.level > g.next!.level);
      if (beyond.length > 0)
        out.push(`    then for SL-T ${g.target}: ${beyond.map((b) => b.requirement).join(', ')}`);
    }
  }
  const sources = Object.values(evaluation.facts.sources).flat();
  out.push('', `Fact sources: ${sources.join(', ') || 'none'}`);
  for (const e of evaluation.facts.errors) out.push(`  ${e.source}: ${e.message}`);
  out.push('');
  return out.join('\n');
}
