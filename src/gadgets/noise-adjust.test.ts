import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Channel } from '../engine/channel.js';
import { runChain } from '../engine/pipeline.js';
import type { Message } from '../ismrmrd/messages.js';
import { AcqFlag, type Acquisition } from '../ismrmrd/types.js';
import { parseIsmrmrdHeader, type IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { FolderStore } from '../storage/folder-store.js';
import { decodeNoiseCovariance, encodeNoiseCovariance } from '../storage/sfndam.js';
import type { DependencyStore } from '../storage/types.js';
import { silentLogger } from '../util/logger.js';
import { seededGaussian as gaussian } from '../kernels/testing.js';
import { defineMapGadget, type AnyGadgetDefinition } from '../engine/gadget.js';
import type { ChainPlan } from '../engine/pipeline.js';
import type { DataBuffered, ReconBit, ReconData } from '../ismrmrd/buffers.js';
import { isAcquisition } from '../ismrmrd/messages.js';
import { acquisitionAccumulateTriggerGadget } from './acquisition-accumulate-trigger.js';
import { bucketToBufferGadget } from './bucket-to-buffer.js';
import { noiseAdjustGadget, scaleOnlyChannelIndices, coilOrder, whiteningCanBeDeferred } from './noise-adjust.js';
import { removeROOversamplingGadget } from './remove-ro-oversampling.js';
import { whitenedBit } from './pending-mix.js';
import { CollectingOutput, makeAcquisition, planGadgetStep, planSingleGadget } from './testing.js';

interface HeaderParts {
  measurement?: string;
  noiseDependency?: string;
  coils?: string[];
  bandwidth?: number;
  patient?: string;
}

function header(p: HeaderParts = {}): IsmrmrdHeader {
  const coils = (p.coils ?? []).map((name, i) => `<coilLabel><coilNumber>${i}</coilNumber><coilName>${name}</coilName></coilLabel>`).join('');
  const bw = p.bandwidth === undefined ? '' : `<relativeReceiverNoiseBandwidth>${p.bandwidth}</relativeReceiverNoiseBandwidth>`;
  const dep = p.noiseDependency ? `<measurementDependency><dependencyType>Noise</dependencyType><measurementID>${p.noiseDependency}</measurementID></measurementDependency>` : '';
  const meas = p.measurement !== undefined || dep ? `<measurementInformation>${p.measurement ? `<measurementID>${p.measurement}</measurementID>` : ''}<patientPosition>HFS</patientPosition>${dep}</measurementInformation>` : '';
  return parseIsmrmrdHeader(`<?xml version="1.0"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
  ${p.patient ? `<subjectInformation><patientID>${p.patient}</patientID></subjectInformation>` : ''}
  ${meas}
  <acquisitionSystemInformation>${bw}${coils}</acquisitionSystemInformation>
  <experimentalConditions><H1resonanceFrequency_Hz>63500000</H1resonanceFrequency_Hz></experimentalConditions>
  <encoding>
    <encodedSpace><matrixSize><x>64</x><y>8</y><z>1</z></matrixSize><fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></encodedSpace>
    <reconSpace><matrixSize><x>64</x><y>8</y><z>1</z></matrixSize><fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></reconSpace>
    <encodingLimits/>
    <trajectory>cartesian</trajectory>
  </encoding>
</ismrmrdHeader>`);
}


/** A fixed lower-triangular mixing L (channels correlated, unequal gains). */
function mixing(channels: number): Float64Array {
  const L = new Float64Array(2 * channels * channels);
  for (let j = 0; j < channels; j++) {
    for (let i = j; i < channels; i++) {
      L[2 * (i + channels * j)] = i === j ? 1 + 0.3 * i : 0.4 / (1 + i - j);
      L[2 * (i + channels * j) + 1] = i === j ? 0 : 0.2 * ((i + j) % 3 - 1);
    }
  }
  return L;
}

/** A readout of coloured noise x = L·z, z ~ CN(0, 2I). */
function noiseReadout(L: Float64Array, channels: number, samples: number, g: () => number, spec: { noise?: boolean; dwell?: number; line?: number } = {}): Acquisition {
  const data = new Float32Array(2 * samples * channels);
  const z = new Float64Array(2 * channels);
  for (let s = 0; s < samples; s++) {
    for (let k = 0; k < z.length; k++) z[k] = g();
    for (let i = 0; i < channels; i++) {
      let re = 0;
      let im = 0;
      for (let j = 0; j <= i; j++) {
        const lr = L[2 * (i + channels * j)] as number;
        const li = L[2 * (i + channels * j) + 1] as number;
        re += lr * (z[2 * j] as number) - li * (z[2 * j + 1] as number);
        im += lr * (z[2 * j + 1] as number) + li * (z[2 * j] as number);
      }
      data[2 * (i * samples + s)] = re;
      data[2 * (i * samples + s) + 1] = im;
    }
  }
  return makeAcquisition({
    samples,
    channels,
    raw: data,
    flags: spec.noise ? [AcqFlag.IS_NOISE_MEASUREMENT] : [],
    idx: { kspace_encode_step_1: spec.line ?? 0 },
    head: { sample_time_us: spec.dwell ?? 5 },
  });
}

interface RunResult {
  out: Message[];
  warnings: string[];
}

async function run(messages: readonly Message[], options: {
  header?: IsmrmrdHeader;
  properties?: Record<string, string>;
  storage?: DependencyStore;
  parameters?: Record<string, string>;
} = {}): Promise<RunResult> {
  const plan = planSingleGadget(noiseAdjustGadget, options.properties ?? {});
  const input = new Channel<Message>(16);
  const output = new CollectingOutput();
  const warnings: string[] = [];
  const producer = (async () => {
    try {
      for (const m of messages) await input.push(m);
      input.close();
    } catch {
      // the chain failed; runChain reports it
    }
  })();
  const chain = runChain(plan.chain, input, output, {
    header: options.header,
    log: silentLogger,
    signal: new AbortController().signal,
    channelCapacity: 16,
    ...(options.storage ? { storage: options.storage } : {}),
    ...(options.parameters ? { parameters: new Map(Object.entries(options.parameters)) } : {}),
    notify: (_path, text) => warnings.push(text),
  });
  await Promise.all([chain, producer]);
  return { out: output.messages, warnings };
}

function acquisitions(messages: readonly Message[]): Acquisition[] {
  return messages.filter((m): m is Acquisition => m.kind === 'acquisition');
}

/** E[y yᴴ] of the readouts (Ψ convention): [re, im] of entry (i, j). */
function covariance(acqs: readonly Acquisition[], channels: number): (i: number, j: number) => [number, number] {
  const acc = new Float64Array(2 * channels * channels);
  let n = 0;
  for (const a of acqs) {
    const ns = a.head.number_of_samples;
    for (let s = 0; s < ns; s++) {
      for (let i = 0; i < channels; i++) {
        for (let j = 0; j < channels; j++) {
          const xr = a.data[2 * (i * ns + s)] as number;
          const xi = a.data[2 * (i * ns + s) + 1] as number;
          const yr = a.data[2 * (j * ns + s)] as number;
          const yi = -(a.data[2 * (j * ns + s) + 1] as number);
          acc[2 * (i + channels * j)] = (acc[2 * (i + channels * j)] as number) + xr * yr - xi * yi;
          acc[2 * (i + channels * j) + 1] = (acc[2 * (i + channels * j) + 1] as number) + xr * yi + xi * yr;
        }
      }
    }
    n += ns;
  }
  return (i, j) => [(acc[2 * (i + channels * j)] as number) / n, (acc[2 * (i + channels * j) + 1] as number) / n];
}

/** Equal readouts up to `tol` relative to each readout's largest value (the stored covariance is float32). */
function assertSameData(a: readonly Acquisition[], b: readonly Acquisition[], tol: number): void {
  assert.equal(a.length, b.length);
  a.forEach((x, k) => {
    const y = (b[k] as Acquisition).data;
    let max = 0;
    let diff = 0;
    for (let i = 0; i < y.length; i++) {
      max = Math.max(max, Math.abs(y[i] as number));
      diff = Math.max(diff, Math.abs((x.data[i] as number) - (y[i] as number)));
    }
    assert.ok(diff <= tol * max, `readout ${k}: difference ${diff} of ${max}`);
  });
}

function tempStore(t: { after: (fn: () => void) => void }): { store: FolderStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-noise-adjust-'));
  const store = new FolderStore(dir, { sweepIntervalMs: 0 });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { store, dir };
}

const CH = 4;

test('NoiseAdjustGadget consumes noise readouts and whitens the rest to 2β(Δt_a/Δt_n)·I', async (t) => {
  const L = mixing(CH);
  const g = gaussian(1);
  const noise = Array.from({ length: 50 }, () => noiseReadout(L, CH, 1000, g, { noise: true, dwell: 5 }));
  const data = Array.from({ length: 50 }, (_v, i) => noiseReadout(L, CH, 1000, g, { dwell: 2.5, line: i }));
  const beta = 0.75;
  const { out, warnings } = await run([...noise, ...data], { header: header({ bandwidth: beta }) });
  const acqs = acquisitions(out);
  assert.equal(acqs.length, 50, 'noise readouts are not forwarded');
  assert.deepEqual(warnings, []);
  const cov = covariance(acqs, CH);
  const expected = 2 * beta * (2.5 / 5);
  let worst = 0;
  for (let i = 0; i < CH; i++) {
    for (let j = 0; j < CH; j++) {
      const [re, im] = cov(i, j);
      worst = Math.max(worst, Math.hypot(re - (i === j ? expected : 0), im) / expected);
    }
  }
  t.diagnostic(`whitened covariance vs 2β(Δt_a/Δt_n)·I = ${expected}·I: largest relative deviation ${(100 * worst).toFixed(2)} %`);
  assert.ok(worst < 0.02, `deviation ${worst}`);
  assert.equal(acqs[0]?.head.idx.kspace_encode_step_1, 0);
});

test('NoiseAdjustGadget passes readouts before any noise, and ignores noise after whitening started', async () => {
  const L = mixing(CH);
  const g = gaussian(2);
  const early = noiseReadout(L, CH, 64, g);
  const noiseA = noiseReadout(L, CH, 256, g, { noise: true });
  const mid = noiseReadout(L, CH, 64, g);
  const noiseB = noiseReadout(L, CH, 256, g, { noise: true });
  const last = noiseReadout(L, CH, 64, g);
  const { out } = await run([early, noiseA, mid, noiseB, last], { header: header() });
  const acqs = acquisitions(out);
  assert.equal(acqs.length, 3);
  assert.deepEqual(acqs[0]?.data, early.data, 'a readout before any noise passes unwhitened');
  const ref = acquisitions((await run([noiseA, mid, last], { header: header() })).out);
  assert.deepEqual(acqs[1]?.data, ref[0]?.data);
  assert.deepEqual(acqs[2]?.data, ref[1]?.data, 'noise after the first imaging readout changes nothing');
  assert.notDeepEqual(acqs[1]?.data, mid.data);
  const plain = await run([early, mid], { header: header() });
  assert.deepEqual(acquisitions(plain.out).map((a) => a.data), [early.data, mid.data], 'no noise: nothing is whitened');
});

test('NoiseAdjustGadget with perform_noise_adjust=false drops noise and whitens nothing', async () => {
  const L = mixing(CH);
  const g = gaussian(3);
  const noise = noiseReadout(L, CH, 128, g, { noise: true });
  const data = noiseReadout(L, CH, 64, g);
  const { out } = await run([noise, data], { header: header(), properties: { perform_noise_adjust: 'false' } });
  assert.deepEqual(acquisitions(out).map((a) => a.data), [data.data]);
});

test('NoiseAdjustGadget: a channel-count mismatch passes data with a warning, or fails without pass_nonconformant_data', async () => {
  const g = gaussian(4);
  const noise = noiseReadout(mixing(CH), CH, 128, g, { noise: true });
  const other = noiseReadout(mixing(2), 2, 64, g);
  const { out, warnings } = await run([noise, other, other], { header: header() });
  assert.deepEqual(acquisitions(out).map((a) => a.data), [other.data, other.data]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] as string, /2 channels do not match the noise covariance .* \(4 channels\)/);
  await assert.rejects(run([noise, other], { header: header(), properties: { pass_nonconformant_data: 'false' } }), /Cannot prewhiten a readout with 2 channels/);
});

