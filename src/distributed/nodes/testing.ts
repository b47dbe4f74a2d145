/**
 * In-memory fakes for tests of distributed nodes: workers that speak the
 * Gadgetron protocol over an in-memory transport (echoing, failing, silent,
 * dying or refusing), a connector that reaches them by id, and a small pool.
 */
import { Channel } from '../../engine/channel.js';
import { planPipeline, runChain, type PipelinePlan, type RunEnvironment } from '../../engine/pipeline.js';
import { defaultRegistry } from '../../gadgets/index.js';
import { headerXml, makeAcquisition, makeHeader } from '../../gadgets/testing.js';
import { parseStreamConfiguration } from '../../config/index.js';
import type { Message } from '../../ismrmrd/messages.js';
import type { Acquisition } from '../../ismrmrd/types.js';
import { encodeAcquisition, encodeClose, encodeImage, encodeText, FrameDecoder, type Frame } from '../../protocol/index.js';
import { createLogger } from '../../util/logger.js';
import { WorkerError } from './remote-session.js';
import type { DistributionEnvironment, JobRecord, JobWorkerPool, WorkerConnector, WorkerEndpoint, WorkerState, WorkerTransport } from './types.js';

/** How a fake worker behaves on each connection. */
export type FakeBehaviour =
  | { kind: 'echo'; delayMs?: number }
  | { kind: 'error'; afterMessages: number }
  | { kind: 'silent' }
  | { kind: 'die'; afterMessages: number }
  | { kind: 'refuse' };

/** What a fake worker saw. */
export interface FakeWorkerLog {
  connections: number;
  /** Data messages received, over all connections. */
  received: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A connector to in-memory workers: `behaviours` maps a worker id to what it
 * does. Echo workers send every data message back (acquisitions and images)
 * and CLOSE after the gateway's CLOSE.
 */
export function fakeConnector(behaviours: Record<string, FakeBehaviour>, logs: Record<string, FakeWorkerLog> = {}): WorkerConnector {
  return async (endpoint: WorkerEndpoint) => {
    const behaviour = behaviours[endpoint.id];
    if (!behaviour || behaviour.kind === 'refuse') throw new WorkerError('connect', `Cannot connect to worker ${endpoint.id}: ECONNREFUSED`);
    const log = (logs[endpoint.id] ??= { connections: 0, received: 0 });
    log.connections += 1;
    const toWorker = new Channel<Uint8Array>(8);
    const toGateway = new Channel<Uint8Array>(8);
    const transport: WorkerTransport = {
      incoming: toGateway,
      async write(chunks) {
        for (const chunk of chunks) await toWorker.push(chunk.slice());
      },
      end: () => toWorker.close(),
      destroy: (error) => {
        toGateway.close(error ?? new Error('destroyed'));
        toWorker.close();
        toWorker.discard();
      },
    };
    void runFakeWorker(behaviour, toWorker, toGateway, log).catch(() => undefined);
    return transport;
  };
}

async function runFakeWorker(behaviour: FakeBehaviour, input: Channel<Uint8Array>, output: Channel<Uint8Array>, log: FakeWorkerLog): Promise<void> {
  const decoder = new FrameDecoder();
  const reply = async (chunks: Uint8Array[]): Promise<void> => {
    for (const chunk of chunks) await output.push(chunk);
  };
  let data = 0;
  for await (const bytes of input) {
    for (const frame of decoder.push(bytes)) {
      if (frame.kind === 'config-script' || frame.kind === 'header') continue;
      if (frame.kind === 'close') {
        if (behaviour.kind === 'silent') continue;
        if (behaviour.kind === 'error') await reply(encodeText('[Connection Main Thread/worker] ERROR: boom'));
        await reply(encodeClose());
        output.close();
        return;
      }
      data += 1;
      log.received += 1;
      if (behaviour.kind === 'silent') continue;
      if (behaviour.kind === 'die' && data > behaviour.afterMessages) {
        output.close(new Error('ECONNRESET'));
        input.discard();
        return;
      }
      if (behaviour.kind === 'error' && data > behaviour.afterMessages) {
        await reply([...encodeText('[Connection Main Thread/worker] ERROR: boom'), ...encodeClose()]);
        output.close();
        input.discard();
        return;
      }
      if (behaviour.kind === 'echo' && behaviour.delayMs) await sleep(behaviour.delayMs);
      await reply(echo(frame));
    }
  }
}

function echo(frame: Frame): Uint8Array[] {
  if (frame.kind === 'acquisition') return encodeAcquisition(frame.acquisition);
  if (frame.kind === 'image') return encodeImage(frame.image);
  return [];
}

/** A pool over fixed workers: least active jobs first (ties in list order), unhealthy after a failure. */
export class FakePool implements JobWorkerPool {
  readonly active = new Map<string, number>();
  readonly completed = new Map<string, number>();
  readonly unhealthy = new Set<string>();
  readonly endpoints: WorkerEndpoint[];

  constructor(ids: readonly string[]) {
    this.endpoints = ids.map((id) => ({ id, host: id.split(':')[0] ?? id, port: Number(id.split(':')[1] ?? 1) }));
  }

  pick(exclude?: ReadonlySet<string>): WorkerEndpoint | undefined {
    let best: WorkerEndpoint | undefined;
    for (const e of this.endpoints) {
      if (exclude?.has(e.id) || this.unhealthy.has(e.id)) continue;
      if (!best || (this.active.get(e.id) ?? 0) < (this.active.get(best.id) ?? 0)) best = e;
    }
    return best;
  }

