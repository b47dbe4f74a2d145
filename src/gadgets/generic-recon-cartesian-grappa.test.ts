import test from 'node:test';
import assert from 'node:assert/strict';
import { expandLattice, type DataBuffered, type ImageArray, type ReconData } from '../ismrmrd/buffers.js';
import { latticeOffset } from '../kernels/lattice.js';
import { metaGet } from '../ismrmrd/meta.js';
import type { Message } from '../ismrmrd/messages.js';
import type { MetaContainer } from '../ismrmrd/types.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { downstreamChannels, genericReconCartesianGrappaGadget } from './generic-recon-cartesian-grappa.js';
import { genericReconCartesianReferencePrepGadget } from './generic-recon-reference-prep.js';
import { makeScan, nrmseToTruth, reconDataOf, type Scan, type ScanSpec } from './grappa-testing.js';
import { planGadgetStep, runGadget } from './testing.js';

async function recon(scan: Scan | { header: IsmrmrdHeader; recon: ReconData }, props: Record<string, string> = {}): Promise<ImageArray[]> {
  const header = scan.header;
  const input = 'recon' in scan ? scan.recon : reconDataOf(scan);
  const prepared = await runGadget(genericReconCartesianReferencePrepGadget, [input], { header, properties: { average_all_ref_S: 'true' } });
  const out = await runGadget(genericReconCartesianGrappaGadget, prepared, { header, properties: props });
  return out.map((m: Message) => {
    assert.equal(m.kind, 'imagearray');
    return m as ImageArray;
  });
}

const meta = (a: ImageArray, name: string): string | undefined => metaGet(a.meta[0] as MetaContainer, name);

function scale(scan: Scan, R: number): number {
  const total = scan.data.data.dims[1] * scan.data.data.dims[2];
  return R === 1 ? 1 : Math.sqrt(total / scan.sampledLines) / R;
}

const spec2: ScanSpec = { RO: 64, E1: 64, CHA: 8, R1: 2, acsE1: 24, mode: 'embedded' };

test('GenericReconCartesianGrappaGadget reconstructs an R = 2 scan in SNR units, with g-factor and SNR maps', async () => {
  const scan = makeScan(spec2);
  const before = Float32Array.from(scan.data.data.data);
  const arrays = await recon(scan, { send_out_gfactor: 'true', send_out_snr_map: 'true' });
  assert.deepEqual(scan.data.data.data, before, 'the input buffer is not modified');
  assert.deepEqual(arrays.map((a) => a.headers[0]?.image_series_index), [20, 300, 1], 'g-factor, SNR map, image, in that order');
  const [g, snr, image] = arrays as [ImageArray, ImageArray, ImageArray];
  assert.deepEqual(image.data.dims, [64, 64, 1, 1, 1, 1, 1]);
  const err = nrmseToTruth(image.data.data, scan.truth, scale(scan, 2));
  assert.ok(err < 2e-2, `NRMSE ${err}`);
  assert.equal(meta(image, 'GADGETRON_DataRole'), 'Image');
  assert.equal(meta(g, 'GADGETRON_DataRole'), 'Gfactor');
  assert.equal(meta(snr, 'GADGETRON_DataRole'), 'SNR_MAP');
  assert.equal(meta(g, 'Skip_processing_after_recon'), '1');
  assert.equal(meta(image, 'Skip_processing_after_recon'), undefined);
  assert.equal(meta(image, 'GADGETRON_ImageProcessingHistory'), 'GT');
  assert.deepEqual(image.meta[0]?.get('GADGETRON_ImageComment'), ['GT']);
  assert.deepEqual(image.meta[0]?.get('GADGETRON_SeqDescription'), ['_GT']);
  assert.deepEqual(g.meta[0]?.get('GADGETRON_ImageComment'), ['Gfactor']);
  assert.equal(meta(image, 'GADGETRON_ImageNumber'), '1');
  assert.equal(meta(image, 'encoding'), '0');
  assert.deepEqual(image.meta[0]?.get('sampling_limits_RO'), ['0', '32', '63']);
  assert.deepEqual(image.meta[0]?.get('sampling_limits_E1'), ['0', '32', '63']);
  assert.deepEqual(image.meta[0]?.get('recon_FOV'), ['128', '128', '5']);
  assert.deepEqual(image.meta[0]?.get('PatientPosition'), ['1.5', '-2.25', '3']);
  assert.equal(image.sampling, scan.data.sampling, 'the data buffer sampling travels with the array');
  const h = image.headers[0];
  assert.ok(h);
  assert.equal(h.image_index, 1);
  assert.deepEqual(h.matrix_size, [64, 64, 1]);
  assert.deepEqual(h.field_of_view, [128, 128, 5]);
  assert.deepEqual(h.position, [1.5, -2.25, 3]);
  assert.equal(h.channels, 1);
  assert.equal(h.acquisition_time_stamp, 1000 + 32, 'header of the centre line');
  const gv = g.data.data;
  const sv = snr.data.data;
  const iv = image.data.data;
  let gmax = 0;
  for (let p = 0; p < 64 * 64; p++) {
    const gp = gv[2 * p] as number;
    assert.equal(gv[2 * p + 1], 0);
    gmax = Math.max(gmax, gp);
    if (gp === 0) assert.equal(sv[2 * p], 0, 'no weight, no signal: SNR 0, not NaN');
    else assert.ok(Math.abs((sv[2 * p] as number) - (iv[2 * p] as number) / gp) <= 1e-5 * Math.abs(sv[2 * p] as number) + 1e-12);
  }
  assert.ok(gmax > 1 && gmax < 10, `g max ${gmax}`);
});