test('scale_only_channels_by_name uses the list position of a named coil (Gadgetron quirk)', () => {
  assert.deepEqual(scaleOnlyChannelIndices('', ['A']), []);
  assert.deepEqual(scaleOnlyChannelIndices('C, A ,Z', ['A', 'B', 'C']), [0, 1]);
  assert.deepEqual(coilOrder(['A', 'B'], ['A', 'B']), undefined);
  assert.deepEqual(coilOrder(['A', 'B', 'C'], ['C', 'A', 'B']), [2, 0, 1]);
  assert.equal(coilOrder(['A', 'B'], ['A', 'X']), 'different');
  assert.equal(coilOrder(['A', 'B'], []), 'different');
});

test('NoiseAdjustGadget: scale-only channels lose their off-diagonal covariance', async () => {
  const L = mixing(CH);
  const g = gaussian(5);
  const noise = Array.from({ length: 10 }, () => noiseReadout(L, CH, 1000, g, { noise: true }));
  const data = Array.from({ length: 10 }, () => noiseReadout(L, CH, 1000, g));
  const coils = ['c0', 'c1', 'c2', 'c3'];
  const masked = acquisitions((await run([...noise, ...data], { header: header({ coils }), properties: { scale_only_channels_by_name: 'c0' } })).out);
  const full = acquisitions((await run([...noise, ...data], { header: header({ coils }) })).out);
  // Entry 0 of the list names a coil, so channel 0 is only scaled: y_0 = s·x_0/σ_0 and it is not mixed into the others.
  const y0 = masked[0]?.data.subarray(0, 2000) as Float32Array;
  const x0 = data[0]?.data.subarray(0, 2000) as Float32Array;
  const ratio = (y0[0] as number) / (x0[0] as number);
  for (let k = 0; k < 2000; k += 97) assert.ok(Math.abs((y0[k] as number) - ratio * (x0[k] as number)) < 1e-4 * Math.abs(ratio) + 1e-6);
  assert.notDeepEqual(masked[0]?.data, full[0]?.data);
});

