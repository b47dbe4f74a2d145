/**
 * Runs a `<puredistributed>` node: every input message is one job that yields
 * exactly one output message, sent to the least-loaded worker over one
 * persistent connection per worker (replies match jobs first in, first out),
 * and the outputs leave in input order.
 *
 * A worker that breaks, reports an error or stops answering for the worker
 * timeout loses its unanswered jobs, which are sent again to the next best
 * worker (never one that failed them) or run in-process; answers already
 * received stay, so each output is released exactly once. Messages no writer
 * of the node takes pass through in order.
 */
import { performance } from 'node:perf_hooks';
import { Channel, type Output } from '../../engine/channel.js';
import type { PureDistributedStep, RunEnvironment } from '../../engine/pipeline.js';
import type { Message } from '../../ismrmrd/messages.js';
import { elapsed, NodeContext, reasonOf, type LocalRunner } from './node-context.js';
import { RemoteSession, WorkerError } from './remote-session.js';
import type { WorkerEndpoint } from './types.js';

interface PureJob {
  readonly n: number;
  readonly message: Message;
  readonly excluded: Set<string>;
  remoteAttempts: number;
  attempts: number;
  sentAt: number;
  result: Promise<Message[]>;
  resolve(messages: Message[]): void;
}

interface Link {
  readonly endpoint: WorkerEndpoint;
  readonly session: RemoteSession;
  readonly pending: PureJob[];
  broken: boolean;
  reader: Promise<void>;
}

/** Jobs in flight per node run, as a multiple of the channel capacity. */
const IN_FLIGHT_FACTOR = 2;
/** Jobs one worker runs at once for a puredistributed node. */
const PURE_SLOTS = 64;

