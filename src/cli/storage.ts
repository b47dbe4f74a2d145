/**
 * `gantry storage`: serves the mrd-storage-server REST API over a storage
 * folder, so a cluster can run one storage service shared by every Gantry
 * (`gantry serve --storage-url`) and Gadgetron (`gadgetron -E`) instance.
 * Also the command-line helpers for the storage and stream-parameter flags
 * of `serve` and `recon`.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { resolve } from 'node:path';
import type { DependencyStore } from '../storage/types.js';
import type { Logger, LogLevel } from '../util/logger.js';

// The stores, the HTTP server and the logger load when a command runs, not
// when its options are defined (start-up time of `gantry recon`).

/** Commander collector for repeatable `--parameter name=value`. */
export function collectParameter(value: string, previous: string[]): string[] {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected name=value, got '${value}'`);
  return [...previous, value];
}

/** `name=value` strings as a map (later ones win). */
export function parameterMap(values: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    out.set(v.slice(0, eq).trim(), v.slice(eq + 1));
  }
  return out;
}

/** Storage flags of `serve` and `recon`, as commander parses them. */
export interface StorageFlags {
  /** A folder, or false for `--no-storage`. */
  storage?: string | false;
  storageUrl?: string;
}

/** Adds `--storage DIR`, `--storage-url URL` and `--no-storage` to a command. */
export function addStorageOptions(command: Command): Command {
  return command
    .option('--storage <dir>', `folder for measurement dependencies such as noise covariances, safe to share between processes (default: $GANTRY_STORAGE_DIR or ~/.gantry/storage)`)
    .option('--storage-url <url>', 'use an mrd-storage-server compatible service (e.g. gantry storage, or the one Gadgetron uses) instead of a folder')
    .option('--no-storage', 'run without a dependency store (noise dependencies cannot be saved or loaded)');
}

/** Opens the store the flags choose, logs where it is and whether it is usable. */
export async function storeFromFlags(flags: StorageFlags, log: Logger): Promise<DependencyStore | undefined> {
  const { checkDependencyStore, openDependencyStore } = await import('../storage/open-store.js');
  const store = openDependencyStore({
    ...(typeof flags.storage === 'string' ? { dir: flags.storage } : {}),
    ...(flags.storageUrl === undefined ? {} : { url: flags.storageUrl }),
    disabled: flags.storage === false,
  }, log);
  if (!store) {
    log.info('dependency store disabled');
    return undefined;
  }
  const problem = await checkDependencyStore(store, flags.storageUrl ? 5_000 : 0);
  if (problem) log.warn('dependency store unusable; sessions that need it get a warning', { store: store.description, error: problem });
  else log.info('dependency store', { store: store.description });
  return store;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('port must be an integer from 0 to 65535');
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** Registers `gantry storage` on `program`. */
export function registerStorageCommand(program: Command): void {
  const envPort = process.env.MRD_STORAGE_SERVER_PORT;
  program
    .command('storage')
    .description('Serve the mrd-storage-server REST API (/v1/blobs, /healthcheck) over a storage folder, for several servers to share')
    .option('-p, --port <port>', 'HTTP port ($MRD_STORAGE_SERVER_PORT when set)', port, envPort && /^\d+$/.test(envPort) ? Number(envPort) : 3333)
    .option('--host <host>', 'address to bind (use 0.0.0.0 to serve other machines)', '127.0.0.1')
    .option('--storage <dir>', `storage folder (default: $GANTRY_STORAGE_DIR or ~/.gantry/storage)`)
    .option('--max-blob-size <bytes>', 'largest blob accepted', positive, 1 << 30)
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .action(async (opts: { port: number; host: string; storage?: string; maxBlobSize: number; logLevel: LogLevel | 'silent' }) => {
      const [{ createLogger }, { FolderStore }, { InstrumentedStore }, { checkDependencyStore, defaultStorageDir }, { StorageHttpServer }] = await Promise.all([
        import('../util/logger.js'), import('../storage/folder-store.js'), import('../storage/instrumented-store.js'),
        import('../storage/open-store.js'), import('../storage/rest-server.js'),
      ]);
      const log = createLogger(opts.logLevel);
      const folder = new FolderStore(resolve(opts.storage ?? defaultStorageDir()));
      const store = new InstrumentedStore(folder, log.child({ component: 'storage' }));
      const problem = await checkDependencyStore(store);
      if (problem) throw new Error(problem);
      const server = new StorageHttpServer({ store, host: opts.host, port: opts.port, log, maxBlobBytes: opts.maxBlobSize });
      const address = await server.listen();
      log.info('gantry storage listening', { host: address.address, port: address.port, store: store.description });
      const stop = (signal: string): void => {
        log.info('shutting down', { signal });
        Promise.all([server.close(), store.close()]).then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
