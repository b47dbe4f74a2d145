/**
 * One client connection speaking the Gadgetron protocol: config, header,
 * data, close. The pipeline runs while data arrives; its output is written
 * as it is produced; errors are reported as `[location] ERROR: …` texts
 * followed by CLOSE. A session never throws into the server.
 */
import type { Duplex } from 'node:stream';
import { ConfigError, loadStreamConfiguration, parseStreamConfiguration, type StreamConfiguration } from '../config/index.js';
import { Channel } from '../engine/channel.js';
import { GadgetError, PipelineBuildError } from '../engine/errors.js';
import { planPipeline, runChain, type PipelinePlan } from '../engine/pipeline.js';
import type { Registry } from '../engine/registry.js';
import type { Message } from '../ismrmrd/messages.js';
import { parseIsmrmrdHeader, type IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import {
  encodeAcquisition, encodeClose, encodeDependencyQuery, encodeDicom, encodeImage, encodeResponse, encodeText, encodeWaveform,
  FrameDecoder, ProtocolError, messageIdName, type Frame, type ProtocolLimits,
} from '../protocol/index.js';
import type { DistributionEnvironment, JobAttempt, JobRecord } from '../distributed/nodes/types.js';
import { messageOfFrame } from '../distributed/nodes/wire.js';
import { encodeBucket, encodeImageArray, encodeReconData } from '../protocol/buffer-encoder.js';
import type { DependencyStore } from '../storage/types.js';
import type { Logger } from '../util/logger.js';
import type { SessionObserver } from '../observe/types.js';
import { defaultSessionLimits, type SessionLimits } from '../protocol/limits.js';
import { answerQuery } from './queries.js';
import { SocketReader } from './socket-reader.js';
import { waitForDrain } from '../util/drain.js';

const INPUT_LOCATION = 'Connection Main Thread/Connection Input Thread';
const OUTPUT_LOCATION = 'Connection Main Thread/Connection Output Thread';
const MAIN_LOCATION = 'Connection Main Thread';
/** Job attempts a session keeps for its summary. */
const MAX_JOB_RECORDS = 10_000;

/** What a session needs from the server. */
export interface SessionOptions {
  registry: Registry;
  /** Folders searched for configs by name, in order. */
  configDirs: readonly string[];
  limits: ProtocolLimits;
  /** Per-session byte and memory budgets and timeouts (default: `defaultSessionLimits`). */
  sessionLimits?: SessionLimits;
  /** Capacity of each channel in the pipeline (messages). */
  channelCapacity: number;
  /** Slices (buckets, recon buffers) one pipeline chain holds at once (default 2; `SliceBudget`). */
  slicesInFlight?: number;
  /** Close the connection after this long without input (ms, 0 = never). */
  idleTimeoutMs: number;
  /** After the final CLOSE, how long to keep draining unread client input before hanging up (ms). */
  lingerMs: number;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** Where gadgets save and load measurement dependencies (none: dependencies are unavailable). */
  storage?: DependencyStore;
  /** Stream parameters given to every session (`--parameter name=value`). */
  parameters?: ReadonlyMap<string, string>;
  /** Workers and settings for distributed nodes (the server's pool, shared by sessions); absent = their jobs run in-process. */
  distribution?: Omit<DistributionEnvironment, 'recordJob' | 'jobStarted'>;
  /** Told of each distributed job attempt as it starts; the returned handle when it ends (the server's session registry). */
  jobObserver?: (worker: string, job: string) => { end(outcome: 'success' | 'error' | 'retried', error?: string): void };
  /** Told of state changes, traffic, output images and errors (the server's session registry). */
  observer?: SessionObserver;
  /**
   * Aborted when the server stops the session at shutdown (the drain timeout
   * passed): the session stops reading and computing, sends the signal's
   * reason as an error text, then CLOSE.
   */
  shutdownSignal?: AbortSignal;
  /**
   * Aborted when something this session started failed outside its pipeline
   * (an exception thrown in a timer or a rejected promise nobody awaited, see
   * crash-guard.ts): the session stops and sends the reason as an error text,
   * then CLOSE; other sessions go on.
   */
  failSignal?: AbortSignal;
}

/** How a session ended. */
export interface SessionSummary {
  outcome: 'ok' | 'error';
  config?: string;
  images: number;
  errors: string[];
  bytesIn: number;
  bytesOut: number;
  /** Distributed job attempts: which worker did which job, how it ended and how long it took. */
  jobs: JobRecord[];
}

/** An error already carrying its Gadgetron-style location. */
class LocatedError extends Error {
  constructor(readonly location: string, message: string) {
    super(message);
  }
}

type State = 'config' | 'header' | 'stream' | 'done';

/** Runs one session to completion over `socket`. */
export async function runSession(socket: Duplex, options: SessionOptions): Promise<SessionSummary> {
  const session = new Session(socket, options);
  return session.run();
}

class Session {
  private state: State = 'config';
  private readonly errors: LocatedError[] = [];
  private configName: string | undefined;
  private plan: PipelinePlan | undefined;
  private input: Channel<Message> | undefined;
  private pipelineDone: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private writeChain: Promise<void> = Promise.resolve();
  private images = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private socketBroken = false;
  private readonly jobs: JobRecord[] = [];
  private readonly openJobs = new Map<string, { end(outcome: 'success' | 'error' | 'retried', error?: string): void }>();
  /** Set when the server stops the session at shutdown: the one error the client is told. */
  private shutdownError: Error | undefined;
  private wakeShutdown: () => void = () => undefined;
  /** Resolves (with null) when the server stops the session at shutdown. */
  private readonly shutdown = new Promise<null>((resolve) => {
    this.wakeShutdown = () => resolve(null);
  });
  /** True once the final error texts and CLOSE are queued: nothing else is sent after them. */
  private sealed = false;
  private reader: SocketReader<Frame> | undefined;
  private readonly sessionLimits: SessionLimits;
  /** Run when the session ends: listeners it added to what outlives it. */
  private readonly cleanups: (() => void)[] = [];

  constructor(private readonly socket: Duplex, private readonly options: SessionOptions) {
    socket.on('error', (err: Error) => {
      this.socketBroken = true;
      options.log.debug('socket error', { error: err.message });
    });
    this.sessionLimits = options.sessionLimits ?? defaultSessionLimits;
    const signal = options.shutdownSignal;
    if (signal) this.listen(signal, () => this.stop(MAIN_LOCATION, signal.reason));
    const fail = options.failSignal;
    if (fail) this.listen(fail, () => this.stop(MAIN_LOCATION, internalError(fail.reason)));
  }

  /**
   * Calls `onAbort` when `signal` aborts while this session runs. The shutdown
   * signal is the server's, shared by every session: the listener is removed
   * when the session ends, or each ended session would stay reachable from it.
   */
  private listen(signal: AbortSignal, onAbort: () => void): void {
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    this.cleanups.push(() => signal.removeEventListener('abort', onAbort));
  }

  /**
   * Stops reading and computing (shutdown, a timeout, an uncaught failure);
   * `run` then sends `reason` as an error text and CLOSE.
   */
  private stop(location: string, reason: unknown): void {
    if (this.shutdownError || this.sealed) return;
    const error = reason instanceof Error ? reason : new Error('Server shutting down: the session was stopped');
    this.record(location, error);
    this.shutdownError = error;
    this.input?.close(error);
    this.abort.abort();
    this.reader?.interrupt();
    this.wakeShutdown();
  }

  async run(): Promise<SessionSummary> {
    const timers = this.startTimeouts();
    try {
      await this.readLoop();
    } catch (err) {
      this.record(INPUT_LOCATION, err);
    }
    if (this.input && !this.input.isClosed) this.input.close(this.errors.length > 0 ? this.errors[0] : undefined);
    if (this.pipelineDone) await Promise.race([this.pipelineDone, this.shutdown]);
    for (const timer of timers) clearTimeout(timer);
    await this.finish();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    return {
      outcome: this.errors.length === 0 ? 'ok' : 'error',
      ...(this.configName === undefined ? {} : { config: this.configName }),
      images: this.images,
      errors: this.errors.map((e) => e.message),
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      jobs: this.jobs,
    };
  }

  /** The connect timeout (config and header must arrive) and the session timeout; cleared when `run` ends. */
  private startTimeouts(): NodeJS.Timeout[] {
    const { connectTimeoutMs, sessionTimeoutMs } = this.sessionLimits;
    const timers: NodeJS.Timeout[] = [];
    if (connectTimeoutMs > 0) {
      timers.push(setTimeout(() => {
        if (this.state !== 'config' && this.state !== 'header') return;
        const missing = this.state === 'config' ? 'the config and ISMRMRD header' : 'the ISMRMRD header';
        this.stop(INPUT_LOCATION, new Error(`Connect timeout: ${missing} did not arrive within ${connectTimeoutMs} ms of connecting (--connect-timeout); closing the connection`));
      }, connectTimeoutMs));
    }
    if (sessionTimeoutMs > 0) {
      timers.push(setTimeout(() => {
        this.stop(MAIN_LOCATION, new Error(`Session timeout: the session ran longer than ${sessionTimeoutMs} ms (--session-timeout) and was stopped`));
      }, sessionTimeoutMs));
    }
    return timers;
  }

  private async readLoop(): Promise<void> {
    const idle = this.options.idleTimeoutMs;
    const maxBytes = this.sessionLimits.maxSessionBytes;
    let timer: NodeJS.Timeout | undefined;
    // one timer per idle period, not one per chunk: each chunk only notes the time
    let lastInput = performance.now();
    const check = (delay: number): void => {
      timer = setTimeout(() => {
        const quiet = performance.now() - lastInput;
        if (quiet < idle) return check(idle - quiet);
        this.stop(INPUT_LOCATION, new Error(`Connection idle for more than ${idle} ms (--idle-timeout); closing it`));
      }, delay);
    };
    const arm = (): void => {
      lastInput = performance.now();
      if (idle > 0 && timer === undefined) check(idle);
    };
    arm();
    // Frames are decoded as the bytes arrive (in the read callback). Reads
    // into the reader's own reused buffer must be copied out (no views);
    // 'data' chunks are fresh and never reused, so acquisitions may be views
    // into them.
    let decoder: FrameDecoder | undefined;
    const reader = new SocketReader<Frame>(this.socket, (bytes, out) => {
      lastInput = performance.now();
      this.bytesIn += bytes.byteLength;
      if (maxBytes > 0 && this.bytesIn > maxBytes) {
        throw new Error(`Session sent more than ${maxBytes} bytes, the per-session limit (--session-max-bytes); closing it`);
      }
      decoder ??= new FrameDecoder(this.options.limits, { views: !reader.reusesReadBuffer });
      const frames = decoder.push(bytes);
      for (const frame of frames) out.push(frame);
      if (decoder.errored) throw decoder.errored;
    });
    this.reader = reader;
    if (this.shutdownError) reader.interrupt();
    try {
      for (;;) {
        // frames already decoded are taken without a promise each
        let frame = reader.take();
        if (frame === undefined) frame = await reader.next();
        if (this.shutdownError) throw this.shutdownError;
        if (frame === null) break;
        if (this.offer(frame)) continue;
        await this.handle(frame);
        if (this.state === 'done') return;
      }
    } catch (err) {
      if (err instanceof ProtocolError || this.state === 'done') throw err;
      if (this.socketBroken) throw new Error('Connection lost');
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
      reader.detach();
    }
    if (this.shutdownError) throw this.shutdownError;
    decoder?.end();
    if (this.state !== 'done') throw new Error('Connection closed by the client without a CLOSE message');
  }

  /**
   * Puts a data frame of the stream straight into the pipeline when its first
   * channel has room: what `handle` does for it, without a promise per frame.
   * False (nothing done) when `handle` must take the frame.
   */
  private offer(frame: Frame): boolean {
    if (this.state !== 'stream' || (frame.kind !== 'acquisition' && frame.kind !== 'waveform')) return false;
    const { id, message } = messageOfFrame(frame) as { id: number; message: Message };
    if (!(this.plan as PipelinePlan).readerSlots.has(id) || !(this.input as Channel<Message>).offer(message)) return false;
    this.options.observer?.received(frame);
    return true;
  }

  private async handle(frame: Frame): Promise<void> {
    this.options.observer?.received(frame);
    if (frame.kind === 'query') return this.answer(frame.reserved, frame.correlationId, frame.key);
    if (frame.kind === 'text') {
      this.options.log.info('text from client', { length: frame.text.length });
      return;
    }
    switch (this.state) {
      case 'config':
        return this.handleConfigState(frame);
      case 'header':
        return this.handleHeaderState(frame);
      case 'stream':
        return this.handleStreamState(frame);
      default:
        return;
    }
  }

  private async handleConfigState(frame: Frame): Promise<void> {
    switch (frame.kind) {
      case 'config-file': {
        this.configName = frame.name;
        const { config } = await loadStreamConfiguration(frame.name, this.options.configDirs, this.options.env ?? process.env);
        this.usePlan(config);
        return;
      }
      case 'config-script':
        this.configName = '<script>';
        this.usePlan(parseStreamConfiguration(frame.xml, { source: 'config script' }));
        return;
      case 'close':
        this.state = 'done';
        return;
      case 'header':
        throw new Error('Received ISMRMRD header before config file.');
      default:
        throw new Error(`Received ${describeFrame(frame)} before a config; expected a config (message id 1 or 2)`);
    }
  }

  private usePlan(config: StreamConfiguration): void {
    this.plan = planPipeline(config, this.options.registry);
    for (const warning of this.plan.warnings) this.options.log.warn(warning);
    this.state = 'header';
    this.options.observer?.configured(this.configName ?? '');
  }

  private async handleHeaderState(frame: Frame): Promise<void> {
    switch (frame.kind) {
      case 'header': {
        const header = parseIsmrmrdHeader(frame.xml);
        checkMemoryBudget(header, this.sessionLimits.sessionMemoryBudget);
        this.startPipeline(header, frame.xml);
        this.state = 'stream';
        this.options.observer?.streaming(header);
        return;
      }
      case 'close':
        this.startPipeline(undefined);
        this.input?.close();
        this.state = 'done';
        return;
      case 'config-file':
      case 'config-script':
        throw new Error('Received second config file. Only one allowed.');
      default:
        throw new Error(`Received ${describeFrame(frame)} before the ISMRMRD header (message id 3)`);
    }
  }

  private async handleStreamState(frame: Frame): Promise<void> {
    const plan = this.plan as PipelinePlan;
    const input = this.input as Channel<Message>;
    switch (frame.kind) {
      case 'acquisition':
      case 'waveform':
      case 'image':
      case 'recondata':
      case 'image-array':
      case 'bucket': {
        const { id, message } = messageOfFrame(frame) as { id: number; message: Message };
        if (!plan.readerSlots.has(id)) {
          throw new Error(`Received ${describeFrame(frame)}, but the config has no reader for message id ${id}`);
        }
        await input.push(message);
        return;
      }
      case 'close':
        input.close();
        this.state = 'done';
        this.options.observer?.inputClosed();
        return;
      case 'config-file':
      case 'config-script':
        throw new Error('Received second config file. Only one allowed.');
      case 'header':
        throw new Error('Received second ISMRMRD header. Only one allowed.');
      default:
        throw new Error(`Received ${describeFrame(frame)}, which a reconstruction stream does not accept`);
    }
  }

  private startPipeline(header: IsmrmrdHeader | undefined, headerXml?: string): void {
    const plan = this.plan as PipelinePlan;
    const input = new Channel<Message>(this.options.channelCapacity);
    const output = new Channel<Message>(this.options.channelCapacity);
    this.input = input;
    const log = this.options.log;
    const run = runChain(plan.chain, input, output, {
      header,
      log,
      signal: this.abort.signal,
      channelCapacity: this.options.channelCapacity,
      ...(this.options.slicesInFlight === undefined ? {} : { slicesInFlight: this.options.slicesInFlight }),
      storage: this.options.storage,
      parameters: this.options.parameters,
      ...(headerXml === undefined ? {} : { headerXml }),
      ...(this.options.distribution ? { distribution: this.distributionEnvironment(this.options.distribution) } : {}),
      notify: (path, text) => {
        log.info('warning sent to the client', { gadget: path });
        this.send(encodeText(`[${MAIN_LOCATION}/${path}] WARNING: ${text}\n`)).catch(() => undefined);
      },
    }).then(
      () => output.close(),
      (err: unknown) => {
        output.close();
        const location = err instanceof GadgetError ? `${MAIN_LOCATION}/${err.path}` : MAIN_LOCATION;
        this.record(location, err);
        this.abort.abort();
      },
    );
    const write = (async () => {
      try {
        for await (const message of output) {
          if (!plan.writtenKinds.has(message.kind)) continue;
          await this.sendMessage(message);
        }
      } catch (err) {
        this.record(OUTPUT_LOCATION, err);
        output.discard();
      }
    })();
    this.pipelineDone = Promise.all([run, write]).then(() => undefined);
  }

  /** The server's distribution settings plus this session's job records. */
  private distributionEnvironment(base: Omit<DistributionEnvironment, 'recordJob' | 'jobStarted'>): DistributionEnvironment {
    const key = (a: JobAttempt): string => `${a.node}#${a.job}#${a.attempt}#${a.worker}`;
    return {
      limits: this.options.limits,
      ...base,
      jobStarted: (attempt) => {
        const handle = this.options.jobObserver?.(attempt.worker, `${attempt.node} job ${attempt.job} (${attempt.key})`);
        if (handle) this.openJobs.set(key(attempt), handle);
      },
      recordJob: (record) => {
        if (this.jobs.length < MAX_JOB_RECORDS) this.jobs.push(record);
        const handle = this.openJobs.get(key(record));
        this.openJobs.delete(key(record));
        handle?.end(record.outcome === 'ok' ? 'success' : record.outcome === 'cancelled' ? 'error' : 'retried', record.error);
      },
    };
  }

  private async sendMessage(message: Message): Promise<void> {
    this.options.observer?.output(message);
    switch (message.kind) {
      case 'image':
        this.images += 1;
        return this.send(encodeImage(message));
      case 'acquisition':
        return this.send(encodeAcquisition(message));
      case 'waveform':
        return this.send(encodeWaveform(message));
      case 'text':
        return this.send(encodeText(message.text));
      case 'dependencyquery':
        return this.send(encodeDependencyQuery(message.xml));
      case 'recondata':
        return this.send(encodeReconData(message));
      case 'imagearray':
        return this.send(encodeImageArray(message));
      case 'bucket':
        return this.send(encodeBucket(message));
      case 'dicom':
        return this.send(encodeDicom(message.bytes, message.filename, message.meta));
      default:
        this.options.log.debug('dropping message without a wire writer', { kind: (message as Message).kind });
    }
  }

  private async answer(reserved: bigint, correlationId: bigint, key: string): Promise<void> {
    if (reserved !== 0n) throw new Error('Unsupported value in reserved bytes.');
    await this.send(encodeResponse(correlationId, answerQuery(key)));
  }

  /** Queues chunks for the socket, in order, waiting for drain under backpressure. */
  private send(chunks: Uint8Array[], final = false): Promise<void> {
    if (this.sealed && !final) return Promise.reject(new Error('Cannot send: the session has ended'));
    const next = this.writeChain.then(async () => {
      if (this.socketBroken || this.socket.destroyed) throw new Error('Cannot send: the connection is closed');
      for (const chunk of chunks) {
        this.bytesOut += chunk.byteLength;
        if (!this.socket.write(chunk)) {
          await waitForDrain(this.socket);
        }
      }
      this.options.observer?.sent(chunks);
    });
    this.writeChain = next.catch(() => undefined);
    return next;
  }

  private record(location: string, err: unknown): void {
    if (this.shutdownError && err !== this.shutdownError) {
      // stopped at shutdown: what failed after that is a consequence; the client is told the reason only
      this.options.log.debug('session error after shutdown stop', { location, error: err instanceof Error ? err.message : String(err) });
      return;
    }
    if (err instanceof LocatedError) {
      this.errors.push(err);
      return;
    }
    let message = err instanceof Error ? err.message : String(err);
    if (err instanceof ConfigError || err instanceof PipelineBuildError || err instanceof ProtocolError) message = err.message;
    if (this.errors.some((e) => e.message === message)) return;
    this.options.observer?.error(location, err);
    this.errors.push(new LocatedError(location, message));
    this.options.log.warn('session error', { location, error: message });
  }

  private async finish(): Promise<void> {
    this.sealed = true;
    // a client that stopped reading would hold the last messages forever: drop it after the linger time
    const stuck = setTimeout(() => this.socket.destroy(), Math.max(this.options.lingerMs, 1));
    try {
      for (const err of this.errors) await this.send(encodeText(`[${err.location}] ERROR: ${err.message}`), true);
      await this.send(encodeClose(), true);
    } catch {
      // the client is gone; nothing more to tell it
    } finally {
      clearTimeout(stuck);
    }
    await this.hangUp();
  }

  /** Ends our side; keeps reading (and discarding) what the client still sends for a while so it sees our last messages. */
  private async hangUp(): Promise<void> {
    const socket = this.socket;
    if (socket.destroyed) return;
    socket.end();
    const linger = this.options.lingerMs;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve();
      }, linger);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.on('data', () => undefined);
      socket.resume();
    });
  }
}

