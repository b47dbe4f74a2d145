/**
 * `gantry relay`: serves a worker registry compatible with the Python
 * cloudbus relay, so workers started with `gantry serve --relay URL` (or
 * Gadgetron workers using the Python worker script) register themselves and
 * masters list them (`GET /cloudbus/workers`).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { startRelayServer } from '../distributed/relay/relay-server.js';
import { createLogger, type LogLevel } from '../util/logger.js';

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('port must be an integer from 0 to 65535');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expiry must be a positive number of seconds');
  return n;
}

/** Registers `gantry relay` on `program`. */
export function registerRelayCommand(program: Command): void {
  program
    .command('relay')
    .description('Serve a worker registry compatible with the Python cloudbus relay (POST /cloudbus/add_worker, GET /cloudbus/workers)')
    .option('-p, --port <port>', 'HTTP port', port, 5000)
    .option('--host <host>', 'address to bind (use 0.0.0.0 to serve a cluster)', '127.0.0.1')
    .option('--expiry <seconds>', 'forget workers not heard from for this long', seconds, 300)
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .action(async (opts: { port: number; host: string; expiry: number; logLevel: LogLevel | 'silent' }) => {
      const log = createLogger(opts.logLevel).child({ component: 'relay' });
      const relay = await startRelayServer({ host: opts.host, port: opts.port, expiryMs: opts.expiry * 1000, log });
      log.info('gantry relay listening', { url: relay.url, expirySeconds: opts.expiry });
      const stop = (signal: string): void => {
        log.info('shutting down', { signal });
        relay.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
