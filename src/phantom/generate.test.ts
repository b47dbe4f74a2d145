import test, { after, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsmrmrdFile } from '../formats/index.js';
import { AcqFlag, clearFlag, isFlagSet } from '../ismrmrd/types.js';
import type { Acquisition, Image } from '../ismrmrd/types.js';
import { parseIsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { fftc } from '../kernels/index.js';
import { birdcageLayout, birdcageMaps } from './coil-maps.js';
import { generatePhantom, GROUND_TRUTH } from './generate.js';
import type { PhantomSummary } from './generate.js';
import { noiseCovariance } from './noise.js';
import type { PhantomOptions } from './options.js';
import { sheppLoganVolume } from './shepp-logan.js';
import { missingPrerequisite, runTool, tempDir } from './testing.js';

let tmp: { dir: string; remove: () => void };
before(() => {
  tmp = tempDir();
});
after(() => tmp.remove());

function need(t: TestContext, ...tools: string[]): boolean {
  const why = missingPrerequisite(...tools);
  if (why) t.skip(why);
  return why === undefined;
}

let fileCount = 0;
async function make(o: Omit<PhantomOptions, 'output'>): Promise<PhantomSummary> {
  return generatePhantom({ output: join(tmp.dir, `p${fileCount++}.h5`), ...o });
}

function readAll(path: string): { xml: string; acqs: Acquisition[]; images: (name: string) => Image[] } {
  const f = IsmrmrdFile.open(path, '/dataset', { readOnly: true });
  try {
    const xml = f.readHeader() ?? '';
    const acqs = [...f.acquisitions()];
    const names = f.imageSeriesNames();
    const store = new Map(names.map((n) => [n, f.readImages(n)]));
    return { xml, acqs, images: (n) => store.get(n) ?? [] };
  } finally {
    f.close();
  }
}

/** Zero-filled k-space [M, pe, e2, C] from imaging readouts (full echo, noise-free). */
function kspaceOf(acqs: Acquisition[], M: number, pe: number, e2: number, C: number): Float32Array {
  const k = new Float32Array(2 * M * pe * e2 * C);
  for (const a of acqs) {
    if (isFlagSet(a.head.flags, AcqFlag.IS_NOISE_MEASUREMENT)) continue;
    const ns = a.head.number_of_samples;
    const off = Math.floor(M / 2) - a.head.center_sample;
    for (let c = 0; c < C; c++) {
      for (let t = 0; t < ns; t++) {
        const at = 2 * (off + t + M * (a.head.idx.kspace_encode_step_1 + pe * (a.head.idx.kspace_encode_step_2 + e2 * c)));
        k[at] = a.data[2 * (t + ns * c)];
        k[at + 1] = a.data[2 * (t + ns * c) + 1];
      }
    }
  }
  return k;
}

/** Inverse centred FFT of k-space, cropped to the recon grid: [matrix, pe, e2, C]. */
function reconstruct(k: Float32Array, M: number, m: number, pe: number, e2: number, C: number): Float32Array {
  fftc(k, [M, pe, e2, C], e2 > 1 ? [0, 1, 2] : [0, 1], true);
  const out = new Float32Array(2 * m * pe * e2 * C);
  const off = Math.floor((M - m) / 2);
  for (let row = 0; row < pe * e2 * C; row++) out.set(k.subarray(2 * (off + M * row), 2 * (off + m + M * row)), 2 * m * row);
  return out;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

test('phantom file: the ISMRMRD-generator-equivalent scan reconstructs to object × coil map (m = 128, 8 coils, O = 2)', async (t) => {
  if (!need(t)) return;
  const s = await make({ matrix: 128, coils: 8, oversampling: 2, accel: 1, noise: 0 });
  assert.equal(s.acquisitions, 128);
  const { acqs, images } = readAll(s.path);
  assert.ok(acqs.every((a) => a.head.number_of_samples === 256 && a.head.center_sample === 128 && a.head.active_channels === 8));
  const image = reconstruct(kspaceOf(acqs, 256, 128, 1, 8), 256, 128, 128, 1, 8);
  const rho = sheppLoganVolume({ nx: 128, ny: 128, nz: 1, zCentre: 0, phase: 0, phases: 1 });
  const csm = birdcageMaps({ nx: 128, ny: 128, nz: 1, zCentre: 0 }, birdcageLayout(8));
  const expected = new Float32Array(csm.length);
  for (let i = 0; i < csm.length / 2; i++) {
    expected[2 * i] = rho[i % (128 * 128)] * csm[2 * i];
    expected[2 * i + 1] = rho[i % (128 * 128)] * csm[2 * i + 1];
  }
  let err = 0;
  for (let i = 0; i < image.length; i++) err = Math.max(err, Math.abs(image[i] - expected[i]));
  assert.ok(err < 2e-6 * maxAbs(expected) + 1e-6, `max error ${err} against max ${maxAbs(expected)}`);
  const obj = images(GROUND_TRUTH.object);
  const maps = images(GROUND_TRUTH.csm);
  assert.equal(obj.length, 1);
  assert.deepEqual(obj[0].head.matrix_size, [128, 128, 1]);
  assert.equal(obj[0].head.channels, 1);
  assert.deepEqual(obj[0].data, Float32Array.from(Array.from(rho).flatMap((r) => [r, 0])));
  assert.deepEqual(maps[0].data, csm);
  assert.equal(maps[0].head.channels, 8);
  assert.equal(images(GROUND_TRUTH.noiseCovariance).length, 0, 'no noise, no covariance image');
});

test('phantom file: samples equal ismrmrd_generate_cartesian_shepp_logan (full and interleaved R = 2)', async (t) => {
  if (!need(t, 'ismrmrd_generate_cartesian_shepp_logan')) return;
  for (const [args, opts] of [
    [['-m', '128', '-c', '8', '-n', '0'], { matrix: 128 }],
    [['-m', '64', '-c', '4', '-n', '0', '-a', '2', '-w', '16', '-r', '2'], { matrix: 64, coils: 4, accel: 2, acs: 16, acsMode: 'interleaved', repetitions: 2 }],
  ] as const) {
    const ref = join(tmp.dir, `ref${fileCount++}.h5`);
    assert.equal(runTool('ismrmrd_generate_cartesian_shepp_logan', ['-o', ref, ...args]).status, 0);
    const s = await make({ ...(opts as Omit<PhantomOptions, 'output'>), noise: 0 });
    const a = readAll(ref).acqs;
    const b = readAll(s.path).acqs;
    assert.equal(b.length, a.length);
    let err = 0;
    a.forEach((x, i) => {
      const y = b[i];
      assert.equal(y.head.idx.kspace_encode_step_1, x.head.idx.kspace_encode_step_1, `line ${i}`);
      assert.equal(y.head.idx.repetition, x.head.idx.repetition);
      assert.equal(clearFlag(y.head.flags, AcqFlag.LAST_IN_MEASUREMENT), x.head.flags, `flags of readout ${i}`);
      assert.equal(y.head.center_sample, x.head.center_sample);
      for (let j = 0; j < x.data.length; j++) err = Math.max(err, Math.abs(x.data[j] - y.data[j]));
    });
    assert.ok(err < 1e-5, `largest sample difference ${err}`);
    const hx = parseIsmrmrdHeader(readAll(ref).xml).encoding[0];
    const hy = s.header.encoding[0];
    assert.deepEqual(hy.encodedSpace.matrixSize, hx.encodedSpace.matrixSize);
    assert.deepEqual(hy.encodedSpace.fieldOfView_mm, hx.encodedSpace.fieldOfView_mm);
    assert.deepEqual(hy.encodingLimits.kspace_encoding_step_1, hx.encodingLimits.kspace_encoding_step_1);
    assert.deepEqual(hy.encodingLimits.repetition, hx.encodingLimits.repetition);
    assert.deepEqual(hy.parallelImaging?.accelerationFactor, hx.parallelImaging?.accelerationFactor);
    assert.equal(hy.parallelImaging?.calibrationMode, hx.parallelImaging?.calibrationMode);
  }
});

test('phantom file: a fully sampled 3D scan reconstructs to the ground truth object × maps', async (t) => {
  if (!need(t)) return;
  const s = await make({ matrix: 24, pe: 20, e2: 8, coils: 4, noise: 0 });
  const { acqs, images } = readAll(s.path);
  assert.equal(acqs.length, 20 * 8);
  const image = reconstruct(kspaceOf(acqs, 48, 20, 8, 4), 48, 24, 20, 8, 4);
  const [obj] = images(GROUND_TRUTH.object);
  const [maps] = images(GROUND_TRUTH.csm);
  assert.deepEqual(obj.head.matrix_size, [24, 20, 8]);
  assert.deepEqual(maps.head.matrix_size, [24, 20, 8]);
  assert.equal(maps.head.channels, 4);
  const n = 24 * 20 * 8;
  let err = 0, peak = 0;
  for (let c = 0; c < 4; c++) {
    for (let i = 0; i < n; i++) {
      const rho = obj.data[2 * i];
      const re = rho * maps.data[2 * (i + n * c)];
      const im = rho * maps.data[2 * (i + n * c) + 1];
      err = Math.max(err, Math.abs(image[2 * (i + n * c)] - re), Math.abs(image[2 * (i + n * c) + 1] - im));
      peak = Math.max(peak, Math.hypot(re, im));
    }
  }
  assert.ok(peak > 0.1 && err < 2e-6 * peak + 1e-6, `max error ${err}, peak ${peak}`);
  const planes = [0, 4].map((p) => obj.data.subarray(2 * 24 * 20 * p, 2 * 24 * 20 * (p + 1)));
  assert.notDeepEqual(planes[0], planes[1]);
});

test('phantom file: multi-slice cine with repetitions writes per-slice/phase ground truth and distinct slices and phases', async (t) => {
  if (!need(t)) return;
  const s = await make({ matrix: 32, pe: 24, slices: 2, phases: 3, repetitions: 2, coils: 3, noise: 0.01, noiseScans: 4 });
  const { acqs, images } = readAll(s.path);
  assert.equal(acqs.length, 4 + 2 * 2 * 3 * 24);
  assert.equal(s.noiseReadouts, 4);
  assert.equal(s.imagingReadouts, 2 * 2 * 3 * 24);
  const obj = images(GROUND_TRUTH.object);
  assert.deepEqual(obj.map((i) => [i.head.slice, i.head.phase]), [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]);
  assert.deepEqual(obj.map((i) => i.head.image_index), [1, 2, 3, 4, 5, 6]);
  for (let i = 0; i < obj.length; i++) for (let j = i + 1; j < obj.length; j++) assert.notDeepEqual(obj[i].data, obj[j].data, `images ${i} and ${j}`);
  const maps = images(GROUND_TRUTH.csm);
  assert.deepEqual(maps.map((i) => i.head.slice), [0, 1]);
  assert.deepEqual(maps[0].data, maps[1].data, 'one coil ring at z = 0: slices at ±z see the same maps');
  assert.notEqual(maps[0].head.position[2], maps[1].head.position[2]);
  assert.equal(images(GROUND_TRUTH.noiseCovariance).length, 1);
  for (let i = 1; i < acqs.length; i++) {
    assert.equal(acqs[i].head.scan_counter, acqs[i - 1].head.scan_counter + 1);
    assert.ok(acqs[i].head.acquisition_time_stamp > acqs[i - 1].head.acquisition_time_stamp);
  }
  assert.ok(isFlagSet(acqs[acqs.length - 1].head.flags, AcqFlag.LAST_IN_MEASUREMENT));
  const reps = new Set(acqs.slice(4).map((a) => a.head.idx.repetition));
  assert.deepEqual([...reps], [0, 1]);
  const line = (rep: number): Float32Array =>
    acqs.find((a) => a.head.idx.repetition === rep && a.head.idx.slice === 1 && a.head.idx.phase === 2 && a.head.idx.kspace_encode_step_1 === 12)?.data ?? new Float32Array();
  const diff = line(0).map((v, i) => v - line(1)[i]);
  assert.ok(maxAbs(diff) > 0 && maxAbs(diff) < 0.2, 'repetitions share the signal, not the noise');
});

test('phantom file: asymmetric echo and partial Fourier drop the early samples and lines of the full scan', async (t) => {
  if (!need(t)) return;
  const full = readAll((await make({ matrix: 64, coils: 2, noise: 0 })).path).acqs;
  const s = await make({ matrix: 64, coils: 2, noise: 0, asymmetricEcho: 0.75, partialFourier: 0.75 });
  const part = readAll(s.path).acqs;
  const enc = s.header.encoding[0];
  assert.deepEqual(enc.encodingLimits.kspace_encoding_step_1, { minimum: 16, maximum: 63, center: 32 });
  assert.equal(enc.encodedSpace.matrixSize.x, 128);
  assert.equal(part.length, 48);
  for (const a of part) {
    const e1 = a.head.idx.kspace_encode_step_1;
    assert.ok(e1 >= 16);
    assert.equal(a.head.number_of_samples, 96);
    assert.equal(a.head.center_sample, 32);
    const ref = full[e1].data;
    for (let c = 0; c < 2; c++) {
      assert.deepEqual(a.data.subarray(2 * 96 * c, 2 * 96 * (c + 1)), ref.subarray(2 * (128 * c + 32), 2 * (128 * c + 128)));
    }
  }
});

test('phantom file: accelerated embedded and separate scans carry exact k-space lines with the right flags', async (t) => {
  if (!need(t)) return;
  const full = readAll((await make({ matrix: 48, coils: 3, noise: 0 })).path).acqs;
  for (const acsMode of ['embedded', 'separate'] as const) {
    const s = await make({ matrix: 48, coils: 3, noise: 0, accel: 3, acs: 12, acsMode });
    const acqs = readAll(s.path).acqs;
    const cal = acqs.filter((a) => isFlagSet(a.head.flags, AcqFlag.IS_PARALLEL_CALIBRATION));
    const calImg = acqs.filter((a) => isFlagSet(a.head.flags, AcqFlag.IS_PARALLEL_CALIBRATION_AND_IMAGING));
    const grid = acqs.filter((a) => !isFlagSet(a.head.flags, AcqFlag.IS_PARALLEL_CALIBRATION));
    assert.equal(grid.length, 16, `${acsMode}: every third line`);
    assert.ok(grid.every((a) => (a.head.idx.kspace_encode_step_1 - 24) % 3 === 0));
    assert.equal(cal.length, acsMode === 'embedded' ? 8 : 12);
    assert.equal(calImg.length, acsMode === 'embedded' ? 4 : 0);
    if (acsMode === 'separate') assert.ok(acqs.slice(0, 12).every((a) => isFlagSet(a.head.flags, AcqFlag.IS_PARALLEL_CALIBRATION)), 'ACS block first');
    assert.equal(s.header.encoding[0].parallelImaging?.calibrationMode, acsMode);
    for (const a of acqs) assert.deepEqual(a.data, full[a.head.idx.kspace_encode_step_1].data);
  }
});

test('phantom file: noise scans have the requested covariance, also written as ground truth', async (t) => {
  if (!need(t)) return;
  const C = 4, sigma = 0.05, kappa = 0.6;
  const s = await make({ matrix: 64, coils: C, noise: sigma, coilCorrelation: kappa, noiseScans: 128 });
  const { acqs, images } = readAll(s.path);
  const noise = acqs.filter((a) => isFlagSet(a.head.flags, AcqFlag.IS_NOISE_MEASUREMENT));
  assert.equal(noise.length, 128);
  assert.ok(acqs.slice(0, 128).every((a) => isFlagSet(a.head.flags, AcqFlag.IS_NOISE_MEASUREMENT)), 'noise first');
  assert.ok(noise.every((a) => a.head.sample_time_us === 5 && a.head.number_of_samples === 128 && a.head.center_sample === 0));
  const [gt] = images(GROUND_TRUTH.noiseCovariance);
  assert.deepEqual(gt.head.matrix_size, [C, C, 1]);
  const psi = noiseCovariance(C, kappa, sigma);
  psi.forEach((v, i) => assert.equal(gt.data[i], Math.fround(v), 'stored Ψ'));
  const est = new Float64Array(2 * C * C);
  let n = 0;
  for (const a of noise) {
    const ns = a.head.number_of_samples;
    for (let t2 = 0; t2 < ns; t2++, n++) {
      for (let j = 0; j < C; j++) {
        for (let i = 0; i < C; i++) {
          const ar = a.data[2 * (t2 + ns * i)], ai = a.data[2 * (t2 + ns * i) + 1];
          const br = a.data[2 * (t2 + ns * j)], bi = a.data[2 * (t2 + ns * j) + 1];
          est[2 * (i + C * j)] += ar * br + ai * bi;
          est[2 * (i + C * j) + 1] += ai * br - ar * bi;
        }
      }
    }
  }
  for (let i = 0; i < C; i++) {
    for (let j = 0; j < C; j++) {
      const k = 2 * (i + C * j);
      const se = Math.sqrt((psi[2 * (i + C * i)] * psi[2 * (j + C * j)]) / n);
      assert.ok(Math.hypot(est[k] / n - psi[k], est[k + 1] / n - psi[k + 1]) < 6 * se, `Ψ(${i},${j})`);
    }
  }
});

test('phantom file: same seed gives the same content, another seed other noise', async (t) => {
  if (!need(t)) return;
  const o = { matrix: 32, coils: 4, noise: 0.05, coilCorrelation: 0.3, noiseScans: 3, accel: 2, acs: 8, slices: 2 };
  const paths = [(await make(o)).path, (await make(o)).path, (await make({ ...o, seed: 2 })).path];
  const raw = paths.map((p) => {
    const f = IsmrmrdFile.open(p, '/dataset', { readOnly: true });
    try {
      const rows = f.readRawAcquisitions(0, f.acquisitionCount());
      return {
        xml: f.readHeader(),
        heads: Buffer.concat(rows.map((r) => Buffer.from(r.head))),
        data: Buffer.concat(rows.map((r) => Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength))),
        images: f.imageSeriesNames().map((n) => f.readImages(n).map((i) => Buffer.from(i.data.buffer as ArrayBuffer))),
      };
    } finally {
      f.close();
    }
  });
  assert.equal(raw[0].xml, raw[1].xml);
  assert.ok(raw[0].heads.equals(raw[1].heads), 'identical acquisition headers');
  assert.ok(raw[0].data.equals(raw[1].data), 'identical samples');
  assert.deepEqual(raw[0].images, raw[1].images);
  assert.ok(raw[0].heads.equals(raw[2].heads), 'the seed changes no header');
  assert.ok(!raw[0].data.equals(raw[2].data), 'the seed changes the noise');
  assert.deepEqual(raw[0].images, raw[2].images, 'ground truth does not depend on the seed');
});

test('phantom file: an existing output is refused unless overwrite is set', async (t) => {
  if (!need(t)) return;
  const path = join(tmp.dir, 'exists.h5');
  writeFileSync(path, 'not hdf5');
  await assert.rejects(generatePhantom({ output: path, matrix: 16 }), /exists/);
  const s = await generatePhantom({ output: path, matrix: 16, overwrite: true });
  assert.equal(readAll(s.path).acqs.length, 16);
});

test('phantom file: ismrmrd_recon_cartesian_2d reconstructs a fully sampled 2D file to ρ·‖c‖', async (t) => {
  if (!need(t, 'ismrmrd_recon_cartesian_2d')) return;
  const s = await make({ matrix: 64, coils: 4, noise: 0 });
  const copy = join(tmp.dir, 'recon.h5');
  copyFileSync(s.path, copy);
  const r = runTool('ismrmrd_recon_cartesian_2d', [copy]);
  assert.equal(r.status, 0, r.stderr);
  const f = IsmrmrdFile.open(copy, '/dataset', { readOnly: true });
  try {
    assert.ok(f.imageSeriesNames().includes('cpp'));
    const [img] = f.readImages('cpp');
    assert.deepEqual(img.head.matrix_size, [64, 64, 1]);
    const rho = sheppLoganVolume({ nx: 64, ny: 64, nz: 1, zCentre: 0, phase: 0, phases: 1 });
    const csm = birdcageMaps({ nx: 64, ny: 64, nz: 1, zCentre: 0 }, birdcageLayout(4));
    const scale = Math.sqrt(128 * 64);
    let err = 0;
    for (let i = 0; i < 64 * 64; i++) {
      let ss = 0;
      for (let c = 0; c < 4; c++) ss += csm[2 * (i + 4096 * c)] ** 2 + csm[2 * (i + 4096 * c) + 1] ** 2;
      err = Math.max(err, Math.abs((img.data[i] as number) / scale - Math.abs(rho[i]) * Math.sqrt(ss)));
    }
    assert.ok(err < 1e-5, `max error ${err}`);
  } finally {
    f.close();
  }
});