test('NoiseAdjustGadget stores a noise-only measurement and a later measurement loads it: same images as one run', async (t) => {
  const { store } = tempStore(t);
  const L = mixing(CH);
  const g = gaussian(6);
  const coils = ['H1', 'H2', 'B1', 'B2'];
  const noise = Array.from({ length: 4 }, () => noiseReadout(L, CH, 512, g, { noise: true }));
  const data = Array.from({ length: 6 }, (_v, i) => noiseReadout(L, CH, 128, g, { line: i }));
  const single = await run([...noise, ...data], { header: header({ coils }) });
  const stored = await run(noise, { header: header({ coils, measurement: 'DEV_SUBJ_SESS_1' }), storage: store });
  assert.deepEqual(stored.out, []);
  assert.deepEqual(stored.warnings, []);
  const items = await store.list({ subject: 'SUBJ', name: 'noise_covariance', custom: { measurement: ['DEV_SUBJ_SESS_1'] } });
  assert.equal(items.items.length, 1);
  assert.deepEqual(items.items[0]?.tags, { subject: 'SUBJ', device: 'DEV', session: 'SESS', name: 'noise_covariance', custom: { measurement: ['DEV_SUBJ_SESS_1'] } });
  assert.ok(items.items[0]?.expiresAt, 'stored with a time to live');
  const blob = await store.read(items.items[0]?.id as string);
  const nc = decodeNoiseCovariance(blob?.data as Uint8Array);
  assert.deepEqual(nc.labels, coils);
  assert.equal(nc.sampleCount, 2048);
  assert.equal(nc.noiseDwellTimeUs, 5);
  const loaded = await run(data, { header: header({ coils, measurement: 'DEV_SUBJ_SESS_2', noiseDependency: 'DEV_SUBJ_SESS_1' }), storage: store });
  assert.deepEqual(loaded.warnings, []);
  assertSameData(acquisitions(loaded.out), acquisitions(single.out), 1e-6);
});

