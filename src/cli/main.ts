/**
 * The `gantry` command: `serve` (the reconstruction server), `client` (a
 * drop-in for gadgetron_ismrmrd_client), `recon` (offline, file to file) and
 * `configs` (list shipped configurations).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { availableParallelism } from 'node:os';
import type { LogLevel } from '../util/logger.js';
import type { ServeDistributionOptions } from './serve.js';
import type { OperatingFlags } from './operating-options.js';
import type { StorageFlags } from './storage.js';
import type { DeployFlags } from './deploy-options.js';
import type { LimitFlags } from './limit-options.js';
import { buildInfo } from '../server/queries.js';
import { tuneV8 } from '../util/v8-tuning.js';
import { RECON_FORMATS, type ReconFormat } from './recon-output.js';
import type { ReconProgress } from './progress.js';

/*
 * Start-up time matters (`gantry recon` on a small file is mostly process
 * start), so this module imports only commander: each subcommand's
 * definition pulls its option helpers, and its action the modules that do
 * the work, with dynamic imports. `gantry SUB ...` builds only SUB; help,
 * --version and unknown commands build the whole tree (same text as ever).
 */

function integer(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function seconds(name: string, min = 0): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= min) throw new InvalidArgumentError(`${name} must be a number of seconds above ${min}`);
    return n;
  };
}

/** `NAME[:PORT]` of `--dns-workers`. */
function dnsWorkers(value: string): { name: string; port?: number } {
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(value.trim());
  const name = m?.[1] ?? '';
  const port = m?.[2] === undefined ? undefined : Number(m[2]);
  if (name === '' || (port !== undefined && (port < 1 || port > 65535))) throw new InvalidArgumentError('--dns-workers must be NAME or NAME:PORT');
  return port === undefined ? { name } : { name, port };
}

/** Flags of `serve` for distributed nodes. */
interface DistributionFlags {
  workers: string[];
  relay?: string;
  dnsWorkers?: { name: string; port?: number };
  workerTimeout: number;
  workerConnectTimeout: number;
  jobBufferBytes: number;
  workerSlots: number;
  discoveryInterval: number;
  relayInterval: number;
}

