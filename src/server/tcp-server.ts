/**
 * The Gadgetron-protocol TCP server: accepts connections, runs one isolated
 * session each, refuses clients beyond the session limit with a clear error,
 * and drains running sessions on shutdown.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import { encodeClose, encodeText } from '../protocol/index.js';
import { createTlsSessionServer, tlsOnlyConnectionHandler, type TlsServerSettings } from './tls-listener.js';
import { PROOF_FAILURE_TEXT, readWorkerProof, type WorkerProofVerifier } from './worker-auth.js';
import { runSession, type SessionOptions, type SessionSummary } from './session.js';
import { SessionRegistry } from '../observe/session-registry.js';
import { runInSessionScope } from './crash-guard.js';

/** Server settings. */
export interface TcpServerOptions extends SessionOptions {
  host: string;
  port: number;
  /** Sessions allowed at once; further clients get an error and are closed. */
  maxSessions: number;
  /** Called when a session ends (metrics, tests). */
  onSessionEnd?: (summary: SessionSummary) => void;
  /** Where sessions are recorded for the HTTP side (default: a registry of its own). */
  sessionRegistry?: SessionRegistry;
  /** A second listener speaking the same protocol inside TLS (same sessions, limit and drain); the plain port stays. */
  tls?: TlsListenerOptions;
  /** TLS on the main data port itself: it then takes TLS connections only (plain clients get a clear error). */
  dataTls?: TlsServerSettings;
  /** Sessions on the main data port must first prove the worker secret (gateway→worker links; the `tls` listener is exempt). */
  workerProof?: WorkerProofVerifier;
}

/** The extra TLS listener: where it binds, plus certificate and key and/or pre-shared keys; with `clientCa`, clients must present a certificate it signed. */
export interface TlsListenerOptions extends TlsServerSettings {
  host: string;
  port: number;
}

/** After the drain timeout, how long cut sessions get to send their error text and CLOSE before their connections are dropped (ms). */
export const DRAIN_CUT_GRACE_MS = 5_000;

/** A running Gantry TCP server. */
export class GantryTcpServer {
  private readonly server: Server;
  private readonly sessions = new Set<Promise<unknown>>();
  private readonly sockets = new Set<Socket>();
  private nextId = 1;
  /** Sessions, their images and counters (the HTTP API and metrics read it). */
  readonly registry: SessionRegistry;
  private drainCut = false;
  /** Aborted when the drain timeout passes: each running session sends an error text and CLOSE, then ends. */
  private readonly cut = new AbortController();
  private readonly closeHooks: (() => Promise<void>)[] = [];
  private readonly closeStartHooks: (() => Promise<void>)[] = [];

  private readonly tlsServer: Server | undefined;
  /** The TLS side of a TLS-only data port (fed by the plain listener, never listening itself). */
  private readonly dataTlsServer: TlsServer | undefined;

  constructor(private readonly options: TcpServerOptions) {
    this.registry = options.sessionRegistry ?? new SessionRegistry({ log: options.log });
    const onData = (socket: Socket): void => this.admitOnDataPort(socket);
    if (options.dataTls) this.dataTlsServer = createTlsSessionServer(options.dataTls, onData, options.log, 'data');
    this.server = createServer({ noDelay: true, allowHalfOpen: true },
      this.dataTlsServer ? tlsOnlyConnectionHandler(this.dataTlsServer, options.log) : onData);
    this.server.on('error', (err) => options.log.error('server error', { error: err.message }));
    if (options.tls) this.tlsServer = createTlsSessionServer(options.tls, (socket) => this.accept(socket), options.log, 'tls-port');
    // connections still in their TLS handshake or worker proof are dropped at shutdown too
    for (const server of [this.server, this.tlsServer]) {
      server?.on('connection', (socket: Socket) => {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
      });
    }
  }

  /** True when the main data port takes TLS only. */
  get dataPortTls(): boolean {
    return this.dataTlsServer !== undefined;
  }

  /** A connection on the main data port: with a worker secret, only after its proof. */
  private admitOnDataPort(socket: Socket): void {
    const verifier = this.options.workerProof;
    if (!verifier) {
      this.accept(socket);
      return;
    }
    socket.on('error', () => undefined);
    void readWorkerProof(socket, verifier).then((outcome) => {
      if (outcome.ok) {
        this.accept(socket);
        socket.resume();
        return;
      }
      if (outcome.probe) this.options.log.debug('worker probe', { ...(socket.remoteAddress ? { remote: socket.remoteAddress } : {}) });
      else this.options.log.warn('refusing a session without the worker secret', { reason: outcome.failure, ...(socket.remoteAddress ? { remote: socket.remoteAddress } : {}) });
      if (!socket.destroyed) {
        const text = `[Connection Main Thread] ERROR: Not authorised: ${PROOF_FAILURE_TEXT[outcome.failure]}. Connection closed.`;
        for (const chunk of outcome.probe ? encodeClose() : [...encodeText(text), ...encodeClose()]) socket.write(chunk);
        socket.end();
        setTimeout(() => socket.destroy(), 2000).unref();
      }
    });
  }

  /** The TLS listener's address once listening (undefined without TLS). */
  get tlsAddress(): AddressInfo | undefined {
    return (this.tlsServer?.address() ?? undefined) as AddressInfo | undefined;
  }

