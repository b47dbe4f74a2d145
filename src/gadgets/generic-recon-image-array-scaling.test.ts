import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageArray } from '../ismrmrd/buffers.js';
import { genericReconImageArrayScalingGadget } from './generic-recon-image-array-scaling.js';
import { makeImageArray } from './generic-recon-testing.js';
import { ofKind, planSingleGadget, runGadget } from './testing.js';

/** A 4×4 array whose largest magnitude is `max` (3-4-5 triangle at pixel 5) and others 1. */
function arrayWithMax(max: number, meta: Record<string, string[]> = {}, n = 1): ImageArray {
  const data = new Float32Array(2 * 16 * n);
  for (let i = 0; i < data.length; i += 2) data[i] = 1;
  data[10] = (3 * max) / 5;
  data[11] = (4 * max) / 5;
  return makeImageArray({ dims: [4, 4, 1, 1, n], data, meta });
}

function factorOf(input: ImageArray, output: ImageArray): number {
  return (output.data.data[10] as number) / (input.data.data[10] as number);
}

test('ImageArrayScaling multiplies by the constant factor (default 4) and records GADGETRON_ScaleRatio', async () => {
  const a = arrayWithMax(10);
  const [out] = ofKind(await runGadget(genericReconImageArrayScalingGadget, [a]), 'imagearray');
  assert.ok(out);
  assert.ok(Math.abs(factorOf(a, out) - 4) < 1e-6);
  assert.deepEqual(out.meta[0]?.get('GADGETRON_ScaleRatio'), ['4']);
  assert.equal(a.data.data[0], 1, 'input not mutated');
  const [ten] = ofKind(await runGadget(genericReconImageArrayScalingGadget, [a], { properties: { scalingFactor: '10' } }), 'imagearray');
  assert.ok(ten);
  assert.ok(Math.abs(factorOf(a, ten) - 10) < 1e-6);
  assert.deepEqual(ten.meta[0]?.get('GADGETRON_ScaleRatio'), ['10']);
});

test('ImageArrayScaling uses data-role factors: Gfactor 100, SNR_MAP 10, STD_MAP 1000, dedicated 100', async () => {
  const inputs = [
    arrayWithMax(2, { GADGETRON_DataRole: ['Gfactor'], Skip_processing_after_recon: ['1'] }),
    arrayWithMax(2, { GADGETRON_DataRole: ['SNR_MAP'] }),
    arrayWithMax(2, { GADGETRON_DataRole: ['STD_MAP'], Use_dedicated_scaling_factor: ['1'] }),
    arrayWithMax(2, { GADGETRON_DataRole: ['Image'], Use_dedicated_scaling_factor: ['1'] }),
    arrayWithMax(2, { GADGETRON_DataRole: ['Image'] }),
  ];
  const out = ofKind(await runGadget(genericReconImageArrayScalingGadget, inputs, { properties: { scalingFactor: '10' } }), 'imagearray');
  const factors = out.map((o, i) => factorOf(inputs[i] as ImageArray, o));
  [100, 10, 1000, 100, 10].forEach((f, i) => assert.ok(Math.abs((factors[i] as number) - f) < 1e-4, `array ${i}: ${factors[i]} vs ${f}`));
  assert.deepEqual(out[2]?.meta[0]?.get('GADGETRON_ScaleRatio'), ['1000']);
});

test('ImageArrayScaling automatic factor follows Gadgetron (2048/max outside [64, 4095]; 4, 2, 1 inside) once per encoding', async () => {
  const props = { use_constant_scalingFactor: 'false' };
  const cases: [number, number][] = [
    [10, 204.8],
    [1000, 4],
    [1500, 2],
    [3000, 1],
    [10000, 0.2048],
  ];
  for (const [max, expected] of cases) {
    const a = arrayWithMax(max);
    const [out] = ofKind(await runGadget(genericReconImageArrayScalingGadget, [a], { properties: props }), 'imagearray');
    assert.ok(out);
    assert.ok(Math.abs(factorOf(a, out) / expected - 1) < 1e-6, `max ${max}: ${factorOf(a, out)} vs ${expected}`);
  }
  const first = arrayWithMax(1000);
  const second = arrayWithMax(3000);
  const once = ofKind(await runGadget(genericReconImageArrayScalingGadget, [first, second], { properties: props }), 'imagearray');
  assert.ok(Math.abs(factorOf(second, once[1] as ImageArray) - 4) < 1e-6, 'factor computed once');
  const every = ofKind(
    await runGadget(genericReconImageArrayScalingGadget, [first, second], { properties: { ...props, auto_scaling_only_once: 'false' } }),
    'imagearray',
  );
  assert.ok(Math.abs(factorOf(second, every[1] as ImageArray) - 1) < 1e-6, 'factor recomputed');
});

test('ImageArrayScaling is a strict (legacy) gadget with Gadgetron defaults', () => {
  assert.equal(genericReconImageArrayScalingGadget.strict, true);
  assert.throws(() => planSingleGadget(genericReconImageArrayScalingGadget, { scaling_factor: '10' }));
  const step = planSingleGadget(genericReconImageArrayScalingGadget).chain.steps[0];
  assert.ok(step && 'properties' in step);
  assert.deepEqual(step.properties, {
    verbose: false,
    debug_folder: '',
    perform_timing: false,
    time_tick: 2.5,
    use_constant_scalingFactor: true,
    scalingFactor: 4,
    min_intensity_value: 64,
    max_intensity_value: 4095,
    auto_scaling_only_once: true,
    use_dedicated_scalingFactor_meta_field: 'Use_dedicated_scaling_factor',
    scalingFactor_dedicated: 100,
    scalingFactor_gfactor_map: 100,
    scalingFactor_snr_map: 10,
    scalingFactor_snr_std_map: 1000,
  });
});