/** Runs `step`; resolves when every output has been released to `output`. */
export async function runPureDistributedStep(
  step: PureDistributedStep,
  input: AsyncIterable<Message>,
  output: Output<Message>,
  env: RunEnvironment,
  runLocal: LocalRunner,
): Promise<void> {
  const ctx = new NodeContext(step, env, { useLocal: false, slots: Math.max(PURE_SLOTS, ctx0Slots(env)), quiet: true });
  const pool = ctx.settings.pool;
  const maxRemote = ctx.settings.maxRemoteAttempts ?? 3;
  const links = new Map<string, Promise<Link>>();
  const linkOf = new Map<RemoteSession, Link>();
  const queue: PureJob[] = [];
  let released = 0;
  let inputDone = false;
  const wakers: Array<() => void> = [];
  const wake = (): void => {
    for (const w of wakers.splice(0)) w();
  };
  const sleep = (): Promise<void> => Promise.race([new Promise<void>((resolve) => wakers.push(resolve)), ctx.failed]);
  ctx.watch((session) => {
    const link = linkOf.get(session);
    return session.owesProgress || (link !== undefined && link.pending.length > 0);
  });

  const getLink = (endpoint: WorkerEndpoint): Promise<Link> => {
    let link = links.get(endpoint.id);
    if (!link) {
      link = ctx.open(endpoint).then((session) => {
        const l: Link = { endpoint, session, pending: [], broken: false, reader: Promise.resolve() };
        linkOf.set(session, l);
        l.reader = readLink(l);
        return l;
      });
      links.set(endpoint.id, link);
      link.catch(() => links.delete(endpoint.id));
    }
    return link;
  };

  const readLink = async (link: Link): Promise<void> => {
    const id = link.endpoint.id;
    try {
      for await (const message of link.session.messages()) {
        const job = link.pending.shift();
        if (!job) throw new WorkerError('failed', `Worker ${id} sent a message for no job (a puredistributed stream must answer each message with exactly one)`);
        const ms = elapsed(job.sentAt);
        pool?.jobFinished(id, true, ms);
        ctx.record({ job: job.n, key: `message=${job.n}`, worker: id, attempt: job.attempts, outcome: 'ok', ms, messagesIn: 1, messagesOut: 1 });
        job.resolve([message]);
        ctx.chooser.wake();
        if (link.pending.length > 0) link.session.touch();
      }
      if (link.pending.length > 0) throw new WorkerError('failed', `Worker ${id} closed with ${link.pending.length} job(s) unanswered`);
    } catch (err) {
      link.broken = true;
      links.delete(id);
      ctx.drop(link.session);
      link.session.destroy();
      const orphans = link.pending.splice(0);
      for (const job of orphans) pool?.jobFinished(id, false, elapsed(job.sentAt));
      if (ctx.signal.aborted) return;
      const reason = reasonOf(err);
      const outcome = err instanceof WorkerError && err.kind === 'timeout' ? 'timeout' : 'failed';
      pool?.connectFailed(id);
      for (const job of orphans) {
        ctx.record({ job: job.n, key: `message=${job.n}`, worker: id, attempt: job.attempts, outcome, ms: elapsed(job.sentAt), messagesIn: 1, messagesOut: 0, error: reason });
        job.excluded.add(id);
      }
      if (orphans.length > 0) {
        ctx.notify(`worker ${id} failed with ${orphans.length} job(s) unanswered: ${reason}; replaying them elsewhere`);
        for (const job of orphans) dispatch(job).catch((e: unknown) => ctx.fail(e));
      } else {
        env.log.warn('worker link ended with an error', { node: step.path, worker: id, error: reason });
      }
    } finally {
      ctx.chooser.wake();
    }
  };

  const runHere = async (job: PureJob): Promise<void> => {
    const started = performance.now();
    const done = ctx.chooser.localStarted();
    job.attempts += 1;
    ctx.started({ job: job.n, key: `message=${job.n}`, worker: 'local', attempt: job.attempts });
    const messages: Message[] = [];
    const channel = new Channel<Message>(1);
    channel.push(job.message).catch(() => undefined);
    channel.close();
    try {
      await runLocal(step.inner, channel, { push: async (m) => { messages.push(m); } }, env);
    } finally {
      done();
    }
    ctx.record({ job: job.n, key: `message=${job.n}`, worker: 'local', attempt: job.attempts, outcome: 'ok', ms: elapsed(started), messagesIn: 1, messagesOut: messages.length });
    job.resolve(messages);
  };

  const dispatch = async (job: PureJob): Promise<void> => {
    for (;;) {
      if (ctx.signal.aborted) return;
      const placement = job.remoteAttempts < maxRemote
        ? await ctx.chooser.choose(job.excluded, () => false)
        : { kind: 'local' as const, reason: 'all-failed' as const };
      ctx.noteLocal(placement);
      if (placement.kind === 'local') return runHere(job);
      job.remoteAttempts += 1;
      let link: Link;
      try {
        link = await getLink(placement.endpoint);
      } catch (err) {
        placement.release();
        if (ctx.signal.aborted) return;
        if (!(err instanceof WorkerError)) throw err;
        job.excluded.add(placement.endpoint.id);
        ctx.started({ job: job.n, key: `message=${job.n}`, worker: placement.endpoint.id, attempt: job.attempts + 1 });
        ctx.record({ job: job.n, key: `message=${job.n}`, worker: placement.endpoint.id, attempt: job.attempts + 1, outcome: 'connect-failed', ms: 0, messagesIn: 0, messagesOut: 0, error: err.message });
        ctx.notify(`${err.message}; sending its jobs elsewhere`);
        continue;
      }
      if (link.broken) {
        placement.release();
        job.remoteAttempts -= 1;
        continue;
      }
      job.attempts += 1;
      job.sentAt = performance.now();
      ctx.started({ job: job.n, key: `message=${job.n}`, worker: link.endpoint.id, attempt: job.attempts });
      link.pending.push(job);
      if (link.pending.length === 1) link.session.touch();
      pool?.jobStarted(link.endpoint.id);
      placement.release();
      try {
        await link.session.send(job.message);
      } catch {
        // the link's reader sees the failure and replays its pending jobs, this one included
      }
      return;
    }
  };

  const feeder = (async () => {
    let n = 0;
    for await (const message of input) {
      if (ctx.signal.aborted) return;
      while (queue.length - released >= IN_FLIGHT_FACTOR * env.channelCapacity) await sleep();
      n += 1;
      let resolve: (messages: Message[]) => void = () => undefined;
      const result = new Promise<Message[]>((r) => {
        resolve = r;
      });
      const job: PureJob = { n, message, excluded: new Set(), remoteAttempts: 0, attempts: 0, sentAt: 0, result, resolve };
      queue.push(job);
      wake();
      if (!step.link.writerKinds.has(message.kind)) {
        job.resolve([message]);
        continue;
      }
      dispatch(job).catch((err: unknown) => ctx.fail(err));
    }
  })().finally(() => {
    inputDone = true;
    wake();
  });

  const releaser = (async () => {
    for (;;) {
      while (released >= queue.length) {
        if (inputDone) return;
        await sleep();
      }
      const job = queue[released] as PureJob;
      const messages = await Promise.race([job.result, ctx.failed]);
      queue[released] = undefined as unknown as PureJob;
      released += 1;
      wake();
      for (const message of messages) await output.push(message);
    }
  })();

  await ctx.finish([feeder, releaser], () => closeLinks([...links.values()], ctx, env));
}

function ctx0Slots(env: RunEnvironment): number {
  return env.distribution?.workerSlots ?? 1;
}

/** Sends CLOSE on every link and waits (bounded by the worker timeout) for the workers to close. */
async function closeLinks(pending: Promise<Link>[], ctx: NodeContext, env: RunEnvironment): Promise<void> {
  const settled = await Promise.allSettled(pending);
  await Promise.all(settled.map(async (s) => {
    if (s.status !== 'fulfilled' || s.value.broken) return;
    const link = s.value;
    try {
      await link.session.closeInput();
      await link.reader;
    } catch (err) {
      env.log.warn('closing a worker link failed', { node: ctx.step.path, worker: link.endpoint.id, error: reasonOf(err) });
    }
  }));
}
