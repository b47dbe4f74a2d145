/**
 * Builds a runnable pipeline from a parsed stream configuration (every class
 * and property checked before any data flows) and runs it over bounded
 * channels with backpressure.
 */
import type { GadgetSpec, NodeSpec, StreamConfiguration, StreamSpec } from '../config/index.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import type { Message, MessageKind } from '../ismrmrd/messages.js';
import type { Logger } from '../util/logger.js';
import { Channel, ChannelClosedError, type Output } from './channel.js';
import { GadgetError, PipelineBuildError } from './errors.js';
import { commonProperties, type AnyGadgetDefinition, type GadgetContext } from './gadget.js';
import { parsePropertyValue, PropertyValueError, defaultProperties } from './properties.js';
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

export type StepPlan = GadgetStep;

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
  for (const node of stream.nodes) steps.push(planNode(node, registry, path, warnings));
  return { type: 'chain', key: stream.key ?? 'main', steps };
}

function planNode(node: NodeSpec, registry: Registry, path: string, warnings: string[]): StepPlan {
  if (node.type === 'gadget') return planGadget(node, registry, path, warnings);
  throw new PipelineBuildError(
    `Cannot load config: <${node.type}> at line ${node.line} is not supported by this Gantry version`,
    'UNSUPPORTED_NODE', node.line, node.column,
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
  const def = step.definition;
  const inner = new Channel<Message>(env.channelCapacity);
  registryOfChannels.push(inner);
  const context: GadgetContext = { header: env.header, path: step.path, log: env.log.child({ gadget: step.path }), signal: env.signal };
  const pump = (async () => {
    try {
      for await (const message of input) {
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
