export { ConfigSchema, type Config } from './schema.js';
export { loadConfig, fromEnvironment, MAX_CONFIG_BYTES, type LoadOptions } from './load.js';
