/**
 * Workers from DNS, e.g. a Kubernetes headless service (one A/AAAA record
 * per ready pod, and SRV records `_<port-name>._tcp.<service>` for named
 * ports). Uses c-ares queries (node:dns `Resolver`), not getaddrinfo, so
 * every record comes back; the resolver is injectable for tests.
 *
 * Lookup rules:
 * - a name starting with `_` is an SRV name: its targets and ports;
 * - a name with an explicit port: its A and AAAA records on that port;
 * - a name without a port: SRV `_gadgetron._tcp.<name>` when it exists,
 *   else its A and AAAA records on port 9002.
 * When the DNS queries give no address for a name (or fail), the system
 * resolver (getaddrinfo: /etc/hosts, resolv.conf search domains) is asked
 * too, so `localhost` and short service names (`gantry-workers`, as in a pod)
 * work as they do for every other program.
 * "No such name" and "no records" answers mean no workers (an empty list);
 * other DNS failures throw DiscoveryError.
 */
import { lookup as systemLookup, Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { DiscoverySource } from '../worker-pool.js';
import { DiscoveryError } from './errors.js';
import { DEFAULT_WORKER_PORT, endpointId, type WorkerAddress } from './worker-list.js';

/** One SRV record, as node:dns returns it. */
export interface SrvAnswer {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

/** The DNS queries the source needs (node:dns/promises `Resolver` satisfies it). */
export interface DnsResolver {
  resolve4(hostname: string): Promise<string[]>;
  resolve6(hostname: string): Promise<string[]>;
  resolveSrv(hostname: string): Promise<SrvAnswer[]>;
  /** The system resolver (getaddrinfo), asked when the queries find no address; absent = not asked. */
  lookup?(hostname: string): Promise<string[]>;
}

/** getaddrinfo through node:dns `lookup`, every address. */
export async function lookupAll(hostname: string): Promise<string[]> {
  return (await systemLookup(hostname, { all: true, verbatim: true })).map((a) => a.address);
}

/** Options of {@link dnsSource}. */
export interface DnsSourceOptions {
  /** Resolver to use (tests); default a fresh node:dns Resolver per discovery, cancelled on abort. */
  resolver?: DnsResolver;
  /** Deadline of one discovery in ms (default 5000). */
  timeoutMs?: number;
  /** SRV service label tried for names without a port (default "gadgetron" → `_gadgetron._tcp.<name>`). */
  srvService?: string;
  /** DNS servers to ask instead of the system's (`ip` or `ip:port`); the system resolver is then not asked either (tests). */
  servers?: string[];
  /** Source name (default "dns"). */
  name?: string;
}

const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA', 'NOTFOUND', 'NODATA']);

function isNoRecords(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NO_RECORDS.has(code);
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

async function orEmpty<T>(query: Promise<T[]>): Promise<T[]> {
  try {
    return await query;
  } catch (err) {
    if (isNoRecords(err)) return [];
    throw err;
  }
}

async function addresses(resolver: DnsResolver, name: string): Promise<string[]> {
  const family = isIP(name);
  if (family !== 0) return [name.toLowerCase()];
  const [v4, v6] = await Promise.allSettled([orEmpty(resolver.resolve4(name)), orEmpty(resolver.resolve6(name))]);
  const found = [
    ...(v4.status === 'fulfilled' ? v4.value : []),
    ...(v6.status === 'fulfilled' ? v6.value.map((a) => a.toLowerCase()) : []),
  ];
  if (found.length === 0 && resolver.lookup) {
    const system = await resolver.lookup(name).catch(() => [] as string[]);
    found.push(...system.map((a) => a.toLowerCase()));
  }
  if (found.length === 0) {
    if (v4.status === 'rejected') throw v4.reason;
    if (v6.status === 'rejected') throw v6.reason;
  }
  return found;
}

async function fromSrv(resolver: DnsResolver, srvName: string): Promise<WorkerAddress[] | undefined> {
  const records = await orEmpty(resolver.resolveSrv(srvName));
  if (records.length === 0) return undefined;
  const sorted = [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight || a.name.localeCompare(b.name));
  const out: WorkerAddress[] = [];
  for (const record of sorted) {
    if (!Number.isInteger(record.port) || record.port < 1 || record.port > 65535) continue;
    for (const host of await addresses(resolver, record.name)) out.push({ host, port: record.port });
  }
  return out;
}

/** Finds workers for `name` by the module's lookup rules with `resolver`. */
export async function discoverByDns(resolver: DnsResolver, name: string, port?: number, srvService = 'gadgetron'): Promise<WorkerAddress[]> {
  const target = name.trim().replace(/\.$/, '');
  let found: WorkerAddress[];
  if (target.startsWith('_')) {
    found = (await fromSrv(resolver, target)) ?? [];
  } else if (port !== undefined) {
    found = (await addresses(resolver, target)).map((host) => ({ host, port }));
  } else {
    const viaSrv = isIP(target) === 0 ? await fromSrv(resolver, `_${srvService}._tcp.${target}`) : undefined;
    found = viaSrv ?? (await addresses(resolver, target)).map((host) => ({ host, port: DEFAULT_WORKER_PORT }));
  }
  const seen = new Set<string>();
  return found.filter((w) => {
    const id = endpointId(w.host, w.port);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** A discovery source reading workers from DNS (see the module comment). */
export function dnsSource(name: string, port?: number, options: DnsSourceOptions = {}): DiscoverySource {
  if (!name.trim()) throw new RangeError('Cannot use DNS discovery: the name is empty');
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new RangeError(`Cannot use DNS discovery of ${name}: port ${port} is not an integer from 1 to 65535`);
  }
  const timeoutMs = options.timeoutMs ?? 5_000;
  return {
    name: options.name ?? 'dns',
    async discover(signal: AbortSignal): Promise<WorkerAddress[]> {
      const own = options.resolver ? undefined : new Resolver({ timeout: Math.max(100, Math.floor(timeoutMs / 2)), tries: 2 });
      if (own && options.servers) own.setServers(options.servers);
      const resolver: DnsResolver = options.resolver ?? {
        resolve4: (h) => own!.resolve4(h),
        resolve6: (h) => own!.resolve6(h),
        resolveSrv: (h) => own!.resolveSrv(h),
        ...(options.servers ? {} : { lookup: lookupAll }),
      };
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const stop = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DiscoveryError('DNS_FAILED', `Cannot resolve ${name}: no answer within ${timeoutMs} ms`)), timeoutMs);
        onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('discovery aborted'));
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        return await Promise.race([discoverByDns(resolver, name, port, options.srvService), stop]);
      } catch (err) {
        if (err instanceof DiscoveryError || signal.aborted) throw err;
        throw new DiscoveryError('DNS_FAILED', `Cannot resolve ${name}: ${describe(err)}`, { cause: err });
      } finally {
        clearTimeout(timer);
        if (onAbort) signal.removeEventListener('abort', onAbort);
        own?.cancel();
      }
    },
  };
}
