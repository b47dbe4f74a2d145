/**
 * Builds a runnable pipeline from a parsed stream configuration (every class
 * and property checked before any data flows) and runs it over bounded
 * channels with backpressure.
 */
import {
  serializeStreamConfiguration, workerConfiguration,
  type ComponentSpec, type DistributedSpec, type GadgetSpec, type NodeSpec, type PureDistributedSpec, type ReaderSpec,
  type StreamConfiguration, type StreamSpec, type WriterSpec,
} from '../config/index.js';
import type { AnyDistributorDefinition } from '../distributed/nodes/distributors.js';
import {
  LEGACY_COLLECT_CLASSES, LEGACY_DISTRIBUTE_CLASSES, legacyCollectProperties, legacyDistributeProperties, legacyLaneMode,
} from '../distributed/nodes/legacy.js';
import type { RemoteStreamPlan } from '../distributed/nodes/node-context.js';
import type { DistributionEnvironment } from '../distributed/nodes/types.js';
import type { WireLink } from '../distributed/nodes/wire.js';
import { WIRE_KINDS } from '../distributed/nodes/wire-kinds.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import type { Message, MessageKind } from '../ismrmrd/messages.js';
import type { DependencyStore } from '../storage/types.js';
import type { Logger } from '../util/logger.js';
import { Channel, ChannelClosedError, forEachMessage, type Output } from './channel.js';
import { GadgetError, PipelineBuildError } from './errors.js';
import { commonProperties, type AnyGadgetDefinition, type GadgetContext } from './gadget.js';
import { parsePropertyValue, PropertyValueError, defaultProperties, type PropertySchema } from './properties.js';
import type { BranchDefinition, MergeDefinition } from './parallel.js';
import type { Registry } from './registry.js';
import { DEFAULT_SLICES_IN_FLIGHT, isSliceMessage, SliceBudget } from './slice-budget.js';

/** One gadget with validated properties. */
export interface GadgetStep {
  readonly type: 'gadget';
  readonly definition: AnyGadgetDefinition;
  readonly properties: Record<string, boolean | number | string>;
  /** Display name from the config (or the class name). */
  readonly name: string;
  readonly path: string;
}

/** A linear sequence of steps. */
export interface ChainPlan {
  readonly type: 'chain';
  readonly key: string;
  readonly steps: readonly StepPlan[];
}

/** A `<parallel>` node: a branch fans out to keyed streams, a merge combines them. */
export interface ParallelStep {
  readonly type: 'parallel';
  readonly branch: BranchDefinition;
  readonly merge: MergeDefinition;
  readonly streams: readonly ChainPlan[];
  readonly path: string;
}

/**
 * A `<distributed>` node, or a legacy Distribute … Collect section: the
 * distributor splits the input into jobs that run the inner stream on workers
 * (or in-process when none can take them).
 */
export interface DistributedStep extends RemoteStreamPlan {
  readonly type: 'distributed';
  readonly distributor: AnyDistributorDefinition;
  readonly distributorProperties: Record<string, boolean | number | string>;
  /** When a job's input ends: at the end of the node's input, when the next job starts, or after each message. */
  readonly lanes: 'until-end' | 'sequential' | 'single-message';
  /** This server takes jobs too, competing with the workers by load (legacy `use_this_node_for_compute`). */
  readonly useLocal: boolean;
}

/** A `<puredistributed>` node: one job per message, one output per job, input order kept. */
export interface PureDistributedStep extends RemoteStreamPlan {
  readonly type: 'puredistributed';
}

export type StepPlan = GadgetStep | ParallelStep | DistributedStep | PureDistributedStep;

/** A validated, runnable pipeline. */
export interface PipelinePlan {
  /** Message ids accepted from the client in the stream state. */
  readonly readerSlots: ReadonlySet<number>;
  /** Message kinds sent back to the client (others are dropped, as in Gadgetron). */
  readonly writtenKinds: ReadonlySet<MessageKind>;
  readonly chain: ChainPlan;
  /** Non-fatal notes found while building (e.g. ignored properties of lenient gadgets). */
  readonly warnings: readonly string[];
}

