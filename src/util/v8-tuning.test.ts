import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_HEAP_GROWTH_PERCENT, DEFAULT_JIT_BUDGET, heapGrowthPercent, jitBudget, sharedCollection, v8TuningFlags } from './v8-tuning.js';
import { CollectionPacer } from './gc.js';

test('GANTRY_HEAP_GROWTH: unset means the default, off or 0 means V8 decides, integers 1–1000 are percentages', () => {
  assert.equal(heapGrowthPercent(undefined), DEFAULT_HEAP_GROWTH_PERCENT);
  assert.equal(heapGrowthPercent(' '), DEFAULT_HEAP_GROWTH_PERCENT);
  assert.equal(heapGrowthPercent('off'), null);
  assert.equal(heapGrowthPercent('OFF'), null);
  assert.equal(heapGrowthPercent('0'), null);
  assert.equal(heapGrowthPercent('150'), 150);
  for (const bad of ['-5', '2.5', 'lots', '1001']) assert.throws(() => heapGrowthPercent(bad), /GANTRY_HEAP_GROWTH must be off or an integer percentage/);
});

test('the gantry command rejects a bad GANTRY_HEAP_GROWTH or GANTRY_JIT_BUDGET with a clear message and runs with off or a percentage', () => {
  const bin = fileURLToPath(new URL('../../../bin/gantry', import.meta.url));
  const run = (value: string, budget = '') => spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, GANTRY_HEAP_GROWTH: value, GANTRY_JIT_BUDGET: budget } });
  const bad = run('lots');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /GANTRY_HEAP_GROWTH must be off or an integer percentage from 1 to 1000, not 'lots'/);
  const badBudget = run('', 'fast');
  assert.equal(badBudget.status, 2);
  assert.match(badBudget.stderr, /GANTRY_JIT_BUDGET must be off or an integer byte count/);
  for (const ok of ['off', '150']) {
    const r = run(ok);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\d+\.\d+\.\d+/);
  }
});

test('GANTRY_JIT_BUDGET: unset means the default, off means V8 decides, integers 1000–100000000 are bytes', () => {
  assert.equal(jitBudget(undefined), DEFAULT_JIT_BUDGET);
  assert.equal(jitBudget('off'), null);
  assert.equal(jitBudget('250000'), 250000);
  for (const bad of ['999', '1e9', 'fast']) assert.throws(() => jitBudget(bad), /GANTRY_JIT_BUDGET must be off or an integer byte count from 1000 to 100000000/);
});

test('v8TuningFlags: the flags the CLI sets before compiling itself (none for off or a bad value)', () => {
  const budget = `--interrupt-budget=${DEFAULT_JIT_BUDGET}`;
  assert.deepEqual(v8TuningFlags({}), [`--heap-growing-percent=${DEFAULT_HEAP_GROWTH_PERCENT}`, budget]);
  assert.deepEqual(v8TuningFlags({ GANTRY_HEAP_GROWTH: '150' }), ['--heap-growing-percent=150', budget]);
  assert.deepEqual(v8TuningFlags({ GANTRY_HEAP_GROWTH: 'off' }), [budget]);
  assert.deepEqual(v8TuningFlags({ GANTRY_HEAP_GROWTH: 'lots', GANTRY_JIT_BUDGET: 'off' }), []);
  assert.deepEqual(v8TuningFlags({ GANTRY_JIT_BUDGET: '5000' }), [`--heap-growing-percent=${DEFAULT_HEAP_GROWTH_PERCENT}`, '--interrupt-budget=5000']);
});

test('GANTRY_SHARED_GC: unset or v8 reports to V8, off means none, integers are MB; the gantry command rejects a bad value', () => {
  assert.deepEqual(sharedCollection(undefined), { kind: 'v8' });
  assert.deepEqual(sharedCollection(' V8 '), { kind: 'v8' });
  assert.deepEqual(sharedCollection('off'), { kind: 'off' });
  assert.deepEqual(sharedCollection('16'), { kind: 'paced', mb: 16 });
  for (const bad of ['-1', '0.5', 'often', '65537']) assert.throws(() => sharedCollection(bad), /GANTRY_SHARED_GC must be v8, off or an integer count of MB from 1 to 65536/);
  const bin = fileURLToPath(new URL('../../../bin/gantry', import.meta.url));
  const r = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, GANTRY_SHARED_GC: 'often' } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /GANTRY_SHARED_GC must be v8, off or an integer count of MB/);
});

test('a collection pacer collects once per `every` bytes counted', () => {
  let collections = 0;
  const pacer = new CollectionPacer(100, () => void (collections += 1));
  assert.deepEqual([pacer.note(60), pacer.note(39), pacer.note(1), pacer.note(250), pacer.note(99)], [false, false, true, true, false]);
  assert.equal(collections, 2);
});
