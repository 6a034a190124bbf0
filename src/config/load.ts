import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { PalisadeError, describeError } from '../errors/index.js';
import { ConfigSchema, type Config } from './schema.js';

/** Config files are small; anything larger is a mistake (or an attack on the parser). */
export const MAX_CONFIG_BYTES = 256 * 1024;
export const ENV_PREFIX = 'PALISADE_';

type Tree = Record<string, unknown>;

export interface LoadOptions {
  /** Path of a YAML or JSON file. */
  file?: string | undefined;
  /** Process environment; `PALISADE_HTTP__PORT=9443` sets `http.port`. */
  env?: NodeJS.ProcessEnv;
  /** Highest precedence, e.g. command-line flags. */
  overrides?: Tree;
}

/**
 * Builds the effective configuration: defaults < file < environment < overrides. Any invalid or unknown
 * setting raises CONFIG_INVALID naming its dotted path, so the server never starts half-configured.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const layers: Tree[] = [];
  if (options.file !== undefined) layers.push(readConfigFile(options.file));
  const envNames = new Map<string, string>();
  layers.push(fromEnvironment(options.env ?? {}, envNames));
  if (options.overrides) layers.push(options.overrides);

  let merged: unknown = {};
  for (const layer of layers) merged = deepMerge(merged, layer);
  const candidate = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, merged));
  const first = Value.Errors(ConfigSchema, candidate).First();
  if (first) {
    const key = first.path.replace(/^\//, '').replaceAll('/', '.') || '(root)';
    const reason = first.schema.description
      ? `${first.message} (${first.schema.description})`
      : first.message;
    const got = first.value === undefined ? '' : `, got ${JSON.stringify(first.value)}`;
    const envName = [...envNames].find(([dotted]) => dotted === key || dotted.startsWith(`${key}.`))?.[1];
    const source =
      envName !== undefined
        ? `environment variable ${envName}`
        : (options.file ?? 'the command-line settings');
    throw new PalisadeError('CONFIG_INVALID', `${key}: ${reason}${got} in ${source}`, {
      details: { key, file: options.file },
    });
  }
  return candidate as Config;
}

function readConfigFile(file: string): Tree {
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.length > MAX_CONFIG_BYTES) {
      throw new PalisadeError(
        'CONFIG_INVALID',
        `${file} is ${bytes.length} bytes; the limit is ${MAX_CONFIG_BYTES}`,
      );
    }
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof PalisadeError) throw err;
    throw new PalisadeError('CONFIG_UNREADABLE', `cannot read ${file}: ${describeError(err)}`, {
      cause: err,
    });
  }
  let parsed: unknown;
  try {
    parsed =
      path.extname(file).toLowerCase() === '.json'
        ? JSON.parse(text)
        : parseYaml(text, { maxAliasCount: 50 });
  } catch (err) {
    throw new PalisadeError(
      'CONFIG_INVALID',
      `${file} is not valid ${path.extname(file) || 'YAML'}: ${describeError(err).split('\n')[0] ?? ''}`,
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PalisadeError('CONFIG_INVALID', `(root): must be a mapping of settings in ${file}`);
  }
  return parsed as Tree;
}

/** `PALISADE_DATABASE__URL` -> database.url, `PALISADE_HTTP__BODY_LIMIT_BYTES` -> http.bodyLimitBytes. */
export function fromEnvironment(env: NodeJS.ProcessEnv, names?: Map<string, string>): Tree {
  const tree: Tree = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined || name === `${ENV_PREFIX}CONFIG`) continue;
    const keys = name
      .slice(ENV_PREFIX.length)
      .split('__')
      .map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()));
    let node = tree;
    for (const key of keys.slice(0, -1)) {
      const next = node[key];
      node = typeof next === 'object' && next !== null ? (next as Tree) : (node[key] = {});
    }
    node[keys[keys.length - 1]!] = value;
    names?.set(keys.join('.'), name);
  }
  return tree;
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (!isTree(base) || !isTree(over)) return over === undefined ? base : over;
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = deepMerge(out[key], value);
  return out;
}

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
