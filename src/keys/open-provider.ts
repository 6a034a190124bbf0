import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { PalisadeError } from '../errors/index.js';
import { keyError } from './errors.js';
import { LocalKeyProvider } from './local-provider.js';
import { Pkcs11KeyProvider } from './pkcs11-provider.js';
import { assertPrivateFile } from './private-file.js';
import type { KeyProvider } from './provider.js';

export type KeysConfig = Config['keys'];

/** Where the local provider keeps its key file unless configured otherwise. */
export function defaultLocalKeyFile(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'keys', 'local-keys.json');
}

/** Opens the provider the configuration names. The PIN is read here and handed to the token only. */
export async function openKeyProvider(
  keys: KeysConfig,
  options: { dataDir: string; env?: NodeJS.ProcessEnv },
): Promise<KeyProvider> {
  if (keys.provider === 'local') {
    return LocalKeyProvider.open(keys.local.file ?? defaultLocalKeyFile(options.dataDir));
  }
  const { module, tokenLabel, sessions } = keys.pkcs11;
  if (module === undefined) throw configError('keys.pkcs11.module', 'the PKCS#11 module path');
  if (tokenLabel === undefined) throw configError('keys.pkcs11.tokenLabel', 'the token label');
  return Pkcs11KeyProvider.open({
    module,
    tokenLabel,
    sessions,
    pin: readPin(keys.pkcs11, options.env ?? process.env),
  });
}

function configError(key: string, what: string): PalisadeError {
  return new PalisadeError('CONFIG_INVALID', `${key}: ${what} is required when keys.provider is pkcs11`, {
    details: { key },
  });
}

const MAX_PIN_BYTES = 256;

/** The user PIN from a private file (preferred) or an environment variable; never from the config file. */
export function readPin(pkcs11: KeysConfig['pkcs11'], env: NodeJS.ProcessEnv): string {
  if (pkcs11.pinFile !== undefined) {
    assertPrivateFile(pkcs11.pinFile, 'the PIN file');
    const bytes = readFileSync(pkcs11.pinFile);
    if (bytes.length > MAX_PIN_BYTES)
      throw keyError('KEY_PIN_MISSING', `the PIN file ${pkcs11.pinFile} is too long`);
    const pin = bytes.toString('utf8').replace(/\r?\n$/, '');
    bytes.fill(0);
    if (pin.length === 0) throw keyError('KEY_PIN_MISSING', `the PIN file ${pkcs11.pinFile} is empty`);
    return pin;
  }
  if (pkcs11.pinEnv !== undefined) {
    const pin = env[pkcs11.pinEnv];
    if (pin === undefined || pin === '') {
      throw keyError(
        'KEY_PIN_MISSING',
        `the environment variable ${pkcs11.pinEnv} (keys.pkcs11.pinEnv) is not set`,
      );
    }
    return pin;
  }
  throw keyError(
    'KEY_PIN_MISSING',
    'set keys.pkcs11.pinFile (preferred) or keys.pkcs11.pinEnv to give the token PIN',
  );
}
