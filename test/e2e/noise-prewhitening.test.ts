/**
 * Channel-mixed noise over real TCP: a phantom with a noise scan has its
 * channels mixed by a known ill-conditioned complex matrix A (noise and
 * signal alike). Through a chain with NoiseAdjustGadget the images equal, up
 * to one global scale, those of the unmixed data; without it they clearly
 * differ. The whitened noise covariance of A-mixed noise is 2β(Δt_a/Δt_n)·I.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Channel } from '../../src/engine/channel.js';
import { runChain } from '../../src/engine/pipeline.js';
import { noiseAdjustGadget } from '../../src/gadgets/noise-adjust.js';
import { CollectingOutput, makeAcquisition, planSingleGadget } from '../../src/gadgets/testing.js';
import type { Message } from '../../src/ismrmrd/messages.js';
import { AcqFlag, type Acquisition } from '../../src/ismrmrd/types.js';
import { parseIsmrmrdHeader } from '../../src/ismrmrd/xml-header.js';
import { cmatrix, hermitianEigen, matmul, type CMatrix } from '../../src/kernels/dense.js';
import { seededGaussian as gaussian } from '../../src/kernels/testing.js';
import { silentLogger } from '../../src/util/logger.js';
import { startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { missing } from '../helpers/tools.js';
import {
  isNoise, mixChannels, nrmseAfterScale, phantom, readImages, sendWithClient, writeDataset, writePrewhiteningConfig, type Dataset,
} from './noise-fixtures.js';

const skip = missing(['ismrmrd_generate_cartesian_shepp_logan']);
const COILS = 8;


function randomUnitary(n: number, seed: number): CMatrix {
  const g = gaussian(seed);
  const b = cmatrix(n, n);
  for (let i = 0; i < b.data.length; i++) b.data[i] = g();
  return hermitianEigen(matmul(b, b, 'N', 'C')).vectors;
}

/** A = U·diag(σ)·Vᴴ with σ from 1 down to 1/condition. */
function illConditioned(n: number, condition: number): Float64Array {
  const U = randomUnitary(n, 101);
  const V = randomUnitary(n, 202);
  const S = cmatrix(n, n);
  for (let i = 0; i < n; i++) S.data[2 * (i + n * i)] = condition ** (-i / (n - 1));
  return matmul(matmul(U, S), V, 'N', 'C').data;
}

/** Replaces the noise readouts' data by exactly white noise: DᴴD = κ·I (columns e^{2πi·s·c/N}). */
function whiteNoise(ds: Dataset, sigma: number): Dataset {
  return {
    xml: ds.xml,
    acquisitions: ds.acquisitions.map((a) => {
      if (!isNoise(a)) return a;
      const ns = a.head.number_of_samples;
      const data = new Float32Array(a.data.length);
      for (let c = 0; c < a.head.active_channels; c++) {
        for (let s = 0; s < ns; s++) {
          data[2 * (c * ns + s)] = sigma * Math.cos((2 * Math.PI * s * (c + 1)) / ns);
          data[2 * (c * ns + s) + 1] = sigma * Math.sin((2 * Math.PI * s * (c + 1)) / ns);
        }
      }
      return { ...a, data };
    }),
  };
}

