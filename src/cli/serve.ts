/**
 * Starts a Gantry server with embedded defaults.
 */
import { createDiscoverySources } from '../distributed/discovery/index.js';
import { startRelayRegistration } from '../distributed/relay/index.js';
import { createWorkerPool } from '../distributed/worker-pool.js';
import { defaultRegistry } from '../gadgets/index.js';
import { mergeProtocolLimits, type ProtocolLimits } from '../protocol/index.js';
import { mergeSessionLimits, type SessionLimits } from '../protocol/limits.js';
import { GantryTcpServer, type TlsListenerOptions } from '../server/tcp-server.js';
import type { TlsServerSettings } from '../server/tls-listener.js';
import type { WorkerProofVerifier } from '../server/worker-auth.js';
import type { WorkerConnector } from '../distributed/nodes/types.js';
import type { HttpAuthOptions } from '../http/auth.js';
import type { DependencyStore } from '../storage/types.js';
import type { Logger } from '../util/logger.js';
import { GantryHttpServer } from '../http/server.js';
import { SessionRegistry } from '../observe/session-registry.js';
import { buildInfo } from '../server/queries.js';
import { storageStats } from '../storage/instrumented-store.js';

/** What `startServer` needs; everything else has a default. */
export interface StartServerOptions {
  host: string;
  port: number;
  configDirs: string[];
  log: Logger;
  maxSessions?: number;
  idleTimeoutMs?: number;
  channelCapacity?: number;
  /** Slices (buckets, recon buffers) one pipeline chain holds at once (`--slices-in-flight`, default 2). */
  slicesInFlight?: number;
  lingerMs?: number;
  limits?: Partial<ProtocolLimits>;
  /** Per-session byte and memory budgets and timeouts (`--session-max-bytes`, `--connect-timeout`, …). */
  sessionLimits?: Partial<SessionLimits>;
  /** Where measurement dependencies are saved and loaded (none: unavailable). */
  storage?: DependencyStore;
  /** Stream parameters given to every session (`--parameter name=value`). */
  parameters?: ReadonlyMap<string, string>;
  /** Worker discovery and distributed-job settings; absent = distributed nodes compute in-process. */
  distribution?: ServeDistributionOptions;
  /** The HTTP side (health, metrics, API, web page); absent = none. */
  http?: ServeHttpOptions;
  /** A TLS listener beside the plain port (`--tls-port`); absent = none. */
  tls?: TlsListenerOptions;
  /** TLS on the data port itself (TLS flags without `--tls-port`); absent = plain TCP. */
  dataTls?: TlsServerSettings;
  /** Sessions on the data port must prove the worker secret (`--worker-secret-file`); absent = open. */
  workerProof?: WorkerProofVerifier;
}

/** Where the HTTP side listens and what the session registry keeps. */
export interface ServeHttpOptions {
  host: string;
  port: number;
  /** Finished sessions kept for the API (default 50). */
  keepSessions?: number;
  /** Image pixel bytes kept for the viewer and downloads (default 256 MiB). */
  maxImageBytes?: number;
  /**
   * When the port is taken, listen on a free port instead (with a warning) rather
   * than fail: for the default port, so that several servers on one host (a
   * Gadgetron-style test harness) still start.
   */
  fallbackToFreePort?: boolean;
  /** HTTPS certificate and key (`--http-tls-cert/--http-tls-key`). */
  https?: { cert: Buffer; key: Buffer };
  /** Bearer tokens required by the API and page (`--http-token-file`). */
  auth?: HttpAuthOptions;
}

/** How `serve` finds workers and runs distributed jobs. */
export interface ServeDistributionOptions {
  /** Environment read for GADGETRON_REMOTE_WORKER_COMMAND. */
  env: NodeJS.ProcessEnv;
  /** Static workers (`--workers`, each `host:port[,host:port…]`). */
  workers?: string[];
  /** Relay URL or host[:port]: workers are listed from it, and this server registers with it. */
  relayUrl?: string;
  /** DNS name listing workers (`--dns-workers NAME[:PORT]`). */
  dnsName?: string;
  dnsPort?: number;
  /** Discovery period, ms (default 10 000). */
  refreshMs?: number;
  /** Relay re-registration period, ms (default 10 000). */
  relayIntervalMs?: number;
  /** A job without progress for this long is replayed elsewhere, ms (default 60 000). */
  workerTimeoutMs?: number;
  /** Connect timeout to a worker, ms (default 5000). */
  connectTimeoutMs?: number;
  /** Job input kept for replay per distributed node run, bytes (default 1 GiB). */
  jobBufferBytes?: number;
  /** Jobs one worker runs at once (default 2). */
  workerSlots?: number;
  /** How links to workers are opened (TLS, worker secret); default plain TCP. */
  connect?: WorkerConnector;
}