/** The error a client is told when its session failed outside the pipeline (see crash-guard.ts). */
function internalError(reason: unknown): Error {
  const message = reason instanceof Error ? reason.message : String(reason);
  return new Error(`Internal error in this session: ${message}; the session was stopped (other sessions are unaffected)`);
}

/**
 * Refuses a header whose largest k-space (readout × phase × partition
 * encoding × receiver channels, complex float) exceeds `budget` bytes.
 */
export function checkMemoryBudget(header: IsmrmrdHeader, budget: number): void {
  if (budget <= 0) return;
  const channels = Math.max(1, header.acquisitionSystemInformation?.receiverChannels ?? 1);
  for (const [i, encoding] of header.encoding.entries()) {
    const m = encoding.encodedSpace.matrixSize;
    const limits = encoding.encodingLimits;
    const e1 = Math.max(m.y, (limits.kspace_encoding_step_1?.maximum ?? 0) + 1);
    const e2 = Math.max(m.z, (limits.kspace_encoding_step_2?.maximum ?? 0) + 1);
    const bytes = Math.max(1, m.x) * Math.max(1, e1) * Math.max(1, e2) * channels * 8;
    if (bytes > budget) {
      throw new Error(`ISMRMRD header encoding ${i} claims a k-space of ${m.x} × ${e1} × ${e2} samples × ${channels} channels `
        + `(${bytes} bytes), more than the session memory budget of ${budget} bytes (--session-memory-budget)`);
    }
  }
}

function describeFrame(frame: Frame): string {
  const ids: Record<Frame['kind'], number> = {
    'config-file': 1, 'config-script': 2, header: 3, close: 4, text: 5, query: 6, response: 7, error: 8,
    acquisition: 1008, 'dicom': 1018, 'dependency-query': 1019, image: 1022, recondata: 1023, 'image-array': 1024,
    waveform: 1026, bucket: 1050,
  };
  const id = ids[frame.kind];
  return `message id ${id} (${messageIdName(id) ?? frame.kind})`;
}