test('GenericReconCartesianGrappaGadget with a separate reference buffer matches the embedded result', async () => {
  const embedded = makeScan(spec2);
  const scan = makeScan({ ...spec2, mode: 'separate' });
  const full = scan.ref as DataBuffered;
  const [RO, E1, , CHA] = full.data.dims as [number, number, number, number];
  const acs = 24;
  const first = (E1 >> 1) - (acs >> 1);
  const data = new Float32Array(2 * RO * acs * CHA);
  for (let c = 0; c < CHA; c++) {
    for (let y = 0; y < acs; y++) {
      const from = 2 * RO * (first + y + E1 * c);
      data.set(full.data.data.subarray(from, from + 2 * RO), 2 * RO * (y + acs * c));
    }
  }
  const ref: DataBuffered = {
    data: { data, dims: [RO, acs, 1, CHA, 1, 1, 1] },
    headers: full.headers.slice(first, first + acs),
    headerDims: [acs, 1, 1, 1, 1],
    sampling: { ...full.sampling, sampling_limits: [full.sampling.sampling_limits[0], { min: 0, max: E1 - 1, center: E1 >> 1 }, { min: 0, max: 0, center: 0 }] },
  };
  const [image] = await recon({ header: scan.header, recon: { kind: 'recondata', rbit: [{ data: scan.data, ref }] } });
  const [reference] = await recon(embedded);
  const err = nrmseToTruth((image as ImageArray).data.data, scan.truth, scale(scan, 2));
  assert.ok(err < 2e-2, `separate: NRMSE ${err}`);
  assert.deepEqual((image as ImageArray).data.data, (reference as ImageArray).data.data, 'same ACS lines, same result');
});

test('GenericReconCartesianGrappaGadget without acceleration combines with conj(maps) and sends no g-factor', async () => {
  const scan = makeScan({ RO: 64, E1: 48, CHA: 6 });
  const arrays = await recon(scan, { send_out_gfactor: 'true', send_out_snr_map: 'true', image_series: '5' });
  assert.deepEqual(arrays.map((a) => a.headers[0]?.image_series_index), [305, 6]);
  const [snr, image] = arrays as [ImageArray, ImageArray];
  const err = nrmseToTruth(image.data.data, scan.truth, 1);
  assert.ok(err < 2e-3, `NRMSE ${err}`);
  assert.deepEqual(snr.data.data, image.data.data, 'unaccelerated SNR map = image');
});

