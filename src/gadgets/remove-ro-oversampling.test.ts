import assert from 'node:assert/strict';
import test from 'node:test';
import { fftc } from '../kernels/index.js';
import { AcqFlag } from '../ismrmrd/types.js';
import { removeROOversamplingGadget } from './remove-ro-oversampling.js';
import { makeAcquisition, makeHeader, makeWaveform, maxAbsDiff, ofKind, randomComplex, runGadget } from './testing.js';

/** Header with encoded readout `ns` over `encFov` mm and recon readout `recon` over `recFov` mm. */
function header(ns: number, encFov: number, recon: number, recFov: number) {
  return makeHeader({
    encodedMatrix: [ns, 8, 1], encodedFov: [encFov, 300, 6],
    reconMatrix: [recon, 8, 1], reconFov: [recFov, 300, 6],
    limits: { kspace_encoding_step_1: [0, 7, 4] },
  });
}

/**
 * A readout band-limited to the central `keep` samples of the image FOV:
 * image-domain profiles are zero outside [start, start + keep), and the
 * readout is their centred FFT. Returns the readout and those profiles.
 */
function bandLimitedReadout(ns: number, channels: number, keep: number, seed: number): { kspace: Float32Array; profile: Float32Array } {
  const start = Math.floor((ns - keep) / 2);
  const random = randomComplex(ns * channels, seed);
  const image = new Float32Array(2 * ns * channels);
  for (let c = 0; c < channels; c++) {
    for (let i = start; i < start + keep; i++) {
      image[2 * (c * ns + i)] = random[2 * (c * ns + i)] as number;
      image[2 * (c * ns + i) + 1] = random[2 * (c * ns + i) + 1] as number;
    }
  }
  const profile = new Float32Array(2 * keep * channels);
  for (let c = 0; c < channels; c++) profile.set(image.subarray(2 * (c * ns + start), 2 * (c * ns + start + keep)), 2 * c * keep);
  return { kspace: fftc(image, [ns, channels], [0], false), profile };
}

test('RemoveROOversamplingGadget equals the exact FFT crop on a band-limited readout (r = 2)', async () => {
  const ns = 64;
  const channels = 3;
  const { kspace, profile } = bandLimitedReadout(ns, channels, 32, 11);
  const acq = makeAcquisition({ samples: ns, channels, raw: Float32Array.from(kspace), idx: { kspace_encode_step_1: 3 } });
  const [out] = ofKind(await runGadget(removeROOversamplingGadget, [acq], { header: header(ns, 600, 32, 300) }), 'acquisition');
  assert.ok(out);
  assert.equal(out.head.number_of_samples, 32);
  assert.equal(out.head.active_channels, channels);
  assert.equal(out.data.length, 2 * 32 * channels);
  const expected = fftc(Float32Array.from(profile), [32, channels], [0], false);
  assert.ok(maxAbsDiff(out.data, expected) < 1e-5, `max error ${maxAbsDiff(out.data, expected)}`);
  // Both transforms are unitary: the energy of a band-limited readout is unchanged.
  const energy = (x: Float32Array): number => x.reduce((s, v) => s + v * v, 0);
  assert.ok(Math.abs(energy(out.data) / energy(acq.data) - 1) < 1e-5);
  assert.equal(out.head.idx.kspace_encode_step_1, 3, 'other header fields are kept');
});

test('RemoveROOversamplingGadget uses the FOV ratio, not the matrix ratio (r = 1.5)', async () => {
  const ns = 60;
  const nsOut = 40; // ⌊60 / 1.5⌋
  const { kspace, profile } = bandLimitedReadout(ns, 2, nsOut, 5);
  const acq = makeAcquisition({ samples: ns, channels: 2, raw: Float32Array.from(kspace) });
  const [out] = ofKind(await runGadget(removeROOversamplingGadget, [acq], { header: header(ns, 450, 40, 300) }), 'acquisition');
  assert.ok(out);
  assert.equal(out.head.number_of_samples, nsOut);
  const expected = fftc(Float32Array.from(profile), [nsOut, 2], [0], false);
  assert.ok(maxAbsDiff(out.data, expected) < 1e-5);
});

