/**
 * Finding a configuration file by the name a client sends (Gadgetron's FILENAME message).
 */
import { existsSync } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, displayConfigName } from './errors.js';
import { MAX_CONFIG_LENGTH, parseStreamConfiguration, type StreamConfiguration } from './stream-config.js';

/** Longest config name accepted, in UTF-8 bytes (a file name component). */
export const MAX_CONFIG_NAME_BYTES = 255;

/** A config file found on disk. */
export interface ConfigFile {
  /** Real path of the file that was read. */
  path: string;
  /** Its text. */
  xml: string;
}

/**
 * Finds and reads the config file called `name`, Gadgetron style: if an environment variable with
 * exactly that name exists, its value is the name to look up. The name must be a plain file name;
 * `configDirs` are searched in order (the user's config folder first, the shipped one last), and
 * the file's real path must lie inside the folder it was found in.
 */
export async function resolveConfigName(name: string, configDirs: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ConfigFile> {
  const substituted = Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined;
  const fileName = substituted ?? name;
  // The substituted value is never shown: a client must not be able to read environment variables.
  const shown = substituted === undefined
    ? `Cannot load config '${displayConfigName(name)}'`
    : `Cannot load config '${displayConfigName(name)}' (named by the environment variable of that name)`;
  const reason = invalidNameReason(fileName);
  if (reason !== undefined) throw new ConfigError('CONFIG_NAME', `${shown}: ${reason}`, { source: name });

  for (const dir of configDirs) {
    let realDir: string;
    let realFile: string;
    try {
      realDir = await realpath(dir);
      realFile = await realpath(join(realDir, fileName));
    } catch (err) {
      if (isMissing(err)) continue;
      throw new ConfigError('CONFIG_IO', `${shown}: ${describe(err)}`, { source: name, cause: err });
    }
    if (!realFile.startsWith(realDir.endsWith(sep) ? realDir : realDir + sep)) {
      throw new ConfigError('CONFIG_ACCESS', `${shown}: the file in ${dir} resolves to a path outside that folder`, { source: name });
    }
    let handle;
    try {
      handle = await open(realFile, 'r');
    } catch (err) {
      if (isMissing(err)) continue;
      throw new ConfigError('CONFIG_IO', `${shown}: ${describe(err)}`, { source: name, cause: err });
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) continue;
      if (info.size > MAX_CONFIG_LENGTH) {
        throw new ConfigError('CONFIG_LIMIT', `${shown}: the file is ${info.size} bytes; the limit is ${MAX_CONFIG_LENGTH}`, { source: name });
      }
      const xml = await handle.readFile({ encoding: 'utf8' });
      return { path: realFile, xml };
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError('CONFIG_IO', `${shown}: ${describe(err)}`, { source: name, cause: err });
    } finally {
      await handle.close();
    }
  }
  const where = configDirs.length === 0 ? 'no config folder is configured' : `no such config in ${configDirs.join(', ')}`;
  throw new ConfigError('CONFIG_NOT_FOUND', `${shown}: ${where}`, { source: name });
}

/** Finds, reads and parses the config called `name` (see {@link resolveConfigName}). */
export async function loadStreamConfiguration(
  name: string, configDirs: readonly string[], env: NodeJS.ProcessEnv = process.env,
): Promise<{ path: string; config: StreamConfiguration }> {
  const file = await resolveConfigName(name, configDirs, env);
  return { path: file.path, config: parseStreamConfiguration(file.xml, { source: name }) };
}

/** Why `name` is not an acceptable config file name, or undefined if it is. */
export function invalidNameReason(name: string): string | undefined {
  if (name === '') return 'config names may not be empty';
  if (name.includes('/') || name.includes('\\') || name.includes('..')) return 'config names may not contain paths';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'config names may not contain control characters';
  if (name.startsWith('.')) return "config names may not start with '.'";
  if (Buffer.byteLength(name, 'utf8') > MAX_CONFIG_NAME_BYTES) return `config names may be at most ${MAX_CONFIG_NAME_BYTES} bytes long`;
  return undefined;
}

/**
 * The `config/` folder shipped with Gantry: beside the nearest `package.json` above this module,
 * which works from `dist/src/config/` as well as from `src/config/`.
 */
export function shippedConfigDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'config');
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`Cannot find Gantry's config folder: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
