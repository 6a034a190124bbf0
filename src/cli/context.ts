import type { Command } from 'commander';
import { loadConfig, type Config } from '../config/index.js';
import { createLogger, type Logger } from '../log/index.js';

/** Flags shared by every command that touches the data dir. */
export interface StateFlags {
  config?: string;
  dataDir?: string;
  host?: string;
  port?: number;
}

export function addStateFlags(command: Command, withListen: boolean): Command {
  command
    .option('-c, --config <file>', 'configuration file (YAML or JSON); env PALISADE_CONFIG')
    .option('-d, --data-dir <dir>', 'data directory (default ./data)');
  if (withListen) {
    command
      .option('--host <host>', 'address to listen on (default 127.0.0.1)')
      .option('-p, --port <n>', 'TCP port; 0 picks a free one (default 8443)', parsePort);
  }
  return command;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be 0-65535, got ${value}`);
  return n;
}

/** Loads configuration with the precedence defaults < file < environment < flags. */
export function resolveConfig(flags: StateFlags, env: NodeJS.ProcessEnv = process.env): Config {
  const http: Record<string, unknown> = {};
  if (flags.host !== undefined) http.host = flags.host;
  if (flags.port !== undefined) http.port = flags.port;
  const overrides: Record<string, unknown> = {};
  if (flags.dataDir !== undefined) overrides.dataDir = flags.dataDir;
  if (Object.keys(http).length > 0) overrides.http = http;
  return loadConfig({ file: flags.config ?? env.PALISADE_CONFIG, env, overrides });
}

export function loggerFor(config: Config): Logger {
  return createLogger(config.log.level);
}