/** `gantry serve`. */
async function registerServe(program: Command): Promise<void> {
  const [{ addOperatingOptions, httpFromFlags }, { addDeployOptions, secureServeOptions, startDeployHelpers, tlsFromFlags }, { addLimitOptions, limitsFromFlags }, { addStorageOptions, collectParameter, parameterMap, storeFromFlags }] =
    await Promise.all([import('./operating-options.js'), import('./deploy-options.js'), import('./limit-options.js'), import('./storage.js')]);
  const serve = program
    .command('serve')
    .description('Run the reconstruction server (Gadgetron TCP protocol) until stopped')
    .option('-p, --port <port>', 'TCP port', integer('port', 0, 65535), 9002)
    .option('--host <host>', 'address to bind (use 0.0.0.0 to accept remote clients)', '127.0.0.1')
    .option('--config-dir <dir>', 'extra folder searched for configs before the shipped ones (repeatable)', collect, [] as string[])
    .option('--max-sessions <n>', 'sessions allowed at once', integer('max-sessions', 1), 64)
    .option('--idle-timeout <ms>', 'close a connection after this long without input (0 = never)', integer('idle-timeout'), 300_000)
    .option('--channel-capacity <n>', 'messages buffered between two pipeline steps', integer('channel-capacity', 1), 64)
    .option('--slices-in-flight <n>', SLICES_IN_FLIGHT_HELP, integer('slices-in-flight', 1, 1024), 2)
    .option('--drain-timeout <ms>', 'on SIGTERM, how long running sessions may finish (readiness is false and new connections are refused at once); sessions still running then get an error text and CLOSE, and the process exits 0', integer('drain-timeout'), 60_000)
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .option('--parameter <name=value>', 'stream parameter for every session, e.g. noisecovariancein=FILE (repeatable; a Gantry extension: Gadgetron takes it only with --from_stream)', collectParameter, [] as string[])
    .option('--workers <host:port,...>', 'remote workers for distributed configs (repeatable; also GADGETRON_REMOTE_WORKER_COMMAND)', collect, [] as string[])
    .option('--relay <url>', 'cloudbus relay (URL or host[:port]): list workers from it and register this server with it (default: $GADGETRON_RELAY_HOST)')
    .option('--dns-workers <name[:port]>', 'DNS name whose records list the workers (e.g. a headless Kubernetes service)', dnsWorkers)
    .option('--worker-timeout <seconds>', 'replay a distributed job elsewhere after this long without progress from its worker', seconds('worker-timeout'), 60)
    .option('--worker-connect-timeout <seconds>', 'give up connecting to a worker after this long', seconds('worker-connect-timeout'), 5)
    .option('--job-buffer-bytes <n>', 'job input kept for replay per distributed node (past it, a failed job is an error)', integer('job-buffer-bytes', 0), 1024 * 1024 * 1024)
    .option('--worker-slots <n>', 'distributed jobs one worker runs at once; more wait for a free worker', integer('worker-slots', 1, 1024), 2)
    .option('--discovery-interval <seconds>', 'how often worker discovery runs', seconds('discovery-interval'), 10)
    .option('--relay-interval <seconds>', 'how often this server re-registers with the relay', seconds('relay-interval'), 10)
    .option('--threads <n>', 'compute threads: the event loop plus n − 1 worker threads for the reconstruction gadgets (1: all inline; default: the number of cores)', integer('threads', 1, 1024), availableParallelism());
  addOperatingOptions(serve);
  addDeployOptions(serve);
  addLimitOptions(serve);
  addStorageOptions(serve)
    .action(async (opts: {
      port: number; host: string; configDir: string[]; maxSessions: number; idleTimeout: number;
      channelCapacity: number; slicesInFlight: number; drainTimeout: number; logLevel: LogLevel | 'silent'; parameter: string[]; threads: number;
    } & StorageFlags & DistributionFlags & OperatingFlags & DeployFlags & LimitFlags) => {
      (await import('../engine/thread-pool.js')).configureComputeThreads(opts.threads);
      const [{ createLogger }, { installCrashGuard }, { startServer }, { shippedConfigDir }] = await Promise.all([
        import('../util/logger.js'), import('../server/crash-guard.js'), import('./serve.js'), import('../config/config-files.js'),
      ]);
      const log = createLogger(opts.logLevel, {}, opts.logDestination);
      installCrashGuard(log);
      const tls = tlsFromFlags(opts, opts.host);
      // Signals are caught from here on: one that arrives while the server
      // starts is acted on as soon as it is listening, never a silent kill.
      let server: Awaited<ReturnType<typeof startServer>> | undefined;
      let pendingSignal: string | undefined;
      const stop = (signal: string): void => {
        if (!server) {
          pendingSignal ??= signal;
          return;
        }
        log.info('shutting down', { signal, activeSessions: server.activeSessions });
        server.close(opts.drainTimeout).then(() => storage?.close()).then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      const storage = await storeFromFlags(opts, log);
      server = await startServer(secureServeOptions(opts, {
        ...(tls ? { tls } : {}),
        ...(storage ? { storage } : {}),
        parameters: parameterMap(opts.parameter),
        host: opts.host,
        port: opts.port,
        configDirs: [...opts.configDir, shippedConfigDir()],
        maxSessions: opts.maxSessions,
        ...limitsFromFlags(opts),
        idleTimeoutMs: opts.idleTimeout,
        channelCapacity: opts.channelCapacity,
        slicesInFlight: opts.slicesInFlight,
        log,
        distribution: distributionFromFlags(opts),
        http: httpFromFlags(opts),
      }));
      startDeployHelpers(server, opts, log);
      if (pendingSignal) stop(pendingSignal);
    });
}

/** `gantry client`. */
function registerClient(program: Command): void {
  program
    .command('client')
    .description('Send an ISMRMRD file to a server and store the images (flags of gadgetron_ismrmrd_client)')
    .option('-a, --address <host>', 'server address', 'localhost')
    .option('-p, --port <port>', 'server port', integer('port', 1, 65535), 9002)
    .option('-f, --filename <file>', 'input ISMRMRD HDF5 file')
    .option('-o, --outfile <file>', 'output HDF5 file', 'out.h5')
    .option('-g, --in-group <group>', 'input group', '/dataset')
    .option('-G, --out-group <group>', 'output group (default: local start time)')
    .option('-c, --config <name>', 'config name on the server', 'default.xml')
    .option('-C, --config-local <file>', 'local config file sent to the server')
    .option('-Q, --info <key>', 'send a query (e.g. gadgetron::info) and print the answer')
    .option('-q, --query', 'dependency query mode: no input file', false)
    .option('-t, --timeout <ms>', 'connect timeout', integer('timeout', 1), 10_000)
    .option('-l, --loops <n>', 'accepted for compatibility (ignored)', integer('loops', 1), 1)
    .option('-F, --outformat <format>', 'output format (h5)', 'h5')
    .option('-v, --verbose', 'print progress', false)
    .option('--tls', 'connect with TLS (the server\'s --tls-cert/--tls-key or --tls-psk-file)', false)
    .option('--ca <file>', 'with --tls: PEM CA bundle that signed the server\'s certificate (default: the system\'s)')
    .option('--cert <file>', 'with --tls: PEM client certificate (servers with --tls-client-ca)')
    .option('--key <file>', 'with --tls: PEM private key of --cert')
    .option('--servername <name>', 'with --tls: name the server\'s certificate must carry (default: --address)')
    .option('--psk-file <file>', 'with --tls: pre-shared key file, IDENTITY:KEY lines (stunnel format)')
    .option('--psk-identity <id>', 'with --psk-file: which identity to use (default: the first line)')
    .action(async (opts: {
      address: string; port: number; filename?: string; outfile: string; inGroup: string; outGroup?: string;
      config: string; configLocal?: string; info?: string; query: boolean; timeout: number; outformat: string; verbose: boolean;
    } & import('../client/tls-options.js').ClientTlsFlags) => {
      if (opts.outformat !== 'h5') throw new Error(`Cannot write output format '${opts.outformat}': Gantry's client writes h5`);
      if (opts.info === undefined && !opts.query && !opts.filename) throw new Error('Cannot run: give an input file with -f (or -Q/-q)');
      const { defaultOutGroup, runClient } = await import('../client/ismrmrd-client.js');
      const tls = (await import('../client/tls-options.js')).clientTlsFromFlags(opts);
      const result = await runClient({
        ...(tls ? { tls } : {}),
        host: opts.address,
        port: opts.port,
        ...(opts.filename === undefined ? {} : { filename: opts.filename }),
        inGroup: opts.inGroup,
        outFile: opts.outfile,
        outGroup: opts.outGroup ?? defaultOutGroup(),
        config: opts.config,
        ...(opts.configLocal === undefined ? {} : { configLocal: opts.configLocal }),
        ...(opts.info === undefined ? {} : { info: opts.info }),
        query: opts.query,
        timeoutMs: opts.timeout,
        verbose: opts.verbose,
        stdout: (t) => process.stdout.write(t),
        stderr: (t) => process.stderr.write(t),
      });
      if (opts.verbose) process.stderr.write(`received ${result.images} images\n`);
      if (result.serverErrors.length > 0) {
        process.stderr.write(`gantry client: the server reported ${result.serverErrors.length} error(s)\n`);
        process.exitCode = 2;
      }
    });
}

/** Help of `--slices-in-flight` (serve and recon). */
const SLICES_IN_FLIGHT_HELP = 'slices (readout buckets, recon buffers) one pipeline holds at once; bounds memory when data come faster than they are reconstructed';

/** `gantry recon`. */
async function registerRecon(program: Command): Promise<void> {
  const { addStorageOptions, collectParameter, parameterMap, storeFromFlags } = await import('./storage.js');
  const recon = program
    .command('recon')
    .description('Reconstruct an ISMRMRD file offline with a config: `gantry recon IN OUT -c CONFIG --format h5|dicom|png`')
    .argument('[input]', 'input ISMRMRD HDF5 file (or -f)')
    .argument('[output]', 'output HDF5 file (h5), or folder (dicom, png) (or -o)')
    .option('-f, --filename <file>', 'input ISMRMRD HDF5 file')
    .option('-o, --outfile <file>', 'output HDF5 file or folder', 'out.h5')
    .addOption(new Option('--format <format>', 'output: an ISMRMRD HDF5 file, or a folder of DICOM or PNG files').choices([...RECON_FORMATS]).default('h5'))
    .option('--deidentify', 'DICOM: blank patient-identifying fields', false)
    .option('-g, --in-group <group>', 'input group', '/dataset')
    .option('-G, --out-group <group>', 'output group (default: the config name)')
    .option('-c, --config <name>', 'config name', 'default.xml')
    .option('-C, --config-local <file>', 'local config file')
    .option('--config-dir <dir>', 'extra config folder (repeatable)', collect, [] as string[])
    .option('--parameter <name=value>', 'stream parameter, e.g. noisecovariancein=FILE or noisecovarianceout=FILE (repeatable)', collectParameter, [] as string[])
    .option('--threads <n>', 'compute threads: the event loop plus n − 1 worker threads for the reconstruction gadgets (1: all inline; default: the number of cores)', integer('threads', 1, 1024), availableParallelism())
    .option('--slices-in-flight <n>', SLICES_IN_FLIGHT_HELP, integer('slices-in-flight', 1, 1024), 2);
  addStorageOptions(recon)
    .action(async (input: string | undefined, output: string | undefined, opts: {
      filename?: string; outfile: string; inGroup: string; outGroup?: string; config: string; configLocal?: string; configDir: string[];
      parameter: string[]; format: ReconFormat; deidentify: boolean; threads: number; slicesInFlight: number;
    } & StorageFlags) => {
      (await import('../engine/thread-pool.js')).configureComputeThreads(opts.threads);
      const filename = input ?? opts.filename;
      if (filename === undefined) throw new Error('Cannot reconstruct: give an input file (gantry recon IN OUT, or -f IN)');
      const outFile = output ?? opts.outfile;
      const [{ createLogger }, { shippedConfigDir }, { reconToFormat }, { ProgressBar }] = await Promise.all([
        import('../util/logger.js'), import('../config/config-files.js'), import('./recon-output.js'), import('./progress.js'),
      ]);
      const storage = await storeFromFlags(opts, createLogger('warn'));
      const bar = new ProgressBar(process.stderr);
      const summary = await reconToFormat({
        ...(storage ? { storage } : {}),
        parameters: parameterMap(opts.parameter),
        filename,
        inGroup: opts.inGroup,
        format: opts.format,
        output: outFile,
        deidentify: opts.deidentify,
        slicesInFlight: opts.slicesInFlight,
        outGroup: opts.outGroup ?? opts.config,
        config: opts.config,
        ...(opts.configLocal === undefined ? {} : { configLocal: opts.configLocal }),
        configDirs: [...opts.configDir, shippedConfigDir()],
        ...(bar.active ? { onProgress: (p: ReconProgress) => bar.update(p) } : {}),
      }).finally(() => bar.done());
      await storage?.close();
      process.stderr.write(`gantry recon: ${summary.images} images written to ${outFile}\n`);
    });
}

/** `gantry configs`. */
function registerConfigs(program: Command): void {
  program
    .command('configs')
    .description('List the configurations Gantry ships')
    .action(async () => {
      const [{ readdir }, { shippedConfigDir }] = await Promise.all([import('node:fs/promises'), import('../config/config-files.js')]);
      const files = (await readdir(shippedConfigDir())).filter((f) => f.endsWith('.xml')).sort();
      process.stdout.write(`${files.join('\n')}\n`);
    });
}

/** The subcommands in help order, each registered by loading only what its definition needs. */
const SUBCOMMANDS: ReadonlyArray<readonly [string, (program: Command) => void | Promise<void>]> = [
  ['serve', registerServe],
  ['client', registerClient],
  ['recon', registerRecon],
  ['storage', async (program) => (await import('./storage.js')).registerStorageCommand(program)],
  ['configs', registerConfigs],
  ['phantom', async (program) => (await import('./phantom.js')).registerPhantomCommand(program)],
  ['chris', async (program) => (await import('./chris.js')).registerChrisCommand(program)],
  ['relay', async (program) => (await import('./relay.js')).registerRelayCommand(program)],
];

/** Names of the subcommands, in help order. */
export const SUBCOMMAND_NAMES: readonly string[] = SUBCOMMANDS.map(([name]) => name);

/**
 * Builds the command tree (exported for tests of --help): every subcommand,
 * or only `only` (what `gantry only ...` needs; none for `--version`).
 */
export async function buildProgram(only?: readonly string[]): Promise<Command> {
  const program = new Command('gantry')
    .description('Gantry: a cloud-native MRI reconstruction server that speaks the Gadgetron protocol')
    .version(buildInfo().gantryVersion)
    .showHelpAfterError();
  for (const [name, register] of SUBCOMMANDS) {
    if (only === undefined || only.includes(name)) await register(program);
  }
  return program;
}

/** The subcommands `argv` needs built: the one it names, none for --version, all otherwise (help, unknown names). */
export function subcommandsFor(argv: readonly string[]): string[] | undefined {
  const first = argv[2];
  if (first === '-V' || first === '--version') return [];
  return first !== undefined && SUBCOMMAND_NAMES.includes(first) ? [first] : undefined;
}

/** `serve`'s distribution settings from its flags and the environment. */
function distributionFromFlags(opts: DistributionFlags): ServeDistributionOptions {
  const relay = opts.relay ?? (process.env['GADGETRON_RELAY_HOST']?.trim() || undefined);
  return {
    env: process.env,
    workers: opts.workers,
    ...(relay ? { relayUrl: relay } : {}),
    ...(opts.dnsWorkers ? { dnsName: opts.dnsWorkers.name, ...(opts.dnsWorkers.port === undefined ? {} : { dnsPort: opts.dnsWorkers.port }) } : {}),
    workerTimeoutMs: Math.round(opts.workerTimeout * 1000),
    connectTimeoutMs: Math.round(opts.workerConnectTimeout * 1000),
    jobBufferBytes: opts.jobBufferBytes,
    workerSlots: opts.workerSlots,
    refreshMs: Math.round(opts.discoveryInterval * 1000),
    relayIntervalMs: Math.round(opts.relayInterval * 1000),
  };
}

/** Entry point used by bin/gantry. */
export async function main(argv: string[]): Promise<void> {
  try {
    tuneV8();
  } catch (err) {
    process.stderr.write(`gantry: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const program = await buildProgram(subcommandsFor(argv));
  program.exitOverride((err) => {
    process.exit(err.exitCode);
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.stderr.write(`gantry: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
