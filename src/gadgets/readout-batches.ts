/**
 * Per-readout work on the compute threads: readouts go in batches, in
 * shared memory (where they lie when it is shared already, else packed into
 * a shared array), a task of `generic-recon-tasks.ts` does the batch on
 * a worker (the same per-readout kernel calls as inline, so the same bits),
 * and the results go on in input order. Used by the gadgets whose work per
 * readout would otherwise keep the event-loop thread busy while the workers
 * wait (oversampling removal, prewhitening).
 *
 * - Order: readouts and any other message handed to {@link ReadoutBatches.pass}
 *   leave in the order they came.
 * - Bounded: at most `inFlight` batches are outstanding; `add` waits.
 * - Streaming: a batch that does not fill within `maxWaitMs` is sent as it
 *   is, so readouts arriving at scanner pace are not held back.
 * - Never stalled behind long tasks: batches go to the workers as urgent
 *   tasks (ahead of a slice's reconstruction pieces, and up to
 *   URGENT_AHEAD per worker, so a worker keeps busy while the event-loop
 *   thread runs a long piece of its own); one made while the workers hold
 *   all the urgent tasks they take is done on the calling thread at once.
 * - Errors: a failed batch fails the next `add`, `pass` or `finish`.
 */
import type { Output } from '../engine/channel.js';
import { isShared, sharedFloat32, URGENT_AHEAD, type ComputePool } from '../engine/thread-pool.js';
import { noteSharedBuffer } from '../util/gc.js';
import type { Message } from '../ismrmrd/messages.js';
import type { Acquisition } from '../ismrmrd/types.js';
import { copyBlocks } from '../kernels/copy.js';
import { runTask, type ReconTaskName } from './generic-recon-tasks.js';

/** The output a worker made for a batch (see {@link PackedReadouts}), reported to V8's collections here, where it lives on. */
function takenOutput(made: unknown, floats: number): Float32Array {
  if (!(made instanceof Float32Array) || made.length !== floats || !(made.buffer instanceof SharedArrayBuffer)) {
    throw new Error(`Cannot take a readout batch's output: the task returned no shared array of ${floats} floats`);
  }
  noteSharedBuffer(made.buffer);
  return made;
}

