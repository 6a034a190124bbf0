import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { openServices } from '../app/index.js';
import { PalisadeError } from '../errors/index.js';
import {
  AgeEncryption,
  ageDecrypt,
  looksLikeAge,
  parseAgeIdentities,
  type AgeIdentity,
} from '../keys/index.js';
import { parseInstant, verifyEvidencePackage, type EvidenceVerification } from '../playback/index.js';
import { addStateFlags, loggerFor, resolveConfig, type StateFlags } from './context.js';

interface ExportFlags extends StateFlags {
  camera: string;
  from: string;
  to: string;
  out: string;
  reason?: string;
  case?: string;
  recipient?: string[];
  json?: boolean;
}

interface VerifyFlags {
  trustedKey?: string[];
  identity?: string[];
  json?: boolean;
}

const repeatable = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/**
 * Where the package's bytes go: straight to the file, or through age encryption to the recipients
 * (so the plaintext package never touches the disk).
 */
function packageSink(
  file: FileHandle,
  encryption: AgeEncryption | undefined,
): { write(chunk: Buffer): Promise<void>; end(): Promise<void>; abort(err: unknown): Promise<void> } {
  if (!encryption)
    return {
      write: async (chunk) => {
        await file.write(chunk);
      },
      end: async () => undefined,
      abort: async () => undefined,
    };
  const plain = new PassThrough();
  const writing = (async () => {
    for await (const sealed of encryption.encrypt(plain)) await file.write(sealed);
  })();
  return {
    write: async (chunk) => {
      if (!plain.write(chunk)) await new Promise((r) => plain.once('drain', r));
    },
    end: async () => {
      plain.end();
      await writing;
    },
    abort: async (err) => {
      plain.destroy(err instanceof Error ? err : new Error(String(err)));
      await writing.catch(() => undefined);
    },
  };
}

/** Decrypts an age-encrypted package into a private temporary folder; the caller removes it. */
async function decryptPackage(
  file: string,
  identities: readonly AgeIdentity[],
): Promise<{ zip: string; dir: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'palisade-evidence-'));
  const zip = path.join(dir, 'package.zip');
  const out = await open(zip, 'wx', 0o600);
  try {
    for await (const chunk of ageDecrypt(createReadStream(file), identities)) await out.write(chunk);
  } catch (err) {
    await out.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  await out.close();
  return { zip, dir };
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
      .option(
        '--recipient <age1…>',
        'encrypt the package to this age recipient (X25519 public key, as age-keygen prints it); repeatable',
        repeatable,
      )
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
    // Checked before anything is opened: a mistyped recipient costs nothing.
    const encryption = flags.recipient ? AgeEncryption.to(flags.recipient) : undefined;
    const s = await openServices(config, loggerFor(config), { periodicCheckpoints: false });
    const out = path.resolve(flags.out);
    const partial = `${out}.${process.pid}.partial`;
    try {
      const camera = await s.recorder.cameras.get(flags.camera, { includeDeleted: true });
      if (!camera) throw new PalisadeError('CAMERA_NOT_FOUND', `no camera ${flags.camera}`);
      const user = os.userInfo().username;
      const actor = { type: 'system' as const, id: 'palisade.cli', name: user, auth: 'local-operator' };
      const file = await open(partial, 'wx', 0o600);
      const sink = packageSink(file, encryption);
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
          (chunk) => sink.write(chunk),
        );
        await sink.end();
        await file.sync();
      } catch (err) {
        await sink.abort(err);
        throw err;
      } finally {
        await file.close();
      }
      await rename(partial, out);
      const summary = {
        file: out,
        bytes: encryption ? encryption.encryptedSize(result.bytes) : result.bytes,
        encryptedTo: flags.recipient ?? null,
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
          `Wrote ${out} (${summary.bytes} bytes${summary.encryptedTo ? `, encrypted to ${summary.encryptedTo.join(', ')}` : ''})`,
          `Camera ${summary.camera}, ${summary.from} to ${summary.to}: ${summary.segments} segments, ${summary.frames} frames`,
          `Video SHA-256 ${summary.videoSha256}`,
          `Signed with evidence key ${summary.evidenceKey}`,
          `Verify with: palisade evidence verify ${flags.out} --trusted-key ${summary.evidenceKey}${
            summary.encryptedTo ? ' --identity <the recipient’s key file>' : ''
          }`,
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
    .argument('<file>', 'the package (ZIP, or ZIP encrypted with age)')
    .option(
      '--trusted-key <key>',
      'trust only this key: sha256:<hex> of the evidence key, or a log verifier key name+id+base64; repeatable',
      repeatable,
    )
    .option(
      '--identity <file>',
      'an age identity file (as age-keygen writes it) to decrypt an encrypted package; repeatable',
      repeatable,
    )
    .option('--json', 'print the report as JSON')
    .action(async (file: string, flags: VerifyFlags) => {
      const head = Buffer.alloc(32);
      const fh = await open(file, 'r');
      await fh.read(head, 0, head.length, 0).finally(() => fh.close());
      let decrypted: { zip: string; dir: string } | undefined;
      if (looksLikeAge(head)) {
        if (!flags.identity?.length)
          throw new PalisadeError(
            'EVIDENCE_ENCRYPTED',
            `${file} is encrypted to a recipient (age): pass --identity with the recipient’s key file`,
          );
        const identities = (await Promise.all(flags.identity.map((f) => readFile(f, 'utf8')))).flatMap(
          parseAgeIdentities,
        );
        decrypted = await decryptPackage(file, identities);
      }
      const report = await verifyEvidencePackage(decrypted?.zip ?? file, {
        trustedKeys: flags.trustedKey ?? [],
      }).finally(() => (decrypted ? rm(decrypted.dir, { recursive: true, force: true }) : undefined));
      if (flags.json) print(JSON.stringify({ ...report, decrypted: decrypted !== undefined }, null, 2));
      else {
        if (decrypted)
          print(`Decrypted ${file} (age v1) with the identity given; verifying the package inside`);
        printReport(report, file, (flags.trustedKey ?? []).length > 0);
      }
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
