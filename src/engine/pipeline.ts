/**
 * Builds a runnable pipeline from a parsed stream configuration (every class
 * and property checked before any data flows) and runs it over bounded
 * channels with backpressure.
 */
import type { ComponentSpec, GadgetSpec, NodeSpec, StreamConfiguration, StreamSpec } from '../config/index.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import type { Message, MessageKind } from '../ismrmrd/messages.js';
import type { DependencyStore } from '../storage/types.js';
import type { Logger } from '../util/logger.js';
import { Channel, ChannelClosedError, type Output } from './channel.js';
import { GadgetError, PipelineBuildError } from './errors.js';
import { commonProperties, type AnyGadgetDefinition, type GadgetContext } from './gadget.js';
import { parsePropertyValue, PropertyValueError, defaultProperties } from './properties.js';
import type { BranchDefinition, MergeDefinition } from './parallel.js';
import type { Registry } from './registry.js';

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

export type StepPlan = GadgetStep | ParallelStep;

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
  const chain = planStream(config.stream, registry, config.stream.key ?? 'main', warnings);
  return { readerSlots, writtenKinds, chain, warnings };
}

function planStream(stream: StreamSpec, registry: Registry, path: string, warnings: string[]): ChainPlan {
  const steps: StepPlan[] = [];
  for (const node of stream.nodes) {
    const planned = planNode(node, registry, path, warnings);
    if (Array.isArray(planned)) steps.push(...planned);
    else steps.push(planned);
  }
  return { type: 'chain', key: stream.key ?? 'main', steps };
}

function planNode(node: NodeSpec, registry: Registry, path: string, warnings: string[]): StepPlan | StepPlan[] {
  if (node.type === 'gadget') return planGadget(node, registry, path, warnings);
  if (node.type === 'parallelprocess') {
    // In one process the pure stream runs in order on the session's thread: same output, same order.
    return planStream(node.stream, registry, path, warnings).steps as StepPlan[];
  }
  if (node.type === 'parallel') {
    const branch = registry.branch(node.branch.classname);
    if (!branch) throw unknownComponent('branch', node.branch);
    const merge = registry.merge(node.merge.classname);
    if (!merge) throw unknownComponent('merge', node.merge);
    const streams = node.streams.map((s) => planStream(s, registry, `${path}/${s.key ?? ''}`, warnings));
    return { type: 'parallel', branch, merge, streams, path: `${path}/${node.branch.name}` };
  }
  throw new PipelineBuildError(
    `Cannot load config: <${node.type}> at line ${node.line} is not supported by this Gantry version`,
    'UNSUPPORTED_NODE', node.line, node.column,
  );
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
  const properties: Record<string, boolean | number | string> = defaultProperties(definition.properties);
  for (const prop of spec.properties) {
    const def = definition.properties[prop.name];
    if (!def) {
      if (commonProperties[prop.name]) continue;
      const message = `property '${prop.name}' at line ${prop.line} is not a property of ${spec.classname}`;
      if (definition.strict) {
        throw new PipelineBuildError(`Cannot load config: ${message} (gadget '${spec.name}')`, 'UNKNOWN_PROPERTY', prop.line, prop.column);
      }
      warnings.push(`Ignoring ${message}`);
      continue;
    }
    try {
      properties[prop.name] = parsePropertyValue(def, prop.value);
    } catch (err) {
      if (!(err instanceof PropertyValueError)) throw err;
      throw new PipelineBuildError(
        `Cannot load config: property '${prop.name}' of gadget '${spec.name}' at line ${prop.line}: ${err.message}`,
        'BAD_PROPERTY', prop.line, prop.column,
      );
    }
  }
  return { type: 'gadget', definition, properties, name: spec.name, path: `${path}/${spec.name}` };
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
}

/**
 * Runs a chain over `input`, writing everything the last step emits to
 * `output`. Resolves when all steps have finished; rejects with the first
 * GadgetError, after closing every channel so that nothing hangs.
 */
export async function runChain(plan: ChainPlan, input: AsyncIterable<Message>, output: Output<Message>, env: RunEnvironment): Promise<void> {
  const channels: Channel<Message>[] = [];
  if (input instanceof Channel) channels.push(input as Channel<Message>);
  let firstError: unknown;
  const fail = (err: unknown): void => {
    if (firstError === undefined && !(err instanceof ChannelClosedError)) firstError = err;
    for (const ch of channels) ch.close(firstError ?? err);
  };
  const runs: Promise<void>[] = [];
  let upstream: AsyncIterable<Message> = input;
  plan.steps.forEach((step, i) => {
    const last = i === plan.steps.length - 1;
    const downstreamChannel = last ? undefined : new Channel<Message>(env.channelCapacity);
    if (downstreamChannel) channels.push(downstreamChannel);
    const out: Output<Message> = downstreamChannel ?? output;
    runs.push(
      runStep(step, upstream, out, env, channels, fail).then(
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
): Promise<void> {
  if (step.type === 'parallel') return runParallel(step, input, output, env, registryOfChannels, fail);
  return runGadget(step, input, output, env, registryOfChannels, fail);
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
  };
  const pump = (async () => {
    try {
      for await (const message of input) {
        if (inner.isClosed) break; // the chain failed: stop pulling input that is not a closable Channel
        if (def.accepts(message)) await inner.push(message);
        else await output.push(message);
      }
      inner.close();
    } catch (err) {
      inner.close(err);
      throw err;
    }
  })();
  const work = (async () => {
    try {
      await def.run(inner, output, step.properties, context);
    } catch (err) {
      const wrapped = err instanceof ChannelClosedError || err instanceof GadgetError ? err : new GadgetError(step.path, err);
      fail(wrapped);
      throw wrapped;
    } finally {
      inner.discard();
    }
  })();
  const [p, w] = await Promise.allSettled([pump, work]);
  if (w.status === 'rejected' && !(w.reason instanceof ChannelClosedError)) throw w.reason;
  if (p.status === 'rejected') throw p.reason;
  if (w.status === 'rejected') throw w.reason;
}