test('NoiseAdjustGadget reorders a stored covariance whose coil labels are a permutation', async (t) => {
  const { store } = tempStore(t);
  const L = mixing(CH);
  const g = gaussian(7);
  const coils = ['A', 'B', 'C', 'D'];
  const order = [2, 0, 3, 1];
  const noise = Array.from({ length: 4 }, () => noiseReadout(L, CH, 512, g, { noise: true }));
  const data = Array.from({ length: 3 }, () => noiseReadout(L, CH, 64, g));
  const permute = (a: Acquisition): Acquisition => {
    const ns = a.head.number_of_samples;
    const out = new Float32Array(a.data.length);
    order.forEach((src, d) => out.set(a.data.subarray(2 * src * ns, 2 * (src + 1) * ns), 2 * d * ns));
    return { ...a, data: out };
  };
  await run(noise, { header: header({ coils, measurement: 'X_P_Q_1' }), storage: store });
  const straight = acquisitions((await run(data, { header: header({ coils, measurement: 'X_P_Q_2', noiseDependency: 'X_P_Q_1' }), storage: store })).out);
  const permutedCoils = order.map((i) => coils[i] as string);
  const permuted = await run(data.map(permute), { header: header({ coils: permutedCoils, measurement: 'X_P_Q_3', noiseDependency: 'X_P_Q_1' }), storage: store });
  assert.deepEqual(permuted.warnings, []);
  // Whitening is unique up to a unitary transform; the root sum of squares per sample must agree.
  const rss = (a: Acquisition): number[] => {
    const ns = a.head.number_of_samples;
    return Array.from({ length: ns }, (_v, s) => {
      let sum = 0;
      for (let c = 0; c < CH; c++) sum += (a.data[2 * (c * ns + s)] as number) ** 2 + (a.data[2 * (c * ns + s) + 1] as number) ** 2;
      return Math.sqrt(sum);
    });
  };
  const got = acquisitions(permuted.out);
  for (let k = 0; k < straight.length; k++) {
    const a = rss(straight[k] as Acquisition);
    const b = rss(got[k] as Acquisition);
    for (let s = 0; s < a.length; s++) assert.ok(Math.abs((a[s] as number) - (b[s] as number)) < 1e-4 * (a[s] as number), `sample ${s}`);
  }
});

