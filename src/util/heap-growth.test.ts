import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_HEAP_GROWTH_PERCENT, heapGrowthFlags, heapGrowthPercent } from './heap-growth.js';

test('GANTRY_HEAP_GROWTH: unset means the default, off or 0 means V8 decides, integers 1–1000 are percentages', () => {
  assert.equal(heapGrowthPercent(undefined), DEFAULT_HEAP_GROWTH_PERCENT);
  assert.equal(heapGrowthPercent(' '), DEFAULT_HEAP_GROWTH_PERCENT);
  assert.equal(heapGrowthPercent('off'), null);
  assert.equal(heapGrowthPercent('OFF'), null);
  assert.equal(heapGrowthPercent('0'), null);
  assert.equal(heapGrowthPercent('150'), 150);
  for (const bad of ['-5', '2.5', 'lots', '1001']) assert.throws(() => heapGrowthPercent(bad), /GANTRY_HEAP_GROWTH must be off or an integer percentage/);
});

test('the gantry command rejects a bad GANTRY_HEAP_GROWTH with a clear message and runs with off or a percentage', () => {
  const bin = fileURLToPath(new URL('../../../bin/gantry', import.meta.url));
  const run = (value: string) => spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, GANTRY_HEAP_GROWTH: value } });
  const bad = run('lots');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /GANTRY_HEAP_GROWTH must be off or an integer percentage from 1 to 1000, not 'lots'/);
  for (const ok of ['off', '150']) {
    const r = run(ok);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\d+\.\d+\.\d+/);
  }
});

test('heapGrowthFlags: the flag the CLI sets before compiling itself (none for off or a bad value)', () => {
  assert.deepEqual(heapGrowthFlags({}), [`--heap-growing-percent=${DEFAULT_HEAP_GROWTH_PERCENT}`]);
  assert.deepEqual(heapGrowthFlags({ GANTRY_HEAP_GROWTH: '150' }), ['--heap-growing-percent=150']);
  assert.deepEqual(heapGrowthFlags({ GANTRY_HEAP_GROWTH: 'off' }), []);
  assert.deepEqual(heapGrowthFlags({ GANTRY_HEAP_GROWTH: 'lots' }), []);
});