/** Builds and validates a pipeline; throws PipelineBuildError naming the element and its line. */
export function planPipeline(config: StreamConfiguration, registry: Registry): PipelinePlan {
  const warnings: string[] = [];
  const readerSlots = new Set<number>();
  for (const reader of config.readers) {
    const def = registry.reader(reader.classname);
    if (!def) {
      throw new PipelineBuildError(
        `Cannot load config: unknown reader class '${reader.classname}' at line ${reader.line}`,
        'UNKNOWN_READER', reader.line, reader.column,
      );
    }
    readerSlots.add(reader.slot ?? def.slot);
  }
  const writtenKinds = new Set<MessageKind>(['text', 'dependencyquery']);
  for (const writer of config.writers) {
    const def = registry.writer(writer.classname);
    if (!def) {
      throw new PipelineBuildError(
        `Cannot load config: unknown writer class '${writer.classname}' at line ${writer.line}`,
        'UNKNOWN_WRITER', writer.line, writer.column,
      );
    }
    for (const kind of def.kinds) writtenKinds.add(kind);
  }
  const context: PlanContext = { registry, warnings, config };
  const chain = planStream(config.stream, context, config.stream.key ?? 'main');
  return { readerSlots, writtenKinds, chain, warnings };
}

/** What planning a stream needs besides the stream. */
interface PlanContext {
  readonly registry: Registry;
  readonly warnings: string[];
  /** The whole configuration (legacy Distribute sections forward its readers and writers to workers). */
  readonly config: StreamConfiguration;
}

function planStream(stream: StreamSpec, context: PlanContext, path: string): ChainPlan {
  const steps: StepPlan[] = [];
  const nodes = stream.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as NodeSpec;
    if (node.type === 'gadget' && LEGACY_DISTRIBUTE_CLASSES.includes(node.classname)) {
      const end = legacyCollectorIndex(nodes, i, context);
      steps.push(planLegacyDistribution(node, nodes.slice(i + 1, end), nodes[end] as GadgetSpec, context, path));
      i = end;
      continue;
    }
    if (node.type === 'gadget' && LEGACY_COLLECT_CLASSES.includes(node.classname)) {
      parseComponentProperties(node, legacyCollectProperties, true, 'gadget', context.warnings);
      continue;
    }
    const planned = planNode(node, context, path);
    if (Array.isArray(planned)) steps.push(...planned);
    else steps.push(planned);
  }
  return { type: 'chain', key: stream.key ?? 'main', steps };
}

function planNode(node: NodeSpec, context: PlanContext, path: string): StepPlan | StepPlan[] {
  const { registry } = context;
  if (node.type === 'gadget') return planGadget(node, registry, path, context.warnings);
  if (node.type === 'parallelprocess') {
    // In one process the pure stream runs in order on the session's thread: same output, same order.
    return planStream(node.stream, context, path).steps as StepPlan[];
  }
  if (node.type === 'parallel') {
    const branch = registry.branch(node.branch.classname);
    if (!branch) throw unknownComponent('branch', node.branch);
    const merge = registry.merge(node.merge.classname);
    if (!merge) throw unknownComponent('merge', node.merge);
    const streams = node.streams.map((s) => planStream(s, context, `${path}/${s.key ?? ''}`));
    return { type: 'parallel', branch, merge, streams, path: `${path}/${node.branch.name}` };
  }
  if (node.type === 'distributed') return planDistributed(node, context, path);
  if (node.type === 'puredistributed') return planPureDistributed(node, context, path);
  throw new PipelineBuildError(
    `Cannot load config: <${node.type}> at line ${node.line} is not supported by this Gantry version`,
    'UNSUPPORTED_NODE', node.line, node.column,
  );
}

/** The index of the legacy Distribute gadget's collector after position `at`. */
function legacyCollectorIndex(nodes: readonly NodeSpec[], at: number, context: PlanContext): number {
  const spec = nodes[at] as GadgetSpec;
  const props = parseComponentProperties(spec, legacyDistributeProperties, true, 'gadget', context.warnings);
  const collector = String(props['collector']).trim();
  for (let j = at + 1; j < nodes.length; j++) {
    const node = nodes[j] as NodeSpec;
    if (node.type === 'gadget' && node.name === collector) return j;
  }
  throw new PipelineBuildError(
    `Cannot load config: gadget '${spec.name}' (${spec.classname}) at line ${spec.line} has no collector gadget named '${collector}' after it`,
    'UNSUPPORTED_NODE', spec.line, spec.column,
  );
}