/** Runs a task on this thread now, as a settled promise. */
function runHere(name: ReconTaskName, args: unknown): Promise<unknown> {
  try {
    return Promise.resolve(runTask(name, args));
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * A batch as handed to its task: readout k's input is `inputs[k]` (shared
 * memory: its own data where that is shared already, as readouts read from a
 * file are, else a copy packed into one shared array), its result goes to
 * `out[outOffsets[k]…]`. `out` is null for a batch sent to a worker: the task
 * makes it there ({@link batchOutput}, `outFloats` floats) and returns it, so
 * that the event-loop thread, which reads, decodes and sends every readout,
 * spends no time zeroing and faulting in the 2 MB of each batch's output.
 */
export interface PackedReadouts<M> {
  readonly acqs: readonly Acquisition[];
  readonly metas: readonly M[];
  readonly inputs: readonly Float32Array[];
  readonly out: Float32Array | null;
  readonly outFloats: number;
  readonly outOffsets: readonly number[];
}

/** What is done to each readout, with `M` the per-readout settings. */
export interface ReadoutWork<M> {
  /** The task that does a packed batch. */
  readonly task: ReconTaskName;
  /** Readouts whose keys differ go in different batches (another matrix, channel count…). */
  key(acq: Acquisition, meta: M): unknown;
  /** Floats of the readout's input (from the start of its data). */
  inputFloats(acq: Acquisition, meta: M): number;
  /** Floats of its result. */
  outputFloats(acq: Acquisition, meta: M): number;
  /** The task's arguments. */
  args(batch: PackedReadouts<M>): unknown;
  /** The readout sent on, with its result `data`. */
  result(acq: Acquisition, meta: M, data: Float32Array): Acquisition;
}

/** Sizes of {@link ReadoutBatches}. */
export interface ReadoutBatchOptions {
  /** Floats of input per batch: a batch is sent once it holds this much (default 1 Mi floats, 4 MiB). */
  batchFloats?: number;
  /** Most readouts per batch (default 64). */
  batchReadouts?: number;
  /** Batches outstanding at most (default {@link URGENT_AHEAD}, as many as a worker takes ahead). */
  inFlight?: number;
  /** A batch that has not filled after this long is sent (default 10 ms). */
  maxWaitMs?: number;
}

/** Runs a {@link ReadoutWork} on a pool's workers and pushes the results, in order, to `output`. */
export class ReadoutBatches<M> {
  private acqs: Acquisition[] = [];
  private metas: M[] = [];
  private floats = 0;
  private key: unknown;
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<void> = Promise.resolve();
  private outstanding = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly freeInputs: Float32Array[] = [];
  private failure: { error: unknown } | undefined;
  private readonly batchFloats: number;
  private readonly batchReadouts: number;
  private readonly inFlight: number;
  private readonly maxWaitMs: number;

  constructor(
    private readonly pool: ComputePool,
    private readonly output: Output<Message>,
    private readonly work: ReadoutWork<M>,
    options: ReadoutBatchOptions = {},
  ) {
    this.batchFloats = Math.max(1, options.batchFloats ?? 1 << 20);
    this.batchReadouts = Math.max(1, options.batchReadouts ?? 64);
    this.inFlight = Math.max(1, options.inFlight ?? URGENT_AHEAD);
    this.maxWaitMs = Math.max(0, options.maxWaitMs ?? 10);
  }

  /** Queues one readout; waits while too many batches are outstanding. */
  async add(acq: Acquisition, meta: M): Promise<void> {
    this.throwIfFailed();
    const key = this.work.key(acq, meta);
    if (this.acqs.length > 0 && key !== this.key) this.dispatch();
    this.key = key;
    this.acqs.push(acq);
    this.metas.push(meta);
    this.floats += this.work.inputFloats(acq, meta);
    if (this.floats >= this.batchFloats || this.acqs.length >= this.batchReadouts) this.dispatch();
    else this.timer ??= setTimeout(() => this.dispatch(), this.maxWaitMs);
    while (this.outstanding > this.inFlight) await new Promise<void>((r) => this.waiters.push(r));
    this.throwIfFailed();
  }

  /** Sends `message` on after every readout queued before it. */
  async pass(message: Message): Promise<void> {
    await this.drain();
    await this.output.push(message);
  }

  /** Sends everything queued; rejects with the first failure. */
  async finish(): Promise<void> {
    await this.drain();
  }

  private async drain(): Promise<void> {
    this.dispatch();
    await this.tail;
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private dispatch(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.acqs.length === 0) return;
    const acqs = this.acqs;
    const metas = this.metas;
    this.acqs = [];
    this.metas = [];
    this.floats = 0;
    const outOffsets: number[] = [];
    const inFloats = acqs.map((acq, k) => this.work.inputFloats(acq, metas[k] as M));
    let outTotal = 0;
    acqs.forEach((acq, k) => {
      outOffsets.push(outTotal);
      outTotal += this.work.outputFloats(acq, metas[k] as M);
    });
    let whole: Float32Array | undefined;
    let inputs: Float32Array[];
    if (acqs.every((acq) => isShared(acq.data))) {
      inputs = acqs.map((acq, k) => acq.data.subarray(0, inFloats[k] as number));
    } else {
      const packed = this.takeInput(inFloats.reduce((a, b) => a + b, 0));
      whole = packed;
      let at = 0;
      inputs = acqs.map((acq, k) => {
        const floats = inFloats[k] as number;
        // Native memcpy: V8's TypedArray.set into shared memory copies word by word (src/kernels/copy.ts).
        copyBlocks(packed, at, 0, acq.data, 0, 0, floats, 1);
        at += floats;
        return packed.subarray(at - floats, at);
      });
    }
    // The workers have enough to do (a slice's pieces are running): do the batch here rather than stall the stream behind them.
    const onWorker = this.pool.freeUrgentSlots > 0;
    const batch: PackedReadouts<M> = { acqs, metas, inputs, out: onWorker ? null : sharedFloat32(outTotal), outFloats: outTotal, outOffsets };
    const args = this.work.args(batch);
    const done = onWorker ? this.pool.run<unknown>(this.work.task, args, { urgent: true }) : runHere(this.work.task, args);
    done.catch(() => undefined);
    this.outstanding += 1;
    const step = this.tail.then(async () => {
      try {
        const made = await done;
        if (whole) this.freeInputs.push(whole);
        if (this.failure) return;
        const out = batch.out ?? takenOutput(made, outTotal);
        for (let k = 0; k < acqs.length; k++) {
          const from = outOffsets[k] as number;
          const data = out.subarray(from, from + this.work.outputFloats(acqs[k] as Acquisition, metas[k] as M));
          await this.output.push(this.work.result(acqs[k] as Acquisition, metas[k] as M, data));
        }
      } finally {
        this.outstanding -= 1;
        this.waiters.shift()?.();
      }
    });
    this.tail = step.catch((error: unknown) => {
      this.failure ??= { error };
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** A shared input array of at least `floats` (reused once its batch is done: no fresh pages to fault in). */
  private takeInput(floats: number): Float32Array {
    const i = this.freeInputs.findIndex((a) => a.length >= floats);
    return i >= 0 ? (this.freeInputs.splice(i, 1)[0] as Float32Array) : sharedFloat32(Math.max(floats, this.batchFloats));
  }
}
