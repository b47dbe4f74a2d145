/**
 * Compute threads for the reconstruction gadgets: a pool of worker threads
 * (node:worker_threads) that run named, synchronous tasks from one task
 * module, or, with one thread, the same tasks inline on the calling thread.
 *
 * - Data are shared, not copied: a task's arguments are structured-cloned,
 *   and typed arrays over a `SharedArrayBuffer` (see {@link sharedFloat32})
 *   clone as views of the same memory; tasks write their results into such
 *   arrays. Small arguments (kernels, sizes) are copied.
 * - Deterministic: a task computes a fixed piece of work (a frame, a range of
 *   channels) with the same code on any thread, so how the pieces are spread
 *   over threads never changes a floating-point sum; {@link ComputePool.all}
 *   gives results in submission order.
 * - Bounded: at most `queueLimit` tasks wait; `run` waits for room.
 * - Errors: a task's exception rejects that task's promise (the owning
 *   session fails, the process goes on); a worker that dies rejects its tasks
 *   and is replaced on the next task.
 * - Idle workers do not keep the process alive; `close` ends them.
 *
 * The process-wide pool used by the gadgets is configured once with
 * {@link configureComputeThreads} (`--threads`, default
 * `os.availableParallelism()`), like the server's other shared resources:
 * n threads are the event-loop thread and n − 1 workers.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { copyInto } from '../kernels/copy.js';
import { noteSharedBuffer } from '../util/gc.js';

/** A synchronous task: named in a task module's `tasks` table. */
export type ComputeTask = (args: never) => unknown;

/** What a task module exports. */
export interface ComputeTaskModule {
  readonly tasks: Readonly<Record<string, ComputeTask>>;
}

/** Runs tasks of one task module. */
export interface ComputePool {
  /** Worker threads that compute (0: tasks run inline on the calling thread). */
  readonly workers: number;
  /**
   * Tasks the workers would take now without queueing: room in what is sent
   * ahead to each worker, less the tasks waiting. A task run now when this
   * is 0 waits behind others.
   */
  readonly freeSlots: number;
  /**
   * The same for urgent tasks, which may be sent further ahead
   * ({@link URGENT_AHEAD}): small tasks that a stream waits on keep a
   * worker busy while the event-loop thread does a long piece of its own.
   */
  readonly freeUrgentSlots: number;
  /**
   * Runs task `name` with `args`; resolves with its result. An `urgent` task
   * goes ahead of the waiting ones (for small tasks that a stream waits on,
   * such as per-readout work, behind large per-slice pieces).
   */
  run<R>(name: string, args: unknown, options?: RunOptions): Promise<R>;
  /** Runs every `[name, args]` and resolves with the results in the given order. */
  all<R>(jobs: readonly (readonly [string, unknown])[], options?: AllOptions): Promise<R[]>;
  /**
   * Takes the newest waiting task that is not urgent and runs it on the
   * calling thread with `run` (the task module's function for that name),
   * settling its promise; false when none waits. Lets the event-loop thread
   * share a batch's work when it has nothing else to do.
   */
  helpOnce(run: (name: string, args: unknown) => unknown): boolean;
  /** Ends the workers; pending tasks are rejected. */
  close(): Promise<void>;
}

/** Options of {@link ComputePool.run}. */
export interface RunOptions {
  urgent?: boolean;
  /**
   * Left for the calling thread, which takes it with {@link ComputePool.helpOnce}:
   * a worker takes it only when it has no task at all (so no worker waits while
   * such a task does).
   */
  forCaller?: boolean;
}

/** Options of {@link ComputePool.all}. */
export interface AllOptions {
  /** The last this many tasks are left for the calling thread ({@link RunOptions.forCaller}). */
  callerShare?: number;
}

