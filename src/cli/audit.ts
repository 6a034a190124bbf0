import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import {
  verifyExport,
  type AuditActor,
  type Checkpoint,
  type Progress,
  type VerifyReport,
} from '../audit/index.js';
import { PalisadeError, describeError } from '../errors/index.js';
import { withCustody } from './custody.js';
import { addStateFlags, type StateFlags } from './context.js';

/** Whoever runs the command, as the actor of the events it records. */
function localActor(): AuditActor {
  const user = os.userInfo().username;
  return { type: 'user', id: `os:${user}`, name: user, auth: 'local-os-account' };
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function checkpointJson(c: Checkpoint, verifierKey: string) {
  return { origin: c.origin, size: c.size, rootHash: c.rootHash.toString('hex'), note: c.note, verifierKey };
}

function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
      throw new InvalidArgumentError(`${name} must be a whole number`);
    return n;
  };
}

/** Progress on stderr: rewritten in place on a terminal, a line a second otherwise (with --progress). */
function progressReporter(label: string, forced: boolean): Progress | undefined {
  const tty = process.stderr.isTTY;
  if (!tty && !forced) return undefined;
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    const finished = done >= total;
    if (!finished && now - last < (tty ? 200 : 1000)) return;
    last = now;
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    const line = `${label}: ${done}/${total} entries (${pct}%)`;
    process.stderr.write(tty ? `\r${line}${finished ? '\n' : ''}` : `${line}\n`);
  };
}

function readNote(file: string): string {
  try {
    if (statSync(file).size > 64 * 1024) throw new Error('larger than 64 KiB, not a checkpoint');
    return new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(file));
  } catch (err) {
    throw new PalisadeError(
      'AUDIT_EXPORT_UNREADABLE',
      `cannot read checkpoint ${file}: ${describeError(err)}`,
    );
  }
}

interface VerifyFlags extends StateFlags {
  against?: string;
  key?: string[];
  json?: boolean;
  progress?: boolean;
}

function reportVerification(report: VerifyReport, flags: VerifyFlags, what: string): void {
  if (flags.json) print(JSON.stringify(report, null, 2));
  if (!report.ok) {
    const f = report.failure!;
    const where = f.index === null ? '' : `first bad index ${f.index}: `;
    throw new PalisadeError('AUDIT_VERIFY_FAILED', `${what}: ${where}${f.reason}`);
  }
  if (flags.json) return;
  const lines = [
    `OK: ${report.entries} entries verified against ${report.checkpoints} signed checkpoints (${what})`,
    `Log: ${report.log}, origin ${report.origin}`,
    `Tree size ${report.treeSize}, root ${report.rootHash}`,
    `Checkpoints signed by: ${report.keys.join(', ')}`,
  ];
  if (report.keysFrom === 'export') {
    lines.push(
      '  (the key named in the export itself: compare it with the one you trust, or pin it with --key)',
    );
  }
  if (report.against) {
    lines.push(
      `Extends the given checkpoint of size ${report.against.size} (root ${report.against.rootHash})`,
    );
  }
  print(lines.join('\n'));
}

