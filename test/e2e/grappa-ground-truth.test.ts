/**
 * GRAPPA against ground truth: noise-free phantoms from
 * ismrmrd_generate_cartesian_shepp_logan (256², 8 coils, 32 ACS lines,
 * R = 1…4) are reconstructed in-process by the generic chain
 * (RemoveROOversampling → AcquisitionAccumulateTrigger(repetition) →
 * BucketToBuffer → ReferencePrep → [EigenChannel] → CartesianGrappa), and
 * repetition 0 is compared with |ρ|·‖c‖ from the file's /dataset/phantom and
 * /dataset/csm (algorithm facts §11), after dividing by the expected SNR-unit
 * scale √R_eff/R: NRMSE inside the object (|ρ| > 1e-3, the mask of the facts'
 * "Expected NRMSE" table, which these figures reproduce to 2–3 digits), inside
 * the object eroded by 4 pixels, and over the full FOV. Coil maps are compared
 * with c/‖c‖ inside the eroded object, and the g-factor is checked at R = 1.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStreamConfiguration } from '../../src/config/index.js';
import { Channel } from '../../src/engine/channel.js';
import { planPipeline, runChain } from '../../src/engine/pipeline.js';
import { IsmrmrdFile } from '../../src/formats/index.js';
import { GrappaRecon } from '../../src/gadgets/generic-recon-cartesian-grappa.js';
import { EigenChannelCompressor } from '../../src/gadgets/generic-recon-eigen-channel.js';
import { defaultRegistry } from '../../src/gadgets/index.js';
import type { ImageArray, ReconData } from '../../src/ismrmrd/buffers.js';
import type { Message } from '../../src/ismrmrd/messages.js';
import { metaGet } from '../../src/ismrmrd/meta.js';
import { AcqFlag, isFlagSet, type Acquisition } from '../../src/ismrmrd/types.js';
import { parseIsmrmrdHeader, type IsmrmrdHeader } from '../../src/ismrmrd/xml-header.js';
import type { CMatrix } from '../../src/kernels/dense.js';
import { gfactorFromUnmixing } from '../../src/kernels/grappa.js';
import { silentLogger } from '../../src/util/logger.js';
import { missing } from '../helpers/tools.js';

const M = 256;
const C = 8;
const skip = missing(['ismrmrd_generate_cartesian_shepp_logan', 'h5dump']);

interface Phantom {
  header: IsmrmrdHeader;
  acqs: Acquisition[];
  rho: Float32Array;
  csm: Float32Array;
}

function h5Complex(file: string, dataset: string, dir: string): Float32Array {
  const out = join(dir, `${dataset.replace(/\//g, '_')}.bin`);
  execFileSync('h5dump', ['-b', 'NATIVE', '-o', out, '-d', dataset, file], { stdio: 'ignore' });
  const buf = readFileSync(out);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

function makePhantom(dir: string, R: number): Phantom {
  const file = join(dir, `sl_R${R}.h5`);
  const args = ['-o', file, '-m', String(M), '-c', String(C), '-n', '0', '-a', String(R)];
  if (R > 1) args.push('-w', '32');
  execFileSync('ismrmrd_generate_cartesian_shepp_logan', args, { stdio: 'ignore' });
  const f = IsmrmrdFile.open(file);
  let xml: string | undefined;
  let acqs: Acquisition[];
  try {
    xml = f.readHeader();
    acqs = f.readAcquisitions(0, f.acquisitionCount()).filter(
      (a) => !isFlagSet(a.head.flags, AcqFlag.IS_NOISE_MEASUREMENT) && a.head.idx.repetition === 0,
    );
  } finally {
    f.close();
  }
  assert.ok(xml, 'the phantom file has a header');
  return { header: parseIsmrmrdHeader(xml), acqs, rho: h5Complex(file, '/dataset/phantom', dir), csm: h5Complex(file, '/dataset/csm', dir) };
}

function gadget(name: string, classname: string, props: Record<string, string | number | boolean> = {}): string {
  const p = Object.entries(props).map(([k, v]) => `<property name="${k}" value="${v}"/>`).join('');
  return `<gadget><name>${name}</name><dll>gadgetron_mricore</dll><classname>${classname}</classname>${p}</gadget>`;
}

/** The chain up to (and with) `tail`. */
function chainXml(tail: string[]): string {
  return [
    '<?xml version="1.0"?><configuration><version>2</version><stream key="grappa">',
    gadget('RemoveROOversampling', 'RemoveROOversamplingGadget'),
    gadget('AccTrig', 'AcquisitionAccumulateTriggerGadget', { trigger_dimension: 'repetition' }),
    gadget('Buff', 'BucketToBufferGadget', { N_dimension: 'contrast', S_dimension: 'average', split_slices: false, ignore_segment: true }),
    gadget('RefPrep', 'GenericReconCartesianReferencePrepGadget', { average_all_ref_N: true, average_all_ref_S: true, prepare_ref_always: true }),
    ...tail,
    '</stream></configuration>',
  ].join('');
}