/** Thrown for a task that failed on a worker (its message, name and stack are the worker's). */
export class ComputeTaskError extends Error {
  override readonly name = 'ComputeTaskError';
  readonly code = 'COMPUTE_TASK_FAILED';
  /**
   * @param remoteName set for an exception the task itself threw on a worker:
   * its message is then kept as it is (the same text as when the task runs on
   * the calling thread); other failures (the pool closed, the worker died)
   * read `Cannot compute <task>: <why>`.
   */
  constructor(readonly task: string, message: string, readonly remoteName?: string) {
    super(remoteName === undefined ? `Cannot compute ${task}: ${message}` : message);
  }
}

/**
 * A Float32Array of `length` zeros over a SharedArrayBuffer (plain memory
 * when `shared` is false), made known to V8's collections (src/util/gc.ts
 * `noteSharedBuffer`: V8 counts no shared memory by itself).
 */
export function sharedFloat32(length: number, shared = true): Float32Array {
  if (!shared) return new Float32Array(length);
  const buffer = new SharedArrayBuffer(4 * length);
  noteSharedBuffer(buffer);
  return new Float32Array(buffer);
}

/** True when `a` lies in a SharedArrayBuffer (worker threads then see the same memory). */
export function isShared(a: ArrayBufferView): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer;
}

/**
 * `a` itself when it is shared or needs not be (`to` an inline pool, or
 * false: a reconstruction's `ReconExecution.shared`); else a copy in shared
 * memory.
 */
export function shareWith(to: ComputePool | boolean, a: Float32Array): Float32Array {
  const shared = typeof to === 'boolean' ? to : to.workers > 0;
  if (!shared || isShared(a)) return a;
  const out = sharedFloat32(a.length);
  copyInto(out, a);
  return out;
}

/** Runs tasks on the calling thread. */
class InlinePool implements ComputePool {
  readonly workers = 0;
  readonly freeSlots = 0;
  readonly freeUrgentSlots = 0;
  private module: Promise<ComputeTaskModule> | undefined;

  constructor(private readonly moduleUrl: string) {}

  async run<R>(name: string, args: unknown, _options?: RunOptions): Promise<R> {
    this.module ??= import(this.moduleUrl) as Promise<ComputeTaskModule>;
    const task = (await this.module).tasks[name];
    if (!task) throw new ComputeTaskError(name, 'no such task');
    return (task as (a: unknown) => R)(args);
  }

  async all<R>(jobs: readonly (readonly [string, unknown])[], _options?: AllOptions): Promise<R[]> {
    const out: R[] = [];
    for (const [name, args] of jobs) out.push(await this.run<R>(name, args));
    return out;
  }

  helpOnce(): boolean {
    return false;
  }

  async close(): Promise<void> {}
}

interface Pending {
  id: number;
  name: string;
  args: unknown;
  urgent: boolean;
  forCaller: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  worker: Worker;
  /** Tasks sent to this worker, oldest (running) first. */
  jobs: Pending[];
}

/**
 * Tasks sent to a worker ahead of the one it runs: it starts the next as soon
 * as it finishes, without waiting for the event-loop thread (which may be
 * busy with a piece of its own) to hand it one. Four, not two: with two, the
 * worker of a `--threads 2` cine recon sat idle half the time, while the
 * event loop ran a 20–40 ms GRAPPA piece it had taken itself and could not
 * hand the worker the next (docs/performance.md).
 */
export const SENT_AHEAD = 4;

/**
 * Urgent tasks (per-readout batches of a few ms) sent to a worker ahead at
 * most: the worker is handed new tasks only by the event-loop thread, so
 * when that thread runs a long piece of its own (an image chain, a GC) a
 * worker with only {@link SENT_AHEAD} small tasks would soon sit idle.
 * Large pieces stay at SENT_AHEAD, so the event-loop thread can still
 * take its share of them.
 */
export const URGENT_AHEAD = 6;

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; message: string; name?: string; stack?: string };

const WORKER_URL = new URL('./thread-pool-worker.js', import.meta.url);

/** Runs tasks on worker threads, one task per worker at a time. */
class WorkerPool implements ComputePool {
  private readonly slots: (Slot | undefined)[];
  private readonly queue: Pending[] = [];
  private readonly roomWaiters: (() => void)[] = [];
  private nextId = 1;
  private closed = false;

