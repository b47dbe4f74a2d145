/**
 * `generatePhantom`: writes a synthetic Cartesian ISMRMRD scan of the
 * modified Shepp–Logan phantom, with its ground truth, to an HDF5 file.
 *
 * Signal model, per slice s and cine phase φ (see shepp-logan.ts,
 * coil-maps.ts, noise.ts, sampling.ts and header.ts for each part):
 *
 *   coil_images(x + ⌊(M − matrix)/2⌋, y, z, c) = ρ_{s,φ}(x, y, z)·csm_{s,c}(x, y, z),  zero elsewhere,
 *   k = F_c(coil_images) over RO, E1 (and E2 when e2 > 1),
 *
 * with M = matrix × oversampling and F_c the centred unitary FFT (`fftc`,
 * k-space centre at ⌊n/2⌋). A readout of line (e1, e2) holds, per channel c,
 * the samples k(M − Ns + t, e1, e2, c), t ∈ [0, Ns) (Ns < M with asymmetric
 * echo), plus fresh noise σ·L·z per sample. Noise readouts hold M samples of
 * noise only.
 *
 * File layout (group `<group>`, '/dataset' by default):
 * - `xml`: the ISMRMRD header; `data`: the readouts in scan order.
 * - `ground_truth_object/{header,attributes,data}`: one complex float image
 *   per (slice, phase), slice-major, matrix × pe × e2 pixels, 1 channel,
 *   holding ρ (imaginary part 0); header slice = s, phase = φ,
 *   image_series_index 1, image_index 1, 2, ….
 * - `ground_truth_csm`: one complex float image per slice, matrix × pe × e2
 *   pixels, channels = coils (pixel x fastest, then y, z, channel), holding
 *   the unnormalised maps csm_{s,c}; slice = s, phase 0, series 2.
 * - `ground_truth_noise_covariance` (only when noise > 0): one complex float
 *   image of coils × coils × 1 pixels, 1 channel, pixel (i, j) at i + C·j
 *   holding Ψ_ij = E[n_i·conj(n_j)] for one complex sample (2σ²·I without
 *   coil correlation); series 3.
 * Pixel (x, y) of a ground-truth image is pixel (x + ⌊(M − matrix)/2⌋, y) of
 * the inverse FFT of the fully sampled, noise-free k-space.
 */
import { existsSync, rmSync } from 'node:fs';
import { IsmrmrdFile } from '../formats/index.js';
import { serializeIsmrmrdHeader } from '../ismrmrd/xml-header.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { fftc } from '../kernels/index.js';
import { birdcageLayout, birdcageMaps, ringsFor } from './coil-maps.js';
import type { CoilPosition } from './coil-maps.js';
import { acquisitionHeader, groundTruthImageHeader, phantomHeader, reconFov, sliceCentre } from './header.js';
import { ReceiverNoise } from './noise.js';
import { resolvePhantomOptions, scanGeometry } from './options.js';
import type { PhantomOptions, ResolvedPhantomOptions, ScanGeometry } from './options.js';
import { SeededRandom } from './random.js';
import { plannedReadouts } from './sampling.js';
import { sheppLoganVolume } from './shepp-logan.js';

/** Image variable names of the ground truth. */
export const GROUND_TRUTH = {
  object: 'ground_truth_object',
  csm: 'ground_truth_csm',
  noiseCovariance: 'ground_truth_noise_covariance',
} as const;

/** What {@link generatePhantom} wrote. */
export interface PhantomSummary {
  path: string;
  group: string;
  /** The options after defaults. */
  options: ResolvedPhantomOptions;
  /** The header written to `<group>/xml`, as an object and as text. */
  header: IsmrmrdHeader;
  xml: string;
  /** Readouts written, in total and by kind. */
  acquisitions: number;
  noiseReadouts: number;
  calibrationReadouts: number;
  imagingReadouts: number;
  /** Ground-truth images written per variable. */
  groundTruthImages: Record<string, number>;
  /** Ψ (complex float64 C × C, element (i, j) at 2·(i + C·j)). */
  noiseCovariance: Float64Array;
  /** Wall time, ms. */
  elapsedMs: number;
}

/** The noise-free k-space of one (slice, phase) volume, with the ground truth it came from. */
export interface PhantomVolume {
  /** ρ on [matrix, pe, e2], real float32. */
  object: Float32Array;
  /** csm on [matrix, pe, e2, coils], complex float32. */
  maps: Float32Array;
  /** k-space on [M, pe, e2, coils], complex float32. */
  kspace: Float32Array;
}

/**
 * Builds the noise-free k-space of slice `slice`, phase `phase` (see the
 * module comment). `maps` may pass in this slice's coil maps to skip
 * recomputing them; `kspace` a buffer of the right size to reuse.
 */
export function phantomVolume(
  o: ResolvedPhantomOptions,
  g: ScanGeometry,
  layout: readonly CoilPosition[],
  slice: number,
  phase: number,
  maps?: Float32Array,
  kspace?: Float32Array,
): PhantomVolume {
  const nx = o.matrix, ny = o.pe, nz = o.e2, C = o.coils, M = g.readoutLength;
  const zCentre = sliceCentre(slice, o.slices);
  const object = sheppLoganVolume({ nx, ny, nz, zCentre, phase, phases: o.phases });
  const csm = maps ?? birdcageMaps({ nx, ny, nz, zCentre }, layout);
  const k = kspace ?? new Float32Array(2 * M * ny * nz * C);
  k.fill(0);
  for (let c = 0; c < C; c++) {
    for (let p = 0; p < nz; p++) {
      for (let y = 0; y < ny; y++) {
        const src = nx * (y + ny * p);
        const mapAt = 2 * (src + nx * ny * nz * c);
        const dst = 2 * (g.roOffset + M * (y + ny * (p + nz * c)));
        for (let x = 0; x < nx; x++) {
          const rho = object[src + x];
          if (rho === 0) continue;
          k[dst + 2 * x] = rho * csm[mapAt + 2 * x];
          k[dst + 2 * x + 1] = rho * csm[mapAt + 2 * x + 1];
        }
      }
    }
  }
  fftc(k, [M, ny, nz, C], nz > 1 ? [0, 1, 2] : [0, 1], false);
  return { object, maps: csm, kspace: k };
}