test('NoiseAdjustGadget warns, naming the measurement, when a dependency is missing, unreadable or unreachable', async (t) => {
  const { store, dir } = tempStore(t);
  const g = gaussian(8);
  const data = [noiseReadout(mixing(CH), CH, 64, g)];
  const h = header({ measurement: 'D_S_E_9', noiseDependency: 'D_S_E_404' });
  const missing = await run(data, { header: h, storage: store });
  assert.equal(missing.warnings.length, 1);
  assert.match(missing.warnings[0] as string, /Noise dependency 'D_S_E_404' was not found in folder /);
  assert.deepEqual(acquisitions(missing.out).map((a) => a.data), [data[0]?.data], 'images go on, unwhitened');

  await store.store({ subject: 'S', device: 'D', session: 'E', name: 'noise_covariance', custom: { measurement: ['D_S_E_404'] } }, Uint8Array.of(1, 2, 3));
  const unreadable = await run(data, { header: h, storage: store });
  assert.match(unreadable.warnings[0] as string, /stored noise covariance of measurement 'D_S_E_404' is unreadable \(truncated/);

  const { RestStore } = await import('../storage/rest-client.js');
  const down = await run(data, { header: h, storage: new RestStore('http://127.0.0.1:1', { timeoutMs: 1000 }) });
  assert.match(down.warnings[0] as string, /Cannot load the noise dependency 'D_S_E_404' from http:\/\/127\.0\.0\.1:1: Cannot reach the storage server .*ECONNREFUSED/);

  const none = await run(data, { header: h });
  assert.match(none.warnings[0] as string, /without a dependency store/);
  assert.ok(dir);
});

test('NoiseAdjustGadget: stored noise with a different channel count is used only for conforming readouts, with a warning', async (t) => {
  const { store } = tempStore(t);
  const g = gaussian(9);
  await run([noiseReadout(mixing(8), 8, 256, g, { noise: true })], { header: header({ measurement: 'D_S_E_1' }), storage: store });
  const data = [noiseReadout(mixing(CH), CH, 64, g)];
  const { out, warnings } = await run(data, { header: header({ measurement: 'D_S_E_2', noiseDependency: 'D_S_E_1' }), storage: store });
  assert.deepEqual(acquisitions(out).map((a) => a.data), [data[0]?.data]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] as string, /4 channels do not match the noise covariance of measurement D_S_E_1 \(8 channels\)/);
});