  constructor(readonly workers: number, private readonly moduleUrl: string, private readonly queueLimit: number) {
    this.slots = new Array<Slot | undefined>(workers).fill(undefined);
  }

  get freeSlots(): number {
    return this.room(SENT_AHEAD, this.queue.length);
  }

  get freeUrgentSlots(): number {
    let urgent = 0;
    while (urgent < this.queue.length && (this.queue[urgent] as Pending).urgent) urgent++;
    return this.room(URGENT_AHEAD, urgent);
  }

  /** Tasks the workers would still take with `ahead` sent to each, less `waiting` already queued for that room. */
  private room(ahead: number, waiting: number): number {
    if (this.closed) return 0;
    let free = 0;
    for (const slot of this.slots) free += ahead - (slot?.jobs.length ?? 0);
    return Math.max(0, free - waiting);
  }

  async run<R>(name: string, args: unknown, options?: RunOptions): Promise<R> {
    while (!this.closed && !options?.urgent && this.queue.length >= this.queueLimit) await new Promise<void>((r) => this.roomWaiters.push(r));
    if (this.closed) throw new ComputeTaskError(name, 'the compute pool is closed');
    return new Promise<R>((resolve, reject) => {
      const urgent = options?.urgent === true;
      const job: Pending = { id: this.nextId++, name, args, urgent, forCaller: !urgent && options?.forCaller === true, resolve: resolve as (v: unknown) => void, reject };
      if (urgent) {
        let at = 0;
        while (at < this.queue.length && (this.queue[at] as Pending).urgent) at++;
        this.queue.splice(at, 0, job);
      } else {
        this.queue.push(job);
      }
      this.dispatch();
    });
  }

  async all<R>(jobs: readonly (readonly [string, unknown])[], options?: AllOptions): Promise<R[]> {
    const promises: Promise<R>[] = [];
    const own = jobs.length - Math.max(0, Math.min(jobs.length, options?.callerShare ?? 0));
    for (const [k, [name, args]] of jobs.entries()) {
      const p = this.run<R>(name, args, { forCaller: k >= own });
      p.catch(() => undefined);
      promises.push(p);
    }
    return Promise.all(promises);
  }

  helpOnce(run: (name: string, args: unknown) => unknown): boolean {
    let at = this.queue.length - 1;
    while (at >= 0 && (this.queue[at] as Pending).urgent) at--;
    if (at < 0 || this.closed) return false;
    const job = this.queue.splice(at, 1)[0] as Pending;
    this.roomWaiters.shift()?.();
    try {
      job.resolve(run(job.name, job.args));
    } catch (err) {
      job.reject(err);
    }
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new ComputeTaskError(p.name, 'the compute pool is closed'));
    for (const w of this.roomWaiters.splice(0)) w();
    const ending = this.slots.map(async (slot, i) => {
      this.slots[i] = undefined;
      if (!slot) return;
      for (const job of slot.jobs.splice(0)) job.reject(new ComputeTaskError(job.name, 'the compute pool is closed'));
      // Held until the thread has exited: a reply that races the termination
      // must not leave the process with nothing keeping the event loop alive.
      slot.worker.ref();
      await slot.worker.terminate();
    });
    await Promise.all(ending);
  }

  /**
   * Sends waiting tasks to the workers: first one to each idle worker, then
   * up to {@link SENT_AHEAD} each, then urgent ones up to {@link URGENT_AHEAD};
   * a task left for the caller goes only to a worker with none.
   */
  private dispatch(): void {
    const urgentHead = (): boolean => (this.queue[0] as Pending).urgent;
    for (let depth = 1; depth <= URGENT_AHEAD && this.queue.length > 0 && (depth <= SENT_AHEAD || urgentHead()); depth++) {
      for (let i = 0; i < this.slots.length && this.queue.length > 0 && (depth <= SENT_AHEAD || urgentHead()); i++) {
        let slot = this.slots[i];
        if (slot && slot.jobs.length >= depth) continue;
        if (slot && slot.jobs.length > 0 && (this.queue[0] as Pending).forCaller) continue;
        slot ??= this.spawn(i);
        const job = this.queue.shift() as Pending;
        slot.jobs.push(job);
        slot.worker.ref();
        try {
          slot.worker.postMessage({ id: job.id, name: job.name, args: job.args });
        } catch (err) {
          slot.jobs.pop();
          if (slot.jobs.length === 0) slot.worker.unref();
          job.reject(new ComputeTaskError(job.name, `its arguments cannot be sent to a worker thread: ${(err as Error).message}`));
        }
        this.roomWaiters.shift()?.();
      }
    }
  }

  private spawn(i: number): Slot {
    const worker = new Worker(WORKER_URL, { workerData: { moduleUrl: this.moduleUrl } });
    worker.unref();
    const slot: Slot = { worker, jobs: [] };
    this.slots[i] = slot;
    worker.on('message', (reply: Reply) => {
      const job = slot.jobs[0];
      if (this.closed || !job || job.id !== reply.id) return;
      slot.jobs.shift();
      if (slot.jobs.length === 0) worker.unref();
      if (reply.ok) job.resolve(reply.result);
      else job.reject(new ComputeTaskError(job.name, reply.message, reply.name));
      this.dispatch();
    });
    const fail = (why: string): void => {
      if (this.slots[i] === slot) this.slots[i] = undefined;
      for (const job of slot.jobs.splice(0)) job.reject(new ComputeTaskError(job.name, why));
      if (!this.closed) this.dispatch();
    };
    worker.on('error', (err) => fail(`the worker thread failed: ${err.message}`));
    worker.on('exit', (code) => fail(`the worker thread exited with code ${code}`));
    return slot;
  }
}

