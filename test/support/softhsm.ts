import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Debian's softhsm2 package puts the module here. */
export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

function softHsmMissing(): string | undefined {
  if (!existsSync(SOFTHSM_MODULE))
    return `SoftHSM2 not installed (${SOFTHSM_MODULE} missing): apt-get install softhsm2`;
  if (spawnSync('softhsm2-util', ['--version']).error)
    return 'softhsm2-util not on PATH: apt-get install softhsm2';
  return undefined;
}

/** undefined when SoftHSM2 can run; otherwise why the PKCS#11 cases are skipped (CI installs it). */
export const SOFTHSM_SKIP = softHsmMissing();

export interface SoftHsmToken {
  module: string;
  tokenLabel: string;
  pin: string;
  soPin: string;
  /** The SOFTHSM2_CONF file; child processes need it in their environment. */
  conf: string;
  tokenDir: string;
}

let token: SoftHsmToken | undefined;

/**
 * A SoftHSM2 token in a private temporary directory, initialised with random PINs. SoftHSM reads its
 * configuration once per process (at C_Initialize) and does not see tokens created later, so there is
 * one token per test process: every test file that needs it gets the same token, and tests keep
 * apart by using their own KEK ids (a fresh database each). Removed when the process exits.
 */
export function softHsmToken(): SoftHsmToken {
  if (token) return token;
  if (SOFTHSM_SKIP) throw new Error(SOFTHSM_SKIP);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-softhsm-'));
  const tokenDir = path.join(dir, 'tokens');
  mkdirSync(tokenDir, { mode: 0o700 });
  const conf = path.join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
    {
      mode: 0o600,
    },
  );
  process.env.SOFTHSM2_CONF = conf;
  const pin = randomBytes(8).toString('hex');
  const soPin = randomBytes(8).toString('hex');
  const tokenLabel = 'palisade-test';
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', tokenLabel, '--pin', pin, '--so-pin', soPin],
    {
      env: { ...process.env, SOFTHSM2_CONF: conf },
      stdio: 'pipe',
    },
  );
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  token = { module: SOFTHSM_MODULE, tokenLabel, pin, soPin, conf, tokenDir };
  return token;
}

/** Uses a token another process created (a child process given its details). */
export function adoptSoftHsmToken(t: SoftHsmToken): void {
  process.env.SOFTHSM2_CONF = t.conf;
  token = t;
}