test('NoiseAdjustGadget writes noisecovarianceout and reads noisecovariancein (SFNDAM files)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-noise-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const L = mixing(CH);
  const g = gaussian(10);
  const noise = Array.from({ length: 3 }, () => noiseReadout(L, CH, 512, g, { noise: true }));
  const data = Array.from({ length: 3 }, () => noiseReadout(L, CH, 64, g));
  const file = join(dir, 'sub', 'noise.sfndam');
  const wrote = await run(noise, { header: header(), parameters: { noisecovarianceout: file } });
  assert.deepEqual(wrote.warnings, []);
  const nc = decodeNoiseCovariance(readFileSync(file));
  assert.equal(nc.channels, CH);
  const single = await run([...noise, ...data], { header: header() });
  const fromFile = await run(data, { header: header(), parameters: { noisecovariancein: file } });
  assertSameData(acquisitions(fromFile.out), acquisitions(single.out), 1e-6);
  await assert.rejects(run(data, { header: header(), parameters: { noisecovariancein: join(dir, 'absent') } }), /Cannot read the noise covariance file .*absent.*ENOENT/);
  writeFileSync(join(dir, 'bad'), encodeNoiseCovariance(nc).subarray(0, 30));
  await assert.rejects(run(data, { header: header(), parameters: { noisecovariancein: join(dir, 'bad') } }), /truncated/);
});

test('NoiseAdjustGadget: a noise-only measurement that cannot be stored says so', async (t) => {
  const { store } = tempStore(t);
  const g = gaussian(11);
  const noise = [noiseReadout(mixing(CH), CH, 128, g, { noise: true })];
  const noId = await run(noise, { header: header(), storage: store });
  assert.match(noId.warnings[0] as string, /not stored: the header gives no subject/);
  const noStore = await run(noise, { header: header({ measurement: 'D_S_E_1' }) });
  assert.match(noStore.warnings[0] as string, /not stored: this server runs without a dependency store/);
  const embedded = await run([...noise, noiseReadout(mixing(CH), CH, 64, g)], { header: header(), storage: store });
  assert.deepEqual(embedded.warnings, [], 'an imaging run with its own noise and no ids stores nothing, quietly');
});

test('whiteningCanBeDeferred: only per-channel readout gadgets between NoiseAdjust and BucketToBuffer', () => {
  assert.equal(whiteningCanBeDeferred(['AsymmetricEchoAdjustROGadget', 'RemoveROOversamplingGadget', 'AcquisitionAccumulateTriggerGadget', 'BucketToBufferGadget', 'SimpleReconGadget']), true);
  assert.equal(whiteningCanBeDeferred(['RemoveROOversamplingGadget', 'AcquisitionAccumulateTriggerGadget', 'BucketToBufferGadget']), true);
  assert.equal(whiteningCanBeDeferred(['BucketToBufferGadget']), true);
  assert.equal(whiteningCanBeDeferred(['RemoveROOversamplingGadget', 'AcquisitionAccumulateTriggerGadget']), false, 'no BucketToBuffer: the readouts leave whitened');
  assert.equal(whiteningCanBeDeferred(['PCACoilGadget', 'BucketToBufferGadget']), false, 'a gadget that mixes or reads the channels');
  assert.equal(whiteningCanBeDeferred([]), false);
  assert.equal(whiteningCanBeDeferred(undefined), false);
});

/** Runs `messages` through a chain of `gadgets` and returns encoding space 0 of the first recon buffer it sends. */
async function firstReconBit(gadgets: AnyGadgetDefinition[], messages: readonly Message[], h: IsmrmrdHeader): Promise<ReconBit> {
  const chain: ChainPlan = { type: 'chain', key: 'main', steps: gadgets.map((d) => planGadgetStep(d)) };
  const input = new Channel<Message>(64);
  const output = new CollectingOutput();
  const feed = (async () => {
    for (const m of messages) await input.push(m);
    input.close();
  })();
  await Promise.all([runChain(chain, input, output, { header: h, log: silentLogger, signal: new AbortController().signal, channelCapacity: 16 }), feed]);
  const recon = output.messages.find((m): m is ReconData => m.kind === 'recondata');
  assert.ok(recon?.rbit[0]);
  return recon.rbit[0];
}