  /** Number of sessions running now. */
  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Sessions allowed at once. */
  get maxSessions(): number {
    return this.options.maxSessions;
  }

  /** True once `close` was called (the server drains and takes no new sessions). */
  get draining(): boolean {
    return this.registry.draining;
  }

  /** Runs `hook` at the end of `close`, after the sessions have drained (e.g. to stop the HTTP side). */
  onClose(hook: () => Promise<void>): void {
    this.closeHooks.push(hook);
  }

  /**
   * Sets the worker pool and settings that distributed nodes of new sessions
   * use (the pool needs the bound port, so it is made after `listen`).
   */
  setDistribution(distribution: TcpServerOptions['distribution']): void {
    this.options.distribution = distribution;
  }

  /** Runs `hook` when `close` starts, before draining (e.g. leaving a relay so that no new work arrives). */
  onCloseStart(hook: () => Promise<void>): void {
    this.closeStartHooks.push(hook);
  }

  /** Starts listening (and the TLS listener, when set); resolves with the plain listener's address. */
  async listen(): Promise<AddressInfo> {
    const listenOn = (server: Server, port: number, host: string): Promise<void> => new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    await listenOn(this.server, this.options.port, this.options.host);
    if (this.tlsServer && this.options.tls) await listenOn(this.tlsServer, this.options.tls.port, this.options.tls.host);
    return this.server.address() as AddressInfo;
  }

  /**
   * Stops accepting (readiness false and the listener closed at once, before
   * the close-start hooks); waits up to `drainMs` for running sessions; then
   * cuts the rest: each gets an error text and CLOSE (up to `cutGraceMs` more
   * to deliver them) before its connection is dropped.
   */
  async close(drainMs = 30_000, cutGraceMs = DRAIN_CUT_GRACE_MS): Promise<void> {
    this.registry.setDraining(true);
    const closed = Promise.all([this.server, ...(this.tlsServer?.listening ? [this.tlsServer] : [])]
      .map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const hook of this.closeStartHooks.splice(0)) await hook().catch(() => undefined);
    const drained = Promise.allSettled([...this.sessions]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainMs);
    });
    await Promise.race([drained, timeout]);
    if (timer) clearTimeout(timer);
    if (this.sessions.size > 0) {
      this.drainCut = true;
      this.options.log.warn('drain timeout: stopping the sessions still running', { sessions: this.sessions.size, drainMs });
      this.cut.abort(new Error(`Server shutting down: the session did not finish within the drain timeout (${drainMs} ms) and was stopped; send the data again`));
      const told = Promise.allSettled([...this.sessions]);
      let graceTimer: NodeJS.Timeout | undefined;
      await Promise.race([told, new Promise<void>((resolve) => {
        graceTimer = setTimeout(resolve, cutGraceMs);
      })]);
      if (graceTimer) clearTimeout(graceTimer);
    }
    for (const socket of this.sockets) socket.destroy();
    await closed;
    for (const hook of this.closeHooks) await hook();
  }

  private accept(socket: Socket): void {
    const id = this.nextId++;
    const log = this.options.log.child({ session: id });
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.sessions.size >= this.options.maxSessions) {
      log.warn('refusing connection: session limit reached', { limit: this.options.maxSessions });
      this.registry.refused();
      const text = `[Connection Main Thread] ERROR: Server busy: ${this.options.maxSessions} sessions are running; try again later`;
      socket.on('error', () => undefined);
      for (const chunk of [...encodeText(text), ...encodeClose()]) socket.write(chunk);
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
      return;
    }
    log.info('session started', { remote: socket.remoteAddress });
    const started = Date.now();
    const record = this.registry.open({ connection: id, ...(socket.remoteAddress ? { remote: socket.remoteAddress } : {}) });
    // errors this session's code throws outside its pipeline (timers, stray promises) stop only this session (crash-guard.ts)
    const failed = new AbortController();
    const session = runInSessionScope({ id, fail: (error) => failed.abort(error) }, () => runSession(socket, {
      ...this.options, log, observer: record, jobObserver: (worker, job) => record.job(worker, job), shutdownSignal: this.cut.signal, failSignal: failed.signal,
    }));
    const run = session
      .then((summary) => {
        record.end(summary, this.drainCut);
        log.info('session ended', {
          outcome: summary.outcome, images: summary.images, ms: Date.now() - started,
          ...(summary.jobs.length > 0 ? { jobs: summary.jobs.length, workers: jobsByWorker(summary) } : {}),
        });
        this.options.onSessionEnd?.(summary);
      })
      .catch((err: unknown) => {
        log.error('session crashed', { error: err instanceof Error ? err.message : String(err) });
        record.end({ outcome: 'error' }, this.drainCut);
        socket.destroy();
      })
      .finally(() => {
        this.sessions.delete(run);
      });
    this.sessions.add(run);
  }
}

/** Completed jobs per worker of a session, e.g. { "127.0.0.1:9003": 3, local: 1 }. */
function jobsByWorker(summary: SessionSummary): Record<string, number> {
  const out: Record<string, number> = {};
  for (const job of summary.jobs) if (job.outcome === 'ok') out[job.worker] = (out[job.worker] ?? 0) + 1;
  return out;
}