/** Creates, starts and returns a TCP server. */
export async function startServer(options: StartServerOptions): Promise<GantryTcpServer> {
  const server = new GantryTcpServer({
    host: options.host,
    port: options.port,
    configDirs: options.configDirs,
    registry: defaultRegistry(),
    limits: mergeProtocolLimits(options.limits),
    sessionLimits: mergeSessionLimits(options.sessionLimits),
    channelCapacity: options.channelCapacity ?? 64,
    ...(options.slicesInFlight === undefined ? {} : { slicesInFlight: options.slicesInFlight }),
    idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
    lingerMs: options.lingerMs ?? 5_000,
    maxSessions: options.maxSessions ?? 64,
    log: options.log,
    ...(options.storage ? { storage: options.storage } : {}),
    ...(options.parameters ? { parameters: options.parameters } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.dataTls ? { dataTls: options.dataTls } : {}),
    ...(options.workerProof ? { workerProof: options.workerProof } : {}),
    sessionRegistry: new SessionRegistry({
      log: options.log,
      ...(options.http?.keepSessions === undefined ? {} : { keepSessions: options.http.keepSessions }),
      ...(options.http?.maxImageBytes === undefined ? {} : { maxImageBytes: options.http.maxImageBytes }),
    }),
  });
  if (options.http) await startHttp(server, options.http, options.log);
  const address = await server.listen();
  if (options.distribution) setUpDistribution(server, options.distribution, options, address.port);
  options.log.info('gantry listening', {
    host: address.address, port: address.port,
    ...(options.dataTls ? { tls: true } : {}), ...(options.workerProof ? { workerSecret: true } : {}),
  });
  const tlsAddress = server.tlsAddress;
  if (tlsAddress) options.log.info('gantry tls listening', { host: tlsAddress.address, port: tlsAddress.port, clientCertificates: options.tls?.clientCa !== undefined });
  return server;
}

/** Creates the server-wide worker pool (and relay registration) once the port is known. */
function setUpDistribution(server: GantryTcpServer, d: ServeDistributionOptions, options: StartServerOptions, port: number): void {
  const log = options.log.child({ component: 'distribution' });
  const sources = createDiscoverySources({
    env: d.env,
    ...(d.workers ? { workers: d.workers } : {}),
    ...(d.relayUrl ? { relayUrl: d.relayUrl } : {}),
    ...(d.dnsName ? { dnsName: d.dnsName } : {}),
    ...(d.dnsPort === undefined ? {} : { dnsPort: d.dnsPort }),
    log,
  });
  const pool = createWorkerPool({ sources, refreshMs: d.refreshMs ?? 10_000, log, self: [{ host: options.host, port }] });
  server.setDistribution({
    pool,
    connectTimeoutMs: d.connectTimeoutMs ?? 5_000,
    workerTimeoutMs: d.workerTimeoutMs ?? 60_000,
    jobBufferBytes: d.jobBufferBytes ?? 1024 * 1024 * 1024,
    workerSlots: d.workerSlots ?? 2,
    ...(d.connect ? { connect: d.connect } : {}),
  });
  server.registry.setWorkerSource(pool);
  if (sources.length > 0) log.info('worker discovery', { sources: sources.map((s) => s.name) });
  if (d.relayUrl) {
    const registration = startRelayRegistration({ relayUrl: d.relayUrl, port, intervalMs: d.relayIntervalMs ?? 10_000, log });
    server.onCloseStart(() => registration.stop());
  }
  server.onClose(() => pool.close());
}

/** Starts the HTTP side over the server's session registry; it stops after the sessions drain. */
async function startHttp(server: GantryTcpServer, http: ServeHttpOptions, log: Logger): Promise<GantryHttpServer> {
  const info = buildInfo();
  const make = (port: number): GantryHttpServer => new GantryHttpServer({
    host: http.host,
    port,
    sessions: server.registry,
    readiness: server,
    log,
    build: { version: info.gantryVersion, commit: info.gitSha },
    storage: storageStats,
    ...(http.https ? { https: http.https } : {}),
    ...(http.auth ? { auth: http.auth } : {}),
  });
  let httpServer = make(http.port);
  try {
    await httpServer.listen();
  } catch (err) {
    if (!http.fallbackToFreePort || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    log.warn('http port in use; listening on a free port instead', { port: http.port });
    await httpServer.close().catch(() => undefined);
    httpServer = make(0);
    await httpServer.listen();
  }
  server.onClose(() => httpServer.close());
  return httpServer;
}
