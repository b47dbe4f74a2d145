import assert from 'node:assert/strict';
import test from 'node:test';
import type { Message, TextMessage } from '../ismrmrd/messages.js';
import { defineMapGadget, type AnyGadgetDefinition } from './gadget.js';
import { classNamesIn, Registry, type LazyGadget } from './registry.js';

const isText = (m: Message): m is TextMessage => m.kind === 'text';

function gadget(classNames: string[]): AnyGadgetDefinition {
  return defineMapGadget({
    name: classNames[0] as string, classNames, properties: {}, strict: false, description: 'test', accepts: isText, process: (m) => m,
  });
}

/** A lazy entry that counts its loads. */
function lazy(definition: AnyGadgetDefinition, classNames = definition.classNames): LazyGadget & { loads: number } {
  const entry = { classNames, loads: 0, load: async () => { entry.loads += 1; return definition; } };
  return entry;
}

const registry = (gadgets: AnyGadgetDefinition[], lazyGadgets: LazyGadget[]): Registry =>
  new Registry(gadgets, undefined, undefined, undefined, undefined, undefined, lazyGadgets);

test('a lazily registered gadget loads on demand, once, and only when named', async () => {
  const a = lazy(gadget(['A', 'AliasA']));
  const b = lazy(gadget(['B']));
  const r = registry([gadget(['Eager'])], [a, b]);
  assert.deepEqual(r.gadgetClassNames(), ['A', 'AliasA', 'B', 'Eager']);
  assert.equal(r.gadget('Eager')?.name, 'Eager');
  assert.equal(r.gadget('Unknown'), undefined);
  assert.throws(() => r.gadget('AliasA'), /Cannot use gadget class AliasA: its module is not loaded yet/);
  await r.load(['AliasA', 'Unknown', 'Eager']);
  await r.load(['A']);
  assert.equal(r.gadget('A')?.name, 'A');
  assert.equal(r.gadget('AliasA'), r.gadget('A'));
  assert.equal(a.loads, 1);
  assert.equal(b.loads, 0);
  assert.throws(() => r.gadget('B'), /not loaded yet/);
});

test('a lazy entry whose module defines other class names is refused', async () => {
  const r = registry([], [lazy(gadget(['Real']), ['Claimed'])]);
  await assert.rejects(r.load(['Claimed']), /Cannot load gadget class Claimed: its module defines Real/);
});

test('a class registered twice, eagerly or lazily, is refused', () => {
  assert.throws(() => registry([gadget(['A'])], [lazy(gadget(['A']))]), /Cannot register gadget class A twice/);
  assert.throws(() => registry([], [lazy(gadget(['A'])), lazy(gadget(['B', 'A']))]), /Cannot register gadget class A twice/);
});

test('classNamesIn finds classname strings at any depth', () => {
  const config = {
    readers: [{ classname: 'R' }],
    stream: { nodes: [{ type: 'gadget', classname: 'G1' }, { type: 'parallel', branches: { b: { nodes: [{ classname: 'G2' }] } } }] },
    other: { classname: 42, name: 'classname' },
  };
  assert.deepEqual([...classNamesIn(config)].sort(), ['G1', 'G2', 'R']);
  const cyclic: Record<string, unknown> = { classname: 'C' };
  cyclic['self'] = cyclic;
  assert.deepEqual([...classNamesIn(cyclic)], ['C']);
});