test('GenericReconCartesianGrappaGadget reconstructs a 3D scan accelerated 2 × 2', async () => {
  const spec: ScanSpec = { RO: 32, E1: 32, E2: 24, CHA: 8, R1: 2, R2: 2, acsE1: 16, acsE2: 12, mode: 'embedded', ring: 'E1E2' };
  const scan = makeScan(spec);
  const arrays = await recon(scan, { send_out_gfactor: 'true' });
  assert.deepEqual(arrays.map((a) => a.headers[0]?.image_series_index), [20, 1]);
  const image = arrays[1] as ImageArray;
  assert.deepEqual(image.data.dims, [32, 32, 24, 1, 1, 1, 1]);
  const err = nrmseToTruth(image.data.data, scan.truth, scale(scan, 4));
  assert.ok(err < 6e-2, `3D NRMSE ${err}`);
  assert.equal(image.headers[0]?.image_index, 1);
});

test('GenericReconCartesianGrappaGadget reports missing or unusable calibration data clearly', async () => {
  const noAcs = makeScan({ ...spec2, acsE1: 0 });
  await assert.rejects(recon(noAcs), /Cannot calibrate GRAPPA for encoding space 0: data accelerated by 2×1 need fully sampled calibration \(ACS\) data/);
  const fewAcs = makeScan({ ...spec2, acsE1: 4 });
  await assert.rejects(recon(fewAcs), /Cannot calibrate GRAPPA: 4 ACS lines are fewer than the kernel needs \(7 lines for grappa_kSize_E1 = 4 at acceleration 2\)/);
  const scan = makeScan(spec2);
  const few = makeScan({ ...spec2, CHA: 4 });
  const mixed: ReconData = { kind: 'recondata', rbit: [{ data: few.data, ref: scan.ref ?? scan.data }] };
  await assert.rejects(recon({ header: scan.header, recon: mixed }), /the data have 4 channels, the calibration \(reference\) data 8/);
  await assert.rejects(
    runGadget(genericReconCartesianGrappaGadget, [reconDataOf({ ...scan, ref: undefined } as Scan)], { header: scan.header }),
    /no reference \(calibration\) data have been received/,
  );
  const empty: ReconData = { kind: 'recondata', rbit: [{ data: { ...scan.data, data: { data: new Float32Array(0), dims: [64, 64, 1, 8, 0, 1, 1] } } }] };
  await assert.rejects(runGadget(genericReconCartesianGrappaGadget, [empty], { header: scan.header }), /empty/);
});

test('GenericReconCartesianGrappaGadget keeps its calibration for buffers without a reference', async () => {
  const scan = makeScan(spec2);
  const prepared = await runGadget(genericReconCartesianReferencePrepGadget, [reconDataOf(scan)], { header: scan.header });
  const second: ReconData = { kind: 'recondata', rbit: [{ data: scan.data }] };
  const out = (await runGadget(genericReconCartesianGrappaGadget, [...prepared, second], { header: scan.header, properties: { send_out_gfactor: 'true' } })) as ImageArray[];
  assert.deepEqual(out.map((a) => a.headers[0]?.image_series_index), [20, 1, 1], 'the g-factor is sent only with a new calibration');
  assert.deepEqual(out[2]?.data.data, out[1]?.data.data);
});

