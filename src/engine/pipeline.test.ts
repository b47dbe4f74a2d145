import assert from 'node:assert/strict';
import test from 'node:test';
import { Worker } from 'node:worker_threads';
import { parseStreamConfiguration } from '../config/index.js';
import { defaultRegistry } from '../gadgets/index.js';
import { CollectingOutput, type InFlightReport } from '../gadgets/testing.js';
import type { Message, TextMessage } from '../ismrmrd/messages.js';
import { silentLogger } from '../util/logger.js';
import { Channel, ChannelClosedError } from './channel.js';
import { GadgetError, PipelineBuildError } from './errors.js';
import { defineGadget, defineMapGadget, type AnyGadgetDefinition } from './gadget.js';
import { planPipeline, runChain, type GadgetStep, type PipelinePlan, type RunEnvironment } from './pipeline.js';
import { Registry } from './registry.js';

const isText = (m: Message): m is TextMessage => m.kind === 'text';
const text = (t: string): TextMessage => ({ kind: 'text', text: t });

/** A legacy-style gadget that refuses unknown properties. */
const strictGadget = defineMapGadget({
  name: 'StrictTestGadget',
  classNames: ['StrictTestGadget'],
  properties: { factor: { type: 'integer', default: 1, min: 0 } },
  strict: true,
  description: 'test: repeats text `factor` times',
  accepts: isText,
  process: (m, props) => text(m.text.repeat(props.factor)),
});

/** A new-style gadget that ignores unknown properties. */
const lenientGadget = defineMapGadget({
  name: 'LenientTestGadget',
  classNames: ['LenientTestGadget'],
  properties: { suffix: { type: 'string', default: '!' } },
  strict: false,
  description: 'test: appends a suffix to text',
  accepts: isText,
  process: (m, props) => text(m.text + props.suffix),
});

function testRegistry(...extra: AnyGadgetDefinition[]): Registry {
  return new Registry([strictGadget, lenientGadget, ...extra]);
}

/** A v2 configuration whose stream holds `body`; the stream's first line is line 4. */
function v2(body: string, readersAndWriters = ''): string {
  return `<configuration>\n<version>2</version>\n${readersAndWriters}<stream key="s">\n${body}\n</stream>\n</configuration>\n`;
}

/** The `i`-th step of a plan, which must be a gadget. */
function gadgetStep(plan: PipelinePlan, i: number): GadgetStep {
  const step = plan.chain.steps[i];
  assert.ok(step?.type === 'gadget', `step ${i} is a gadget`);
  return step;
}

function planError(xml: string, registry: Registry = testRegistry()): PipelineBuildError {
  let caught: unknown;
  try {
    planPipeline(parseStreamConfiguration(xml), registry);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof PipelineBuildError, `expected a PipelineBuildError, got ${String(caught)}`);
  assert.match(caught.message, /^Cannot load config: /);
  return caught;
}

test('planPipeline names an unknown gadget class and its line', () => {
  const err = planError(v2('<gadget><name>Oops</name><dll>x</dll><classname>NoSuchGadget</classname></gadget>'));
  assert.equal(err.code, 'UNKNOWN_CLASS');
  assert.equal(err.line, 4);
  assert.match(err.message, /unknown gadget class 'NoSuchGadget' \(gadget 'Oops' at line 4\)/);
});

test('planPipeline refuses an unknown property on a strict gadget, with the property line', () => {
  const err = planError(v2([
    '<gadget><name>Strict</name><dll>x</dll><classname>StrictTestGadget</classname>',
    '  <property name="factor" value="2"/>',
    '  <property name="no_such_thing" value="1"/>',
    '</gadget>',
  ].join('\n')));
  assert.equal(err.code, 'UNKNOWN_PROPERTY');
  assert.equal(err.line, 6);
  assert.equal(err.column, 3);
  assert.match(err.message, /property 'no_such_thing' at line 6 is not a property of StrictTestGadget \(gadget 'Strict'\)/);
});

