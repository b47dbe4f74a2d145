/**
 * What one run of a distributed node shares between its jobs: settings, the
 * worker chooser, the live worker sessions and their watchdog, failure and
 * cancellation, client notices and job records.
 */
import { performance } from 'node:perf_hooks';
import type { ChainPlan, RunEnvironment } from '../../engine/pipeline.js';
import { ChannelClosedError, type Output } from '../../engine/channel.js';
import { GadgetError } from '../../engine/errors.js';
import type { Message } from '../../ismrmrd/messages.js';
import { serializeIsmrmrdHeader } from '../../ismrmrd/xml-header.js';
import { ByteBudget, DistributionError, WorkerChooser, type Placement } from '../jobs.js';
import { RemoteSession, tcpConnector, watchSessions, WorkerError } from './remote-session.js';
import { defaultDistribution, type DistributionEnvironment, type JobAttempt, type JobRecord, type WorkerEndpoint } from './types.js';
import type { WireLink } from './wire.js';

/** Runs a chain in-process (the engine's `runChain`, passed in to keep the engine free of cycles). */
export type LocalRunner = (plan: ChainPlan, input: AsyncIterable<Message>, output: Output<Message>, env: RunEnvironment) => Promise<void>;

/** The parts of a distributed node plan every runner uses. */
export interface RemoteStreamPlan {
  readonly path: string;
  /** The inner stream, run in-process when no worker can take a job. */
  readonly inner: ChainPlan;
  /** Version 2 configuration XML sent to workers (CONFIG). */
  readonly workerConfig: string;
  readonly link: WireLink;
}

/** Shared state of one node run. */
export class NodeContext {
  readonly settings: DistributionEnvironment;
  readonly chooser: WorkerChooser;
  readonly budget: ByteBudget;
  readonly sessions = new Set<RemoteSession>();
  private readonly controller = new AbortController();
  private failure: unknown;
  private stopWatch: (() => void) | undefined;
  private warnedLocal = false;
  private readonly quiet: boolean;
  private headerText: string | undefined;
  /** Rejects with the node's first fatal error. */
  readonly failed: Promise<never>;
  private rejectFailed: (err: unknown) => void = () => undefined;

  /**
   * `useLocal`: the local node competes with workers for jobs; `slots`: jobs per
   * worker at once (default: the settings' `workerSlots`); `quiet`: log
   * attempts at debug level (one job per message).
   */
  constructor(readonly step: RemoteStreamPlan, readonly env: RunEnvironment, options: { useLocal: boolean; slots?: number; quiet?: boolean }) {
    this.settings = env.distribution ?? defaultDistribution;
    this.quiet = options.quiet ?? false;
    this.budget = new ByteBudget(this.settings.jobBufferBytes);
    const useLocal = options.useLocal;
    this.chooser = new WorkerChooser({
      pool: this.settings.pool,
      slots: Math.max(1, options.slots ?? this.settings.workerSlots),
      useLocal,
      discoveryWaitMs: this.settings.discoveryWaitMs ?? 2_000,
      signal: this.controller.signal,
    });
    this.failed = new Promise<never>((_, reject) => {
      this.rejectFailed = reject;
    });
    this.failed.catch(() => undefined);
    if (env.signal.aborted) this.onSessionEnd();
    else env.signal.addEventListener('abort', this.onSessionEnd, { once: true });
  }

  private readonly onSessionEnd = (): void => this.fail(new DistributionError('CANCELLED', 'Cannot continue: the session ended'));

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The node's first fatal error, if any. */
  get error(): unknown {
    return this.failure;
  }

