/**
 * Runs a `<distributed>` node (and the legacy Distribute … Collect section):
 * the distributor splits the input into lanes, each lane is a job, and each
 * job runs on one worker, or in-process when none can take it.
 *
 * Exactly once: a job's input is kept until the job completes; its output is
 * buffered per attempt and released only when the worker closes cleanly. A
 * worker that cannot be reached, breaks the connection, reports an error or
 * makes no progress for the worker timeout loses the job, which is replayed
 * from its first message on the next best worker (never one that already
 * failed it) or in-process, and the client is told. Outputs are released in
 * job order, so the result does not depend on which worker finished first.
 */
import { performance } from 'node:perf_hooks';
import type { Output } from '../../engine/channel.js';
import { Channel } from '../../engine/channel.js';
import type { DistributedStep, RunEnvironment } from '../../engine/pipeline.js';
import type { Message } from '../../ismrmrd/messages.js';
import { DistributionError, JobInput, type Placement } from '../jobs.js';
import { elapsed, NodeContext, reasonOf, type LocalRunner } from './node-context.js';
import { WorkerError } from './remote-session.js';
import type { WorkerEndpoint } from './types.js';

interface Job {
  readonly n: number;
  readonly key: string;
  readonly input: JobInput;
  result: Promise<Message[]>;
}

function describe(placement: Placement): string {
  return placement.kind === 'remote' ? `worker ${placement.endpoint.id}` : 'in-process';
}

/** Runs `step`; resolves when every job's output has been released to `output`. */
export async function runDistributedStep(
  step: DistributedStep,
  input: AsyncIterable<Message>,
  output: Output<Message>,
  env: RunEnvironment,
  runLocal: LocalRunner,
): Promise<void> {
  const ctx = new NodeContext(step, env, { useLocal: step.useLocal });
  const distributor = step.distributor.create(step.distributorProperties, env.header);
  const kinds = new Set(step.distributor.kinds);
  const jobs: Job[] = [];
  const open = new Map<string, Job>();
  let inputDone = false;
  let wakeReleaser: (() => void) | undefined;
  const poke = (): void => {
    const wake = wakeReleaser;
    wakeReleaser = undefined;
    wake?.();
  };
  ctx.watch();

  const startJob = (lane: string): Job => {
    const n = jobs.length + 1;
    const job: Job = {
      n,
      key: lane,
      input: new JobInput({
        budget: ctx.budget,
        capacity: env.channelCapacity,
        signal: ctx.signal,
        onBoundExceeded: (held) => ctx.notify(
          `job ${n} (${lane}): its input no longer fits the job buffer (${ctx.budget.limit} bytes, ${held} held; --job-buffer-bytes); it cannot be replayed if its worker fails`,
        ),
      }),
      result: Promise.resolve([]),
    };
    job.result = runJob(ctx, job, runLocal);
    job.result.catch((err: unknown) => ctx.fail(err));
    jobs.push(job);
    poke();
    return job;
  };

  const feeder = (async () => {
    for await (const message of input) {
      if (ctx.signal.aborted) return;
      if (!kinds.has(message.kind)) {
        await output.push(message);
        continue;
      }
      for (const { lane, message: part } of distributor.assign(message)) {
        let job = open.get(lane);
        if (!job) {
          if (step.lanes === 'sequential') {
            for (const other of open.values()) other.input.end();
            open.clear();
          }
          job = startJob(lane);
          open.set(lane, job);
        }
        await job.input.append(part);
        if (step.lanes === 'single-message') {
          job.input.end();
          open.delete(lane);
        }
      }
    }
    for (const job of open.values()) job.input.end();
    open.clear();
  })().finally(() => {
    inputDone = true;
    poke();
  });

  const releaser = (async () => {
    for (let i = 0; ; i++) {
      while (i >= jobs.length) {
        if (inputDone) return;
        await Promise.race([new Promise<void>((resolve) => {
          wakeReleaser = resolve;
        }), ctx.failed]);
      }
      const job = jobs[i] as Job;
      const messages = await Promise.race([job.result, ctx.failed]);
      for (const message of messages) await output.push(message);
    }
  })();

  await ctx.finish([feeder, releaser]);
}

/** Runs attempts of one job until one completes; rejects when the job cannot complete. */
async function runJob(ctx: NodeContext, job: Job, runLocal: LocalRunner): Promise<Message[]> {
  const excluded = new Set<string>();
  const maxRemote = ctx.settings.maxRemoteAttempts ?? 3;
  let remoteAttempts = 0;
  let lastFailure: { worker: string; reason: string } | undefined;
  for (let attempt = 1; ; attempt++) {
    const placement: Placement = remoteAttempts < maxRemote
      ? await ctx.chooser.choose(excluded, () => !job.input.overBudget)
      : { kind: 'local', reason: 'all-failed' };
    if (lastFailure) {
      ctx.notify(`job ${job.n} (${job.key}) failed on worker ${lastFailure.worker}: ${lastFailure.reason}; replaying it ${placement.kind === 'remote' ? `on ${describe(placement)}` : 'in-process'} (attempt ${attempt})`);
    } else {
      ctx.noteLocal(placement);
    }
    if (placement.kind === 'local') {
      const messages = await runLocalAttempt(ctx, job, attempt, runLocal);
      job.input.release();
      return messages;
    }
    remoteAttempts += 1;
    try {
      const result = await runRemoteAttempt(ctx, job, placement.endpoint, attempt, placement.release);
      job.input.release();
      for (const note of result.notes) ctx.notify(`worker ${placement.endpoint.id}: ${note}`);
      return result.messages;
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.error ?? err;
      if (!(err instanceof WorkerError)) throw err;
      excluded.add(placement.endpoint.id);
      if (!job.input.replayable) {
        throw new DistributionError('JOB_NOT_REPLAYABLE',
          `Cannot replay job ${job.n} (${job.key}) after worker ${placement.endpoint.id} failed (${err.message}): its input outgrew the job buffer of ${ctx.budget.limit} bytes (raise --job-buffer-bytes)`,
          { cause: err });
      }
      lastFailure = { worker: placement.endpoint.id, reason: err.message };
    }
  }
}