test('NoiseAdjust left to BucketToBuffer gives the buffer of whitening each readout at once', async () => {
  const L = mixing(CH);
  const g = gaussian(7);
  const noise = Array.from({ length: 20 }, () => noiseReadout(L, CH, 256, g, { noise: true, dwell: 5 }));
  const lines = Array.from({ length: 8 }, (_v, i) => noiseReadout(L, CH, 64, g, { dwell: 5, line: i }));
  const h = header({ bandwidth: 0.8 });
  const pass = defineMapGadget({
    name: 'ReadoutPassTestGadget', classNames: ['ReadoutPassTestGadget'], properties: {}, strict: false,
    description: 'test: passes readouts on, hiding BucketToBuffer from NoiseAdjust', accepts: isAcquisition, process: (m) => m,
  }) as AnyGadgetDefinition;
  const bufferOf = async (gadgets: AnyGadgetDefinition[]): Promise<DataBuffered> => (await firstReconBit(gadgets, [...noise, ...lines], h)).data;
  const deferred = await bufferOf([noiseAdjustGadget, removeROOversamplingGadget, acquisitionAccumulateTriggerGadget, bucketToBufferGadget]);
  const eager = await bufferOf([noiseAdjustGadget, pass, removeROOversamplingGadget, acquisitionAccumulateTriggerGadget, bucketToBufferGadget]);
  assert.deepEqual(deferred.data.dims, eager.data.dims);
  let max = 0;
  let diff = 0;
  for (let i = 0; i < eager.data.data.length; i++) {
    max = Math.max(max, Math.abs(eager.data.data[i] as number));
    diff = Math.max(diff, Math.abs((deferred.data.data[i] as number) - (eager.data.data[i] as number)));
  }
  assert.ok(max > 0 && diff <= 1e-5 * max, `largest difference ${diff} of ${max}`);
});

test('NoiseAdjust left to the recon chain: BucketToBuffer places the readouts unwhitened and hands the whitening on', async () => {
  const L = mixing(CH);
  const g = gaussian(11);
  const noise = Array.from({ length: 20 }, () => noiseReadout(L, CH, 256, g, { noise: true, dwell: 5 }));
  const lines = Array.from({ length: 8 }, (_v, i) => noiseReadout(L, CH, 64, g, { dwell: 5, line: i }));
  const h = header({ bandwidth: 0.8 });
  // Stand-ins with the names of the recon gadgets (they pass the buffers on), so that NoiseAdjust sees a GRAPPA chain.
  const standIn = (name: string): AnyGadgetDefinition => defineMapGadget({
    name, classNames: [`${name}TestStandIn`], properties: {}, strict: false, description: 'test: passes recon buffers on',
    accepts: (m: Message): m is ReconData => m.kind === 'recondata', process: (m: ReconData) => m,
  }) as AnyGadgetDefinition;
  const reconChain = [standIn('GenericReconCartesianReferencePrepGadget'), standIn('GenericReconEigenChannelGadget'), standIn('GenericReconCartesianGrappaGadget')];
  const bitOf = (gadgets: AnyGadgetDefinition[]): Promise<ReconBit> => firstReconBit(gadgets, [...noise, ...lines], h);
  const readoutChain = [noiseAdjustGadget, removeROOversamplingGadget, acquisitionAccumulateTriggerGadget, bucketToBufferGadget];
  const handedOn = await bitOf([...readoutChain, ...reconChain]);
  const atBucket = await bitOf([...readoutChain, reconChain[0] as AnyGadgetDefinition]);
  assert.ok(handedOn.pendingWhitening, 'the whitening is handed on');
  assert.equal(handedOn.pendingWhitening.length, 2 * CH * CH);
  assert.equal(atBucket.pendingWhitening, undefined, 'no GRAPPA after ReferencePrep: BucketToBuffer whitens');
  const whitened = whitenedBit(handedOn);
  let max = 0;
  let diff = 0;
  let unwhitened = 0;
  for (let i = 0; i < atBucket.data.data.data.length; i++) {
    const want = atBucket.data.data.data[i] as number;
    max = Math.max(max, Math.abs(want));
    diff = Math.max(diff, Math.abs((whitened.data.data.data[i] as number) - want));
    unwhitened = Math.max(unwhitened, Math.abs((handedOn.data.data.data[i] as number) - want));
  }
  assert.ok(max > 0 && diff <= 1e-5 * max, `whitening the handed-on buffer: largest difference ${diff} of ${max}`);
  assert.ok(unwhitened > 1e-2 * max, 'the handed-on buffer itself is not whitened');
});
