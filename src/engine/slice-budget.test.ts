import assert from 'node:assert/strict';
import test from 'node:test';
import type { ReconData } from '../ismrmrd/buffers.js';
import type { Message } from '../ismrmrd/messages.js';
import { silentLogger } from '../util/logger.js';
import { Channel } from './channel.js';
import { defineGadget, type AnyGadgetDefinition } from './gadget.js';
import { runChain, type ChainPlan, type GadgetStep } from './pipeline.js';
import { isSliceMessage, SliceBudget } from './slice-budget.js';

const slice = (): ReconData => ({ kind: 'recondata', rbit: [] });
const step = (definition: AnyGadgetDefinition): GadgetStep => ({ type: 'gadget', definition, properties: {}, name: definition.name, path: `t/${definition.name}` });

/** Runs `steps` over one 'go' text message with a bound of `slicesInFlight`; resolves with what left the chain. */
async function runOnce(steps: AnyGadgetDefinition[], slicesInFlight: number, channelCapacity = 16): Promise<Message[]> {
  const chain: ChainPlan = { type: 'chain', key: 't', steps: steps.map(step) };
  const input = new Channel<Message>(4);
  const out: Message[] = [];
  const run = runChain(chain, input, { push: async (m) => void out.push(m) }, {
    header: undefined, log: silentLogger, signal: new AbortController().signal, channelCapacity, slicesInFlight,
  });
  await input.push({ kind: 'text', text: 'go' });
  input.close();
  await run;
  return out;
}
const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('SliceBudget: acquire waits at the limit, a release or close lets it go, a handed-over token travels with its message', async () => {
  const budget = new SliceBudget(2, 60_000);
  const a = slice();
  const b = slice();
  const c = slice();
  await budget.acquire(a);
  await budget.acquire(b);
  assert.equal(budget.inUse, 2);
  let got = false;
  const waiting = budget.acquire(c).then(() => {
    got = true;
  });
  await tick(20);
  assert.equal(got, false, 'the third waits');
  assert.equal(budget.take(a), true, 'a carries a token');
  assert.equal(budget.take(a), false, 'only once');
  budget.release();
  await waiting;
  assert.equal(got, true);
  assert.equal(budget.inUse, 2);
  const d = slice();
  budget.handOver(d);
  budget.releaseCarried(d);
  assert.equal(budget.inUse, 1, 'releasing a carried token');
  budget.releaseCarried(d);
  assert.equal(budget.inUse, 1, 'a message without a token releases nothing');
  await budget.acquire(slice());
  const late = budget.acquire(slice());
  budget.close();
  await late;
  assert.ok(isSliceMessage(a) && isSliceMessage({ kind: 'bucket', data: [], ref: [], datastats: [], refstats: [], waveforms: [] }));
  assert.equal(isSliceMessage({ kind: 'text', text: 'x' }), false);
  assert.throws(() => new SliceBudget(0), /integer ≥ 1/);
});

test('SliceBudget: waiting is bounded by maxWaitMs', async () => {
  const budget = new SliceBudget(1, 30);
  await budget.acquire(slice());
  const started = performance.now();
  await budget.acquire(slice());
  assert.ok(performance.now() - started >= 25, 'it waited');
  assert.equal(budget.inUse, 2, 'then went on');
});