test('planPipeline ignores an unknown property on a lenient gadget with a warning', () => {
  const plan = planPipeline(parseStreamConfiguration(v2([
    '<gadget><name>Lenient</name><dll>x</dll><classname>LenientTestGadget</classname>',
    '  <property name="no_such_thing" value="1"/>',
    '  <property name="suffix" value="?"/>',
    '</gadget>',
  ].join('\n'))), testRegistry());
  assert.equal(plan.warnings.length, 1);
  assert.match(plan.warnings[0] as string, /property 'no_such_thing' at line 5 is not a property of LenientTestGadget/);
  assert.deepEqual(gadgetStep(plan, 0).properties, { suffix: '?' });
});

test('planPipeline accepts Gadgetron common properties on a strict gadget without warnings', () => {
  const plan = planPipeline(parseStreamConfiguration(v2([
    '<gadget><dll>x</dll><classname>StrictTestGadget</classname>',
    '  <property name="threads" value="4"/>',
    '  <property name="pass_on_undesired_data" value="true"/>',
    '</gadget>',
  ].join('\n'))), testRegistry());
  assert.deepEqual(plan.warnings, []);
  assert.deepEqual(gadgetStep(plan, 0).properties, { factor: 1 });
  assert.equal(gadgetStep(plan, 0).path, 's/StrictTestGadget', 'the path is the stream key and the display name');
});

test('planPipeline reports ill-typed properties with the gadget, property and line', () => {
  const registry = defaultRegistry();
  const cases: [string, string, string, RegExp][] = [
    ['BucketToBufferGadget', 'split_slices', 'maybe', /expected true or false, got 'maybe'/],
    ['AcquisitionAccumulateTriggerGadget', 'n_acquisitions_before_trigger', 'x', /expected an integer, got 'x'/],
    ['AcquisitionAccumulateTriggerGadget', 'n_acquisitions_before_trigger', '2.5', /expected an integer, got '2.5'/],
    ['AcquisitionAccumulateTriggerGadget', 'n_acquisitions_before_trigger', '0', /0 is below the minimum 1/],
    ['AcquisitionAccumulateTriggerGadget', 'trigger_dimension', 'sideways', /expected one of .*'repetition'.*, got 'sideways'/],
    ['FloatToUShortGadget', 'max_intensity', '4k', /expected a number, got '4k'/],
  ];
  for (const [classname, name, value, reason] of cases) {
    const err = planError(v2([
      `<gadget><name>G</name><dll>gadgetron_mricore</dll><classname>${classname}</classname>`,
      '',
      `  <property><name>${name}</name><value>${value}</value></property>`,
      '</gadget>',
    ].join('\n')), registry);
    assert.equal(err.code, 'BAD_PROPERTY', `${classname}.${name}=${value}`);
    assert.equal(err.line, 6);
    assert.match(err.message, new RegExp(`property '${name}' of gadget 'G' at line 6: `));
    assert.match(err.message, reason);
  }
});

test('planPipeline parses typed property values (case-insensitive enums, booleans, numbers)', () => {
  const plan = planPipeline(parseStreamConfiguration(v2([
    '<gadget><dll>d</dll><classname>AcquisitionAccumulateTriggerGadget</classname>',
    '  <property name="trigger_dimension" value="REPETITION"/>',
    '  <property name="n_acquisitions_before_trigger" value=" 12 "/>',
    '</gadget>',
    '<gadget><dll>d</dll><classname>BucketToBufferGadget</classname>',
    '  <property name="split_slices" value="1"/>',
    '</gadget>',
  ].join('\n'))), defaultRegistry());
  const trigger = gadgetStep(plan, 0);
  assert.equal(trigger.properties.trigger_dimension, 'repetition');
  assert.equal(trigger.properties.n_acquisitions_before_trigger, 12);
  assert.equal(trigger.properties.sorting_dimension, 'none', 'unset properties take their defaults');
  assert.equal(gadgetStep(plan, 1).properties.split_slices, true);
});

