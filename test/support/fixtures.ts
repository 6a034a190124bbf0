import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/**
 * The shared public fixtures live beside the repository (`../shared/fixtures`), never inside it. Tests
 * that need them skip with this reason when the folder is absent.
 */
export const SHARED_FIXTURES = path.resolve(
  fileURLToPath(new URL('../../../', import.meta.url)),
  '..',
  'shared',
  'fixtures',
);

/** The absolute path of a shared fixture folder, and why a test must skip when it is missing. */
export function sharedFixture(...parts: string[]): { dir: string; skip: string | false } {
  const dir = path.join(SHARED_FIXTURES, ...parts);
  return {
    dir,
    skip: existsSync(dir) ? false : `shared fixtures not found at ${dir} (see docs/testing.md)`,
  };
}
