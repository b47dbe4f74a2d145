/**
 * The GRAPPA and coil-map loops on the native addon against their
 * TypeScript fallbacks (channelSum: the same bits; Inati: the same sums,
 * the C library's atan2/cos/sin), and the batched unmixing weights against
 * their definition u_src = Σ_dst kIm(src, dst)·conj(m_dst).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { channelSum, channelSumInto, channelSumPortable, channelSumStrided, finishChannelSum } from './channel-sum.js';
import { coilMapInati, coilMapInatiPortable } from './coil-maps.js';
import { nrmse } from './complex-ops.js';
import { calibrateGrappa, grappaConvolutionKernel, grappaImageDomainKernel, grappaUnmixing, grappaUnmixingChannels } from './grappa.js';
import { kernelBackend } from './native.js';
import {
  bandLimitedCoilMaps, coilImages, extractLines, normaliseMaps, randomComplex, randomObject, toImages, toKspace,
} from './testing.js';

const native = kernelBackend() === 'native';
const skip = native ? false : 'native kernels not in use';

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

test('channelSum on the native kernels gives the bits of the TypeScript loop', { skip }, () => {
  for (const [vol, channels] of [[1, 1], [7, 3], [1000, 5], [1025, 8], [3000, 32], [64, 0]] as [number, number][]) {
    const u = randomComplex(vol * channels + 3, vol + channels);
    const a = randomComplex(vol * channels + 3, 2 * vol + 1);
    for (const conjU of [false, true]) {
      for (const scale of [1, 0.37]) {
        const got = channelSum(u, a, vol, channels, conjU, scale, new Float32Array(2 * vol));
        const want = channelSumPortable(u, a, vol, channels, conjU, scale, new Float32Array(2 * vol));
        assert.ok(sameBits(got, want), `vol ${vol}, ${channels} channels, conj ${conjU}, scale ${scale}`);
      }
    }
  }
  // Views at odd offsets read and write the right elements.
  const buf = randomComplex(2000, 9);
  const u = buf.subarray(2, 2 + 2 * 300 * 3);
  const a = buf.subarray(1001, 1001 + 2 * 300 * 3);
  const got = new Float32Array(2 * 300 + 2);
  channelSum(u, a, 300, 3, true, 2, got.subarray(1, 1 + 2 * 300));
  const want = channelSumPortable(u.slice(), a.slice(), 300, 3, true, 2, new Float32Array(2 * 300));
  assert.equal(got[0], 0);
  assert.equal(got[2 * 300 + 1], 0);
  assert.ok(sameBits(got.subarray(1, 1 + 2 * 300), want));
});

test('channelSum computes Σ_c op(u_c)·a_c and reports short operands clearly', () => {
  const vol = 5;
  const channels = 3;
  const u = randomComplex(vol * channels, 1);
  const a = randomComplex(vol * channels, 2);
  const got = channelSum(u, a, vol, channels, true, 3, new Float32Array(2 * vol));
  for (let p = 0; p < vol; p++) {
    let re = 0;
    let im = 0;
    for (let c = 0; c < channels; c++) {
      const ur = u[2 * (p + vol * c)] as number;
      const ui = -(u[2 * (p + vol * c) + 1] as number);
      const ar = a[2 * (p + vol * c)] as number;
      const ai = a[2 * (p + vol * c) + 1] as number;
      re += ur * ar - ui * ai;
      im += ur * ai + ui * ar;
    }
    assert.ok(Math.abs((got[2 * p] as number) - 3 * re) < 1e-6 && Math.abs((got[2 * p + 1] as number) - 3 * im) < 1e-6);
  }
  assert.throws(() => channelSum(u, a.subarray(2), vol, channels, false, 1, new Float32Array(2 * vol)), /fewer than 3 × 5/);
  assert.throws(() => channelSum(u, a, vol, channels, false, 1, new Float32Array(2 * vol - 2)), /destination holds fewer than 5/);
});

test('channelSumInto over channel pieces, then finishChannelSum, gives the bits of one channelSum', () => {
  const vol = 1300;
  const channels = 11;
  const u = randomComplex(vol * channels, 21);
  const a = randomComplex(vol * channels, 22);
  const whole = channelSum(u, a, vol, channels, false, 0.7, new Float32Array(2 * vol));
  const acc = new Float64Array(2 * vol);
  for (const [from, to] of [[0, 4], [4, 5], [5, 11]] as [number, number][]) {
    channelSumInto(u.subarray(2 * vol * from, 2 * vol * to), a.subarray(2 * vol * from, 2 * vol * to), vol, to - from, false, acc);
  }
  assert.ok(sameBits(finishChannelSum(acc, vol, 0.7, new Float32Array(2 * vol)), whole));
  assert.throws(() => channelSumInto(u, a, vol, channels, false, new Float64Array(2 * vol - 1)), /accumulator holds fewer than 1300/);
});

test('channelSumStrided over runs of rows of wider planes gives the bits of channelSumInto over the whole planes', () => {
  const [rows, cols, channels] = [9, 14, 5];
  const vol = rows * cols;
  const u = randomComplex(vol * channels, 31);
  const a = randomComplex(vol * channels, 32);
  const whole = channelSumInto(u, a, vol, channels, true, new Float64Array(2 * vol));
  // a's channels 7 values apart more than vol: strides of their own for u and a
  const stride = vol + 7;
  const narrow = new Float32Array(2 * stride * channels);
  for (let c = 0; c < channels; c++) narrow.set(a.subarray(2 * vol * c, 2 * vol * (c + 1)), 2 * stride * c);
  const acc = new Float64Array(2 * vol);
  for (const [from, to] of [[0, 3], [3, 4], [4, 9]] as [number, number][]) {
    channelSumStrided(u.subarray(2 * cols * from), narrow.subarray(2 * cols * from), cols * (to - from), channels, true, acc.subarray(2 * cols * from), vol, stride);
  }
  assert.deepEqual(acc, whole);
  assert.throws(() => channelSumStrided(u, narrow, vol, channels, false, acc, vol - 1, stride), /channel strides/);
  assert.throws(() => channelSumStrided(u, narrow.subarray(16), vol, channels, false, acc, vol, stride), /too short for its channel stride/);
});

test('Inati coil maps on the native kernels match the TypeScript loop, 2D and 3D, odd and even windows', { skip }, () => {
  for (const [dims, ks, kz] of [
    [[40, 36, 1, 6], 7, 5], [[33, 20, 1, 3], 4, 5], [[16, 14, 8, 4], 5, 3], [[12, 10, 1, 2], 9, 1],
  ] as [number[], number, number][]) {
    const [RO, E1, E2, CHA] = dims as [number, number, number, number];
    const vol = RO * E1 * E2;
    const maps = normaliseMaps(bandLimitedCoilMaps(RO, E1, E2, CHA, 3, 2), vol, CHA);
    const im = coilImages(randomObject(vol, 5), maps, vol, CHA);
    const got = coilMapInati(im, dims, ks, kz, 3, new Float32Array(im.length));
    const want = coilMapInatiPortable(im, dims, ks, kz, 3, new Float32Array(im.length));
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)));
    assert.ok(worst < 1e-6, `[${dims}] ks ${ks} kz ${kz}: max difference ${worst}`);
  }
  assert.throws(() => coilMapInati(new Float32Array(20), [5, 1, 1, 2], 5, 5, 3, new Float32Array(8)), /destination length/);
});

test('batched unmixing weights equal Σ_dst kIm(src, dst)·conj(m_dst), computed for any channel split', () => {
  const RO = 48;
  const E1 = 40;
  const CHA = 6;
  const dstCha = 4;
  const vol = RO * E1;
  const dims = [RO, E1, 1, CHA];
  const coilMaps = bandLimitedCoilMaps(RO, E1, 1, CHA, 11, 2);
  const full = toKspace(coilImages(randomObject(vol, 4), coilMaps, vol, CHA), dims);
  const acs = extractLines(full, dims, E1 / 2 - 12, 24);
  const cal = calibrateGrappa(acs, [RO, 24, 1, CHA], acs.subarray(0, 2 * RO * 24 * dstCha), dstCha, { accelE1: 3, kRO: 5, kE1: 4, lambda: 5e-4, fitItself: true });
  const conv = grappaConvolutionKernel(cal);
  const m = normaliseMaps(toImages(toKspace(coilMaps, dims), dims).subarray(0, 2 * vol * dstCha), vol, dstCha);
  const u = grappaUnmixing(conv, m, [RO, E1, 1], 3, new Float32Array(2 * vol * CHA));
  const expected = new Float32Array(2 * vol * CHA);
  const kIm = new Float32Array(2 * vol);
  for (let s = 0; s < CHA; s++) {
    const re = new Float64Array(vol);
    const im = new Float64Array(vol);
    for (let d = 0; d < dstCha; d++) {
      grappaImageDomainKernel(conv, [RO, E1, 1], s, d, kIm);
      for (let p = 0; p < vol; p++) {
        const kr = kIm[2 * p] as number;
        const ki = kIm[2 * p + 1] as number;
        const mr = m[2 * (p + vol * d)] as number;
        const mi = -(m[2 * (p + vol * d) + 1] as number);
        re[p] = (re[p] as number) + kr * mr - ki * mi;
        im[p] = (im[p] as number) + kr * mi + ki * mr;
      }
    }
    for (let p = 0; p < vol; p++) {
      expected[2 * (p + vol * s)] = re[p] as number;
      expected[2 * (p + vol * s) + 1] = im[p] as number;
    }
  }
  const err = nrmse(u, expected);
  assert.ok(err < 1e-6, `relative error ${err}`);
  const split = new Float32Array(2 * vol * CHA);
  for (const [from, to] of [[0, 1], [1, 4], [4, 6]] as [number, number][]) grappaUnmixingChannels(conv, m, [RO, E1, 1], from, to, split);
  assert.ok(sameBits(split, u), 'channel ranges give the bits of one call');
});