test('planPipeline names unknown reader and writer classes and their lines', () => {
  const reader = planError(v2('', '<readers>\n<reader><dll>x</dll><classname>NoSuchReader</classname></reader>\n</readers>\n'));
  assert.equal(reader.code, 'UNKNOWN_READER');
  assert.equal(reader.line, 4);
  assert.match(reader.message, /unknown reader class 'NoSuchReader' at line 4/);
  const writer = planError(v2('', '<writers>\n\n<writer><dll>x</dll><classname>NoSuchWriter</classname></writer>\n</writers>\n'));
  assert.equal(writer.code, 'UNKNOWN_WRITER');
  assert.equal(writer.line, 5);
  assert.match(writer.message, /unknown writer class 'NoSuchWriter' at line 5/);
});

test('planPipeline resolves reader slots and written kinds', () => {
  const plan = planPipeline(parseStreamConfiguration(v2('', [
    '<readers>',
    '<reader><dll>gadgetron_mricore</dll><classname>GadgetIsmrmrdAcquisitionMessageReader</classname></reader>',
    '<reader><slot>1099</slot><dll>gadgetron_mricore</dll><classname>GadgetIsmrmrdWaveformMessageReader</classname></reader>',
    '</readers>',
    '<writers><writer><dll>gadgetron_mricore</dll><classname>MRIImageWriter</classname></writer></writers>',
    '',
  ].join('\n'))), defaultRegistry());
  assert.deepEqual([...plan.readerSlots].sort(), [1008, 1099]);
  assert.ok(plan.writtenKinds.has('image'));
  assert.ok(plan.writtenKinds.has('text'));
  assert.ok(!plan.writtenKinds.has('acquisition'));
});

test('planPipeline plans distributed nodes and refuses node kinds it cannot run, naming the element and line', () => {
  const pure = planPipeline(parseStreamConfiguration(v2([
    '<gadget><dll>x</dll><classname>LenientTestGadget</classname></gadget>',
    '<puredistributed>',
    '  <readers><reader><dll>gadgetron_mricore</dll><classname>MRIImageReader</classname></reader></readers>',
    '  <writers><writer><dll>gadgetron_mricore</dll><classname>MRIImageWriter</classname></writer></writers>',
    '  <purestream><gadget><dll>x</dll><classname>LenientTestGadget</classname></gadget></purestream>',
    '</puredistributed>',
  ].join('\n'))), testRegistry());
  assert.equal(pure.chain.steps[1]?.type, 'puredistributed');
  const external = planError(v2('\n<external>\n<connect port="18000"/>\n</external>'));
  assert.equal(external.code, 'UNSUPPORTED_NODE');
  assert.equal(external.line, 5);
  assert.match(external.message, /<external> at line 5/);
});

test('planPipeline names an unknown branch or merge class of a parallel node and its line', () => {
  const parallel = (branch: string, merge: string): string => v2([
    '<parallel>',
    `  <branch><dll>gadgetron_core_parallel</dll><classname>${branch}</classname></branch>`,
    `  <merge><dll>gadgetron_core_parallel</dll><classname>${merge}</classname></merge>`,
    '  <stream key="a"/>',
    '</parallel>',
  ].join('\n'));
  const branch = planError(parallel('NoSuchFanout', 'UnorderedMerge'));
  assert.equal(branch.code, 'UNKNOWN_CLASS');
  assert.equal(branch.line, 5);
  assert.match(branch.message, /unknown branch class 'NoSuchFanout' at line 5/);
  const merge = planError(parallel('ImageFanout', 'NoSuchMerge'));
  assert.equal(merge.code, 'UNKNOWN_CLASS');
  assert.equal(merge.line, 6);
  assert.match(merge.message, /unknown merge class 'NoSuchMerge' at line 6/);
});

// ---------------------------------------------------------------------------
// runChain

function env(channelCapacity = 4): RunEnvironment {
  return { header: undefined, log: silentLogger, signal: new AbortController().signal, channelCapacity };
}

function planOf(registry: Registry, body: string): PipelinePlan {
  return planPipeline(parseStreamConfiguration(v2(body)), registry);
}

