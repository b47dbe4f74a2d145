import test from 'node:test';
import assert from 'node:assert/strict';
import type { ImageArray, ReconData } from '../ismrmrd/buffers.js';
import { metaGet } from '../ismrmrd/meta.js';
import type { MetaContainer } from '../ismrmrd/types.js';
import { genericReconCartesianFFTGadget } from './generic-recon-cartesian-fft.js';
import { genericReconCartesianReferencePrepGadget } from './generic-recon-reference-prep.js';
import { makeScan, nrmseToTruth, reconDataOf } from './grappa-testing.js';
import { ofKind, planGadgetStep, runGadget } from './testing.js';

test('GenericReconCartesianFFTGadget combines FFT coil images with Inati maps (reference or data)', async () => {
  const scan = makeScan({ RO: 64, E1: 48, CHA: 6 });
  const prepared = await runGadget(genericReconCartesianReferencePrepGadget, [reconDataOf(scan)], { header: scan.header });
  for (const input of [prepared, [reconDataOf(scan)]]) {
    const [image] = ofKind(await runGadget(genericReconCartesianFFTGadget, input, { header: scan.header, properties: { image_series: '2' } }), 'imagearray');
    assert.ok(image);
    assert.deepEqual(image.data.dims, [64, 48, 1, 1, 1, 1, 1]);
    assert.equal(image.headers[0]?.image_series_index, 3);
    assert.equal(metaGet(image.meta[0] as MetaContainer, 'GADGETRON_DataRole'), 'Image');
    const err = nrmseToTruth(image.data.data, scan.truth, 1);
    assert.ok(err < 2e-3, `NRMSE ${err}`);
  }
});

test('GenericReconCartesianFFTGadget with Inati_Iter maps and a 3D volume', async () => {
  const scan = makeScan({ RO: 24, E1: 24, E2: 16, CHA: 4 });
  const [image] = ofKind(
    await runGadget(genericReconCartesianFFTGadget, [reconDataOf(scan)], { header: scan.header, properties: { coil_map_algorithm: 'Inati_Iter' } }),
    'imagearray',
  ) as ImageArray[];
  assert.deepEqual(image?.data.dims, [24, 24, 16, 1, 1, 1, 1]);
  const err = nrmseToTruth((image as ImageArray).data.data, scan.truth, 1);
  assert.ok(err < 2e-2, `NRMSE ${err}`);
});

test('GenericReconCartesianFFTGadget properties and errors', async () => {
  const step = planGadgetStep(genericReconCartesianFFTGadget);
  assert.equal(step.properties['coil_map_algorithm'], 'Inati');
  assert.equal(step.properties['image_series'], 0);
  assert.throws(() => planGadgetStep(genericReconCartesianFFTGadget, { send_out_gfactor: 'true' }), /not a property/);
  const scan = makeScan({ RO: 16, E1: 16, CHA: 4 });
  const other = makeScan({ RO: 16, E1: 16, CHA: 2 });
  const mixed: ReconData = { kind: 'recondata', rbit: [{ data: scan.data, ref: other.data }] };
  await assert.rejects(runGadget(genericReconCartesianFFTGadget, [mixed], { header: scan.header }), /the data have 4 channels, the coil maps 2/);
});
