import { randomUUID } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { openServices } from '../app/index.js';
import { PalisadeError } from '../errors/index.js';
import { parseInstant, verifyEvidencePackage, type EvidenceVerification } from '../playback/index.js';
import { addStateFlags, loggerFor, resolveConfig, type StateFlags } from './context.js';

interface ExportFlags extends StateFlags {
  camera: string;
  from: string;
  to: string;
  out: string;
  reason?: string;
  case?: string;
  json?: boolean;
}

interface VerifyFlags {
  trustedKey?: string[];
  json?: boolean;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/**
 * `palisade evidence export` (a package straight from the data dir, audited like the API) and
 * `palisade evidence verify` (offline: nothing but the file, optionally the keys to trust).
 */
export function registerEvidence(program: Command): void {
  const evidence = program.command('evidence').description('court-grade evidence packages of recorded video');

  addStateFlags(
    evidence
      .command('export')
      .description('export a camera and time range as a signed evidence package (needs the data dir)')
      .requiredOption('--camera <id>', 'camera id')
      .requiredOption('--from <time>', 'start: ISO 8601 or ms since the epoch')
      .requiredOption('--to <time>', 'end: ISO 8601 or ms since the epoch')
      .requiredOption('--out <file>', 'the package to write (a ZIP)')
      .option('--reason <text>', 'why the video is exported (recorded in the manifest and the audit log)')
      .option('--case <id>', 'case or incident id')
      .option('--json', 'print the result as JSON'),
    false,
  ).action(async (flags: ExportFlags) => {
    const config = resolveConfig(flags);
    if (config.access.dualApproval.actions.includes('evidence.export')) {
      throw new PalisadeError(
        'EVIDENCE_APPROVAL_REQUIRED',
        'evidence exports wait for a second person here (access.dualApproval): request one through the API',
      );
    }
    const s = await openServices(config, loggerFor(config), { periodicCheckpoints: false });
    const out = path.resolve(flags.out);
    const partial = `${out}.${process.pid}.partial`;
    try {
      const camera = await s.recorder.cameras.get(flags.camera, { includeDeleted: true });
      if (!camera) throw new PalisadeError('CAMERA_NOT_FOUND', `no camera ${flags.camera}`);
      const user = os.userInfo().username;
      const actor = { type: 'system' as const, id: 'palisade.cli', name: user, auth: 'local-operator' };
      const file = await open(partial, 'wx', 0o600);
      let result;
      try {
        result = await s.evidence.build(
          {
            camera,
            fromMs: parseInstant(flags.from, '--from'),
            toMs: parseInstant(flags.to, '--to'),
            reason: flags.reason ?? `exported with palisade evidence export by ${user}`,
            caseId: flags.case ?? null,
            actor,
          },
          { exportId: randomUUID(), approvalId: null, exporter: { id: actor.id, name: user } },
          async (chunk) => {
            await file.write(chunk);
          },
        );
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(partial, out);
      const summary = {
        file: out,
        bytes: result.bytes,
        exportId: result.manifest.exportId,
        camera: camera.id,
        from: result.manifest.range.from,
        to: result.manifest.range.to,
        segments: result.manifest.segments.length,
        frames: result.manifest.video.frames,
        videoSha256: result.manifest.video.sha256,
        manifestSha256: result.signature.manifestSha256,
        evidenceKey: result.signature.key.fingerprint,
      };
      if (flags.json) return print(JSON.stringify(summary, null, 2));
      print(
        [
          `Wrote ${out} (${summary.bytes} bytes)`,
          `Camera ${summary.camera}, ${summary.from} to ${summary.to}: ${summary.segments} segments, ${summary.frames} frames`,
          `Video SHA-256 ${summary.videoSha256}`,
          `Signed with evidence key ${summary.evidenceKey}`,
          `Verify with: palisade evidence verify ${flags.out} --trusted-key ${summary.evidenceKey}`,
        ].join('\n'),
      );
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    } finally {
      await s.close();
    }
  });

  evidence
    .command('verify')
    .description('verify an evidence package offline: signature, hashes, proofs, checkpoints, the video')
    .argument('<file>', 'the package (ZIP)')
    .option(
      '--trusted-key <key>',
      'trust only this key: sha256:<hex> of the evidence key, or a log verifier key name+id+base64; repeatable',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--json', 'print the report as JSON')
    .action(async (file: string, flags: VerifyFlags) => {
      const report = await verifyEvidencePackage(file, { trustedKeys: flags.trustedKey ?? [] });
      if (flags.json) print(JSON.stringify(report, null, 2));
      else printReport(report, file, (flags.trustedKey ?? []).length > 0);
      if (!report.ok) {
        const first = report.problems[0]!;
        throw new PalisadeError(
          'EVIDENCE_INVALID',
          `${file} does not verify: ${report.problems.length} problem(s), first ${first.code}: ${first.message}`,
        );
      }
    });
}

function printReport(report: EvidenceVerification, file: string, pinned: boolean): void {
  const s = report.summary;
  const lines: string[] = [];
  lines.push(report.ok ? `OK: ${file} verifies` : `FAILED: ${file}`);
  if (s) {
    lines.push(
      `Export ${s.exportId}: camera ${s.camera}, ${s.from} to ${s.to}`,
      `${s.segments} segments, ${s.frames} frames, video SHA-256 ${s.videoSha256}`,
      `Exported by ${s.exporter}${s.caseId ? `, case ${s.caseId}` : ''}: ${s.reason}`,
      `Approvals: ${s.approvals}; signed at ${s.signedAt}`,
      `Evidence key: ${s.evidenceKey}`,
      `Video integrity log key: ${s.integrityLogKey}`,
      `Audit log key: ${s.auditLogKey}`,
    );
    if (!pinned)
      lines.push(
        '  (keys named by the package itself: compare them with the operator’s, or pin them with --trusted-key)',
      );
  }
  for (const p of report.problems) {
    const where = [p.file, p.segment !== undefined ? `segment ${p.segment}` : undefined]
      .filter(Boolean)
      .join(', ');
    lines.push(`  ${p.code}${where ? ` (${where})` : ''}: ${p.message}`);
  }
  print(lines.join('\n'));
}