export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description('the tamper-evident audit log: export, verify, checkpoints and proofs');

  addStateFlags(
    audit
      .command('export')
      .description(
        'write the audit log and its signed checkpoints to a new folder an auditor can verify offline',
      )
      .requiredOption('-o, --out <dir>', 'folder to create (must not exist)')
      .option('--json', 'print the result as JSON')
      .option('--progress', 'report progress on stderr even when it is not a terminal'),
    false,
  ).action(async (flags: StateFlags & { out: string; json?: boolean; progress?: boolean }) => {
    await withCustody(flags, async ({ audit: log }) => {
      await log.append({
        action: 'audit.exported',
        outcome: 'success',
        actor: localActor(),
        target: { type: 'audit-log', id: log.origin },
        details: { out: path.resolve(flags.out) },
      });
      const summary = await log.exportTo(flags.out, progressReporter('exporting', flags.progress === true));
      if (flags.json) {
        print(
          JSON.stringify(
            {
              dir: summary.dir,
              entries: summary.entries,
              checkpoints: summary.checkpoints,
              checkpoint: checkpointJson(summary.checkpoint, log.verifierKey),
            },
            null,
            2,
          ),
        );
        return;
      }
      print(
        [
          `Exported ${summary.entries} entries and ${summary.checkpoints} checkpoints to ${summary.dir}`,
          `Checkpoint: size ${summary.checkpoint.size}, root ${summary.checkpoint.rootHash.toString('base64')}`,
          `Verifier key: ${log.verifierKey}`,
        ].join('\n'),
      );
    });
  });

  addStateFlags(
    audit
      .command('verify')
      .description(
        'verify an export folder offline (or, without a folder, the log in the data dir): every entry, every checkpoint',
      )
      .argument('[export-dir]', 'folder written by `palisade audit export`')
      .option(
        '--against <checkpoint-file>',
        'also prove that the log extends this earlier checkpoint (a signed note)',
      )
      .option(
        '--key <verifier-key>',
        'trust only this checkpoint key (name+id+base64), not the one the export names; repeatable',
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      )
      .option('--json', 'print the report as JSON')
      .option('--progress', 'report progress on stderr even when it is not a terminal'),
    false,
  ).action(async (dir: string | undefined, flags: VerifyFlags) => {
    const onProgress = progressReporter('verifying', flags.progress === true);
    const against = flags.against === undefined ? undefined : readNote(flags.against);
    if (dir !== undefined) {
      const report = await verifyExport(dir, {
        ...(against === undefined ? {} : { against }),
        ...(flags.key ? { keys: flags.key } : {}),
        ...(onProgress ? { onProgress } : {}),
      });
      reportVerification(report, flags, path.resolve(dir));
      return;
    }
    if (against !== undefined || flags.key) {
      throw new PalisadeError('USAGE', '--against and --key apply to an export folder; name one');
    }
    await withCustody(flags, async ({ audit: log }) => {
      reportVerification(await log.verify(onProgress), flags, 'the log in the database');
    });
  });

  addStateFlags(
    audit
      .command('checkpoint')
      .description(
        'sign a checkpoint of the audit log now and print it (save it to verify later exports against)',
      )
      .option('--json', 'print origin, size, root, note and verifier key as JSON'),
    false,
  ).action(async (flags: StateFlags & { json?: boolean }) => {
    await withCustody(flags, async ({ audit: log }) => {
      await log.append({
        action: 'audit.checkpoint.signed',
        outcome: 'success',
        actor: localActor(),
        target: { type: 'audit-log', id: log.origin },
        details: { onDemand: true },
      });
      const checkpoint = await log.signCheckpoint();
      print(
        flags.json ? JSON.stringify(checkpointJson(checkpoint, log.verifierKey), null, 2) : checkpoint.note,
      );
    });
  });

  addStateFlags(
    audit
      .command('proof')
      .description('print an inclusion proof (--index N [--size M]) or a consistency proof (--from A --to B)')
      .option('--index <n>', 'entry to prove', nonNegativeInt('--index'))
      .option(
        '--size <m>',
        'tree size to prove it in (default: the latest checkpoint covering it)',
        nonNegativeInt('--size'),
      )
      .option('--from <a>', 'older tree size', nonNegativeInt('--from'))
      .option('--to <b>', 'newer tree size', nonNegativeInt('--to'))
      .option('--json', 'print the proof as JSON'),
    false,
  ).action(
    async (
      flags: StateFlags & { index?: number; size?: number; from?: number; to?: number; json?: boolean },
    ) => {
      const inclusion = flags.index !== undefined;
      const consistency = flags.from !== undefined || flags.to !== undefined;
      if (
        inclusion === consistency ||
        (consistency && (flags.from === undefined || flags.to === undefined))
      ) {
        throw new PalisadeError('USAGE', 'give either --index N [--size M] or both --from A and --to B');
      }
      await withCustody(flags, async ({ audit: log }) => {
        const hex = (b: Buffer) => b.toString('hex');
        const served = (details: Record<string, number | string>) =>
          log.append({
            action: 'audit.proof.served',
            outcome: 'success',
            actor: localActor(),
            target: { type: 'audit-log', id: log.origin },
            details,
          });
        if (inclusion) {
          const p = await log.inclusionProof(flags.index!, flags.size);
          await served({ kind: 'inclusion', index: p.index, treeSize: p.treeSize });
          const body = {
            index: p.index,
            treeSize: p.treeSize,
            leafHash: hex(p.leafHash),
            rootHash: hex(p.rootHash),
            proof: p.proof.map(hex),
            ...(p.checkpoint ? { checkpoint: checkpointJson(p.checkpoint, log.verifierKey) } : {}),
          };
          if (flags.json) return print(JSON.stringify(body, null, 2));
          return print(
            [
              `Inclusion proof of entry ${p.index} in the tree of size ${p.treeSize} (RFC 9162)`,
              `leaf hash: ${body.leafHash}`,
              `root hash: ${body.rootHash}`,
              `proof (${p.proof.length} nodes, leaf level first):`,
              ...body.proof.map((h) => `  ${h}`),
              p.checkpoint
                ? `signed checkpoint of this size:\n${p.checkpoint.note}`
                : 'no checkpoint was signed at this size',
            ].join('\n'),
          );
        }
        const p = await log.consistencyProof(flags.from!, flags.to!);
        await served({ kind: 'consistency', size1: p.size1, size2: p.size2 });
        const body = {
          size1: p.size1,
          size2: p.size2,
          root1: hex(p.root1),
          root2: hex(p.root2),
          proof: p.proof.map(hex),
        };
        if (flags.json) return print(JSON.stringify(body, null, 2));
        return print(
          [
            `Consistency proof from tree size ${p.size1} to ${p.size2} (RFC 9162)`,
            `root at ${p.size1}: ${body.root1}`,
            `root at ${p.size2}: ${body.root2}`,
            `proof (${p.proof.length} nodes):`,
            ...body.proof.map((h) => `  ${h}`),
          ].join('\n'),
        );
      });
    },
  );
}
