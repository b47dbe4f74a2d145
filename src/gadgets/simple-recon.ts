/**
 * SimpleReconGadget: centred unitary inverse FFT over E0/E1/E2 of every
 * (N, S, LOC) block of a recon buffer, then root sum of squares over coils.
 * The reference (calibration) data is ignored. Output: an image array
 * [E0, E1, E2, 1, N, S, LOC] with headers filled from the centre readout.
 * The gadget transforms the k-space of the buffers it receives in place, as
 * Gadgetron's does ("Do the FFTs in place"): a buffer is consumed; the
 * exported {@link simpleRecon} leaves its argument unchanged.
 */
import type { DataBuffered, ImageArray, ReconData } from '../ismrmrd/buffers.js';
import { DataType, emptyImageHeader, ImageType, type AcquisitionHeader, type ImageHeader, type MetaContainer } from '../ismrmrd/types.js';
import { giveBackSliceBuffer } from '../engine/slice-buffers.js';
import { defineGadget } from '../engine/gadget.js';
import { isReconData } from '../ismrmrd/messages.js';
import { isShared, sharedFloat32 } from '../engine/thread-pool.js';
import { executionOf, INLINE, reconPool, runInline, runOnPool, splitRange, type ReconExecution, type ReconSteps, type RssFramesArgs } from './generic-recon-tasks.js';
import { rootSumOfSquaresInto } from '../kernels/complex-ops.js';
import { fftc } from '../kernels/fft.js';

/** Picks the header of the centre line of block (n, s, loc), or the first sampled one. */
export function centreHeader(buffer: DataBuffered, n: number, s: number, loc: number): AcquisitionHeader | undefined {
  const [NE1, NE2, NN, NS] = buffer.headerDims as [number, number, number, number, number];
  const at = (e1: number, e2: number): AcquisitionHeader | undefined =>
    buffer.headers[e1 + NE1 * (e2 + NE2 * (n + NN * (s + NS * loc)))];
  const e1c = buffer.sampling.sampling_limits[1].center;
  const e2c = buffer.sampling.sampling_limits[2].center;
  const centre = e1c < NE1 && e2c < NE2 ? at(e1c, e2c) : undefined;
  if (centre) return centre;
  for (let e2 = 0; e2 < NE2; e2++) for (let e1 = 0; e1 < NE1; e1++) {
    const h = at(e1, e2);
    if (h) return h;
  }
  return undefined;
}

/** Image header for one reconstructed block, as Gadgetron fills it from the acquisition. */
export function imageHeaderFromAcquisition(acq: AcquisitionHeader | undefined, matrix: number[], fov: [number, number, number]): ImageHeader {
  const h = emptyImageHeader();
  h.data_type = DataType.CXFLOAT;
  h.image_type = ImageType.MAGNITUDE;
  h.matrix_size = [...matrix];
  h.field_of_view = [...fov];
  h.channels = 1;
  if (acq) {
    h.flags = 0n;
    h.measurement_uid = acq.measurement_uid;
    h.position = [...acq.position];
    h.read_dir = [...acq.read_dir];
    h.phase_dir = [...acq.phase_dir];
    h.slice_dir = [...acq.slice_dir];
    h.patient_table_position = [...acq.patient_table_position];
    h.average = acq.idx.average;
    h.slice = acq.idx.slice;
    h.contrast = acq.idx.contrast;
    h.phase = acq.idx.phase;
    h.repetition = acq.idx.repetition;
    h.set = acq.idx.set;
    h.acquisition_time_stamp = acq.acquisition_time_stamp;
    h.physiology_time_stamp = [...acq.physiology_time_stamp];
    h.user_int = [...acq.user_int];
    h.user_float = [...acq.user_float];
  }
  return h;
}

/** Reconstructs every block of one buffer; `nextIndex` numbers the images. */
export function simpleRecon(buffer: DataBuffered, nextIndex: () => number, series: number): ImageArray {
  return runInline(simpleReconSteps(buffer, nextIndex, series, INLINE));
}

/** Options of {@link simpleReconSteps}. */
export interface SimpleReconOptions {
  /**
   * Transform the buffer's k-space in place instead of a copy: no 2 × E0·E1·E2·CHA
   * scratch per block. For a caller that owns the buffer and drops it afterwards
   * (the gadget: Gadgetron's SimpleReconGadget also does its FFTs in place).
   */
  inPlace?: boolean;
}