test('channel-mixed noise: NoiseAdjustGadget undoes an ill-conditioned coil mix', { skip, timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-noise-mix-'));
  let server: ServerProcess | undefined;
  try {
    server = await startGantryServer(['--no-storage']);
    const port = server.port;
    const config = writePrewhiteningConfig(dir);
    const A = illConditioned(COILS, 1000);
    const original = phantom(join(dir, 'sl.h5'), { matrix: 128, coils: COILS });
    const recon = async (ds: Dataset, name: string, cfg: { name?: string; local?: string }): Promise<Float32Array> => {
      const input = writeDataset(join(dir, `${name}.h5`), ds);
      const out = join(dir, `${name}-out.h5`);
      const run = await sendWithClient(port, input, out, name, cfg);
      assert.equal(run.code, 0, run.stderr + run.stdout);
      const images = readImages(out, name);
      assert.equal(images.length, 1, `${name}: one image`);
      return images[0]?.data as Float32Array;
    };
    const mix = (ds: Dataset): Dataset => ({ xml: ds.xml, acquisitions: mixChannels(ds.acquisitions, A, COILS) });

    await t.test('with the phantom\'s own noise scan: mixed and unmixed data give the same prewhitened images', async () => {
      const unmixed = await recon(original, 'unmixed', { local: config });
      const mixed = await recon(mix(original), 'mixed', { local: config });
      const { nrmse, scale } = nrmseAfterScale(mixed, unmixed);
      t.diagnostic(`prewhitened mixed vs prewhitened unmixed: NRMSE ${nrmse.toExponential(2)} after global scale ${scale.toFixed(6)}`);
      assert.ok(nrmse <= 1e-4, `NRMSE ${nrmse}`);
      assert.ok(Math.abs(scale - 1) < 1e-3, `scale ${scale}`);
    });

    await t.test('with exactly white noise: prewhitened mixed images equal the plain RSS recon of the unmixed data up to one scale', async () => {
      const white = whiteNoise(original, 0.05);
      const reference = await recon(white, 'rss', { name: 'default.xml' });
      const whitened = await recon(mix(white), 'white-mixed', { local: config });
      const { nrmse, scale } = nrmseAfterScale(whitened, reference);
      t.diagnostic(`prewhitened mixed vs RSS of unmixed: NRMSE ${nrmse.toExponential(2)} after global scale ${scale.toExponential(4)}`);
      assert.ok(nrmse <= 1e-4, `NRMSE ${nrmse}`);
      const plain = await recon(mix(white), 'plain-mixed', { name: 'default.xml' });
      const without = nrmseAfterScale(plain, reference);
      t.diagnostic(`without NoiseAdjust: NRMSE ${without.nrmse.toExponential(2)}`);
      assert.ok(without.nrmse > 0.05, `without prewhitening the images must differ (NRMSE ${without.nrmse})`);
    });
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('channel-mixed noise: the whitened noise covariance is 2β(Δt_a/Δt_n)·I within 2 %', { timeout: 120_000 }, async (t) => {
  const A = illConditioned(COILS, 1000);
  const g = gaussian(7);
  const readout = (samples: number, noise: boolean, dwell: number): Acquisition => {
    const raw = Float32Array.from({ length: 2 * samples * COILS }, () => 0.05 * g());
    return makeAcquisition({ samples, channels: COILS, raw, flags: noise ? [AcqFlag.IS_NOISE_MEASUREMENT] : [], head: { sample_time_us: dwell } });
  };
  const noise = mixChannels(Array.from({ length: 40 }, () => readout(2048, true, 5)), A, COILS);
  const data = mixChannels(Array.from({ length: 40 }, () => readout(2048, false, 2)), A, COILS);
  const header = parseIsmrmrdHeader(`<?xml version="1.0"?><ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
    <experimentalConditions><H1resonanceFrequency_Hz>63500000</H1resonanceFrequency_Hz></experimentalConditions>
    <encoding><encodedSpace><matrixSize><x>2048</x><y>1</y><z>1</z></matrixSize><fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></encodedSpace>
    <reconSpace><matrixSize><x>2048</x><y>1</y><z>1</z></matrixSize><fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></reconSpace>
    <encodingLimits/><trajectory>cartesian</trajectory></encoding></ismrmrdHeader>`);
  const plan = planSingleGadget(noiseAdjustGadget);
  const input = new Channel<Message>(8);
  const output = new CollectingOutput();
  const feed = (async () => {
    for (const m of [...noise, ...data]) await input.push(m);
    input.close();
  })();
  await Promise.all([runChain(plan.chain, input, output, { header, log: silentLogger, signal: new AbortController().signal, channelCapacity: 8 }), feed]);
  const out = output.messages as Acquisition[];
  assert.equal(out.length, data.length);
  const n = COILS;
  const acc = new Float64Array(2 * n * n);
  let count = 0;
  for (const a of out) {
    const ns = a.head.number_of_samples;
    for (let s = 0; s < ns; s++) {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const xr = a.data[2 * (i * ns + s)] as number;
          const xi = a.data[2 * (i * ns + s) + 1] as number;
          const yr = a.data[2 * (j * ns + s)] as number;
          const yi = a.data[2 * (j * ns + s) + 1] as number;
          acc[2 * (i + n * j)] = (acc[2 * (i + n * j)] as number) + xr * yr + xi * yi;
          acc[2 * (i + n * j) + 1] = (acc[2 * (i + n * j) + 1] as number) + xi * yr - xr * yi;
        }
      }
    }
    count += ns;
  }
  const expected = 2 * 0.793 * (2 / 5);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const re = (acc[2 * (i + n * j)] as number) / count - (i === j ? expected : 0);
      const im = (acc[2 * (i + n * j) + 1] as number) / count;
      worst = Math.max(worst, Math.hypot(re, im) / expected);
    }
  }
  t.diagnostic(`whitened covariance of A-mixed noise (cond(A) = 1000) vs 2β(Δt_a/Δt_n)·I = ${expected.toFixed(4)}·I: largest relative deviation ${(100 * worst).toFixed(2)} %`);
  assert.ok(worst < 0.02, `deviation ${worst}`);
});
