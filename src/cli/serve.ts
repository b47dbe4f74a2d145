/**
 * Starts a Gantry server with embedded defaults.
 */
import { defaultRegistry } from '../gadgets/index.js';
import { mergeProtocolLimits, type ProtocolLimits } from '../protocol/index.js';
import { GantryTcpServer } from '../server/tcp-server.js';
import type { DependencyStore } from '../storage/types.js';
import type { Logger } from '../util/logger.js';

/** What `startServer` needs; everything else has a default. */
export interface StartServerOptions {
  host: string;
  port: number;
  configDirs: string[];
  log: Logger;
  maxSessions?: number;
  idleTimeoutMs?: number;
  channelCapacity?: number;
  lingerMs?: number;
  limits?: Partial<ProtocolLimits>;
  /** Where measurement dependencies are saved and loaded (none: unavailable). */
  storage?: DependencyStore;
  /** Stream parameters given to every session (`--parameter name=value`). */
  parameters?: ReadonlyMap<string, string>;
}

/** Creates, starts and returns a TCP server. */
export async function startServer(options: StartServerOptions): Promise<GantryTcpServer> {
  const server = new GantryTcpServer({
    host: options.host,
    port: options.port,
    configDirs: options.configDirs,
    registry: defaultRegistry(),
    limits: mergeProtocolLimits(options.limits),
    channelCapacity: options.channelCapacity ?? 64,
    idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
    lingerMs: options.lingerMs ?? 5_000,
    maxSessions: options.maxSessions ?? 64,
    log: options.log,
    ...(options.storage ? { storage: options.storage } : {}),
    ...(options.parameters ? { parameters: options.parameters } : {}),
  });
  const address = await server.listen();
  options.log.info('gantry listening', { host: address.address, port: address.port });
  return server;
}