  /** Stops the node: every attempt is cancelled and `failed` rejects with `err` (the first one wins). */
  fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.controller.abort(err instanceof Error ? err : new Error(String(err)));
    for (const session of this.sessions) session.destroy(new WorkerError('failed', 'cancelled: the distributed node stopped'));
    this.rejectFailed(err);
  }

  /** Starts the watchdog over live sessions; `owes` says which ones are expected to make progress. */
  watch(owes?: (session: RemoteSession) => boolean): void {
    this.stopWatch?.();
    this.stopWatch = watchSessions(() => this.sessions, this.settings.workerTimeoutMs, owes);
  }

  /**
   * Waits for the node's tasks (the feeder and the releaser), then runs
   * `afterwards`; on the first failure stops the node and throws it as the
   * node's error (a GadgetError of this step unless it already is one or a
   * closed channel). Always ends the run.
   */
  async finish(tasks: readonly Promise<unknown>[], afterwards?: () => Promise<void>): Promise<void> {
    try {
      await Promise.race([Promise.all(tasks), this.failed]);
      await afterwards?.();
    } catch (err) {
      this.fail(err);
      for (const task of tasks) task.catch(() => undefined);
      const cause = this.error;
      throw cause instanceof GadgetError || cause instanceof ChannelClosedError ? cause : new GadgetError(this.step.path, cause);
    } finally {
      this.close();
    }
  }

  /** Ends the node run (stops the watchdog, closes what is left). */
  close(): void {
    this.env.signal.removeEventListener('abort', this.onSessionEnd);
    this.stopWatch?.();
    this.stopWatch = undefined;
    for (const session of this.sessions) session.destroy();
    this.sessions.clear();
  }

  /** Sends a warning to the client (`[…/node] WARNING: text`; a quoted worker `ERROR` is lower-cased so that clients do not count it as a failure of their session) and logs it. */
  notify(text: string): void {
    text = text.replace(/\bERROR\b/g, 'error');
    this.env.log.warn(text, { node: this.step.path });
    this.env.notify?.(this.step.path, text);
  }

  /** Tells the observers that an attempt starts. */
  started(attempt: Omit<JobAttempt, 'node'>): void {
    this.settings.jobStarted?.({ node: this.step.path, ...attempt });
  }

  /** Records a finished attempt. */
  record(record: Omit<JobRecord, 'node'>): void {
    const full: JobRecord = { node: this.step.path, ...record };
    if (this.quiet && full.outcome === 'ok') this.env.log.debug('distributed job attempt', { ...full });
    else this.env.log.info('distributed job attempt', { ...full });
    this.settings.recordJob?.(full);
  }

  /** Tells the client once why jobs run in-process (not when the server has no pool at all, e.g. `gantry recon`). */
  noteLocal(placement: Placement): void {
    const pool = this.settings.pool;
    if (placement.kind !== 'local' || placement.reason !== 'no-workers' || this.warnedLocal || !pool) return;
    this.warnedLocal = true;
    const reasons = pool.takeWarnings().filter((w) => !/computing locally$/.test(w));
    this.notify(`${reasons.length > 0 ? `${reasons.join('; ')}; ` : ''}no remote worker is available; running the distributed jobs in-process`);
  }

  /** Opens a session to `endpoint` (CONFIG + HEADER sent); a connect failure is reported to the pool. */
  async open(endpoint: WorkerEndpoint): Promise<RemoteSession> {
    const pool = this.settings.pool;
    try {
      const session = await RemoteSession.open({
        endpoint,
        connector: this.settings.connect ?? tcpConnector,
        connectTimeoutMs: this.settings.connectTimeoutMs,
        configXml: this.step.workerConfig,
        headerXml: this.headerXml(),
        link: this.step.link,
        ...(this.settings.limits ? { limits: this.settings.limits } : {}),
      });
      if (this.signal.aborted) {
        session.destroy();
        throw new WorkerError('failed', 'cancelled: the distributed node stopped');
      }
      this.sessions.add(session);
      return session;
    } catch (err) {
      if (err instanceof WorkerError && err.kind === 'connect') pool?.connectFailed(endpoint.id);
      throw err;
    }
  }

  /** Forgets a session (and closes it if it is still open). */
  drop(session: RemoteSession): void {
    this.sessions.delete(session);
  }

  /** The header the workers get: the client's text when the session kept it, else re-serialized. */
  headerXml(): string {
    if (this.headerText !== undefined) return this.headerText;
    if (this.env.headerXml !== undefined) this.headerText = this.env.headerXml;
    else if (this.env.header) this.headerText = serializeIsmrmrdHeader(this.env.header);
    else throw new DistributionError('JOB_FAILED', 'Cannot start a remote job: the session has no ISMRMRD header');
    return this.headerText;
  }
}

/** ms since `start`, rounded to 0.1 ms. */
export function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

/** The reason of an error, for notices and records. */
export function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
