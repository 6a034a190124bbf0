import { Command, CommanderError } from 'commander';
import { VERSION } from '../app/index.js';
import { isPalisadeError, describeError } from '../errors/index.js';
import { registerAudit } from './audit.js';
import { registerCameras } from './cameras.js';
import { registerCompliance } from './compliance.js';
import { registerEvidence } from './evidence.js';
import { registerInit } from './init.js';
import { registerKeys } from './keys.js';
import { registerServe } from './serve.js';
import { registerSim } from './sim.js';
import { registerUsers } from './users.js';

/** Exit codes, documented in docs/cli.md. */
export const EXIT = { ok: 0, failure: 1, usage: 2, config: 78 } as const;

export function buildProgram(): Command {
  const program = new Command('palisade')
    .description('Palisade: video management for critical infrastructure, built to IEC 62443')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServe(program);
  registerInit(program);
  registerAudit(program);
  registerUsers(program);
  registerKeys(program);
  registerSim(program);
  registerCameras(program);
  registerCompliance(program);
  registerEvidence(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  // Everything Palisade writes (database, keys, certificates, video) is private to its service account.
  process.umask(0o077);
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; they already printed what the user asked for.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (isPalisadeError(err)) {
      process.stderr.write(`palisade: ${err.code}: ${err.message}\n`);
      if (err.code === 'USAGE') return EXIT.usage;
      return err.code.startsWith('CONFIG_') ? EXIT.config : EXIT.failure;
    }
    process.stderr.write(`palisade: INTERNAL_ERROR: ${describeError(err)}\n`);
    return EXIT.failure;
  }
}
