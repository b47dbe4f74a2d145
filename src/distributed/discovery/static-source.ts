/** A fixed worker list, from `--workers host:port,host:port`. */
import type { DiscoverySource } from '../worker-pool.js';
import { parseWorkerAddresses, type WorkerAddress } from './worker-list.js';

/**
 * A discovery source that always answers the given workers. Strings are
 * parsed with {@link parseWorkerAddresses} (`host:port`, `[v6]:port`, comma
 * lists, port 9002 when omitted); a malformed entry throws RangeError here,
 * at start-up, not at the first reconstruction.
 */
export function staticSource(list: readonly (string | WorkerAddress)[], name = 'static'): DiscoverySource {
  const workers: WorkerAddress[] = [];
  for (const entry of list) {
    if (typeof entry === 'string') workers.push(...parseWorkerAddresses([entry]));
    else workers.push({ host: entry.host, port: entry.port });
  }
  return {
    name,
    discover: () => Promise.resolve(workers.map((w) => ({ ...w }))),
  };
}