test('RemoveROOversamplingGadget divides center_sample and discards by r, truncating', async () => {
  const acq = makeAcquisition({ samples: 64, channels: 1, centerSample: 27, discardPre: 5, discardPost: 3, data: () => [1, 0] });
  const [out] = ofKind(await runGadget(removeROOversamplingGadget, [acq], { header: header(64, 600, 32, 300) }), 'acquisition');
  assert.ok(out);
  assert.equal(out.head.number_of_samples, 32);
  assert.equal(out.head.center_sample, 13);
  assert.equal(out.head.discard_pre, 2);
  assert.equal(out.head.discard_post, 1);
  const third = makeAcquisition({ samples: 60, channels: 1, centerSample: 31, discardPre: 4, discardPost: 2 });
  const [out3] = ofKind(await runGadget(removeROOversamplingGadget, [third], { header: header(60, 450, 40, 300) }), 'acquisition');
  assert.ok(out3);
  assert.deepEqual([out3.head.number_of_samples, out3.head.center_sample, out3.head.discard_pre, out3.head.discard_post], [40, 20, 2, 1]);
});

test('RemoveROOversamplingGadget passes readouts through when encoded and recon spaces agree', async () => {
  const acq = makeAcquisition({ samples: 32, channels: 2, data: (s, c) => [s, c] });
  const waveform = makeWaveform(1);
  const out = await runGadget(removeROOversamplingGadget, [acq, waveform], { header: header(32, 300, 32, 300) });
  assert.equal(out.length, 2);
  assert.ok(out.includes(acq), 'the very same readout comes out');
  assert.ok(out.includes(waveform), 'messages of other kinds pass through');
});

test('RemoveROOversamplingGadget also processes noise readouts that reach it', async () => {
  const acq = makeAcquisition({ samples: 64, channels: 1, flags: [AcqFlag.IS_NOISE_MEASUREMENT], data: () => [1, 0] });
  const [out] = ofKind(await runGadget(removeROOversamplingGadget, [acq], { header: header(64, 600, 32, 300) }), 'acquisition');
  assert.equal(out?.head.number_of_samples, 32);
});

test('RemoveROOversamplingGadget leaves its input alone and gives the same result whatever came before (reused scratch)', async () => {
  const big = bandLimitedReadout(128, 4, 64, 21);
  const small = bandLimitedReadout(64, 3, 32, 11);
  const bigAcq = makeAcquisition({ samples: 128, channels: 4, raw: Float32Array.from(big.kspace) });
  const smallAcq = makeAcquisition({ samples: 64, channels: 3, raw: Float32Array.from(small.kspace) });
  const alone = ofKind(await runGadget(removeROOversamplingGadget, [smallAcq], { header: header(64, 600, 32, 300) }), 'acquisition')[0];
  await runGadget(removeROOversamplingGadget, [bigAcq], { header: header(128, 600, 64, 300) });
  const after = ofKind(await runGadget(removeROOversamplingGadget, [smallAcq], { header: header(64, 600, 32, 300) }), 'acquisition')[0];
  assert.ok(alone && after);
  assert.deepEqual(after.data, alone.data, 'a smaller readout after a larger one');
  assert.deepEqual(smallAcq.data, Float32Array.from(small.kspace), 'the input samples are unchanged');
  assert.deepEqual(bigAcq.data, Float32Array.from(big.kspace), 'the input samples are unchanged');
});

test('RemoveROOversamplingGadget applies a pending channel mix after the crop and sends none on', async () => {
  const ns = 64;
  const channels = 3;
  const { kspace, profile } = bandLimitedReadout(ns, channels, 32, 21);
  const mix = Float64Array.from(randomComplex(channels * channels, 4)); // y = M·x, column-major
  const acq = { ...makeAcquisition({ samples: ns, channels, raw: Float32Array.from(kspace) }), pendingChannelMix: mix };
  const [out] = ofKind(await runGadget(removeROOversamplingGadget, [acq], { header: header(ns, 600, 32, 300) }), 'acquisition');
  assert.ok(out);
  assert.equal(out.pendingChannelMix, undefined);
  const plain = fftc(Float32Array.from(profile), [32, channels], [0], false);
  const expected = new Float32Array(plain.length);
  for (let s = 0; s < 32; s++) {
    for (let i = 0; i < channels; i++) {
      let re = 0;
      let im = 0;
      for (let j = 0; j < channels; j++) {
        const mr = mix[2 * (i + channels * j)] as number;
        const mi = mix[2 * (i + channels * j) + 1] as number;
        const xr = plain[2 * (j * 32 + s)] as number;
        const xi = plain[2 * (j * 32 + s) + 1] as number;
        re += mr * xr - mi * xi;
        im += mr * xi + mi * xr;
      }
      expected[2 * (i * 32 + s)] = re;
      expected[2 * (i * 32 + s) + 1] = im;
    }
  }
  assert.ok(maxAbsDiff(out.data, expected) < 1e-4, `max error ${maxAbsDiff(out.data, expected)}`);
});
