import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { FactSource, JsonValue } from '../facts.js';

/**
 * Whether the host clock is synchronised, asked of the host's time service (timedatectl, the
 * systemd-timesyncd flag file, chrony). When none answers, the status is "unknown" with what was tried:
 * an unobservable clock never counts as synchronised. Read-only: every command used only reports.
 */

export interface CommandResult {
  code: number | null;
  stdout: string;
  /** Set when the command could not be run at all (not installed, timed out). */
  error?: string;
}

export type CommandRunner = (command: string, args: string[]) => Promise<CommandResult>;

export interface TimeSync {
  status: 'synchronized' | 'unsynchronized' | 'unknown';
  method: 'timedatectl' | 'timesyncd-flag' | 'chrony' | 'none';
  detail: string;
  /** true/false when chrony reports its sources' authentication (NTS); null when nothing can tell. */
  authenticated: boolean | null;
}

const TIMESYNCD_FLAG = '/run/systemd/timesync/synchronized';
const OUTPUT_LIMIT = 64 * 1024;

export const runCommand: CommandRunner = (command, args) =>
  new Promise((resolve) => {
    execFile(
      command,
      args,
      { timeout: 3000, maxBuffer: OUTPUT_LIMIT, env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
          resolve({ code: null, stdout: '', error: `${command}: ${(err as NodeJS.ErrnoException).code}` });
          return;
        }
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout });
      },
    );
  });

/** `timedatectl show` prints KEY=value lines; NTPSynchronized says whether the kernel clock is synced. */
export function parseTimedatectl(stdout: string): { synchronized: boolean; ntp: string } | null {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const synced = values.get('NTPSynchronized');
  if (synced !== 'yes' && synced !== 'no') return null;
  return { synchronized: synced === 'yes', ntp: values.get('NTP') ?? 'unknown' };
}

/** `chronyc -n tracking`: "Leap status : Normal" when synchronised, "Not synchronised" otherwise. */
export function parseChronyTracking(stdout: string): { synchronized: boolean; reference: string } | null {
  const leap = /^Leap status\s*:\s*(.+)$/m.exec(stdout)?.[1]?.trim();
  if (leap === undefined) return null;
  const reference = /^Reference ID\s*:\s*(.+)$/m.exec(stdout)?.[1]?.trim() ?? 'unknown';
  return { synchronized: leap !== 'Not synchronised', reference };
}

/**
 * `chronyc -n authdata` lists each source with its authentication mode (`NTS`, `SK` for a symmetric key,
 * `-` for none). True when every source is authenticated; null when no source is listed.
 */
export function parseChronyAuthdata(stdout: string): boolean | null {
  const rows = stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols.length >= 3 && !/^=+$/.test(cols[0] ?? '') && cols[0] !== 'Name/IP');
  if (rows.length === 0) return null;
  return rows.every((cols) => cols[1] === 'NTS' || cols[1] === 'SK');
}

export async function observeTimeSync(
  run: CommandRunner = runCommand,
  fileExists: (path: string) => boolean = existsSync,
): Promise<TimeSync> {
  const tried: string[] = [];
  let authenticated: boolean | null = null;
  const authdata = await run('chronyc', ['-n', 'authdata']);
  if (authdata.code === 0) authenticated = parseChronyAuthdata(authdata.stdout);

  const td = await run('timedatectl', ['show', '-p', 'NTPSynchronized', '-p', 'NTP']);
  const parsed = td.code === 0 ? parseTimedatectl(td.stdout) : null;
  if (parsed) {
    return {
      status: parsed.synchronized ? 'synchronized' : 'unsynchronized',
      method: 'timedatectl',
      detail: `timedatectl: NTPSynchronized=${parsed.synchronized ? 'yes' : 'no'}, NTP=${parsed.ntp}`,
      authenticated,
    };
  }
  tried.push(td.error ?? `timedatectl exited with ${String(td.code)}`);

  if (fileExists(TIMESYNCD_FLAG)) {
    return {
      status: 'synchronized',
      method: 'timesyncd-flag',
      detail: `systemd-timesyncd marked the clock synchronised (${TIMESYNCD_FLAG})`,
      authenticated,
    };
  }
  tried.push(`no ${TIMESYNCD_FLAG}`);

  const chrony = await run('chronyc', ['-n', 'tracking']);
  const tracking = chrony.code === 0 ? parseChronyTracking(chrony.stdout) : null;
  if (tracking) {
    return {
      status: tracking.synchronized ? 'synchronized' : 'unsynchronized',
      method: 'chrony',
      detail: `chrony: ${tracking.synchronized ? 'synchronised' : 'not synchronised'} (reference ${tracking.reference})`,
      authenticated,
    };
  }
  tried.push(chrony.error ?? `chronyc exited with ${String(chrony.code)}`);
  return {
    status: 'unknown',
    method: 'none',
    detail: `no time service answered (${tried.join('; ')})`,
    authenticated,
  };
}

export function timeFactSource(run?: CommandRunner, fileExists?: (path: string) => boolean): FactSource {
  return {
    name: 'host.time',
    namespace: 'time',
    async collect() {
      const sync = await observeTimeSync(run, fileExists);
      return [{ key: 'time.sync', value: sync as unknown as JsonValue, observedAt: new Date() }];
    },
  };
}