/**
 * A pool over the task module at `moduleUrl` (a file URL whose module
 * exports `tasks`): inline when `workers` is 0, else that many worker
 * threads with at most `queueLimit` (default 4·workers) waiting tasks.
 */
export function createComputePool(moduleUrl: string, workers: number, queueLimit = 4 * workers): ComputePool {
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`Cannot create a compute pool of ${workers} worker threads`);
  return workers === 0 ? new InlinePool(moduleUrl) : new WorkerPool(workers, moduleUrl, Math.max(1, queueLimit));
}

let configuredThreads: number | undefined;
const sharedPools = new Map<string, ComputePool>();

/** Default thread count: `os.availableParallelism()`. */
export function defaultComputeThreads(): number {
  return Math.max(1, availableParallelism());
}

/** Sets the thread count of the process-wide pools (`--threads`); call before the first reconstruction. */
export function configureComputeThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`Cannot use ${threads} compute threads: give an integer ≥ 1`);
  configuredThreads = threads;
}

/** Thread count of the process-wide pools: configured, else `GANTRY_THREADS`, else all cores. */
export function computeThreads(): number {
  if (configuredThreads !== undefined) return configuredThreads;
  const env = process.env['GANTRY_THREADS'];
  if (env !== undefined && env.trim() !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Cannot use GANTRY_THREADS=${env}: give an integer ≥ 1`);
    return n;
  }
  return defaultComputeThreads();
}

/**
 * The process-wide pool over `moduleUrl`, created on first use: with n =
 * {@link computeThreads}, the calling (event-loop) thread plus n − 1 worker
 * threads; n = 1 runs every task inline. The event-loop thread keeps
 * decoding, bucketing and the light gadgets going while workers compute.
 */
export function sharedComputePool(moduleUrl: string): ComputePool {
  let pool = sharedPools.get(moduleUrl);
  if (!pool) {
    pool = createComputePool(moduleUrl, computeThreads() - 1);
    sharedPools.set(moduleUrl, pool);
  }
  return pool;
}

/** Closes the process-wide pools (their workers end; a later use creates new ones). */
export async function closeSharedComputePools(): Promise<void> {
  const pools = [...sharedPools.values()];
  sharedPools.clear();
  await Promise.all(pools.map((p) => p.close()));
}
