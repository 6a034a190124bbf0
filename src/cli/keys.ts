import type { Command } from 'commander';
import type { KeysStatus, RewrapProgress } from '../keys/index.js';
import { withCustody } from './custody.js';
import { addStateFlags, type StateFlags } from './context.js';

/** `palisade keys list|status|rotate`; key events go to the audit log, as from the server. */
export interface KeysCommandWiring {
  /** Where reports go (stdout) and where progress goes (stderr); replaceable in tests. */
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** True when `err` is a terminal, so progress redraws one line. */
  interactive?: boolean;
}

interface KeysFlags extends StateFlags {
  json?: boolean;
}

export function registerKeys(program: Command, wiring: KeysCommandWiring = {}): void {
  const out = wiring.out ?? ((t: string) => void process.stdout.write(t));
  const err = wiring.err ?? ((t: string) => void process.stderr.write(t));
  const keys = program.command('keys').description('key-encryption keys, data keys and rotation');

  addStateFlags(
    keys.command('list').description('every KEK version: zone, state, provider, age, data keys'),
    false,
  )
    .option('--json', 'machine-readable output')
    .action((flags: KeysFlags) =>
      withCustody(flags, async ({ keyring }) => {
        const status = await keyring.status();
        if (flags.json) return out(`${JSON.stringify(status.keks, null, 2)}\n`);
        out(table(status));
      }),
    );

  addStateFlags(
    keys.command('status').description('provider, KEK ages, data keys, re-wrap jobs, secrets, signing keys'),
    false,
  )
    .option('--json', 'machine-readable output')
    .action((flags: KeysFlags) =>
      withCustody(flags, async ({ keyring }, config) => {
        const status = await keyring.status();
        if (flags.json) return out(`${JSON.stringify(status, null, 2)}\n`);
        out(summary(status, config.keys.kekMaxAgeDays));
      }),
    );

  addStateFlags(
    keys
      .command('rotate')
      .description('create a new KEK version for a zone and re-wrap its data keys onto it (video untouched)')
      .argument('[zone]', 'the zone (KEK id) to rotate')
      .option('--resume', 'do not rotate: finish the re-wrap jobs left running (after a crash or Ctrl-C)')
      .option('--no-rewrap', 'only create the new version; run the re-wrap later with --resume'),
    false,
  )
    .option('--json', 'machine-readable output')
    .action(
      (
        zone: string | undefined,
        flags: KeysFlags & { resume?: boolean; rewrap: boolean },
        command: Command,
      ) => {
        if (zone === undefined && !flags.resume)
          command.error('error: name the zone to rotate, or use --resume');
        return withCustody(flags, async ({ keyring }, config) => {
          const zones: string[] = [];
          const report: Record<string, unknown> = {};
          if (flags.resume) {
            const running = await keyring.rewrapJobs({ state: 'running' });
            zones.push(...running.map((j) => j.kekId).filter((z) => zone === undefined || z === zone));
          } else {
            if (zone === undefined) return;
            const { previous, current, job } = await keyring.rotateKek(zone, { actor: cliActor() });
            report.rotated = {
              zone,
              fromVersion: previous.version,
              toVersion: current.version,
              dataKeys: job.total,
            };
            if (!flags.json)
              out(
                `${zone}: v${previous.version} -> v${current.version} (${current.provider}), ${job.total} data keys to re-wrap\n`,
              );
            if (flags.rewrap) zones.push(zone);
          }
          const results = [];
          const stop = new AbortController();
          const onSignal = () => stop.abort();
          process.once('SIGINT', onSignal);
          try {
            for (const z of zones) {
              const progress = progressPrinter(err, wiring.interactive ?? process.stderr.isTTY);
              const r = await keyring.rewrap(z, {
                batchSize: config.keys.rewrapBatchSize,
                actor: cliActor(),
                signal: stop.signal,
                onProgress: (p) => progress.update(p),
              });
              progress.done();
              results.push({
                zone: z,
                outcome: r.outcome,
                done: r.job?.done ?? 0,
                failed: r.job?.failed ?? 0,
                total: r.job?.total ?? 0,
              });
              if (!flags.json) {
                out(
                  r.outcome === 'paused'
                    ? `${z}: re-wrap paused at ${r.job?.done ?? 0} / ${r.job?.total ?? 0}; run "palisade keys rotate --resume" to finish\n`
                    : `${z}: re-wrap ${r.outcome}, ${r.job?.done ?? 0} re-wrapped, ${r.job?.failed ?? 0} could not be opened\n`,
                );
              }
              if (r.outcome === 'paused') break;
            }
          } finally {
            process.removeListener('SIGINT', onSignal);
          }
          report.rewrap = results;
          if (flags.json) out(`${JSON.stringify(report, null, 2)}\n`);
          else if (flags.resume && zones.length === 0) out('no re-wrap job is running\n');
        });
      },
    );
}