/** One attempt on a worker: send the job, collect its output until the worker's CLOSE. */
async function runRemoteAttempt(
  ctx: NodeContext, job: Job, endpoint: WorkerEndpoint, attempt: number, release: () => void,
): Promise<{ messages: Message[]; notes: string[] }> {
  const started = performance.now();
  const pool = ctx.settings.pool;
  const messages: Message[] = [];
  let sent = 0;
  let session;
  ctx.started({ job: job.n, key: job.key, worker: endpoint.id, attempt });
  try {
    session = await ctx.open(endpoint);
  } catch (err) {
    release();
    ctx.record({ job: job.n, key: job.key, worker: endpoint.id, attempt, outcome: 'connect-failed', ms: elapsed(started), messagesIn: 0, messagesOut: 0, error: reasonOf(err) });
    throw err;
  }
  pool?.jobStarted(endpoint.id);
  release();
  const stopReading = new AbortController();
  const live = session;
  const sender = (async () => {
    for await (const message of job.input.read(stopReading.signal)) {
      if (!(await live.send(message))) throw new WorkerError('failed', `no writer of the node takes ${message.kind} messages`);
      sent += 1;
    }
    await live.closeInput();
  })();
  const receiver = (async () => {
    for await (const message of live.messages()) messages.push(message);
  })();
  sender.catch((err: unknown) => {
    if (!stopReading.signal.aborted) live.destroy(err instanceof WorkerError ? err : new WorkerError('failed', reasonOf(err)));
  });
  receiver.catch(() => stopReading.abort());
  const [s, r] = await Promise.allSettled([sender, receiver]);
  ctx.drop(live);
  ctx.chooser.wake();
  const ms = elapsed(started);
  if (s.status === 'fulfilled' && r.status === 'fulfilled') {
    pool?.jobFinished(endpoint.id, true, ms);
    ctx.record({ job: job.n, key: job.key, worker: endpoint.id, attempt, outcome: 'ok', ms, messagesIn: sent, messagesOut: messages.length, bytesSent: live.bytesSent, bytesReceived: live.bytesReceived });
    return { messages, notes: live.notes };
  }
  live.destroy();
  pool?.jobFinished(endpoint.id, false, ms);
  const reason: unknown = r.status === 'rejected' ? r.reason : (s as PromiseRejectedResult).reason;
  const outcome = ctx.signal.aborted ? 'cancelled' : reason instanceof WorkerError && reason.kind === 'timeout' ? 'timeout' : 'failed';
  if (outcome !== 'cancelled' && reason instanceof WorkerError) pool?.connectFailed(endpoint.id);
  ctx.record({ job: job.n, key: job.key, worker: endpoint.id, attempt, outcome, ms, messagesIn: sent, messagesOut: messages.length, bytesSent: live.bytesSent, bytesReceived: live.bytesReceived, error: reasonOf(reason) });
  if (reason instanceof DistributionError) throw reason;
  throw reason instanceof WorkerError ? reason : new WorkerError('failed', reasonOf(reason), { cause: reason });
}

/** One attempt in-process: the inner stream runs over the job's input here. */
async function runLocalAttempt(ctx: NodeContext, job: Job, attempt: number, runLocal: LocalRunner): Promise<Message[]> {
  const started = performance.now();
  const done = ctx.chooser.localStarted();
  ctx.started({ job: job.n, key: job.key, worker: 'local', attempt });
  const messages: Message[] = [];
  const channel = new Channel<Message>(ctx.env.channelCapacity);
  const stopReading = new AbortController();
  const onAbort = (): void => stopReading.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  let sent = 0;
  const pump = (async () => {
    try {
      for await (const message of job.input.read(stopReading.signal)) {
        await channel.push(message);
        sent += 1;
      }
      channel.close();
    } catch (err) {
      channel.close(err);
    }
  })();
  try {
    await runLocal(ctx.step.inner, channel, { push: async (m) => { messages.push(m); } }, ctx.env);
    ctx.record({ job: job.n, key: job.key, worker: 'local', attempt, outcome: 'ok', ms: elapsed(started), messagesIn: sent, messagesOut: messages.length });
    return messages;
  } catch (err) {
    ctx.record({ job: job.n, key: job.key, worker: 'local', attempt, outcome: ctx.signal.aborted ? 'cancelled' : 'failed', ms: elapsed(started), messagesIn: sent, messagesOut: messages.length, error: reasonOf(err) });
    throw err;
  } finally {
    stopReading.abort();
    ctx.signal.removeEventListener('abort', onAbort);
    await pump;
    done();
  }
}
