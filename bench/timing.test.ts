import test from 'node:test';
import assert from 'node:assert/strict';
import { median } from './timing.js';

test('median: the middle value, the upper middle one for an even count, NaN for none; the input is left as it was', () => {
  const values = [3, 1, 2];
  assert.equal(median(values), 2);
  assert.deepEqual(values, [3, 1, 2]);
  assert.equal(median([4, 1, 3, 2]), 3);
  assert.equal(median([1.5]), 1.5);
  assert.ok(Number.isNaN(median([])));
});
