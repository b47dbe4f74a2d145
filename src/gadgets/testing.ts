/**
 * In-memory harness for gadget tests: runs one gadget through the real
 * configuration parser, planner and engine, and builds synthetic readouts,
 * images and ISMRMRD headers. Test-only; nothing in the server imports it.
 */
import { parseStreamConfiguration } from '../config/index.js';
import { Channel, type Output } from '../engine/channel.js';
import type { AnyGadgetDefinition, GadgetContext } from '../engine/gadget.js';
import { planPipeline, runChain, type GadgetStep, type PipelinePlan } from '../engine/pipeline.js';
import { Registry } from '../engine/registry.js';
import type { Message } from '../ismrmrd/messages.js';
import {
  DataType,
  emptyAcquisitionHeader,
  emptyImageHeader,
  emptyWaveformHeader,
  setFlag,
  type Acquisition,
  type AcquisitionHeader,
  type EncodingCounters,
  type Image,
  type ImageHeader,
  type Waveform,
} from '../ismrmrd/types.js';
import { parseIsmrmrdHeader, type CalibrationMode, type EncodingLimitName, type IsmrmrdHeader, type TrajectoryType } from '../ismrmrd/xml-header.js';
import { silentLogger } from '../util/logger.js';

/** Options of {@link runGadget}. */
export interface RunGadgetOptions {
  /** Gadget properties as the configuration XML would give them. */
  properties?: Record<string, string>;
  header?: IsmrmrdHeader;
  /** Capacity of the engine's channels (default 16). */
  channelCapacity?: number;
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A version 2 configuration with one gadget of `definition`'s first class name. */
export function singleGadgetConfigXml(definition: AnyGadgetDefinition, properties: Record<string, string> = {}): string {
  const className = definition.classNames[0];
  if (className === undefined) throw new TypeError(`Cannot configure gadget ${definition.name}: it has no class name`);
  const props = Object.entries(properties)
    .map(([name, value]) => `      <property name="${escapeAttribute(name)}" value="${escapeAttribute(value)}"/>\n`)
    .join('');
  return [
    '<?xml version="1.0"?>',
    '<configuration>',
    '  <version>2</version>',
    '  <stream key="test">',
    '    <gadget>',
    `      <name>${escapeAttribute(definition.name)}</name>`,
    '      <dll>gantry_test</dll>',
    `      <classname>${escapeAttribute(className)}</classname>`,
    `${props}    </gadget>`,
    '  </stream>',
    '</configuration>',
    '',
  ].join('\n');
}

/** Plans a one-gadget pipeline (properties validated exactly as for a client's configuration). */
export function planSingleGadget(definition: AnyGadgetDefinition, properties: Record<string, string> = {}): PipelinePlan {
  return planPipeline(parseStreamConfiguration(singleGadgetConfigXml(definition, properties)), new Registry([definition]));
}

/** The validated step of a one-gadget plan (its typed properties and path). */
export function planGadgetStep(definition: AnyGadgetDefinition, properties: Record<string, string> = {}): GadgetStep {
  const step = planSingleGadget(definition, properties).chain.steps[0];
  if (step?.type !== 'gadget') throw new Error('Cannot plan gadget: the plan has no gadget step');
  return step;
}

/** A gadget context for calling a definition's `run` directly. */
export function testContext(header?: IsmrmrdHeader, path = 'test/gadget'): GadgetContext {
  return { header, path, log: silentLogger, signal: new AbortController().signal };
}

/** An Output that records everything pushed to it. */
export class CollectingOutput implements Output<Message> {
  readonly messages: Message[] = [];
  async push(value: Message): Promise<void> {
    this.messages.push(value);
  }
}

/**
 * Runs `definition` as the only gadget of a pipeline over `messages` (then end
 * of stream) and returns everything it emitted, in order.
 */
export async function runGadget(definition: AnyGadgetDefinition, messages: readonly Message[], options: RunGadgetOptions = {}): Promise<Message[]> {
  const plan = planSingleGadget(definition, options.properties ?? {});
  const capacity = options.channelCapacity ?? 16;
  const input = new Channel<Message>(capacity);
  const output = new CollectingOutput();
  const producer = (async () => {
    try {
      for (const m of messages) await input.push(m);
      input.close();
    } catch {
      // The chain closed the input after a failure; runChain reports it.
    }
  })();
  const run = runChain(plan.chain, input, output, {
    header: options.header,
    log: silentLogger,
    signal: new AbortController().signal,
    channelCapacity: capacity,
  });
  await Promise.all([run, producer]);
  return output.messages;
}

export { randomComplex, seededRandom } from '../kernels/testing.js';

/** Description of one synthetic readout. */
export interface AcquisitionSpec {
  samples: number;
  channels?: number;
  idx?: Partial<Omit<EncodingCounters, 'user'>> & { user?: number[] };
  /** ISMRMRD flag numbers (AcqFlag values) to set. */
  flags?: readonly number[];
  /** Defaults to ⌊samples/2⌋. */
  centerSample?: number;
  discardPre?: number;
  discardPost?: number;
  encodingSpaceRef?: number;
  scanCounter?: number;
  /** Any other header fields. */
  head?: Partial<AcquisitionHeader>;
  /** Sample value (re, im) of `sample` in `channel`; default zero. */
  data?: (sample: number, channel: number) => readonly [number, number];
  /** Raw interleaved data (samples fastest, then channel); overrides `data`. */
  raw?: Float32Array;
}

/** Builds a readout with ISMRMRD's initial header values plus `spec`. */
export function makeAcquisition(spec: AcquisitionSpec): Acquisition {
  const channels = spec.channels ?? 1;
  const head = emptyAcquisitionHeader();
  head.number_of_samples = spec.samples;
  head.active_channels = channels;
  head.available_channels = channels;
  head.center_sample = spec.centerSample ?? Math.floor(spec.samples / 2);
  head.discard_pre = spec.discardPre ?? 0;
  head.discard_post = spec.discardPost ?? 0;
  head.encoding_space_ref = spec.encodingSpaceRef ?? 0;
  head.scan_counter = spec.scanCounter ?? 0;
  const { user, ...counters } = spec.idx ?? {};
  Object.assign(head.idx, counters);
  if (user) head.idx.user = [...user, 0, 0, 0, 0, 0, 0, 0, 0].slice(0, 8);
  for (const flag of spec.flags ?? []) head.flags = setFlag(head.flags, flag);
  Object.assign(head, spec.head ?? {});
  let data: Float32Array;
  if (spec.raw) {
    if (spec.raw.length !== 2 * spec.samples * channels) {
      throw new RangeError(`Cannot make acquisition: raw data length ${spec.raw.length} does not match ${spec.samples} samples × ${channels} channels`);
    }
    data = spec.raw;
  } else {
    data = new Float32Array(2 * spec.samples * channels);
    if (spec.data) {
      for (let c = 0; c < channels; c++) {
        for (let s = 0; s < spec.samples; s++) {
          const [re, im] = spec.data(s, c);
          data[2 * (c * spec.samples + s)] = re;
          data[2 * (c * spec.samples + s) + 1] = im;
        }
      }
    }
  }
  return { kind: 'acquisition', head, traj: new Float32Array(0), data };
}

/** A waveform message with `samples` × `channels` samples of value `id`. */
export function makeWaveform(id: number, samples = 4, channels = 1): Waveform {
  const head = emptyWaveformHeader();
  head.waveform_id = id;
  head.number_of_samples = samples;
  head.channels = channels;
  return { kind: 'waveform', head, data: new Uint32Array(samples * channels).fill(id) };
}

/** An image message; `data` defaults to zero pixels of the header's matrix and data_type. */
export function makeImage(head: Partial<ImageHeader> & { matrix_size: number[]; data_type: number }, data?: Image['data'], meta?: Image['meta']): Image {
  const h = { ...emptyImageHeader(), ...head };
  const n = (h.matrix_size[0] ?? 1) * (h.matrix_size[1] ?? 1) * (h.matrix_size[2] ?? 1) * h.channels;
  let pixels = data;
  if (!pixels) {
    switch (h.data_type) {
      case DataType.CXFLOAT: pixels = new Float32Array(2 * n); break;
      case DataType.FLOAT: pixels = new Float32Array(n); break;
      default: throw new TypeError(`Cannot make default pixels for data_type ${h.data_type}`);
    }
  }
  return { kind: 'image', head: h, meta: meta ?? new Map(), data: pixels };
}

/** [minimum, maximum, center] of one encoding limit. */
export type LimitSpec = readonly [number, number, number];

/** Description of a one-encoding ISMRMRD header. */
export interface HeaderSpec {
  encodedMatrix: readonly [number, number, number];
  encodedFov: readonly [number, number, number];
  /** Default: the encoded matrix. */
  reconMatrix?: readonly [number, number, number];
  /** Default: the encoded FOV. */
  reconFov?: readonly [number, number, number];
  limits?: Partial<Record<EncodingLimitName, LimitSpec>>;
  trajectory?: TrajectoryType;
  parallelImaging?: { accelerationE1: number; accelerationE2?: number; calibrationMode?: CalibrationMode };
  receiverChannels?: number;
}

function xyz(tag: string, v: readonly [number, number, number]): string {
  return `<${tag}><x>${v[0]}</x><y>${v[1]}</y><z>${v[2]}</z></${tag}>`;
}

/** The XML text of a header described by `spec`. */
export function headerXml(spec: HeaderSpec): string {
  const limits = Object.entries(spec.limits ?? {})
    .map(([name, l]) => `      <${name}><minimum>${l[0]}</minimum><maximum>${l[1]}</maximum><center>${l[2]}</center></${name}>`)
    .join('\n');
  const pi = spec.parallelImaging;
  const parallel = pi
    ? [
      '    <parallelImaging>',
      `      <accelerationFactor><kspace_encoding_step_1>${pi.accelerationE1}</kspace_encoding_step_1>` +
        `<kspace_encoding_step_2>${pi.accelerationE2 ?? 1}</kspace_encoding_step_2></accelerationFactor>`,
      ...(pi.calibrationMode ? [`      <calibrationMode>${pi.calibrationMode}</calibrationMode>`] : []),
      '    </parallelImaging>',
    ].join('\n')
    : '';
  return [
    '<?xml version="1.0"?>',
    '<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">',
    '  <version>1</version>',
    ...(spec.receiverChannels !== undefined
      ? [`  <acquisitionSystemInformation><receiverChannels>${spec.receiverChannels}</receiverChannels></acquisitionSystemInformation>`]
      : []),
    '  <experimentalConditions><H1resonanceFrequency_Hz>63500000</H1resonanceFrequency_Hz></experimentalConditions>',
    '  <encoding>',
    `    <encodedSpace>${xyz('matrixSize', spec.encodedMatrix)}${xyz('fieldOfView_mm', spec.encodedFov)}</encodedSpace>`,
    `    <reconSpace>${xyz('matrixSize', spec.reconMatrix ?? spec.encodedMatrix)}${xyz('fieldOfView_mm', spec.reconFov ?? spec.encodedFov)}</reconSpace>`,
    '    <encodingLimits>',
    limits,
    '    </encodingLimits>',
    `    <trajectory>${spec.trajectory ?? 'cartesian'}</trajectory>`,
    parallel,
    '  </encoding>',
    '</ismrmrdHeader>',
    '',
  ].filter((line) => line !== '').join('\n');
}

/** A parsed header described by `spec`. */
export function makeHeader(spec: HeaderSpec): IsmrmrdHeader {
  return parseIsmrmrdHeader(headerXml(spec));
}

/** Narrows emitted messages to one kind, failing if any other kind is present. */
export function ofKind<K extends Message['kind']>(messages: readonly Message[], kind: K): Extract<Message, { kind: K }>[] {
  const out: Extract<Message, { kind: K }>[] = [];
  for (const m of messages) {
    if (m.kind !== kind) throw new Error(`Expected only ${kind} messages, got ${m.kind}`);
    out.push(m as Extract<Message, { kind: K }>);
  }
  return out;
}

/** Largest absolute difference between two equally long numeric arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`Cannot compare arrays of lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** What {@link measureChainInFlight} observed. */
export interface InFlightReport {
  delivered: number;
  /** Most messages pushed by the producer and not yet received by the consumer. */
  maxInFlight: number;
  inOrder: boolean;
  steps: number;
}

/**
 * Pushes `total` text messages as fast as backpressure allows through
 * `fastSteps` pass-through gadgets and one slow gadget (which yields to the
 * event loop every `slowEvery` messages), and records the most messages in
 * flight. Runs in plain code so that it can be started in a worker thread,
 * away from the test runner's per-promise bookkeeping.
 */
export async function measureChainInFlight(options: { total: number; capacity: number; fastSteps: number; slowEvery: number }): Promise<InFlightReport> {
  const isText = (m: Message): m is Extract<Message, { kind: 'text' }> => m.kind === 'text';
  const passThrough: AnyGadgetDefinition = {
    name: 'PassThroughTestGadget',
    classNames: ['PassThroughTestGadget'],
    properties: {},
    strict: false,
    description: 'test: forwards text messages',
    accepts: isText,
    async run(input, output) {
      for await (const m of input) await output.push(m);
    },
  };
  const slow: AnyGadgetDefinition = {
    ...passThrough,
    name: 'SlowTestGadget',
    classNames: ['SlowTestGadget'],
    description: 'test: forwards text messages, yielding to the event loop now and then',
    async run(input, output) {
      let n = 0;
      for await (const m of input) {
        if (++n % options.slowEvery === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        await output.push(m);
      }
    },
  };
  const gadgets = [
    ...Array.from({ length: options.fastSteps }, (_, i) => `<gadget><name>P${i}</name><dll>t</dll><classname>PassThroughTestGadget</classname></gadget>`),
    '<gadget><name>Slow</name><dll>t</dll><classname>SlowTestGadget</classname></gadget>',
  ];
  const xml = `<configuration><version>2</version><stream key="m">${gadgets.join('')}</stream></configuration>`;
  const plan = planPipeline(parseStreamConfiguration(xml), new Registry([passThrough, slow]));
  let produced = 0;
  let consumed = 0;
  let maxInFlight = 0;
  let inOrder = true;
  const input = new Channel<Message>(options.capacity);
  const output = new Channel<Message>(options.capacity);
  const producer = (async () => {
    for (let i = 0; i < options.total; i++) {
      await input.push({ kind: 'text', text: String(i) });
      produced += 1;
      maxInFlight = Math.max(maxInFlight, produced - consumed);
    }
    input.close();
  })();
  const consumer = (async () => {
    for await (const m of output) {
      if (!isText(m) || m.text !== String(consumed)) inOrder = false;
      consumed += 1;
    }
  })();
  const env = { header: undefined, log: silentLogger, signal: new AbortController().signal, channelCapacity: options.capacity };
  const run = runChain(plan.chain, input, output, env).then(() => output.close(), (err: unknown) => output.close(err));
  await Promise.all([producer, consumer, run]);
  return { delivered: consumed, maxInFlight, inOrder, steps: plan.chain.steps.length };
}