function cliActor(): { type: 'user'; id: string; auth: string } {
  return {
    type: 'user',
    id: process.env.SUDO_USER ?? process.env.USER ?? `uid:${process.getuid?.() ?? '?'}`,
    auth: 'local-cli',
  };
}

/** Progress on stderr: one redrawn line on a terminal, otherwise a line at most every two seconds. */
function progressPrinter(err: (t: string) => void, interactive: boolean) {
  let last = 0;
  let shown = false;
  return {
    update(p: RewrapProgress) {
      const now = Date.now();
      const final = p.done + p.failed >= p.total;
      if (!final && now - last < (interactive ? 200 : 2000)) return;
      last = now;
      const pct = p.total === 0 ? 100 : Math.floor(((p.done + p.failed) / p.total) * 100);
      const text = `re-wrapping ${p.kekId} -> v${p.targetVersion}: ${p.done.toLocaleString('en-US')} / ${p.total.toLocaleString('en-US')} (${pct}%)${p.failed ? `, ${p.failed} failed` : ''}`;
      err(interactive ? `\r${text}` : `${text}\n`);
      shown = true;
    },
    done() {
      if (interactive && shown) err('\n');
    },
  };
}

function table(status: KeysStatus): string {
  const head = ['ZONE', 'VERSION', 'STATE', 'PROVIDER', 'AGE', 'DATA KEYS', 'CREATED'];
  const rows = status.keks.map((k) => [
    k.kekId,
    `v${k.version}`,
    k.state,
    k.provider,
    `${k.ageDays}d`,
    String(k.liveDataKeys),
    k.createdAt,
  ]);
  if (rows.length === 0) return 'no key-encryption keys yet (a zone gets one when it first seals data)\n';
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return (
    [head, ...rows]
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function summary(s: KeysStatus, maxAgeDays: number): string {
  const active = s.keks.filter((k) => k.state === 'active');
  const oldest = Math.max(0, ...active.map((k) => k.ageDays));
  const due = active.filter((k) => k.ageDays > maxAgeDays).map((k) => k.kekId);
  const lines = [
    `Provider: ${s.provider.description}`,
    `Hardware-backed: ${s.provider.hardwareBacked ? 'yes' : 'no'}`,
    `KEKs: ${new Set(s.keks.map((k) => k.kekId)).size} zones, ${s.keks.length} versions (${active.length} active, ${s.keks.filter((k) => k.state === 'retired').length} retired, ${s.keks.filter((k) => k.state === 'destroyed').length} destroyed)`,
    `Oldest active KEK: ${oldest} days (rotation due after ${maxAgeDays})${due.length ? `; due now: ${due.join(', ')}` : ''}`,
    `Data keys: ${s.dataKeys.live} live, ${s.dataKeys.destroyed} destroyed, ${s.dataKeys.rewrapErrors} re-wrap errors`,
    ...s.rewrapJobs
      .filter((j) => j.state === 'running')
      .map(
        (j) =>
          `Re-wrap running: ${j.kekId} -> v${j.targetVersion}, ${j.done} / ${j.total}${j.failed ? `, ${j.failed} failed` : ''}`,
      ),
    `Secrets: ${s.secrets}`,
    ...s.signingKeys.map((k) => `Signing key: ${k.name} (${k.algorithm}, ${k.provider}) ${k.publicKey}`),
  ];
  return `${lines.join('\n')}\n`;
}