/** A legacy Distribute … Collect section as a distributed step keyed by `parallel_dimension`. */
function planLegacyDistribution(spec: GadgetSpec, inner: NodeSpec[], collect: GadgetSpec, context: PlanContext, path: string): DistributedStep {
  const props = parseComponentProperties(spec, legacyDistributeProperties, true, 'gadget', context.warnings);
  if (LEGACY_COLLECT_CLASSES.includes(collect.classname)) {
    parseComponentProperties(collect, legacyCollectProperties, true, 'gadget', context.warnings);
  } else {
    inner = [...inner, collect];
  }
  const distributor = context.registry.distributor('AcquisitionDistributor') as AnyDistributorDefinition;
  const nodePath = `${path}/${spec.name}`;
  const stream: StreamSpec = { key: spec.name, nodes: inner, line: spec.line, column: spec.column };
  const { readers, writers } = context.config;
  const where = `gadget '${spec.name}' at line ${spec.line}`;
  const link = planLink(readers, writers, context.registry, where);
  checkWritable(link, distributor.kinds, where, spec);
  return {
    type: 'distributed',
    path: nodePath,
    inner: planStream(stream, context, nodePath),
    workerConfig: serializeStreamConfiguration({ format: 'v2', readers, writers, stream }),
    link,
    distributor,
    distributorProperties: { parallel_dimension: props['parallel_dimension'] as string },
    lanes: legacyLaneMode({
      single_package_mode: props['single_package_mode'] === true,
      nodes_used_sequentially: props['nodes_used_sequentially'] === true,
    }),
    useLocal: props['use_this_node_for_compute'] === true,
  };
}

function planDistributed(node: DistributedSpec, context: PlanContext, path: string): DistributedStep {
  const distributor = context.registry.distributor(node.distributor.classname);
  if (!distributor) {
    throw new PipelineBuildError(
      `Cannot load config: unknown distributor class '${node.distributor.classname}' at line ${node.distributor.line}`,
      'UNKNOWN_CLASS', node.distributor.line, node.distributor.column,
    );
  }
  const distributorProperties = parseComponentProperties(node.distributor, distributor.properties, false, 'distributor', context.warnings);
  const where = `<distributed> at line ${node.line}`;
  const link = planLink(node.readers, node.writers, context.registry, where);
  checkWritable(link, distributor.kinds, where, node);
  const nodePath = `${path}/${node.distributor.name}`;
  return {
    type: 'distributed',
    path: nodePath,
    inner: planStream(node.stream, context, nodePath),
    workerConfig: serializeStreamConfiguration(workerConfiguration(node)),
    link,
    distributor,
    distributorProperties,
    lanes: 'until-end',
    useLocal: false,
  };
}

function planPureDistributed(node: PureDistributedSpec, context: PlanContext, path: string): PureDistributedStep {
  const where = `<puredistributed> at line ${node.line}`;
  const link = planLink(node.readers, node.writers, context.registry, where);
  if (link.writerKinds.size === 0) {
    throw new PipelineBuildError(`Cannot load config: ${where} has no writers, so nothing could be sent to its workers`, 'UNKNOWN_WRITER', node.line, node.column);
  }
  const nodePath = `${path}/PureDistributed`;
  return {
    type: 'puredistributed',
    path: nodePath,
    inner: planStream(node.stream, context, nodePath),
    workerConfig: serializeStreamConfiguration(workerConfiguration(node)),
    link,
  };
}

/** Resolves a distributed node's readers (ids accepted from workers) and writers (kinds sent to them). */
function planLink(readers: readonly ReaderSpec[], writers: readonly WriterSpec[], registry: Registry, where: string): WireLink {
  const readerIds = new Set<number>();
  for (const reader of readers) {
    const def = registry.reader(reader.classname);
    if (!def) {
      throw new PipelineBuildError(`Cannot load config: unknown reader class '${reader.classname}' at line ${reader.line} (${where})`, 'UNKNOWN_READER', reader.line, reader.column);
    }
    readerIds.add(reader.slot ?? def.slot);
  }
  const writerKinds = new Set<Message['kind']>();
  for (const writer of writers) {
    const def = registry.writer(writer.classname);
    if (!def) {
      throw new PipelineBuildError(`Cannot load config: unknown writer class '${writer.classname}' at line ${writer.line} (${where})`, 'UNKNOWN_WRITER', writer.line, writer.column);
    }
    for (const kind of def.kinds) if (WIRE_KINDS.has(kind)) writerKinds.add(kind);
  }
  return { readerIds, writerKinds };
}