async function runXml(xml: string, header: IsmrmrdHeader, acqs: readonly Acquisition[]): Promise<Message[]> {
  const plan = planPipeline(parseStreamConfiguration(xml), defaultRegistry());
  const input = new Channel<Message>(16);
  const out: Message[] = [];
  const producer = (async () => {
    for (const a of acqs) await input.push(a);
    input.close();
  })();
  await Promise.all([
    runChain(plan.chain, input, { push: async (m) => void out.push(m) }, { header, log: silentLogger, signal: new AbortController().signal, channelCapacity: 16 }),
    producer,
  ]);
  return out;
}

/** The object, |ρ| > 1e-3 (the ventricles are −1.5e-8 in float32). */
function objectMask(rho: Float32Array): Uint8Array {
  const inside = new Uint8Array(M * M);
  for (let p = 0; p < M * M; p++) inside[p] = Math.abs(rho[2 * p] as number) > 1e-3 ? 1 : 0;
  return inside;
}

/** Pixels of the object whose whole disc of radius `r` is inside the object. */
function erodedMask(rho: Float32Array, r: number): Uint8Array {
  const inside = objectMask(rho);
  const out = new Uint8Array(M * M);
  for (let y = 0; y < M; y++) {
    for (let x = 0; x < M; x++) {
      let ok = inside[x + M * y] === 1;
      for (let dy = -r; dy <= r && ok; dy++) {
        for (let dx = -r; dx <= r && ok; dx++) {
          if (dx * dx + dy * dy > r * r) continue;
          const xx = x + dx;
          const yy = y + dy;
          ok = xx >= 0 && yy >= 0 && xx < M && yy < M && inside[xx + M * yy] === 1;
        }
      }
      out[x + M * y] = ok ? 1 : 0;
    }
  }
  return out;
}

/** |ρ|·‖T c‖ per pixel, with T the first K columns of Vᵀ (KLT) or the identity. */
function groundTruth(ph: Phantom, V?: CMatrix, K = C): Float64Array {
  const gt = new Float64Array(M * M);
  const vol = M * M;
  for (let p = 0; p < vol; p++) {
    let s = 0;
    for (let k = 0; k < K; k++) {
      let re = 0;
      let im = 0;
      for (let c = 0; c < C; c++) {
        const cr = ph.csm[2 * (p + vol * c)] as number;
        const ci = ph.csm[2 * (p + vol * c) + 1] as number;
        if (!V) {
          if (c !== k) continue;
          re = cr;
          im = ci;
        } else {
          const vr = V.data[2 * (c + C * k)] as number;
          const vi = V.data[2 * (c + C * k) + 1] as number;
          re += cr * vr - ci * vi;
          im += cr * vi + ci * vr;
        }
      }
      s += re * re + im * im;
    }
    gt[p] = Math.abs(ph.rho[2 * p] as number) * Math.sqrt(s);
  }
  return gt;
}

function nrmseOf(image: Float32Array, scale: number, gt: Float64Array, mask?: Uint8Array): number {
  let num = 0;
  let den = 0;
  for (let p = 0; p < M * M; p++) {
    if (mask && !mask[p]) continue;
    const v = Math.hypot(image[2 * p] as number, image[2 * p + 1] as number) / scale;
    num += (v - (gt[p] as number)) ** 2;
    den += (gt[p] as number) ** 2;
  }
  return Math.sqrt(num / den);
}

