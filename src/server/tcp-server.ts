/**
 * The Gadgetron-protocol TCP server: accepts connections, runs one isolated
 * session each, refuses clients beyond the session limit with a clear error,
 * and drains running sessions on shutdown.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { encodeClose, encodeText } from '../protocol/index.js';
import { runSession, type SessionOptions, type SessionSummary } from './session.js';

/** Server settings. */
export interface TcpServerOptions extends SessionOptions {
  host: string;
  port: number;
  /** Sessions allowed at once; further clients get an error and are closed. */
  maxSessions: number;
  /** Called when a session ends (metrics, tests). */
  onSessionEnd?: (summary: SessionSummary) => void;
}

/** A running Gantry TCP server. */
export class GantryTcpServer {
  private readonly server: Server;
  private readonly sessions = new Set<Promise<unknown>>();
  private readonly sockets = new Set<Socket>();
  private nextId = 1;

  constructor(private readonly options: TcpServerOptions) {
    this.server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => options.log.error('server error', { error: err.message }));
  }

  /** Number of sessions running now. */
  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Starts listening; resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /** Stops accepting; waits up to `drainMs` for running sessions, then cuts the rest. */
  async close(drainMs = 30_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const drained = Promise.allSettled([...this.sessions]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainMs);
    });
    await Promise.race([drained, timeout]);
    if (timer) clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private accept(socket: Socket): void {
    const id = this.nextId++;
    const log = this.options.log.child({ session: id });
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.sessions.size >= this.options.maxSessions) {
      log.warn('refusing connection: session limit reached', { limit: this.options.maxSessions });
      const text = `[Connection Main Thread] ERROR: Server busy: ${this.options.maxSessions} sessions are running; try again later`;
      socket.on('error', () => undefined);
      for (const chunk of [...encodeText(text), ...encodeClose()]) socket.write(chunk);
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
      return;
    }
    log.info('session started', { remote: socket.remoteAddress });
    const started = Date.now();
    const run = runSession(socket, { ...this.options, log })
      .then((summary) => {
        log.info('session ended', { outcome: summary.outcome, images: summary.images, ms: Date.now() - started });
        this.options.onSessionEnd?.(summary);
      })
      .catch((err: unknown) => {
        log.error('session crashed', { error: err instanceof Error ? err.message : String(err) });
        socket.destroy();
      })
      .finally(() => {
        this.sessions.delete(run);
      });
    this.sessions.add(run);
  }
}