/** Refuses a node whose writers cannot send what its distributor gives the workers. */
function checkWritable(link: WireLink, kinds: readonly Message['kind'][], where: string, at: { line: number; column: number }): void {
  const missing = kinds.filter((k) => !link.writerKinds.has(k));
  if (missing.length > 0) {
    throw new PipelineBuildError(
      `Cannot load config: ${where} has no writer for ${missing.join(', ')} messages, which its distributor sends to workers`,
      'UNKNOWN_WRITER', at.line, at.column,
    );
  }
}

function unknownComponent(role: 'branch' | 'merge', spec: ComponentSpec): PipelineBuildError {
  return new PipelineBuildError(
    `Cannot load config: unknown ${role} class '${spec.classname}' at line ${spec.line}`,
    'UNKNOWN_CLASS', spec.line, spec.column,
  );
}

function planGadget(spec: GadgetSpec, registry: Registry, path: string, warnings: string[]): GadgetStep {
  const definition = registry.gadget(spec.classname);
  if (!definition) {
    throw new PipelineBuildError(
      `Cannot load config: unknown gadget class '${spec.classname}' (gadget '${spec.name}' at line ${spec.line})`,
      'UNKNOWN_CLASS', spec.line, spec.column,
    );
  }
  const properties = parseComponentProperties(spec, definition.properties, definition.strict, 'gadget', warnings);
  return { type: 'gadget', definition, properties, name: spec.name, path: `${path}/${spec.name}` };
}

/**
 * Parses a component's properties against `schema` (defaults filled in).
 * Unknown names are errors for strict (legacy) components and warnings for
 * the others; Gadgetron's common legacy properties are always accepted.
 */
function parseComponentProperties(
  spec: ComponentSpec,
  schema: PropertySchema,
  strict: boolean,
  role: 'gadget' | 'distributor',
  warnings: string[],
): Record<string, boolean | number | string> {
  const properties: Record<string, boolean | number | string> = defaultProperties(schema);
  for (const prop of spec.properties) {
    const def = schema[prop.name];
    if (!def) {
      if (commonProperties[prop.name]) continue;
      const message = `property '${prop.name}' at line ${prop.line} is not a property of ${spec.classname}`;
      if (strict) {
        throw new PipelineBuildError(`Cannot load config: ${message} (${role} '${spec.name}')`, 'UNKNOWN_PROPERTY', prop.line, prop.column);
      }
      warnings.push(`Ignoring ${message}`);
      continue;
    }
    try {
      properties[prop.name] = parsePropertyValue(def, prop.value);
    } catch (err) {
      if (!(err instanceof PropertyValueError)) throw err;
      throw new PipelineBuildError(
        `Cannot load config: property '${prop.name}' of ${role} '${spec.name}' at line ${prop.line}: ${err.message}`,
        'BAD_PROPERTY', prop.line, prop.column,
      );
    }
  }
  return properties;
}

/** Session-wide things every gadget context is made from. */
export interface RunEnvironment {
  header: IsmrmrdHeader | undefined;
  log: Logger;
  signal: AbortSignal;
  /** Capacity of the channels between steps. */
  channelCapacity: number;
  /** The dependency store gadgets may use. */
  storage?: DependencyStore;
  /** Stream parameters (`--parameter name=value`). */
  parameters?: ReadonlyMap<string, string>;
  /** Delivers a warning from the gadget at `path` to the client. */
  notify?: (path: string, text: string) => void;
  /** The ISMRMRD header as the client sent it (forwarded to workers of distributed nodes). */
  headerXml?: string;
  /** Workers and settings of distributed nodes; absent = their jobs run in-process. */
  distribution?: DistributionEnvironment;
  /** Slices (buckets, recon buffers) a chain holds at once (default 2; see SliceBudget). */
  slicesInFlight?: number;
  /** The budget of the chain a gadget runs in (set by runChain for its steps). */
  sliceBudget?: SliceBudget;
}

/**
 * Runs a chain over `input`, writing everything the last step emits to
 * `output`. Resolves when all steps have finished; rejects with the first
 * GadgetError, after closing every channel so that nothing hangs.
 */
export async function runChain(plan: ChainPlan, input: AsyncIterable<Message>, output: Output<Message>, outerEnv: RunEnvironment): Promise<void> {
  // Each chain has its own budget (the chains of parallel branches and distributed jobs too): tokens are only ever
  // waited for by the gadgets of the chain whose gadgets hold them, and those give them back as they go on.
  const budget = new SliceBudget(outerEnv.slicesInFlight ?? DEFAULT_SLICES_IN_FLIGHT);
  try {
    await runSteps(plan, input, output, { ...outerEnv, sliceBudget: budget }, budget);
  } finally {
    budget.close();
  }
}

