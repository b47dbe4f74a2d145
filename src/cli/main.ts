/**
 * The `gantry` command: `serve` (the reconstruction server), `client` (a
 * drop-in for gadgetron_ismrmrd_client), `recon` (offline, file to file) and
 * `configs` (list shipped configurations).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readdir } from 'node:fs/promises';
import { shippedConfigDir } from '../config/index.js';
import { defaultOutGroup, runClient } from '../client/ismrmrd-client.js';
import { createLogger, type LogLevel } from '../util/logger.js';
import { startServer, type ServeDistributionOptions } from './serve.js';
import { addOperatingOptions, httpFromFlags, type OperatingFlags } from './operating-options.js';
import { RECON_FORMATS, reconToFormat, type ReconFormat } from './recon-output.js';
import { registerPhantomCommand } from './phantom.js';
import { registerChrisCommand } from './chris.js';
import { registerRelayCommand } from './relay.js';
import { buildInfo } from '../server/queries.js';
import { addStorageOptions, collectParameter, parameterMap, registerStorageCommand, storeFromFlags, type StorageFlags } from './storage.js';
import { addDeployOptions, startDeployHelpers, tlsFromFlags, type DeployFlags } from './deploy-options.js';

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

/** Builds the command tree (exported for tests of --help). */
export function buildProgram(): Command {
  const program = new Command('gantry')
    .description('Gantry: a cloud-native MRI reconstruction server that speaks the Gadgetron protocol')
    .version(buildInfo().gantryVersion)
    .showHelpAfterError();

  const serve = program
    .command('serve')
    .description('Run the reconstruction server (Gadgetron TCP protocol) until stopped')
    .option('-p, --port <port>', 'TCP port', integer('port', 0, 65535), 9002)
    .option('--host <host>', 'address to bind (use 0.0.0.0 to accept remote clients)', '127.0.0.1')
    .option('--config-dir <dir>', 'extra folder searched for configs before the shipped ones (repeatable)', collect, [] as string[])
    .option('--max-sessions <n>', 'sessions allowed at once', integer('max-sessions', 1), 64)
    .option('--idle-timeout <ms>', 'close a connection after this long without input (0 = never)', integer('idle-timeout'), 300_000)
    .option('--channel-capacity <n>', 'messages buffered between two pipeline steps', integer('channel-capacity', 1), 64)
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
    .option('--relay-interval <seconds>', 'how often this server re-registers with the relay', seconds('relay-interval'), 10);
  addOperatingOptions(serve);
  addDeployOptions(serve);
  addStorageOptions(serve)
    .action(async (opts: {
      port: number; host: string; configDir: string[]; maxSessions: number; idleTimeout: number;
      channelCapacity: number; drainTimeout: number; logLevel: LogLevel | 'silent'; parameter: string[];
    } & StorageFlags & DistributionFlags & OperatingFlags & DeployFlags) => {
      const log = createLogger(opts.logLevel, {}, opts.logDestination);
      const tls = tlsFromFlags(opts, opts.host);
      const storage = await storeFromFlags(opts, log);
      const server = await startServer({
        ...(tls ? { tls } : {}),
        ...(storage ? { storage } : {}),
        parameters: parameterMap(opts.parameter),
        host: opts.host,
        port: opts.port,
        configDirs: [...opts.configDir, shippedConfigDir()],
        maxSessions: opts.maxSessions,
        idleTimeoutMs: opts.idleTimeout,
        channelCapacity: opts.channelCapacity,
        log,
        distribution: distributionFromFlags(opts),
        http: httpFromFlags(opts),
      });
      startDeployHelpers(server, opts, log);
      const stop = (signal: string): void => {
        log.info('shutting down', { signal, activeSessions: server.activeSessions });
        server.close(opts.drainTimeout).then(() => storage?.close()).then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });

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
    .action(async (opts: {
      address: string; port: number; filename?: string; outfile: string; inGroup: string; outGroup?: string;
      config: string; configLocal?: string; info?: string; query: boolean; timeout: number; outformat: string; verbose: boolean;
    }) => {
      if (opts.outformat !== 'h5') throw new Error(`Cannot write output format '${opts.outformat}': Gantry's client writes h5`);
      if (opts.info === undefined && !opts.query && !opts.filename) throw new Error('Cannot run: give an input file with -f (or -Q/-q)');
      const result = await runClient({
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
    .option('--parameter <name=value>', 'stream parameter, e.g. noisecovariancein=FILE or noisecovarianceout=FILE (repeatable)', collectParameter, [] as string[]);
  addStorageOptions(recon)
    .action(async (input: string | undefined, output: string | undefined, opts: {
      filename?: string; outfile: string; inGroup: string; outGroup?: string; config: string; configLocal?: string; configDir: string[];
      parameter: string[]; format: ReconFormat; deidentify: boolean;
    } & StorageFlags) => {
      const filename = input ?? opts.filename;
      if (filename === undefined) throw new Error('Cannot reconstruct: give an input file (gantry recon IN OUT, or -f IN)');
      const outFile = output ?? opts.outfile;
      const storage = await storeFromFlags(opts, createLogger('warn'));
      const summary = await reconToFormat({
        ...(storage ? { storage } : {}),
        parameters: parameterMap(opts.parameter),
        filename,
        inGroup: opts.inGroup,
        format: opts.format,
        output: outFile,
        deidentify: opts.deidentify,
        outGroup: opts.outGroup ?? opts.config,
        config: opts.config,
        ...(opts.configLocal === undefined ? {} : { configLocal: opts.configLocal }),
        configDirs: [...opts.configDir, shippedConfigDir()],
      });
      await storage?.close();
      process.stderr.write(`gantry recon: ${summary.images} images written to ${outFile}\n`);
    });

  registerStorageCommand(program);

  program
    .command('configs')
    .description('List the configurations Gantry ships')
    .action(async () => {
      const files = (await readdir(shippedConfigDir())).filter((f) => f.endsWith('.xml')).sort();
      process.stdout.write(`${files.join('\n')}\n`);
    });

  registerPhantomCommand(program);
  registerChrisCommand(program);
  registerRelayCommand(program);
  return program;
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
  const program = buildProgram();
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
