/**
 * Is a discovered worker address this very server? A server that is both
 * gateway and worker (every Gantry server is) must not send jobs to itself
 * over TCP: that wastes a hop, and with `use_this_node_for_compute=false` it
 * would compute in the gateway although the config says not to.
 *
 * The listening host alone does not tell: in a Kubernetes pod the server
 * binds 0.0.0.0 while the headless service lists the pod's IP. So an address
 * is this server when its port is one this server listens on and its host
 * is one the server is reachable at:
 *
 * - bound to a wildcard (`0.0.0.0`, `::`, empty): any address of this
 *   machine's interfaces (os.networkInterfaces(), IPv6 zones dropped), the
 *   loopback names, the machine's host name, and `POD_IP` / `POD_IPS`
 *   (Kubernetes downward API; POD_IPS is comma-separated) when set;
 * - bound to a loopback address: any loopback address or name;
 * - bound to one other address: that address only (nothing else reaches
 *   the server).
 *
 * IPv4-mapped IPv6 addresses (`::ffff:10.0.0.5`) compare as their IPv4
 * form; hosts compare case-insensitively without brackets.
 */
import { hostname, networkInterfaces } from 'node:os';
import { normalizeHost } from './discovery/worker-list.js';

/** An endpoint this server listens on. */
export interface ListeningEndpoint {
  host: string;
  port: number;
}

/** What the machine says about itself (injectable for tests). */
export interface LocalIdentity {
  /** Addresses of the machine's network interfaces. */
  interfaceAddresses: () => string[];
  /** The machine's host name. */
  hostname: () => string;
  /** Environment read for POD_IP / POD_IPS. */
  env: Readonly<Record<string, string | undefined>>;
}

/** The identity of the running machine: os.networkInterfaces(), os.hostname() and process.env. */
export function machineIdentity(env: Readonly<Record<string, string | undefined>> = process.env): LocalIdentity {
  return {
    interfaceAddresses: () => Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((info) => info.address)),
    hostname,
    env,
  };
}

const WILDCARDS = new Set(['', '0.0.0.0', '::', '*', '0:0:0:0:0:0:0:0']);
const LOOPBACK_NAMES = new Set(['localhost', 'ip6-localhost', 'ip6-loopback', '::1', '0:0:0:0:0:0:0:1']);

/** A host in the form hosts are compared in: lower case, no brackets, no IPv6 zone, IPv4-mapped IPv6 as IPv4. */
export function canonicalHost(host: string): string {
  const bare = normalizeHost(host).replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  return mapped ? (mapped[1] as string) : bare;
}

/** Whether a (canonical) host is a loopback address or name. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** POD_IP and POD_IPS (comma-separated), canonical. */
function podAddresses(env: Readonly<Record<string, string | undefined>>): string[] {
  return [env['POD_IP'] ?? '', ...(env['POD_IPS'] ?? '').split(',')].map(canonicalHost).filter((h) => h !== '');
}

/** Every host this machine is reachable at: interface addresses, loopback names, host name, POD_IP/POD_IPS. */
export function ownHosts(identity: LocalIdentity): Set<string> {
  const hosts = new Set<string>(LOOPBACK_NAMES);
  hosts.add(canonicalHost(identity.hostname()));
  for (const address of identity.interfaceAddresses()) hosts.add(canonicalHost(address));
  for (const address of podAddresses(identity.env)) hosts.add(address);
  hosts.delete('');
  return hosts;
}

/**
 * A predicate telling whether `host:port` is this server, listening on
 * `listening` (see the module comment). The machine's addresses are read
 * once, when the predicate is made.
 */
export function selfMatcher(listening: readonly ListeningEndpoint[], identity: LocalIdentity = machineIdentity()): (host: string, port: number) => boolean {
  if (listening.length === 0) return () => false;
  const bound = listening.map((l) => ({ host: canonicalHost(l.host), port: l.port }));
  const own = bound.some((b) => WILDCARDS.has(b.host)) ? ownHosts(identity) : new Set<string>();
  return (rawHost, port) => {
    const host = canonicalHost(rawHost);
    return bound.some((b) => {
      if (b.port !== port) return false;
      if (b.host === host) return true;
      if (WILDCARDS.has(b.host)) return own.has(host) || isLoopbackHost(host);
      return isLoopbackHost(b.host) && isLoopbackHost(host);
    });
  };
}