function complexFromReal(re: Float32Array): Float32Array {
  const out = new Float32Array(2 * re.length);
  for (let i = 0; i < re.length; i++) out[2 * i] = re[i];
  return out;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Generates the scan described by `options` into `options.output` (see the
 * module comment for the file layout). Readouts are computed one (slice,
 * phase) volume at a time and appended as they are made, so memory holds one
 * volume's k-space and coil maps. Refuses an existing file unless
 * `overwrite` is set, and removes a partly written file on failure. The same
 * options always give the same samples.
 */
export async function generatePhantom(options: PhantomOptions): Promise<PhantomSummary> {
  const started = performance.now();
  const o = resolvePhantomOptions(options);
  const g = scanGeometry(o);
  if (existsSync(o.output)) {
    if (!o.overwrite) throw new Error(`Cannot write phantom: ${o.output} exists (overwrite it with --force)`);
    rmSync(o.output);
  }
  const header = phantomHeader(o, g);
  const xml = serializeIsmrmrdHeader(header);
  const layout = birdcageLayout(o.coils, ringsFor(o.coils, o.e2));
  const rng = new SeededRandom(o.seed);
  const noise = new ReceiverNoise(o.coils, o.coilCorrelation, o.noise, rng);
  const fov = reconFov(o);
  const size: [number, number, number] = [o.matrix, o.pe, o.e2];
  const file = IsmrmrdFile.open(o.output, o.group, { create: true });
  const counts = { noise: 0, calibration: 0, imaging: 0 };
  const images: Record<string, number> = { [GROUND_TRUTH.object]: 0, [GROUND_TRUTH.csm]: 0 };
  try {
    file.writeHeader(xml);
    let key = '';
    let volume: PhantomVolume | undefined;
    let mapsSlice = -1;
    const seenObject = new Set<string>();
    const seenMaps = new Set<number>();
    const M = g.readoutLength;
    const volumeStride = 2 * M * o.pe * o.e2;
    let counter = 0;
    for (const r of plannedReadouts(o, g)) {
      let data: Float32Array;
      if (r.kind === 'noise') {
        data = new Float32Array(2 * M * o.coils);
        noise.addTo(data, M);
      } else {
        const k = `${r.slice}/${r.phase}`;
        if (k !== key) {
          if (volume) await yieldToEventLoop();
          const maps = mapsSlice === r.slice ? volume?.maps : undefined;
          volume = phantomVolume(o, g, layout, r.slice, r.phase, maps, volume?.kspace);
          key = k;
          if (!seenMaps.has(r.slice)) {
            seenMaps.add(r.slice);
            const n = ++images[GROUND_TRUTH.csm];
            const head = groundTruthImageHeader(o, size, o.coils, fov, r.slice, 0, 2, n);
            file.appendImage({ kind: 'image', head, meta: new Map(), data: volume.maps }, GROUND_TRUTH.csm);
          }
          mapsSlice = r.slice;
          if (!seenObject.has(k)) {
            seenObject.add(k);
            const n = ++images[GROUND_TRUTH.object];
            const head = groundTruthImageHeader(o, size, 1, fov, r.slice, r.phase, 1, n);
            file.appendImage({ kind: 'image', head, meta: new Map(), data: complexFromReal(volume.object) }, GROUND_TRUTH.object);
          }
        }
        const ns = g.samples;
        data = new Float32Array(2 * ns * o.coils);
        const kspace = (volume as PhantomVolume).kspace;
        const start = 2 * (M - ns + M * (r.e1 + o.pe * r.e2));
        for (let c = 0; c < o.coils; c++) {
          const from = start + volumeStride * c;
          data.set(kspace.subarray(from, from + 2 * ns), 2 * ns * c);
        }
        noise.addTo(data, ns);
      }
      file.appendAcquisition({ kind: 'acquisition', head: acquisitionHeader(o, g, r, counter), traj: new Float32Array(0), data });
      counter++;
      counts[r.kind]++;
    }
    if (o.noise > 0) {
      const head = groundTruthImageHeader(o, [o.coils, o.coils, 1], 1, [o.coils, o.coils, 1], 0, 0, 3, 1);
      file.appendImage({ kind: 'image', head, meta: new Map(), data: Float32Array.from(noise.covariance) }, GROUND_TRUTH.noiseCovariance);
      images[GROUND_TRUTH.noiseCovariance] = 1;
    }
  } catch (err) {
    file.close();
    rmSync(o.output, { force: true });
    throw err;
  }
  file.close();
  return {
    path: o.output,
    group: file.group,
    options: o,
    header,
    xml,
    acquisitions: counts.noise + counts.calibration + counts.imaging,
    noiseReadouts: counts.noise,
    calibrationReadouts: counts.calibration,
    imagingReadouts: counts.imaging,
    groundTruthImages: images,
    noiseCovariance: noise.covariance,
    elapsedMs: performance.now() - started,
  };
}