test('GenericReconCartesianGrappaGadget properties: Gadgetron defaults, strict names', () => {
  const step = planGadgetStep(genericReconCartesianGrappaGadget);
  assert.deepEqual(
    {
      kRO: step.properties['grappa_kSize_RO'], kE1: step.properties['grappa_kSize_E1'], kE2: step.properties['grappa_kSize_E2'],
      lambda: step.properties['grappa_reg_lamda'], ratio: step.properties['grappa_calib_over_determine_ratio'],
      ds: step.properties['downstream_coil_compression'], dsThres: step.properties['downstream_coil_compression_thres'],
      cm: step.properties['coil_map_algorithm'], ks: step.properties['coil_map_kernel_size_readout'], kz: step.properties['coil_map_kernel_size_phase'],
      series: step.properties['image_series'], tick: step.properties['time_tick'], g: step.properties['send_out_gfactor'],
    },
    { kRO: 5, kE1: 4, kE2: 4, lambda: 0.0005, ratio: 45, ds: true, dsThres: 0.002, cm: 'Inati', ks: 7, kz: 5, series: 0, tick: 2.5, g: false },
  );
  assert.throws(() => planGadgetStep(genericReconCartesianGrappaGadget, { grappa_ksize_RO: '5' }), /not a property/);
  assert.throws(() => planGadgetStep(genericReconCartesianGrappaGadget, { coil_map_algorithm: 'Walsh' }), /expected one of/);
});

test('downstream coil compression keeps the channels above the energy threshold', () => {
  const RO = 4;
  const CHA = 4;
  const data = new Float32Array(2 * RO * CHA);
  const amp = [1, 0.5, 0.05, 0.01];
  for (let c = 0; c < CHA; c++) for (let i = 0; i < RO; i++) data[2 * (i + RO * c)] = amp[c] as number;
  const ref = { data, dims: [RO, 1, 1, CHA, 1, 1, 1] };
  assert.equal(downstreamChannels(ref, true, 0.01, 0), 2, 'E_2 = 0.0025·E_0 < 0.01·E_0');
  assert.equal(downstreamChannels(ref, true, 0.002, 0), 3);
  assert.equal(downstreamChannels(ref, true, 0.002, 2), 2);
  assert.equal(downstreamChannels(ref, false, 0.01, 0), 4);
  assert.equal(downstreamChannels(ref, true, -1, 0), 4);
});

/** `buffer` (2D, one frame per N·S·SLC block) with only the lines of each frame's lattice of `factor` stored (DataBuffered.lattice). */
function compacted(buffer: DataBuffered, factor: number): DataBuffered {
  const [RO, E1, E2, CHA, ...outer] = buffer.data.dims as [number, number, number, number, number, number, number];
  assert.equal(E2, 1);
  const frames = outer.reduce((a, b) => a * b, 1);
  const M = E1 / factor;
  const offsets: number[] = [];
  const data = new Float32Array(2 * RO * M * CHA * frames);
  for (let f = 0; f < frames; f++) {
    const lines: number[] = [];
    for (let e1 = 0; e1 < E1; e1++) if (buffer.headers[e1 + E1 * f] !== undefined) lines.push(e1);
    const o = latticeOffset(lines, factor, E1);
    assert.ok(o >= 0, `frame ${f} is on a lattice of ${factor}`);
    offsets.push(o);
    for (let c = 0; c < CHA; c++) {
      for (let m = 0; m < M; m++) {
        const from = 2 * RO * (o + factor * m + E1 * (c + CHA * f));
        data.set(buffer.data.data.subarray(from, from + 2 * RO), 2 * RO * (m + M * (c + CHA * f)));
      }
    }
  }
  return { ...buffer, data: { data, dims: [RO, M, 1, CHA, ...outer] }, lattice: { factor, offsets } };
}

test('GenericReconCartesianGrappaGadget gives the same bits from a compact (lattice) data buffer as from the full grid', async () => {
  const scan = makeScan(spec2);
  const compact = compacted(scan.data, 2);
  assert.deepEqual(expandLattice(compact).data, scan.data.data, 'expandLattice undoes the compaction');
  const [full] = await recon(scan);
  const [fromCompact] = await recon({ header: scan.header, recon: { kind: 'recondata', rbit: [{ data: compact, ref: scan.ref as DataBuffered }] } });
  assert.deepEqual((fromCompact as ImageArray).data.data, (full as ImageArray).data.data);
  assert.deepEqual((fromCompact as ImageArray).data.dims, (full as ImageArray).data.dims);
});