/** Expected SNR-unit scale √R_eff/R of repetition 0 (lines e1 ≡ 0 mod R). */
function expectedScale(R: number): number {
  if (R === 1) return 1;
  let lines = 0;
  for (let y = 0; y < M; y++) if (y % R === 0) lines++;
  return Math.sqrt(M / lines) / R;
}

function imagesOfSeries(messages: readonly Message[], series: number): ImageArray[] {
  return messages.filter((m): m is ImageArray => m.kind === 'imagearray' && m.headers[0]?.image_series_index === series);
}

test('GRAPPA reconstructs noise-free phantoms close to ground truth', { skip, timeout: 900_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-grappa-'));
  const limits: Record<number, number> = { 1: 1e-4, 2: 1e-2, 3: 3e-2, 4: 6e-2 };
  try {
    for (const R of [1, 2, 3, 4]) {
      await t.test(`R = ${R}`, async () => {
        const ph = makePhantom(dir, R);
        const object = objectMask(ph.rho);
        const mask = erodedMask(ph.rho, 4);
        const gt = groundTruth(ph);
        const scale = expectedScale(R);
        const started = performance.now();
        const plain = await runXml(
          chainXml([gadget('Recon', 'GenericReconCartesianGrappaGadget', { downstream_coil_compression: false, send_out_gfactor: true })]),
          ph.header, ph.acqs,
        );
        const seconds = (performance.now() - started) / 1000;
        const images = imagesOfSeries(plain, 1);
        assert.equal(images.length, 1, 'one image array for repetition 0');
        const image = images[0] as ImageArray;
        assert.deepEqual(image.data.dims, [M, M, 1, 1, 1, 1, 1]);
        assert.equal(image.headers[0]?.repetition, 0);
        assert.equal(metaGet(image.meta[0] as Map<string, string[]>, 'GADGETRON_DataRole'), 'Image');
        const inObject = nrmseOf(image.data.data, scale, gt, object);
        const inEroded = nrmseOf(image.data.data, scale, gt, mask);
        const fullFov = nrmseOf(image.data.data, scale, gt);
        t.diagnostic(
          `R=${R} no compression: NRMSE object ${inObject.toExponential(2)}, object eroded 4 px ${inEroded.toExponential(2)}, ` +
            `full FOV ${fullFov.toExponential(2)}, chain ${seconds.toFixed(1)} s`,
        );
        assert.ok(inObject <= (limits[R] as number), `R=${R}: NRMSE ${inObject} inside the object`);
        assert.ok(inEroded <= 1.25 * (limits[R] as number), `R=${R}: NRMSE ${inEroded} inside the eroded object`);
        assert.ok(fullFov <= (limits[R] as number), `R=${R}: NRMSE ${fullFov} over the full FOV`);

        const gArrays = imagesOfSeries(plain, 20);
        if (R > 1) {
          assert.equal(gArrays.length, 1, 'a g-factor map');
          const g = (gArrays[0] as ImageArray).data.data;
          let sum = 0;
          let max = 0;
          let n = 0;
          for (let p = 0; p < M * M; p++) {
            if (!mask[p]) continue;
            sum += g[2 * p] as number;
            max = Math.max(max, g[2 * p] as number);
            n++;
          }
          t.diagnostic(`R=${R} g-factor inside the eroded object: mean ${(sum / n).toFixed(2)}, max ${max.toFixed(2)}`);
          assert.ok(sum / n >= 1, 'g ≥ 1 on average');
        } else {
          assert.equal(gArrays.length, 0, 'no g-factor map without acceleration');
        }

        const prepared = (await runXml(chainXml([]), ph.header, ph.acqs)).filter((m): m is ReconData => m.kind === 'recondata');
        assert.equal(prepared.length, 1);
        const bit = (prepared[0] as ReconData).rbit[0];
        assert.ok(bit?.ref, 'a prepared reference');
        const recon = new GrappaRecon(ph.header, {
          image_series: 0, send_out_gfactor: false, send_out_snr_map: false, grappa_kSize_RO: 5, grappa_kSize_E1: 4, grappa_kSize_E2: 4,
          grappa_reg_lamda: 5e-4, grappa_calib_over_determine_ratio: 45, downstream_coil_compression: false, downstream_coil_compression_thres: 0.002,
          downstream_coil_compression_num_modesKept: 0, coil_map_algorithm: 'Inati', coil_map_kernel_size_readout: 7, coil_map_kernel_size_phase: 5,
          coil_map_num_iter: 10, coil_map_thres_iter: 1e-4, perform_timing: false, verbose: false,
        });
        const cal = recon.calibrate(bit.ref, [M, M, 1], 0);
        const maps = cal.coilMaps.data;
        let worst = 0;
        let mean = 0;
        let count = 0;
        for (let p = 0; p < M * M; p++) {
          if (!mask[p]) continue;
          let norm = 0;
          for (let c = 0; c < C; c++) norm += (ph.csm[2 * (p + M * M * c)] as number) ** 2 + (ph.csm[2 * (p + M * M * c) + 1] as number) ** 2;
          norm = Math.sqrt(norm);
          let err = 0;
          for (let c = 0; c < C; c++) {
            const dr = (maps[2 * (p + M * M * c)] as number) - (ph.csm[2 * (p + M * M * c)] as number) / norm;
            const di = (maps[2 * (p + M * M * c) + 1] as number) - (ph.csm[2 * (p + M * M * c) + 1] as number) / norm;
            err += dr * dr + di * di;
          }
          err = Math.sqrt(err);
          worst = Math.max(worst, err);
          mean += err;
          count++;
        }
        t.diagnostic(`R=${R} coil maps vs c/‖c‖ inside the eroded object: max ${worst.toExponential(2)}, mean ${(mean / count).toExponential(2)}`);
        assert.ok(worst < 0.05, `coil maps within 5 %: ${worst}`);
        if (R === 1) {
          const g = gfactorFromUnmixing(cal.unmixing.data, M * M, C, 1, new Float32Array(M * M));
          let dev = 0;
          for (let p = 0; p < M * M; p++) if (mask[p]) dev = Math.max(dev, Math.abs((g[p] as number) - 1));
          t.diagnostic(`R=1 g-factor (‖conj(m)‖): max |g − 1| inside the eroded object ${dev.toExponential(2)}`);
          assert.ok(dev < 1e-5);
        }

        if (R > 1) {
          const compressed = await runXml(
            chainXml([
              gadget('CoilCompression', 'GenericReconEigenChannelGadget', { average_all_ref_N: true, average_all_ref_S: true, upstream_coil_compression_thres: 0.002 }),
              gadget('Recon', 'GenericReconCartesianGrappaGadget', { downstream_coil_compression: true, downstream_coil_compression_thres: 0.01 }),
            ]),
            ph.header, ph.acqs,
          );
          const klt = new EigenChannelCompressor(ph.header, {
            average_all_ref_N: true, average_all_ref_S: true, update_eigen_channel_coefficients: false,
            upstream_coil_compression_thres: 0.002, upstream_coil_compression_num_modesKept: 0,
          });
          klt.process(prepared[0] as ReconData);
          const set = klt.sets[0];
          assert.ok(set);
          const V = set.vectors[0]?.[0]?.[0] as CMatrix;
          const gtEng = groundTruth(ph, V, set.kept);
          const img = (imagesOfSeries(compressed, 1)[0] as ImageArray).data.data;
          const err = nrmseOf(img, scale, gtEng, object);
          t.diagnostic(
            `R=${R} default compression (KLT keeps ${set.kept} of ${C}, downstream 0.01): NRMSE vs |ρ|·‖V_Kᵀc‖ object ${err.toExponential(2)}, ` +
              `eroded ${nrmseOf(img, scale, gtEng, mask).toExponential(2)}, full FOV ${nrmseOf(img, scale, gtEng).toExponential(2)}`,
          );
          assert.ok(err <= 2 * (limits[R] as number));
        }
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
