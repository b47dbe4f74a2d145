import test from 'node:test';
import assert from 'node:assert/strict';
import type { DataBuffered, ReconData } from '../ismrmrd/buffers.js';
import { complexNorm } from '../kernels/linear-operator.js';
import { genericReconEigenChannelGadget } from './generic-recon-eigen-channel.js';
import { makeScan, reconDataOf, type Scan } from './grappa-testing.js';
import { ofKind, planGadgetStep, runGadget } from './testing.js';

/** A scan whose 6 channels are linear combinations of 3 coils. */
function lowRankScan(): Scan {
  const base = makeScan({ RO: 24, E1: 20, CHA: 3, N: 2 });
  const mix = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0], [0, -0.3, 0.7], [0.2, 0.2, 0.2]];
  const widen = (b: DataBuffered): DataBuffered => {
    const [RO, E1, E2, , N, S, SLC] = b.data.dims as number[] as [number, number, number, number, number, number, number];
    const vol = RO * E1 * E2;
    const out = new Float32Array(2 * vol * 6 * N);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < 6; c++) {
        for (let k = 0; k < 3; k++) {
          const w = (mix[c] as number[])[k] as number;
          for (let i = 0; i < 2 * vol; i++) out[2 * vol * (c + 6 * n) + i] = (out[2 * vol * (c + 6 * n) + i] as number) + w * (b.data.data[2 * vol * (k + 3 * n) + i] as number);
        }
      }
    }
    return { ...b, data: { data: out, dims: [RO, E1, E2, 6, N, S, SLC] } };
  };
  return { ...base, data: widen(base.data) };
}

test('EigenChannel keeps the modes of rank-deficient data and rotates data and reference', async () => {
  const scan = lowRankScan();
  const recon: ReconData = { kind: 'recondata', rbit: [{ data: scan.data, ref: scan.data }] };
  const [out] = ofKind(
    await runGadget(genericReconEigenChannelGadget, [recon], { header: scan.header, properties: { upstream_coil_compression_thres: '1e-6' } }),
    'recondata',
  );
  const bit = out?.rbit[0];
  assert.deepEqual(bit?.data.data.dims, [24, 20, 1, 3, 2, 1, 1]);
  assert.deepEqual(bit?.ref?.data.dims, [24, 20, 1, 3, 2, 1, 1]);
  const ratio = complexNorm(bit?.data.data.data as Float32Array) / complexNorm(scan.data.data.data);
  assert.ok(Math.abs(ratio - 1) < 1e-4, `energy kept in 3 of 6 modes: ${ratio}`);
});

test('EigenChannel with the default threshold keeps all channels as a unitary rotation', async () => {
  const scan = makeScan({ RO: 24, E1: 20, CHA: 5 });
  const [out] = ofKind(await runGadget(genericReconEigenChannelGadget, [reconDataOf(scan)], { header: scan.header }), 'recondata');
  const data = out?.rbit[0]?.data.data;
  assert.deepEqual(data?.dims, [24, 20, 1, 5, 1, 1, 1]);
  assert.ok(Math.abs(complexNorm(data?.data as Float32Array) / complexNorm(scan.data.data.data) - 1) < 1e-5);
  const two = ofKind(
    await runGadget(genericReconEigenChannelGadget, [reconDataOf(scan), reconDataOf(scan)], {
      header: scan.header, properties: { upstream_coil_compression_num_modesKept: '2' },
    }),
    'recondata',
  );
  assert.deepEqual(two.map((r) => r.rbit[0]?.data.data.dims[3]), [2, 2]);
});

test('EigenChannel properties and errors', async () => {
  const step = planGadgetStep(genericReconEigenChannelGadget);
  assert.equal(step.properties['upstream_coil_compression_thres'], -1);
  assert.equal(step.properties['upstream_coil_compression_num_modesKept'], 0);
  assert.equal(step.properties['average_all_ref_S'], false);
  assert.throws(() => planGadgetStep(genericReconEigenChannelGadget, { upstream_thres: '0.1' }), /not a property/);
  const scan = makeScan({ RO: 16, E1: 12, CHA: 4 });
  const other = makeScan({ RO: 16, E1: 12, CHA: 3 });
  const mixed: ReconData = { kind: 'recondata', rbit: [{ data: scan.data, ref: other.data }] };
  await assert.rejects(runGadget(genericReconEigenChannelGadget, [mixed], { header: scan.header }), /the reference has 3 channels, the data 4/);
});
