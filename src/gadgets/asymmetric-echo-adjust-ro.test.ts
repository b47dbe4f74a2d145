import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AcqFlag } from '../ismrmrd/types.js';
import { asymmetricEchoAdjustROGadget } from './asymmetric-echo-adjust-ro.js';
import { makeAcquisition, makeHeader, ofKind, planSingleGadget, runGadget } from './testing.js';

const header = makeHeader({ encodedMatrix: [256, 128, 1], encodedFov: [600, 300, 6], reconMatrix: [128, 128, 1], reconFov: [300, 300, 6] });

/** A symmetric echo of M samples peaking at M/2 (a Gaussian envelope with a phase ramp), per channel. */
function echo(m: number, sample: number, channel: number): readonly [number, number] {
  const x = (sample - m / 2) / 12;
  const a = Math.exp(-x * x) * (1 + channel);
  return [a * Math.cos(0.3 * x), a * Math.sin(0.3 * x)];
}

test('AsymmetricEchoAdjustROGadget pads an early echo at the start: data at [M − Ns, M), echo at M/2', async () => {
  const m = 256;
  const ns = 160;
  const dropped = m - ns;
  const acq = makeAcquisition({ samples: ns, channels: 2, centerSample: m / 2 - dropped, data: (s, c) => echo(m, s + dropped, c) });
  const [out] = ofKind(await runGadget(asymmetricEchoAdjustROGadget, [acq], { header }), 'acquisition');
  assert.ok(out);
  assert.equal(out.head.number_of_samples, 256);
  assert.equal(out.head.center_sample, 128);
  assert.equal(out.head.discard_pre, 96);
  assert.equal(out.head.discard_post, 0);
  for (let c = 0; c < 2; c++) {
    for (let s = 0; s < m; s++) {
      const [re, im] = s < dropped ? [0, 0] : echo(m, s, c);
      assert.equal(out.data[2 * (c * m + s)], Math.fround(re));
      assert.equal(out.data[2 * (c * m + s) + 1], Math.fround(im));
    }
  }
  let peak = 0;
  for (let s = 1; s < m; s++) if (Math.abs(out.data[2 * s]) > Math.abs(out.data[2 * peak])) peak = s;
  assert.equal(peak, m / 2);
  assert.equal(acq.head.number_of_samples, ns, 'input not mutated');
});

test('AsymmetricEchoAdjustROGadget pads a late echo at the end: data at [0, Ns), discard_post = M − Ns', async () => {
  const acq = makeAcquisition({ samples: 160, centerSample: 128, data: (s) => echo(256, s, 0) });
  const [out] = ofKind(await runGadget(asymmetricEchoAdjustROGadget, [acq], { header }), 'acquisition');
  assert.ok(out);
  assert.equal(out.head.number_of_samples, 256);
  assert.equal(out.head.center_sample, 128);
  assert.equal(out.head.discard_pre, 0);
  assert.equal(out.head.discard_post, 96);
  assert.deepEqual(Array.from(out.data.subarray(0, 320)), Array.from(acq.data));
  assert.ok(out.data.subarray(320).every((v) => v === 0));
});

test('AsymmetricEchoAdjustROGadget leaves symmetric, full-length and noise readouts alone', async () => {
  const symmetric = makeAcquisition({ samples: 160, centerSample: 80 });
  const full = makeAcquisition({ samples: 256, centerSample: 100 });
  const beyond = makeAcquisition({ samples: 160, centerSample: 170 });
  const noise = makeAcquisition({ samples: 160, centerSample: 10, flags: [AcqFlag.IS_NOISE_MEASUREMENT] });
  const out = ofKind(await runGadget(asymmetricEchoAdjustROGadget, [symmetric, full, beyond, noise], { header }), 'acquisition');
  assert.equal(out.length, 4);
  assert.equal(out[0], symmetric);
  assert.equal(out[1], full);
  assert.equal(out[2], beyond);
  assert.equal(out[3], noise);
});

test('AsymmetricEchoAdjustROGadget is new-style: no properties, unknown ones ignored', () => {
  assert.equal(asymmetricEchoAdjustROGadget.strict, false);
  assert.doesNotThrow(() => planSingleGadget(asymmetricEchoAdjustROGadget, { anything: '1' }));
});