async function runSteps(plan: ChainPlan, input: AsyncIterable<Message>, output: Output<Message>, env: RunEnvironment, budget: SliceBudget): Promise<void> {
  const channels: Channel<Message>[] = [];
  if (input instanceof Channel) channels.push(input as Channel<Message>);
  let firstError: unknown;
  const fail = (err: unknown): void => {
    if (firstError === undefined && !(err instanceof ChannelClosedError)) firstError = err;
    for (const ch of channels) ch.close(firstError ?? err);
    budget.close();
  };
  const runs: Promise<void>[] = [];
  let upstream: AsyncIterable<Message> = input;
  plan.steps.forEach((step, i) => {
    const last = i === plan.steps.length - 1;
    const downstreamChannel = last ? undefined : new Channel<Message>(env.channelCapacity);
    if (downstreamChannel) channels.push(downstreamChannel);
    // A slice message that leaves the chain, or enters a step that is not a gadget, gives its token back there.
    const nextStep = plan.steps[i + 1];
    const into = downstreamChannel ?? output;
    const out: Output<Message> = nextStep?.type === 'gadget' ? into : { push: (m) => (budget.releaseCarried(m), into.push(m)) };
    const downstream: string[] = [];
    for (const following of plan.steps.slice(i + 1)) {
      if (following.type !== 'gadget') break;
      downstream.push(following.definition.name);
    }
    runs.push(
      runStep(step, upstream, out, env, channels, fail, downstream).then(
        () => downstreamChannel?.close(),
        (err: unknown) => fail(err),
      ),
    );
    if (downstreamChannel) upstream = downstreamChannel;
  });
  if (plan.steps.length === 0) {
    for await (const m of input) await output.push(m);
    return;
  }
  await Promise.all(runs);
  if (firstError !== undefined) throw firstError;
}

async function runStep(
  step: StepPlan,
  input: AsyncIterable<Message>,
  output: Output<Message>,
  env: RunEnvironment,
  registryOfChannels: Channel<Message>[],
  fail: (err: unknown) => void,
  downstream: readonly string[] = [],
): Promise<void> {
  if (step.type === 'parallel') return runParallel(step, input, output, env, registryOfChannels, fail);
  // The distributed runners (and their network code) load only for configs that use them (start-up time).
  if (step.type === 'distributed') return (await import('../distributed/nodes/distributed-runner.js')).runDistributedStep(step, input, output, env, runChain);
  if (step.type === 'puredistributed') return (await import('../distributed/nodes/pure-distributed-runner.js')).runPureDistributedStep(step, input, output, env, runChain);
  return runGadget(step, input, output, env, registryOfChannels, fail, downstream);
}

async function runParallel(
  step: ParallelStep,
  input: AsyncIterable<Message>,
  output: Output<Message>,
  env: RunEnvironment,
  registryOfChannels: Channel<Message>[],
  fail: (err: unknown) => void,
): Promise<void> {
  const keys = step.streams.map((s) => s.key);
  const inputs = new Map<string, Channel<Message>>();
  const outputs = new Map<string, Channel<Message>>();
  for (const key of keys) {
    const i = new Channel<Message>(env.channelCapacity);
    const o = new Channel<Message>(env.channelCapacity);
    registryOfChannels.push(i, o);
    inputs.set(key, i);
    outputs.set(key, o);
  }
  const branch = (async () => {
    try {
      const anyInput = inputs.values().next().value as Channel<Message> | undefined;
      for await (const message of input) {
        if (anyInput?.isClosed) break;
        const targets = step.branch.route(message, keys);
        if (targets.length === 0) await output.push(message);
        for (const key of targets) await (inputs.get(key) as Channel<Message>).push(message);
      }
      for (const ch of inputs.values()) ch.close();
    } catch (err) {
      for (const ch of inputs.values()) ch.close(err);
      throw err;
    }
  })();
  const streams = step.streams.map((chain) => {
    const out = outputs.get(chain.key) as Channel<Message>;
    return runChain(chain, inputs.get(chain.key) as Channel<Message>, out, env).then(
      () => out.close(),
      (err: unknown) => {
        out.close(err);
        fail(err);
        throw err;
      },
    );
  });
  const merge = step.merge.run(outputs, output).catch((err: unknown) => {
    const wrapped = err instanceof GadgetError || err instanceof ChannelClosedError ? err : new GadgetError(`${step.path}/merge`, err);
    fail(wrapped);
    throw wrapped;
  });
  const results = await Promise.allSettled([branch, ...streams, merge]);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof ChannelClosedError))
    ?? results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

