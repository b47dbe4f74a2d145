/** Builds the discovery sources that `gantry serve` flags and the environment ask for. */
import type { Logger } from '../../util/logger.js';
import type { DiscoverySource } from '../worker-pool.js';
import { commandSource, type CommandSourceOptions } from './command-source.js';
import { dnsSource, type DnsResolver } from './dns-source.js';
import { relaySource } from './relay-source.js';
import { staticSource } from './static-source.js';

/** Environment variable holding Gadgetron's worker discovery command. */
export const REMOTE_WORKER_COMMAND_ENV = 'GADGETRON_REMOTE_WORKER_COMMAND';

/** Settings of {@link createDiscoverySources}. */
export interface DiscoverySettings {
  /** Environment read for GADGETRON_REMOTE_WORKER_COMMAND (normally process.env). */
  env: Readonly<Record<string, string | undefined>>;
  /** `--workers` values (each `host:port[,host:port…]`). */
  workers?: readonly string[];
  /** `--relay` URL or host[:port] of a cloudbus relay. */
  relayUrl?: string;
  /** DNS name of a headless service (or an SRV name starting with `_`). */
  dnsName?: string;
  /** Port for the DNS name's A/AAAA records; without it SRV `_gadgetron._tcp.<name>` is tried, then port 9002. */
  dnsPort?: number;
  /** Options of the command source (deadline, output cap). */
  command?: Omit<CommandSourceOptions, 'name'>;
  /** Resolver for the DNS source (tests). */
  dnsResolver?: DnsResolver;
  /** Logger for sources that log (relay: malformed entries). */
  log?: Logger;
}

/**
 * The sources the settings name, in a fixed order: command (from
 * GADGETRON_REMOTE_WORKER_COMMAND when set and not blank), static
 * (`--workers`), relay, DNS. Malformed `--workers`, relay or DNS settings
 * throw RangeError/TypeError, so `serve` fails at start-up.
 */
export function createDiscoverySources(settings: DiscoverySettings): DiscoverySource[] {
  const sources: DiscoverySource[] = [];
  const command = settings.env[REMOTE_WORKER_COMMAND_ENV];
  if (command !== undefined && command.trim() !== '') {
    sources.push(commandSource(command, { ...settings.command, env: settings.command?.env ?? settingsEnv(settings.env) }));
  }
  const workers = (settings.workers ?? []).filter((w) => w.trim() !== '');
  if (workers.length > 0) sources.push(staticSource(workers));
  if (settings.relayUrl !== undefined && settings.relayUrl.trim() !== '') {
    sources.push(relaySource(settings.relayUrl, settings.log ? { log: settings.log } : {}));
  }
  if (settings.dnsName !== undefined && settings.dnsName.trim() !== '') {
    sources.push(dnsSource(settings.dnsName, settings.dnsPort, settings.dnsResolver ? { resolver: settings.dnsResolver } : {}));
  }
  return sources;
}

function settingsEnv(env: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
