/**
 * A client-side Gadgetron protocol connection: connect with a timeout, send
 * frames with backpressure, and receive decoded frames as an async stream.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { FrameDecoder, type Frame, type ProtocolLimits } from '../protocol/index.js';

/** Options for {@link GadgetronConnection.open}. */
export interface ConnectOptions {
  host: string;
  port: number;
  /** Connect timeout in ms. */
  timeoutMs?: number;
  limits?: Partial<ProtocolLimits>;
}

/** An open connection to a Gadgetron-protocol server. */
export class GadgetronConnection {
  private readonly decoder: FrameDecoder;

  private constructor(readonly socket: Socket, limits?: Partial<ProtocolLimits>) {
    this.decoder = new FrameDecoder(limits);
  }

  /** Connects, failing with a clear error after `timeoutMs`. */
  static async open(options: ConnectOptions): Promise<GadgetronConnection> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const socket = connect({ host: options.host, port: options.port, noDelay: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`Cannot connect to ${options.host}:${options.port}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        socket.once('connect', () => resolve());
        socket.once('error', (err: NodeJS.ErrnoException) => {
          reject(new Error(`Cannot connect to ${options.host}:${options.port}: ${err.code ?? err.message}`));
        });
      });
    } finally {
      if (timer) clearTimeout(timer);
    }
    return new GadgetronConnection(socket, options.limits);
  }

  /** Writes chunks, waiting for the socket to drain when its buffer is full. */
  async send(chunks: readonly Uint8Array[]): Promise<void> {
    for (const chunk of chunks) {
      if (this.socket.destroyed) throw new Error('Cannot send: the connection was closed by the server');
      if (!this.socket.write(chunk)) {
        await Promise.race([once(this.socket, 'drain'), once(this.socket, 'close')]);
      }
    }
  }

  /** Decoded frames from the server until the connection ends. */
  async *frames(): AsyncGenerator<Frame> {
    for await (const chunk of this.socket as AsyncIterable<Buffer>) {
      for (const frame of this.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) yield frame;
    }
    this.decoder.end();
  }

  /** Closes the connection. */
  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}
