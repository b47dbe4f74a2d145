import test from 'node:test';
import assert from 'node:assert/strict';
import { parseIsmrmrdHeader, serializeIsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { acquisitionHeader, phantomHeader, recordedOptions, reconFov, sliceCentre } from './header.js';
import { resolvePhantomOptions, scanGeometry } from './options.js';
import type { PhantomOptions } from './options.js';
import { plannedReadouts } from './sampling.js';

function setup(o: Omit<PhantomOptions, 'output'>) {
  const r = resolvePhantomOptions({ output: 'unused.h5', ...o });
  const g = scanGeometry(r);
  const header = parseIsmrmrdHeader(serializeIsmrmrdHeader(phantomHeader(r, g)));
  return { r, g, header, enc: header.encoding[0] };
}

test('phantom header: defaults describe a 256² 8-coil 2D scan with oversampling 2, like the ISMRMRD generator', () => {
  const { header, enc } = setup({});
  assert.deepEqual([enc.encodedSpace.matrixSize.x, enc.encodedSpace.matrixSize.y, enc.encodedSpace.matrixSize.z], [512, 256, 1]);
  assert.deepEqual([enc.encodedSpace.fieldOfView_mm.x, enc.encodedSpace.fieldOfView_mm.y, enc.encodedSpace.fieldOfView_mm.z], [600, 300, 6]);
  assert.deepEqual([enc.reconSpace.matrixSize.x, enc.reconSpace.matrixSize.y, enc.reconSpace.matrixSize.z], [256, 256, 1]);
  assert.deepEqual([enc.reconSpace.fieldOfView_mm.x, enc.reconSpace.fieldOfView_mm.y], [300, 300]);
  assert.deepEqual(enc.encodingLimits.kspace_encoding_step_1, { minimum: 0, maximum: 255, center: 128 });
  assert.equal(enc.trajectory, 'cartesian');
  assert.equal(enc.parallelImaging, undefined);
  assert.equal(header.acquisitionSystemInformation?.receiverChannels, 8);
  assert.equal(header.acquisitionSystemInformation?.relativeReceiverNoiseBandwidth, 0.793);
  assert.equal(header.acquisitionSystemInformation?.coilLabel.length, 8);
  assert.equal(header.measurementInformation?.patientPosition, 'HFS');
  assert.ok(header.measurementInformation?.measurementID);
  assert.equal(header.experimentalConditions.H1resonanceFrequency_Hz, 63500000);
  assert.deepEqual(header.sequenceParameters?.TR, [5]);
  const opts = header.userParameters?.userParameterString.find((p) => p.name === 'GantryPhantomOptions');
  assert.ok(opts && !opts.value.includes('unused.h5'));
  assert.equal(JSON.parse(opts.value).matrix, 256);
});

test('phantom header: parallel imaging, loop limits and 3D geometry', () => {
  const { enc } = setup({ matrix: 64, pe: 48, e2: 16, accel: 2, accelE2: 2, slices: 3, phases: 5, repetitions: 2, acsMode: 'separate', acs: 12 });
  assert.deepEqual(enc.parallelImaging?.accelerationFactor, { kspace_encoding_step_1: 2, kspace_encoding_step_2: 2 });
  assert.equal(enc.parallelImaging?.calibrationMode, 'separate');
  assert.deepEqual([enc.encodedSpace.matrixSize.x, enc.encodedSpace.matrixSize.y, enc.encodedSpace.matrixSize.z], [128, 48, 16]);
  assert.deepEqual([enc.reconSpace.matrixSize.x, enc.reconSpace.matrixSize.y, enc.reconSpace.matrixSize.z], [64, 48, 16]);
  assert.equal(enc.reconSpace.fieldOfView_mm.z, 300);
  assert.deepEqual(enc.encodingLimits.kspace_encoding_step_2, { minimum: 0, maximum: 15, center: 8 });
  assert.deepEqual(enc.encodingLimits.slice, { minimum: 0, maximum: 2, center: 0 });
  assert.deepEqual(enc.encodingLimits.phase, { minimum: 0, maximum: 4, center: 0 });
  assert.deepEqual(enc.encodingLimits.repetition, { minimum: 0, maximum: 1, center: 0 });
  const inter = setup({ matrix: 64, accel: 3, acsMode: 'interleaved', repetitions: 2 }).enc;
  assert.equal(inter.parallelImaging?.calibrationMode, 'interleaved');
  assert.equal(inter.parallelImaging?.interleavingDimension, 'repetition');
  assert.deepEqual(inter.encodingLimits.repetition, { minimum: 0, maximum: 5, center: 0 }, 'repetitions × passes');
  assert.equal(setup({ matrix: 64, accel: 2 }).enc.parallelImaging?.calibrationMode, 'embedded');
});

test('phantom header: partial Fourier and asymmetric echo limits are consistent with the readouts', () => {
  const { r, g, enc } = setup({ matrix: 128, pe: 128, partialFourier: 0.625, asymmetricEcho: 0.75 });
  assert.deepEqual(enc.encodingLimits.kspace_encoding_step_1, { minimum: 48, maximum: 127, center: 64 });
  assert.equal(enc.encodedSpace.matrixSize.x, 256, 'encoded x stays the full readout');
  assert.deepEqual(enc.encodingLimits.kspace_encoding_step_0, { minimum: 64, maximum: 255, center: 128 });
  assert.deepEqual(enc.parallelImaging?.accelerationFactor, { kspace_encoding_step_1: 1, kspace_encoding_step_2: 1 }, 'keeps Gadgetron\'s E1 buffer at the full matrix');
  assert.equal(enc.parallelImaging?.calibrationMode, 'other');
  assert.equal(g.samples, 192);
  assert.equal(g.centerSample, 64);
  const first = plannedReadouts(r, g).next().value;
  assert.ok(first);
  const h = acquisitionHeader(r, g, first, 0);
  assert.equal(h.number_of_samples, 192);
  assert.equal(h.center_sample, 64);
  assert.ok(h.center_sample < h.number_of_samples / 2);
  assert.equal(h.center_sample + (256 - h.number_of_samples), 128, 'Gadgetron pads the early samples back to the centre');
  assert.equal(h.idx.kspace_encode_step_1, 48);
});

test('phantom acquisition headers: geometry, channels, counters and time stamps', () => {
  const { r, g } = setup({ matrix: 32, pe: 16, slices: 3, phases: 4, coils: 70, noiseScans: 2 });
  const heads = [...plannedReadouts(r, g)].map((p, i) => acquisitionHeader(r, g, p, i));
  assert.equal(heads.length, 2 + 3 * 4 * 16);
  const noise = heads[0];
  assert.equal(noise.number_of_samples, 64);
  assert.equal(noise.center_sample, 0);
  assert.equal(noise.sample_time_us, 5);
  assert.equal(noise.channel_mask[0], (1n << 64n) - 1n);
  assert.equal(noise.channel_mask[1], (1n << 6n) - 1n);
  for (let i = 1; i < heads.length; i++) {
    assert.equal(heads[i].scan_counter, heads[i - 1].scan_counter + 1);
    assert.ok(heads[i].acquisition_time_stamp > heads[i - 1].acquisition_time_stamp);
  }
  for (const h of heads) {
    for (const d of [h.read_dir, h.phase_dir, h.slice_dir]) assert.equal(Math.hypot(...d), 1);
    assert.equal(h.active_channels, 70);
    assert.equal(h.available_channels, 70);
    assert.equal(h.sample_time_us, 5);
  }
  const imaging = heads.slice(2);
  const positions = [0, 1, 2].map((s) => imaging.find((h) => h.idx.slice === s)?.position[2]);
  assert.deepEqual(positions, [0, 1, 2].map((s) => 150 * sliceCentre(s, 3)));
  assert.ok(new Set(positions).size === 3);
  const phaseStamps = [0, 1, 2, 3].map((p) => imaging.find((h) => h.idx.phase === p)?.physiology_time_stamp[0]);
  assert.deepEqual(phaseStamps, [0, 100, 200, 300], 'trigger delay in 2.5 ms ticks over a 1 s cycle');
  assert.deepEqual(reconFov(r), [300, 300, 6]);
  assert.ok(!recordedOptions(r).includes('output'));
});
