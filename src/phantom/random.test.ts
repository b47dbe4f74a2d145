import test from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from './random.js';

test('seeded random repeats for the same seed and differs between seeds', () => {
  const a = new SeededRandom(42), b = new SeededRandom(42), c = new SeededRandom(43);
  const sa = Array.from({ length: 32 }, () => a.nextUint32());
  const sb = Array.from({ length: 32 }, () => b.nextUint32());
  const sc = Array.from({ length: 32 }, () => c.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  assert.ok(sa.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32));
  assert.deepEqual(Array.from({ length: 4 }, () => new SeededRandom(0).nextUint32()).length, 4);
  assert.throws(() => new SeededRandom(1.5), RangeError);
  assert.equal(new SeededRandom(-1).nextUint32(), new SeededRandom(2 ** 32 - 1).nextUint32(), 'seeds are taken modulo 2³²');
});

test('seeded random fillNormal gives the same sequence as repeated normal() calls, across odd lengths', () => {
  const a = new SeededRandom(9), b = new SeededRandom(9);
  const viaFill = [...a.fillNormal(new Float64Array(7)), ...a.fillNormal(new Float64Array(5), 2)];
  const viaCalls = [...Array.from({ length: 7 }, () => b.normal()), ...Array.from({ length: 5 }, () => 2 * b.normal())];
  assert.deepEqual(viaFill, viaCalls);
});

test('seeded random uniforms lie in (0, 1) and normals have mean 0 and variance 1', () => {
  const r = new SeededRandom(5);
  let lo = 1, hi = 0, sum = 0;
  for (let i = 0; i < 100000; i++) {
    const u = r.uniform();
    lo = Math.min(lo, u);
    hi = Math.max(hi, u);
    sum += u;
  }
  assert.ok(lo > 0 && hi < 1);
  assert.ok(Math.abs(sum / 100000 - 0.5) < 0.005);
  const z = r.fillNormal(new Float64Array(200000));
  let m = 0, v = 0, k = 0;
  for (const x of z) m += x;
  m /= z.length;
  for (const x of z) {
    v += (x - m) ** 2;
    k += (x - m) ** 4;
  }
  v /= z.length;
  k /= z.length * v * v;
  assert.ok(Math.abs(m) < 0.01, `mean ${m}`);
  assert.ok(Math.abs(v - 1) < 0.015, `variance ${v}`);
  assert.ok(Math.abs(k - 3) < 0.06, `kurtosis ${k}`);
});