async function runGadget(
  step: GadgetStep,
  input: AsyncIterable<Message>,
  output: Output<Message>,
  env: RunEnvironment,
  registryOfChannels: Channel<Message>[],
  fail: (err: unknown) => void,
  downstream: readonly string[],
): Promise<void> {
  const def = step.definition;
  const inner = new Channel<Message>(env.channelCapacity);
  registryOfChannels.push(inner);
  const notify = env.notify;
  const context: GadgetContext = {
    header: env.header,
    path: step.path,
    log: env.log.child({ gadget: step.path }),
    signal: env.signal,
    storage: env.storage,
    parameters: env.parameters,
    notify: notify ? (text: string) => notify(step.path, text) : undefined,
    downstream,
  };
  const budget = env.sliceBudget;
  let held = 0;
  let ended = false;
  // Slice tokens (SliceBudget): held for the slice messages the gadget received, until it asks for more input. A
  // gadget that made a slice message out of a slice message (one slice in, one or more out) passes the token on and
  // needs none for further ones; only slices made from other input (readouts gathered into a bucket) wait for one.
  let fromSlice = false;
  const gadgetInput: AsyncIterable<Message> = budget ? tokenHoldingInput(inner, budget, (m, tokened) => {
    if (tokened) held += 1;
    if (isSliceMessage(m)) fromSlice = true;
  }, () => {
    const n = held;
    held = 0;
    fromSlice = false;
    return n;
  }) : inner;
  const gadgetOutput: Output<Message> = budget ? {
    push: async (m: Message): Promise<void> => {
      if (isSliceMessage(m)) {
        if (held > 0) {
          held -= 1;
          budget.handOver(m);
        } else if (!fromSlice) {
          await budget.acquire(m);
        }
      }
      return output.push(m);
    },
  } : output;
  const pump = (async () => {
    try {
      // Not `for await`: that would keep the last message (maybe a slice's buffer) reachable until the next arrives.
      await forEachMessage(input, (message) => {
        if (inner.isClosed) return false; // the chain failed: stop pulling input that is not a closable Channel
        if (!def.accepts(message)) return output.push(message);
        if (ended) budget?.releaseCarried(message); // the gadget has finished: the message is dropped
        return inner.push(message);
      });
      inner.close();
    } catch (err) {
      inner.close(err);
      throw err;
    }
  })();
  const work = (async () => {
    try {
      await def.run(gadgetInput, gadgetOutput, step.properties, context);
    } catch (err) {
      const wrapped = err instanceof ChannelClosedError || err instanceof GadgetError ? err : new GadgetError(step.path, err);
      fail(wrapped);
      throw wrapped;
    } finally {
      ended = true;
      if (budget) {
        budget.release(held);
        held = 0;
      }
      inner.discard((m) => budget?.releaseCarried(m));
    }
  })();
  const [p, w] = await Promise.allSettled([pump, work]);
  if (w.status === 'rejected' && !(w.reason instanceof ChannelClosedError)) throw w.reason;
  if (p.status === 'rejected') throw p.reason;
  if (w.status === 'rejected') throw w.reason;
}

/**
 * `inner` as the gadget sees it with a slice budget: asking for the next
 * message gives back the tokens of the messages received before (`giveBack`
 * returns how many), and each message received is reported with whether it
 * brought a token (`received`).
 */
function tokenHoldingInput(
  inner: Channel<Message>, budget: SliceBudget, received: (message: Message, tokened: boolean) => void, giveBack: () => number,
): AsyncIterable<Message> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<Message> {
      const it = inner[Symbol.asyncIterator]();
      return {
        async next(): Promise<IteratorResult<Message>> {
          budget.release(giveBack());
          const r = await it.next();
          if (!r.done) received(r.value, budget.take(r.value));
          return r;
        },
        async return(value?: unknown): Promise<IteratorResult<Message>> {
          return it.return ? it.return(value) : { done: true, value: undefined };
        },
      };
    },
  };
}