/** Rejects if `p` does not settle within `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function feed(input: Channel<Message>, messages: readonly Message[]): Promise<void> {
  for (const m of messages) await input.push(m);
  input.close();
}

test('runChain passes messages a gadget does not accept through untouched', async () => {
  const plan = planOf(testRegistry(), [
    '<gadget><dll>x</dll><classname>LenientTestGadget</classname></gadget>',
    '<gadget><dll>x</dll><classname>StrictTestGadget</classname><property name="factor" value="2"/></gadget>',
  ].join('\n'));
  const bucket: Message = { kind: 'bucket', data: [], ref: [], datastats: [], refstats: [], waveforms: [] };
  const query: Message = { kind: 'dependencyquery', xml: '<x/>' };
  const input = new Channel<Message>(4);
  const output = new CollectingOutput();
  await Promise.all([runChain(plan.chain, input, output, env()), feed(input, [text('a'), bucket, text('b'), query, text('c')])]);
  const texts = output.messages.filter(isText).map((m) => m.text);
  assert.deepEqual(texts, ['a!a!', 'b!b!', 'c!c!']);
  const others = output.messages.filter((m) => m.kind !== 'text');
  assert.equal(others.length, 2);
  assert.equal(others[0], bucket, 'the very same object comes out');
  assert.equal(others[1], query);
});

test('runChain tells each gadget which gadget consumes its output in the same chain', async () => {
  const seen: (string | undefined)[] = [];
  const recorder = (name: string): AnyGadgetDefinition => defineGadget({
    name, classNames: [name], properties: {}, strict: false, description: 'test: records context.downstream', accepts: isText,
    async run(input, output, _props, context) {
      seen.push(`${name} → ${context.downstream?.[0] ?? 'none'} (${(context.downstream ?? []).join(', ')})`);
      for await (const m of input) await output.push(m);
    },
  }) as AnyGadgetDefinition;
  const plan = planOf(testRegistry(recorder('FirstRecorder'), recorder('SecondRecorder')), [
    '<gadget><dll>x</dll><classname>FirstRecorder</classname></gadget>',
    '<gadget><dll>x</dll><classname>SecondRecorder</classname></gadget>',
  ].join('\n'));
  const input = new Channel<Message>(2);
  await Promise.all([runChain(plan.chain, input, new CollectingOutput(), env()), feed(input, [text('x')])]);
  assert.deepEqual(seen.sort(), ['FirstRecorder → SecondRecorder (SecondRecorder)', 'SecondRecorder → none ()']);
});

test('runChain with no steps copies its input to its output', async () => {
  const plan = planOf(testRegistry(), '');
  const input = new Channel<Message>(2);
  const output = new CollectingOutput();
  await Promise.all([runChain(plan.chain, input, output, env()), feed(input, [text('x'), text('y'), text('z')])]);
  assert.deepEqual(output.messages.map((m) => (m as TextMessage).text), ['x', 'y', 'z']);
});

test('runChain keeps message order through several steps', async () => {
  const plan = planOf(testRegistry(), [
    '<gadget><name>L1</name><dll>x</dll><classname>LenientTestGadget</classname><property name="suffix" value="a"/></gadget>',
    '<gadget><name>L2</name><dll>x</dll><classname>LenientTestGadget</classname><property name="suffix" value="b"/></gadget>',
    '<gadget><name>L3</name><dll>x</dll><classname>LenientTestGadget</classname><property name="suffix" value="c"/></gadget>',
  ].join('\n'));
  const input = new Channel<Message>(3);
  const output = new CollectingOutput();
  const messages = Array.from({ length: 300 }, (_, i) => text(String(i)));
  await Promise.all([runChain(plan.chain, input, output, env(3)), feed(input, messages)]);
  assert.deepEqual(output.messages.map((m) => (m as TextMessage).text), messages.map((m) => `${m.text}abc`));
});

/** Fails on the `failAt`-th text message it sees (1-based). */
function failingGadget(failAt: number): AnyGadgetDefinition {
  return defineGadget({
    name: 'FailingTestGadget',
    classNames: ['FailingTestGadget'],
    properties: {},
    strict: false,
    description: 'test: throws on the n-th message',
    accepts: isText,
    async run(input, output) {
      let n = 0;
      for await (const m of input) {
        if (++n === failAt) throw new Error(`boom at ${m.text}`);
        await output.push(m);
      }
    },
  });
}

