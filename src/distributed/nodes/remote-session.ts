/**
 * One connection to a worker, speaking the Gadgetron protocol as a client:
 * CONFIG (the inner stream as a version 2 configuration) and HEADER first,
 * then the job's messages through the node's writers, CLOSE at the end; the
 * worker's messages come back through the node's readers until its CLOSE.
 *
 * A worker's `[…] ERROR …` TEXT, an ERROR message, a message id the node has
 * no reader for, or a hang-up without CLOSE is a {@link WorkerError}. The
 * session tracks progress (bytes from the worker, our writes draining) so a
 * watchdog can tell a hung worker from one that is merely waiting for input.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Message } from '../../ismrmrd/messages.js';
import { encodeClose, encodeConfigScript, encodeHeader, FrameDecoder, messageIdName, ProtocolError, type ProtocolLimits } from '../../protocol/index.js';
import type { WorkerConnector, WorkerEndpoint, WorkerTransport } from './types.js';
import { encodeForWorker, messageOfFrame, type WireLink } from './wire.js';

/** Why a worker could not finish a job; `kind` says whether to blame the connect, a timeout or the worker. */
export class WorkerError extends Error {
  override readonly name = 'WorkerError';
  readonly code = 'WORKER_FAILED';
  constructor(readonly kind: 'connect' | 'timeout' | 'failed', message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The transport over a connected socket to `endpoint` (plain or TLS). */
export function socketTransport(socket: Socket, endpoint: WorkerEndpoint): WorkerTransport {
  return {
    incoming: socket as AsyncIterable<Uint8Array>,
    async write(chunks) {
      for (const chunk of chunks) {
        if (socket.destroyed) throw new WorkerError('failed', `Cannot send to worker ${endpoint.id}: the connection is closed`);
        if (!socket.write(chunk)) {
          await new Promise<void>((done) => {
            const finish = (): void => {
              socket.off('drain', finish);
              socket.off('close', finish);
              done();
            };
            socket.on('drain', finish);
            socket.on('close', finish);
          });
        }
      }
    },
    end: () => socket.end(),
    destroy: (error) => socket.destroy(error),
  };
}

/** Opens TCP connections to workers. */
export const tcpConnector: WorkerConnector = (endpoint, timeoutMs) => new Promise<WorkerTransport>((resolve, reject) => {
  const socket = connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
  const timer = setTimeout(() => {
    socket.destroy();
    reject(new WorkerError('connect', `Cannot connect to worker ${endpoint.id}: no answer within ${timeoutMs} ms`));
  }, timeoutMs);
  socket.once('error', (err: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    reject(new WorkerError('connect', `Cannot connect to worker ${endpoint.id}: ${err.code ?? err.message}`));
  });
  socket.once('connect', () => {
    clearTimeout(timer);
    socket.removeAllListeners('error');
    socket.on('error', () => undefined);
    resolve(socketTransport(socket, endpoint));
  });
});

/** What a session needs to start. */
export interface RemoteSessionOptions {
  endpoint: WorkerEndpoint;
  connector: WorkerConnector;
  connectTimeoutMs: number;
  /** Version 2 configuration XML of the inner stream. */
  configXml: string;
  /** ISMRMRD header XML. */
  headerXml: string;
  link: WireLink;
  limits?: Partial<ProtocolLimits>;
}

/** A live connection to one worker. */
export class RemoteSession {
  /** performance.now() of the last sign of life (connect, bytes in, a write accepted). */
  lastProgress = performance.now();
  /** Non-error TEXT messages the worker sent (warnings). */
  readonly notes: string[] = [];
  /** Bytes written to the worker (CONFIG and HEADER included) and read from it. */
  bytesSent = 0;
  bytesReceived = 0;
  private writing = 0;
  private writeChain: Promise<void> = Promise.resolve();
  private inputClosed = false;
  private finished = false;
  private failure: Error | undefined;
  private readonly decoder: FrameDecoder;

  private constructor(private readonly transport: WorkerTransport, private readonly options: RemoteSessionOptions) {
    this.decoder = new FrameDecoder(options.limits);
  }

  /** Connects and sends CONFIG and HEADER; a failure to connect is a WorkerError of kind 'connect'. */
  static async open(options: RemoteSessionOptions): Promise<RemoteSession> {
    let transport: WorkerTransport;
    try {
      transport = await options.connector(options.endpoint, options.connectTimeoutMs);
    } catch (err) {
      if (err instanceof WorkerError) throw err;
      throw new WorkerError('connect', `Cannot connect to worker ${options.endpoint.id}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const session = new RemoteSession(transport, options);
    await session.write([...encodeConfigScript(options.configXml), ...encodeHeader(options.headerXml)]);
    return session;
  }

  /** The worker's id. */
  get worker(): string {
    return this.options.endpoint.id;
  }

  /** True while the worker owes us progress: a write is waiting for it, or our input is closed and its CLOSE has not come. */
  get owesProgress(): boolean {
    return !this.finished && (this.writing > 0 || this.inputClosed);
  }

  /** Sends one message through the node's writers; false when no writer takes its kind. */
  async send(message: Message): Promise<boolean> {
    const chunks = encodeForWorker(message, this.options.link);
    if (!chunks) return false;
    await this.write(chunks);
    return true;
  }

  /** Sends CLOSE: the job's input is complete. */
  async closeInput(): Promise<void> {
    if (this.inputClosed) return;
    if (!this.owesProgress) this.lastProgress = performance.now();
    this.inputClosed = true;
    await this.write(encodeClose());
  }

  /** Marks that the worker owes replies even before our input closes (puredistributed jobs). */
  touch(): void {
    this.lastProgress = performance.now();
  }

  /**
   * The worker's messages until its CLOSE. Throws a WorkerError when the worker
   * reports an error, sends a message the node has no reader for, hangs up
   * without CLOSE, or the session is destroyed.
   */
  async *messages(): AsyncGenerator<Message> {
    const errors: string[] = [];
    try {
      for await (const chunk of this.transport.incoming) {
        this.lastProgress = performance.now();
        this.bytesReceived += chunk.length;
        for (const frame of this.decoder.push(chunk)) {
          if (frame.kind === 'close') {
            if (errors.length > 0) throw new WorkerError('failed', `Worker ${this.worker} reported: ${errors.join('; ')}`);
            this.finished = true;
            this.transport.end();
            return;
          }
          if (frame.kind === 'text') {
            if (/\bERROR\b/.test(frame.text)) throw new WorkerError('failed', `Worker ${this.worker} reported: ${frame.text.trim()}`);
            this.notes.push(frame.text.trim());
            continue;
          }
          if (frame.kind === 'error') {
            errors.push(frame.text.trim());
            continue;
          }
          const data = messageOfFrame(frame);
          if (!data || !this.options.link.readerIds.has(data.id)) {
            const id = data?.id;
            throw new WorkerError('failed', `Worker ${this.worker} sent ${id === undefined ? frame.kind : `message id ${id} (${messageIdName(id) ?? 'unknown'})`}, which the node has no reader for`);
          }
          yield data.message;
        }
        if (this.decoder.errored) throw this.decoder.errored;
      }
    } catch (err) {
      throw this.failure ?? (err instanceof WorkerError ? err
        : new WorkerError('failed', `Connection to worker ${this.worker} broke: ${err instanceof ProtocolError || err instanceof Error ? err.message : String(err)}`, { cause: err }));
    }
    throw this.failure ?? new WorkerError('failed', `Worker ${this.worker} closed the connection without CLOSE`);
  }

  /** Tears the connection down; a running `messages()` throws `error`. */
  destroy(error?: WorkerError): void {
    if (error && !this.failure) this.failure = error;
    this.finished = true;
    this.transport.destroy(error);
  }

  /** Writes one message's chunks after those of earlier calls, so concurrent senders never interleave frames. */
  private write(chunks: readonly Uint8Array[]): Promise<void> {
    if (!this.owesProgress) this.lastProgress = performance.now();
    this.writing += 1;
    const next = this.writeChain.then(async () => {
      try {
        await this.transport.write(chunks);
        this.lastProgress = performance.now();
        for (const chunk of chunks) this.bytesSent += chunk.length;
      } catch (err) {
        throw this.failure ?? (err instanceof WorkerError ? err : new WorkerError('failed', `Cannot send to worker ${this.worker}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      } finally {
        this.writing -= 1;
      }
    });
    this.writeChain = next.catch(() => undefined);
    return next;
  }
}

/**
 * Watches sessions: one that owes progress and has shown none for
 * `timeoutMs` is destroyed with a timeout WorkerError. Returns a stop function.
 */
export function watchSessions(sessions: () => Iterable<RemoteSession>, timeoutMs: number, owes: (s: RemoteSession) => boolean = (s) => s.owesProgress): () => void {
  const period = Math.max(10, Math.min(1_000, Math.floor(timeoutMs / 4)));
  const timer = setInterval(() => {
    const now = performance.now();
    for (const session of sessions()) {
      if (owes(session) && now - session.lastProgress > timeoutMs) {
        session.destroy(new WorkerError('timeout', `Worker ${session.worker} made no progress for ${(timeoutMs / 1000).toFixed(1)} s`));
      }
    }
  }, period);
  return () => clearInterval(timer);
}