/** Steps of {@link simpleRecon}: the blocks spread over `exec.parts` tasks; image numbers are taken in block order before any work. */
export function* simpleReconSteps(
  buffer: DataBuffered, nextIndex: () => number, series: number, exec: ReconExecution, options: SimpleReconOptions = {},
): ReconSteps<ImageArray> {
  const [E0, E1, E2, CHA, N, S, LOC] = buffer.data.dims as [number, number, number, number, number, number, number];
  const image = E0 * E1 * E2;
  const { headers, meta } = imageHeaders(buffer, nextIndex, series);
  const blocks = N * S * LOC;
  const out = sharedFloat32(2 * image * blocks, exec.shared);
  let data = buffer.data.data;
  let inPlace = options.inPlace === true;
  if (exec.shared && !isShared(data)) {
    data = sharedFloat32(data.length);
    data.set(buffer.data.data);
    inPlace = true; // our own copy
  }
  yield splitRange(blocks, exec.parts).map(([from, to]) => ['rssFrames', {
    data, dims: [E0, E1, E2, CHA], blocks: Array.from({ length: to - from }, (_v, k) => from + k), out, inPlace,
  } satisfies RssFramesArgs] as const);
  return { kind: 'imagearray', data: { data: out, dims: [E0, E1, E2, 1, N, S, LOC] }, headers, meta };
}

/** Headers (numbered by `nextIndex`, in block order) and empty meta of the images of `buffer`'s (N, S, LOC) blocks. */
function imageHeaders(buffer: DataBuffered, nextIndex: () => number, series: number): { headers: ImageHeader[]; meta: MetaContainer[] } {
  const [E0, E1, E2, , N, S, LOC] = buffer.data.dims as [number, number, number, number, number, number, number];
  const headers: ImageHeader[] = [];
  const meta: MetaContainer[] = [];
  for (let loc = 0; loc < LOC; loc++) {
    for (let s = 0; s < S; s++) {
      for (let n = 0; n < N; n++) {
        const h = imageHeaderFromAcquisition(centreHeader(buffer, n, s, loc), [E0, E1, E2], buffer.sampling.recon_FOV);
        h.image_index = nextIndex();
        h.image_series_index = series;
        headers.push(h);
        meta.push(new Map());
      }
    }
  }
  return { headers, meta };
}

/**
 * {@link simpleRecon} on the calling thread, transforming `buffer`'s k-space
 * in place (the gadget's path for small buffers): per block one `fftc` and
 * one root sum of squares written straight into the real parts of the
 * image (the same calls, so the same bits, as the pool's `rssFrames`).
 */
export function simpleReconInPlace(buffer: DataBuffered, nextIndex: () => number, series: number): ImageArray {
  const [E0, E1, E2, CHA, N, S, LOC] = buffer.data.dims as [number, number, number, number, number, number, number];
  const image = E0 * E1 * E2;
  const block = image * CHA;
  const { headers, meta } = imageHeaders(buffer, nextIndex, series);
  const blocks = N * S * LOC;
  const out = new Float32Array(2 * image * blocks);
  const data = buffer.data.data;
  for (let b = 0; b < blocks; b++) {
    const work = data.subarray(2 * b * block, 2 * (b + 1) * block);
    fftc(work, [E0, E1, E2, CHA], [0, 1, 2], true);
    rootSumOfSquaresInto(work, [E0, E1, E2, CHA], 3, out.subarray(2 * b * image, 2 * (b + 1) * image), 2);
  }
  return { kind: 'imagearray', data: { data: out, dims: [E0, E1, E2, 1, N, S, LOC] }, headers, meta };
}

/** `fn()` now, on this thread, as a settled promise. */
function inlineResult<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

const IN_PLACE: SimpleReconOptions = { inPlace: true };

/** Buffers smaller than this (complex k-space bytes) are reconstructed on the calling thread. */
const INLINE_BELOW_BYTES = 8 * 1024 * 1024;

export const simpleReconGadget = defineGadget({
  name: 'SimpleReconGadget',
  classNames: ['SimpleReconGadget'],
  properties: {
    image_series: { type: 'integer', default: 0, min: 0 },
  },
  strict: false,
  description: 'Centred inverse FFT and root-sum-of-squares coil combination',
  // The buffers it receives are its own: their k-space is transformed in place (as in Gadgetron).
  accepts: isReconData,
  async run(input, output, props) {
    let counter = 0;
    const nextIndex = (): number => ++counter;
    const pool = reconPool();
    const exec = executionOf(pool);
    // Buffers (e.g. repetitions) are reconstructed concurrently, up to one per worker, and sent in input order.
    const window: Promise<ImageArray>[] = [];
    const limit = Math.max(1, pool.workers);
    for await (const recon of input as AsyncIterable<ReconData>) {
      for (const bit of recon.rbit) {
        // A small buffer costs less inline than starting a worker thread for it (same bits either way).
        const kspace = bit.data.data.data;
        const pending = (kspace.byteLength < INLINE_BELOW_BYTES
          ? inlineResult(() => simpleReconInPlace(bit.data, nextIndex, props.image_series))
          : runOnPool(pool, simpleReconSteps(bit.data, nextIndex, props.image_series, exec, IN_PLACE))
        ).then((images) => {
          // The images are new arrays: the k-space buffer ends here, and BucketToBuffer reuses it (no fresh pages).
          giveBackSliceBuffer(kspace);
          return images;
        });
        pending.catch(() => undefined);
        window.push(pending);
        if (window.length >= limit) await output.push(await (window.shift() as Promise<ImageArray>));
      }
    }
    while (window.length > 0) await output.push(await (window.shift() as Promise<ImageArray>));
  },
});