/** Pushes numbered text messages until the channel refuses them. */
async function endlessProducer(input: Channel<Message>): Promise<{ pushed: number; error: unknown }> {
  let pushed = 0;
  try {
    for (;;) {
      await input.push(text(String(pushed)));
      pushed += 1;
      if (pushed % 64 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } catch (error) {
    return { pushed, error };
  }
}

for (const position of ['first', 'middle', 'last'] as const) {
  test(`runChain rejects with a GadgetError carrying the path when the ${position} step fails, while input keeps coming`, async () => {
    const started = Date.now();
    const steps = {
      first: ['FailingTestGadget', 'LenientTestGadget', 'LenientTestGadget'],
      middle: ['LenientTestGadget', 'FailingTestGadget', 'LenientTestGadget'],
      last: ['LenientTestGadget', 'LenientTestGadget', 'FailingTestGadget'],
    }[position];
    const plan = planOf(testRegistry(failingGadget(3)),
      steps.map((c, i) => `<gadget><name>N${i}</name><dll>x</dll><classname>${c}</classname></gadget>`).join('\n'));
    const failingPath = `s/N${steps.indexOf('FailingTestGadget')}`;
    const input = new Channel<Message>(4);
    const output = new CollectingOutput();
    const producer = endlessProducer(input);
    await within(
      assert.rejects(runChain(plan.chain, input, output, env(4)), (err: unknown) => {
        assert.ok(err instanceof GadgetError, `expected a GadgetError, got ${String(err)}`);
        assert.equal(err.path, failingPath);
        assert.equal(err.code, 'GADGET_FAILED');
        assert.ok(err.cause instanceof Error);
        assert.match(err.message, /^boom at /);
        return true;
      }),
      2000,
      'runChain',
    );
    const { error } = await within(producer, 2000, 'the producer');
    assert.ok(error instanceof ChannelClosedError, 'the producer is refused instead of blocking forever');
    assert.ok(Date.now() - started < 2000);
  });
}

test('runChain does not hang when a gadget fails and the input is a plain endless async iterable', async () => {
  const plan = planOf(testRegistry(failingGadget(2)), '<gadget><name>F</name><dll>x</dll><classname>FailingTestGadget</classname></gadget>');
  let pulled = 0;
  let finished = false;
  async function* endless(): AsyncGenerator<Message> {
    try {
      for (;;) {
        pulled += 1;
        if (pulled % 16 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        yield text(String(pulled));
      }
    } finally {
      finished = true;
    }
  }
  const output = new CollectingOutput();
  await within(
    assert.rejects(runChain(plan.chain, endless(), output, env(4)), (err: unknown) => err instanceof GadgetError && err.path === 's/F'),
    2000,
    'runChain',
  );
  assert.ok(finished, 'the input iterator is released');
  assert.ok(pulled < 10_000, `stopped pulling input (pulled ${pulled})`);
});

test('runChain keeps memory bounded: 10,000 messages through a slow gadget hold at most ~capacity per channel in flight', async () => {
  const capacity = 4;
  const options = { total: 10_000, capacity, fastSteps: 2, slowEvery: 50 };
  // A worker thread keeps node:test's per-promise async hooks (≈10× slower) off this promise-heavy run.
  const harness = new URL('../gadgets/testing.js', import.meta.url).href;
  const worker = new Worker(
    `import(${JSON.stringify(harness)}).then((m) => m.measureChainInFlight(${JSON.stringify(options)}))` +
      ".then((r) => require('node:worker_threads').parentPort.postMessage(r));",
    { eval: true },
  );
  const report = await within(new Promise<InFlightReport>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  }), 8000, 'the bounded run');
  await worker.terminate();
  assert.equal(report.delivered, options.total);
  assert.ok(report.inOrder, 'messages arrive in order');
  // Per step: an inner channel and the channel to the next step, plus one message held by the pump and one by the gadget;
  // then the input and output channels.
  const steps = report.steps;
  assert.equal(steps, 3);
  const bound = capacity * (2 * steps + 2) + 2 * steps + 2;
  assert.ok(report.maxInFlight <= bound, `at most ${bound} messages in flight, saw ${report.maxInFlight}`);
  assert.ok(report.maxInFlight >= capacity, `the producer ran ahead of the slow gadget (saw ${report.maxInFlight})`);
});
