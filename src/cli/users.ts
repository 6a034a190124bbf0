import type { Command } from 'commander';
import { openServices } from '../app/index.js';
import { PalisadeError } from '../errors/index.js';
import { addStateFlags, loggerFor, resolveConfig, type StateFlags } from './context.js';

/** The lines that hand over the first administrator's one-time password (printed exactly once). */
export function firstAdministratorText(
  first: { username: string; oneTimePassword: string } | undefined,
): string[] {
  if (!first) return [];
  return [
    `First administrator: ${first.username}`,
    `One-time password: ${first.oneTimePassword}`,
    '  (shown only now; you will choose a new password and enrol a second factor at first sign-in)',
  ];
}

/**
 * Local account recovery for whoever runs the server: a new one-time password for a locked-out or
 * forgotten account. It needs the data dir (and the database), not the API, and is audited.
 */
export function registerUsers(program: Command): void {
  const users = program.command('users').description('local account recovery (needs access to the data dir)');
  addStateFlags(
    users
      .command('reset-password')
      .argument('<username>', 'the account to reset')
      .description('give an account a new one-time password, end its sessions and clear its lockout'),
    false,
  ).action(async (username: string, flags: StateFlags) => {
    const config = resolveConfig(flags);
    const services = await openServices(config, loggerFor(config), { periodicCheckpoints: false });
    try {
      const account = await services.identity.accounts.byUsername(username);
      if (!account) throw new PalisadeError('USER_NOT_FOUND', `no account named ${username}`);
      const oneTimePassword = await services.identity.resetPassword(
        { type: 'system', id: 'palisade.cli', auth: 'local-operator' },
        account.id,
      );
      process.stdout.write(`One-time password for ${account.username}: ${oneTimePassword}\n`);
    } finally {
      await services.close();
    }
  });
}