  jobStarted(id: string): void {
    this.active.set(id, (this.active.get(id) ?? 0) + 1);
  }

  jobFinished(id: string, ok: boolean): void {
    this.active.set(id, (this.active.get(id) ?? 1) - 1);
    if (ok) this.completed.set(id, (this.completed.get(id) ?? 0) + 1);
  }

  connectFailed(id: string): void {
    this.unhealthy.add(id);
  }

  snapshot(): WorkerState[] {
    return this.endpoints.map((e) => ({
      id: e.id, host: e.host, port: e.port, activeJobs: this.active.get(e.id) ?? 0, completedJobs: this.completed.get(e.id) ?? 0,
      failedJobs: 0, lastJobMs: undefined, healthy: !this.unhealthy.has(e.id), source: 'test',
    }));
  }

  async ready(): Promise<void> {}

  takeWarnings(): string[] {
    return this.endpoints.length === 0 ? ['no workers found; computing locally'] : [];
  }
}

/** A v2 config whose `<distributed>` node (AcquisitionDistributor on `dimension`) runs an empty stream: workers and the local fallback both return their input. */
export function echoDistributedConfig(dimension = 'slice'): string {
  return `<?xml version="1.0"?>
<configuration><version>2</version>
  <readers><reader><dll>x</dll><classname>AcquisitionReader</classname></reader></readers>
  <writers><writer><dll>x</dll><classname>AcquisitionWriter</classname></writer></writers>
  <stream key="main">
    <distributed>
      <readers><reader><dll>x</dll><classname>AcquisitionReader</classname></reader></readers>
      <writers><writer><dll>x</dll><classname>AcquisitionWriter</classname></writer></writers>
      <distributor><dll>x</dll><classname>AcquisitionDistributor</classname><property name="parallel_dimension" value="${dimension}"/></distributor>
      <stream key="worker"/>
    </distributed>
  </stream>
</configuration>`;
}

/** A v2 config whose `<puredistributed>` node runs an empty pure stream over images. */
export function echoPureConfig(): string {
  return `<?xml version="1.0"?>
<configuration><version>2</version>
  <readers><reader><dll>x</dll><classname>AcquisitionReader</classname></reader></readers>
  <writers><writer><dll>x</dll><classname>AcquisitionWriter</classname></writer></writers>
  <stream key="main">
    <puredistributed>
      <readers><reader><dll>x</dll><classname>AcquisitionReader</classname></reader></readers>
      <writers><writer><dll>x</dll><classname>AcquisitionWriter</classname></writer></writers>
      <purestream/>
    </puredistributed>
  </stream>
</configuration>`;
}

/** Plans a config text with the default registry. */
export function planText(xml: string): PipelinePlan {
  return planPipeline(parseStreamConfiguration(xml), defaultRegistry());
}

/** Acquisitions numbered by scan_counter: `slices` slices, `perSlice` each; interleaved when asked. */
export function numberedAcquisitions(slices: number, perSlice: number, interleaved = false): Acquisition[] {
  const out: Acquisition[] = [];
  for (let i = 0; i < slices * perSlice; i++) {
    const slice = interleaved ? i % slices : Math.floor(i / perSlice);
    out.push(makeAcquisition({ samples: 8, channels: 2, scanCounter: i, idx: { slice, kspace_encode_step_1: i }, data: (s, c) => [i + s, c] }));
  }
  return out;
}

/** What {@link runNode} returns. */
export interface NodeRun {
  output: Message[];
  notices: string[];
  records: JobRecord[];
  error?: unknown;
}

/** Runs a planned chain over `input` with the given distribution settings, collecting output, notices and job records. */
export async function runNode(plan: PipelinePlan, input: readonly Message[], distribution: Partial<DistributionEnvironment> & { pool?: JobWorkerPool }): Promise<NodeRun> {
  const records: JobRecord[] = [];
  const notices: string[] = [];
  const inChannel = new Channel<Message>(4);
  const output: Message[] = [];
  const header = makeHeader({ encodedMatrix: [8, 8, 1], encodedFov: [100, 100, 5] });
  const env: RunEnvironment = {
    header,
    headerXml: headerXml({ encodedMatrix: [8, 8, 1], encodedFov: [100, 100, 5] }),
    log: createLogger('silent'),
    signal: new AbortController().signal,
    channelCapacity: 4,
    notify: (_path, text) => notices.push(text),
    distribution: {
      connectTimeoutMs: 1_000,
      workerTimeoutMs: 2_000,
      jobBufferBytes: 1 << 30,
      workerSlots: 2,
      discoveryWaitMs: 10,
      ...distribution,
      recordJob: (r) => records.push(r),
    },
  };
  const feed = (async () => {
    for (const m of input) await inChannel.push(m);
    inChannel.close();
  })().catch(() => undefined);
  const run: NodeRun = { output, notices, records };
  try {
    await runChain(plan.chain, inChannel, { push: async (m) => { output.push(m); } }, env);
  } catch (err) {
    run.error = err;
    inChannel.close(err);
  }
  await feed;
  return run;
}

/** The scan counters of acquisitions, in order. */
export function counters(messages: readonly Message[]): number[] {
  return messages.map((m) => (m.kind === 'acquisition' ? m.head.scan_counter : -1));
}
