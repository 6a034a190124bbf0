import type { Command } from 'commander';
import { openServices } from '../app/index.js';
import { PalisadeError } from '../errors/index.js';
import { checkRecordings, liveRecorderPid } from '../recording/index.js';
import { addStateFlags, loggerFor, resolveConfig, type StateFlags } from './context.js';

const CLI_ACTOR = { type: 'system' as const, id: 'palisade.cli', auth: 'local-operator' };

interface JsonFlag extends StateFlags {
  json?: boolean;
}

/**
 * `palisade cameras list|add|remove` (the inventory, for scripts and first setup) and `palisade check`
 * (index, blobs and integrity log agree; `--repair` fixes what is safe to fix). Both work on the data
 * dir directly and are audited like the API.
 */
export function registerCameras(program: Command): void {
  const cameras = program
    .command('cameras')
    .description('the camera inventory (needs access to the data dir)');

  addStateFlags(
    cameras.command('list').description('list cameras').option('--json', 'machine-readable output'),
    false,
  ).action(async (flags: JsonFlag) => {
    const config = resolveConfig(flags);
    const s = await openServices(config, loggerFor(config), { periodicCheckpoints: false });
    try {
      const list = await s.recorder.cameras.list();
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      if (list.length === 0) process.stdout.write('no cameras\n');
      for (const c of list) {
        process.stdout.write(`${c.id}\t${c.zoneId}\t${c.recordingMode}\t${c.streamUrl}\t${c.name}\n`);
      }
    } finally {
      await s.close();
    }
  });

  addStateFlags(
    cameras
      .command('add')
      .description(
        'add a camera (the password comes from stdin or a named environment variable, never a flag)',
      )
      .requiredOption('--url <url>', 'rtsp:// or rtsps:// stream URL (no credentials in it)')
      .option('--id <id>', 'camera id (default: generated)')
      .option('--name <name>', 'display name (default: the id)')
      .option('--zone <zone>', 'zone id', 'default')
      .option('--username <user>', 'RTSP user name')
      .option('--password-stdin', 'read the RTSP password from standard input')
      .option(
        '--password-env <NAME>',
        'read the RTSP password from this environment variable (not PALISADE_*)',
      )
      .option('--transport <t>', 'tcp or udp', 'tcp')
      .option('--fingerprint <sha256>', 'pin the camera certificate (rtsps://)')
      .option('--no-record', 'add without recording')
      .option('--json', 'machine-readable output'),
    false,
  ).action(
    async (
      flags: JsonFlag & {
        url: string;
        id?: string;
        name?: string;
        zone: string;
        username?: string;
        passwordStdin?: boolean;
        passwordEnv?: string;
        transport: string;
        fingerprint?: string;
        record: boolean;
      },
    ) => {
      if (flags.transport !== 'tcp' && flags.transport !== 'udp')
        throw new PalisadeError('USAGE', '--transport is tcp or udp');
      let password: string | undefined;
      if (flags.passwordEnv !== undefined) {
        if (flags.passwordEnv.startsWith('PALISADE_')) {
          throw new PalisadeError(
            'USAGE',
            '--password-env must not name a PALISADE_* variable (those are settings)',
          );
        }
        password = process.env[flags.passwordEnv];
        if (password === undefined)
          throw new PalisadeError('USAGE', `environment variable ${flags.passwordEnv} is not set`);
      }
      if (flags.passwordStdin) password = (await readStdin()).replace(/\r?\n$/, '');
      const config = resolveConfig(flags);
      const s = await openServices(config, loggerFor(config), { periodicCheckpoints: false });
      try {
        const c = await s.recorder.createCamera(
          {
            ...(flags.id ? { id: flags.id } : {}),
            name: flags.name ?? flags.id ?? flags.url,
            zoneId: flags.zone,
            streamUrl: flags.url,
            transport: flags.transport,
            username: flags.username ?? null,
            password: password ?? null,
            tlsFingerprint: flags.fingerprint ?? null,
            recordingMode: flags.record ? 'continuous' : 'off',
          },
          CLI_ACTOR,
        );
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(c, null, 2)}\n`
            : `added camera ${c.id} (${c.recordingMode}); a running server picks it up at its next start\n`,
        );
      } finally {
        await s.close();
      }
    },
  );

  addStateFlags(
    cameras
      .command('remove')
      .argument('<id>', 'camera id')
      .description('remove a camera (its recorded video stays, under retention)'),
    false,
  ).action(async (id: string, flags: StateFlags) => {
    const config = resolveConfig(flags);
    const s = await openServices(config, loggerFor(config), { periodicCheckpoints: false });
    try {
      await s.recorder.removeCamera(id, CLI_ACTOR);
      process.stdout.write(`removed camera ${id}\n`);
    } finally {
      await s.close();
    }
  });

  addStateFlags(
    program
      .command('check')
      .description('check that the segment index, the stored video and the video integrity log agree')
      .option('--repair', 'repair what is safe to repair (run with the server stopped)')
      .option('--json', 'machine-readable output'),
    false,
  ).action(async (flags: JsonFlag & { repair?: boolean }) => {
    const config = resolveConfig(flags);
    const s = await openServices(config, loggerFor(config), { periodicCheckpoints: false });
    try {
      if (flags.repair) {
        const pid = await liveRecorderPid(s.recorder.store.location);
        if (pid !== undefined) {
          throw new PalisadeError(
            'RECORDER_RUNNING',
            `a recorder (pid ${pid}) is using this storage; stop the server before --repair`,
          );
        }
      }
      const report = await checkRecordings(
        {
          keyring: s.keyring,
          store: s.recorder.store,
          index: s.recorder.index,
          integrity: s.recorder.integrity,
        },
        { repair: flags.repair === true },
      );
      if (flags.repair && report.problems.some((p) => p.repaired)) {
        await s.audit.append({
          action: 'recording.check.repaired',
          outcome: report.clean ? 'success' : 'failure',
          actor: CLI_ACTOR,
          target: { type: 'recorder', id: 'recording' },
          details: {
            repaired: report.problems.filter((p) => p.repaired).length,
            remaining: report.problems.filter((p) => !p.repaired).length,
          },
        });
      }
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        process.stdout.write(
          `checked ${report.segments} segments, ${report.blobs} blobs, ${report.integrityEntries} integrity log entries\n`,
        );
        for (const p of report.problems)
          process.stdout.write(`${p.repaired ? 'repaired' : 'PROBLEM'}: ${p.kind}: ${p.message}\n`);
        process.stdout.write(report.clean ? 'clean\n' : 'NOT CLEAN\n');
      }
      if (!report.clean)
        throw new PalisadeError(
          'CHECK_FAILED',
          `${report.problems.filter((p) => !p.repaired).length} problems found`,
        );
    } finally {
      await s.close();
    }
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) {
    chunks.push(c as Buffer);
    if (chunks.reduce((n, b) => n + b.length, 0) > 4096)
      throw new PalisadeError('USAGE', 'password too long');
  }
  return Buffer.concat(chunks).toString('utf8');
}
