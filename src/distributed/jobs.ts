/**
 * Exactly-once building blocks of distributed nodes:
 *
 * - {@link JobInput}: a job's input log. Every message is kept (within a byte
 *   budget shared by the node's jobs) until the job completes, so a failed
 *   attempt can be replayed from the first message on another worker. Past the
 *   budget the job goes on without replay protection, and a later failure is a
 *   clear error instead of a silent loss.
 * - {@link WorkerChooser}: where the next attempt runs: the least-loaded
 *   healthy worker that did not fail this job and has a free slot, else
 *   in-process.
 *
 * A job's output is buffered by its attempt and released only when the attempt
 * ends cleanly (see the node runners), so a failed attempt's partial output is
 * simply dropped.
 */
import type { Message } from '../ismrmrd/messages.js';
import { messageBytes } from './nodes/wire.js';
import type { JobWorkerPool, WorkerEndpoint } from './nodes/types.js';

/** A distributed job could not complete (and will not be retried). */
export class DistributionError extends Error {
  override readonly name = 'DistributionError';
  constructor(readonly code: 'JOB_NOT_REPLAYABLE' | 'JOB_FAILED' | 'CANCELLED', message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Bytes of job input a node may keep for replay. */
export class ByteBudget {
  private used = 0;

  constructor(readonly limit: number) {
    if (!(limit >= 0)) throw new RangeError(`Cannot create a job buffer of ${limit} bytes`);
  }

  /** Bytes held now. */
  get held(): number {
    return this.used;
  }

  /** Takes `bytes` if they fit; false otherwise. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DistributionError('CANCELLED', 'Cannot continue: the distributed node was stopped');
}

/** Resolves when `wake` is called or `signal` aborts (then rejects). */
function waitFor(list: Array<() => void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    list.push(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

function wakeAll(list: Array<() => void>): void {
  for (const wake of list.splice(0)) wake();
}

/** Options of a {@link JobInput}. */
export interface JobInputOptions {
  budget: ByteBudget;
  /** Unread messages allowed before `append` waits, once the job no longer keeps its input. */
  capacity: number;
  signal: AbortSignal;
  /** Called once when the job's input no longer fits the budget. */
  onBoundExceeded?: (heldBytes: number) => void;
}

/** A job's input: appended by the distributor, read (and re-read on replay) by attempts. */
export class JobInput {
  private entries: Message[] = [];
  /** Log index of entries[0]. */
  private offset = 0;
  private total = 0;
  private ended = false;
  private retaining = true;
  private retainedBytes = 0;
  private readerPosition: number | undefined;
  private readerToken = 0;
  private readonly readers: Array<() => void> = [];
  private readonly writers: Array<() => void> = [];
  private released = false;

  constructor(private readonly options: JobInputOptions) {}

  /** Messages appended so far. */
  get count(): number {
    return this.total;
  }

  /** True once the distributor has no more messages for this job. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** True while the whole input can still be read again from its first message. */
  get replayable(): boolean {
    return this.offset === 0 && !this.released;
  }

  /** True once the input outgrew the budget (it is no longer kept). */
  get overBudget(): boolean {
    return !this.retaining;
  }

  /** Adds a message; waits while an attempt lags behind once the input is no longer kept. */
  async append(message: Message): Promise<void> {
    if (this.ended) throw new Error('Cannot append to a job whose input has ended');
    if (this.retaining) {
      const size = messageBytes(message);
      if (this.options.budget.take(size)) {
        this.retainedBytes += size;
      } else {
        this.retaining = false;
        this.options.onBoundExceeded?.(this.options.budget.held);
      }
    }
    this.entries.push(message);
    this.total += 1;
    this.trim();
    wakeAll(this.readers);
    while (!this.retaining && this.total - (this.readerPosition ?? this.offset) >= this.options.capacity) {
      await waitFor(this.writers, this.options.signal);
    }
  }

  /** No more messages for this job. */
  end(): void {
    this.ended = true;
    wakeAll(this.readers);
  }

  /**
   * Reads the input from its first message, waiting for more until it ends.
   * A new read supersedes an older one. Throws a DistributionError when the
   * first messages were already dropped (the input outgrew the budget).
   */
  async *read(signal: AbortSignal): AsyncGenerator<Message> {
    if (!this.replayable) {
      throw new DistributionError('JOB_NOT_REPLAYABLE', 'its input was not kept (it outgrew the job buffer)');
    }
    const token = ++this.readerToken;
    let position = 0;
    this.readerPosition = 0;
    try {
      for (;;) {
        if (signal.aborted) throw abortError(signal);
        if (token !== this.readerToken) throw new DistributionError('CANCELLED', 'a newer attempt reads this job');
        if (position < this.total) {
          if (position < this.offset) throw new DistributionError('JOB_NOT_REPLAYABLE', 'its input was not kept (it outgrew the job buffer)');
          const message = this.entries[position - this.offset] as Message;
          position += 1;
          this.readerPosition = position;
          this.trim();
          wakeAll(this.writers);
          yield message;
          continue;
        }
        if (this.ended) return;
        await waitFor(this.readers, signal);
      }
    } finally {
      if (token === this.readerToken) this.readerPosition = undefined;
      wakeAll(this.writers);
    }
  }

  /** The job completed: its input is no longer needed. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.options.budget.give(this.retainedBytes);
    this.retainedBytes = 0;
    this.offset += this.entries.length;
    this.entries = [];
    wakeAll(this.writers);
  }

  /** Drops messages the current reader has passed, once the input is no longer kept. */
  private trim(): void {
    if (this.retaining || this.readerPosition === undefined) return;
    const drop = this.readerPosition - this.offset;
    if (drop > 64 || (drop > 0 && drop * 2 >= this.entries.length)) {
      this.entries.splice(0, drop);
      this.offset += drop;
    }
  }
}

/** Where an attempt runs. */
export type Placement =
  | {
    kind: 'remote';
    endpoint: WorkerEndpoint;
    /** Ends the slot reservation made by the choice; call it once the pool counts the job (or the attempt did not start). */
    release: () => void;
  }
  | { kind: 'local'; reason: 'no-workers' | 'all-failed' | 'preferred' };

/** Options of a {@link WorkerChooser}. */
export interface WorkerChooserOptions {
  pool: JobWorkerPool | undefined;
  /** Jobs one worker runs at once. */
  slots: number;
  /** The local node competes with the workers for jobs (legacy `use_this_node_for_compute`). */
  useLocal: boolean;
  /** How long to wait for the first discovery round, ms. */
  discoveryWaitMs: number;
  signal: AbortSignal;
  /** How often to look again for a free worker while all are busy, ms (default 25). */
  pollMs?: number;
}

/** Picks the place of each attempt; see the module comment. */
export class WorkerChooser {
  private localActive = 0;
  /** Jobs sent to a worker whose attempt the pool does not count yet (connecting). */
  private readonly reserved = new Map<string, number>();
  private ready: Promise<void> | undefined;
  private readonly waiting: Array<() => void> = [];
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WorkerChooserOptions) {}

  /** Jobs running in-process now. */
  get localJobs(): number {
    return this.localActive;
  }

  /**
   * The best place for a job that must avoid `excluded` workers. Waits while
   * every candidate worker is at its slot limit, unless `mayWait()` says no
   * (e.g. the job's input is no longer kept and must be consumed now).
   */
  async choose(excluded: ReadonlySet<string>, mayWait: () => boolean = () => true): Promise<Placement> {
    const pool = this.options.pool;
    if (!pool) return { kind: 'local', reason: 'no-workers' };
    this.ready ??= pool.ready(this.options.discoveryWaitMs).catch(() => undefined);
    await this.ready;
    for (;;) {
      if (this.options.signal.aborted) throw abortError(this.options.signal);
      const any = pool.pick(excluded);
      if (!any) return { kind: 'local', reason: excluded.size > 0 ? 'all-failed' : 'no-workers' };
      const load = new Map(pool.snapshot().map((w) => [w.id, w.activeJobs + (this.reserved.get(w.id) ?? 0)] as const));
      // The pool's ranking, then fewest jobs (attempts still connecting included) among workers with a free slot.
      const skip = new Set(excluded);
      let best: WorkerEndpoint | undefined;
      for (let candidate: WorkerEndpoint | undefined = any; candidate; candidate = pool.pick(skip)) {
        skip.add(candidate.id);
        const jobs = load.get(candidate.id) ?? 0;
        if (jobs >= this.options.slots) continue;
        if (!best || jobs < (load.get(best.id) ?? 0)) best = candidate;
        if (jobs === 0) break;
      }
      if (this.options.useLocal) {
        const remoteLoad = best ? load.get(best.id) ?? 0 : Infinity;
        if (this.localActive < this.options.slots && this.localActive <= remoteLoad) return { kind: 'local', reason: 'preferred' };
      }
      if (best) return this.reserve(best);
      if (!mayWait()) return this.reserve(any);
      await this.pause();
    }
  }

  private reserve(endpoint: WorkerEndpoint): Placement {
    this.reserved.set(endpoint.id, (this.reserved.get(endpoint.id) ?? 0) + 1);
    let done = false;
    const release = (): void => {
      if (done) return;
      done = true;
      const left = (this.reserved.get(endpoint.id) ?? 1) - 1;
      if (left > 0) this.reserved.set(endpoint.id, left);
      else this.reserved.delete(endpoint.id);
      this.wake();
    };
    return { kind: 'remote', endpoint, release };
  }

  /** Counts an in-process attempt; call the returned function when it ends. */
  localStarted(): () => void {
    this.localActive += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.localActive -= 1;
      this.wake();
    };
  }

  /** Something finished: look again for a free worker. */
  wake(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    wakeAll(this.waiting);
  }

  /** Waits for `wake` or the next poll (other sessions' jobs end without telling us); waiters resume in arrival order. */
  private async pause(): Promise<void> {
    const signal = this.options.signal;
    if (signal.aborted) throw abortError(signal);
    if (!this.pollTimer) {
      this.pollTimer = setTimeout(() => {
        this.pollTimer = undefined;
        this.wake();
      }, this.options.pollMs ?? 25);
    }
    await waitFor(this.waiting, signal);
  }
}