/** A chain: a producer of `total` slices → a pass-through gadget → a slow consumer; returns the most slices alive at once. */
async function mostAlive(total: number, slicesInFlight: number): Promise<number> {
  let alive = 0;
  let most = 0;
  const producer = defineGadget({
    name: 'SliceProducer', classNames: ['SliceProducer'], properties: {}, strict: false, description: 'test',
    accepts: (m: Message): m is Message => m.kind === 'text',
    async run(input, output) {
      for await (const m of input) {
        if (m.kind !== 'text') continue;
        for (let i = 0; i < total; i++) {
          alive += 1;
          most = Math.max(most, alive);
          await output.push(slice());
        }
      }
    },
  }) as AnyGadgetDefinition;
  const relay = defineGadget({
    name: 'SliceRelay', classNames: ['SliceRelay'], properties: {}, strict: false, description: 'test: one slice in, a new one out',
    accepts: (m: Message): m is ReconData => m.kind === 'recondata',
    async run(input, output) {
      for await (const m of input) await output.push({ ...m });
    },
  }) as AnyGadgetDefinition;
  const consumer = defineGadget({
    name: 'SliceConsumer', classNames: ['SliceConsumer'], properties: {}, strict: false, description: 'test: slow, emits text',
    accepts: (m: Message): m is ReconData => m.kind === 'recondata',
    async run(input, output) {
      for await (const m of input) {
        await tick(2);
        alive -= 1;
        await output.push({ kind: 'text', text: String(m.rbit.length) });
      }
    },
  }) as AnyGadgetDefinition;
  const texts = await runOnce([producer, relay, consumer], slicesInFlight, 64);
  assert.equal(texts.length, total, 'every slice arrives');
  return most;
}

test('runChain holds at most slicesInFlight slices (+ the one being made) between the gadget that makes them and the one that ends them', async () => {
  assert.ok((await mostAlive(30, 2)) <= 3, 'two slices out, a third waiting');
  assert.ok((await mostAlive(30, 1)) <= 2);
  assert.ok((await mostAlive(30, 100)) > 10, 'without the bound, the channels let many queue');
});

test('a gadget that stops reading early gives back the tokens of what it leaves, so the chain does not stall', async () => {
  const producer = defineGadget({
    name: 'Maker', classNames: ['Maker'], properties: {}, strict: false, description: 'test',
    accepts: (m: Message): m is Message => m.kind === 'text',
    async run(input, output) {
      for await (const m of input) if (m.kind === 'text') for (let i = 0; i < 20; i++) await output.push(slice());
    },
  }) as AnyGadgetDefinition;
  const quitter = defineGadget({
    name: 'Quitter', classNames: ['Quitter'], properties: {}, strict: false, description: 'test: reads one slice, then ends',
    accepts: (m: Message): m is ReconData => m.kind === 'recondata',
    async run(input) {
      for await (const m of input) {
        if (m.kind === 'recondata') return;
      }
    },
  }) as AnyGadgetDefinition;
  const started = performance.now();
  await runOnce([producer, quitter], 1, 4);
  assert.ok(performance.now() - started < 5_000, 'no wait for a token that never comes back');
});

test('a gadget that splits one slice message into several needs no further tokens (no wait on tokens carried by its own queued input)', async () => {
  const bucket = (): Message => ({ kind: 'bucket', data: [], ref: [], datastats: [], refstats: [], waveforms: [] });
  const gatherer = defineGadget({
    name: 'Gatherer', classNames: ['Gatherer'], properties: {}, strict: false, description: 'test: makes buckets from text',
    accepts: (m: Message): m is Message => m.kind === 'text',
    async run(input, output) {
      for await (const m of input) if (m.kind === 'text') for (let i = 0; i < 8; i++) await output.push(bucket());
    },
  }) as AnyGadgetDefinition;
  const splitter = defineGadget({
    name: 'Splitter', classNames: ['Splitter'], properties: {}, strict: false, description: 'test: three buffers per bucket',
    accepts: (m: Message): m is Message => m.kind === 'bucket',
    async run(input, output) {
      for await (const m of input) if (m.kind === 'bucket') for (let i = 0; i < 3; i++) await output.push(slice());
    },
  }) as AnyGadgetDefinition;
  let done = 0;
  const consumer = defineGadget({
    name: 'Done', classNames: ['Done'], properties: {}, strict: false, description: 'test',
    accepts: (m: Message): m is ReconData => m.kind === 'recondata',
    async run(input) {
      for await (const m of input) if (m.kind === 'recondata') done += 1;
    },
  }) as AnyGadgetDefinition;
  const started = performance.now();
  await runOnce([gatherer, splitter, consumer], 1);
  assert.equal(done, 24);
  assert.ok(performance.now() - started < 5_000, `no wait for a token (took ${Math.round(performance.now() - started)} ms)`);
});
