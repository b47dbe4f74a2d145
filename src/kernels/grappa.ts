/**
 * GRAPPA (Griswold et al., MRM 2002;47:1202) for Cartesian undersampling in
 * E1 (2D) and E1×E2 (3D): kernel calibration on fully sampled ACS data with
 * trace-scaled Tikhonov regularisation, the k-space convolution kernel, its
 * image-domain form, unmixing weights combined with coil maps, and the
 * g-factor (Breuer et al., MRM 2009;62:739).
 *
 * Calibration: every ACS position (ro, e1, e2) far enough from the borders
 * gives a row of A with the source samples a_src(ro + δ, e1 + κ1, e2 + κ2, c)
 * (columns src-major, then κ2, κ1, δ fastest) and a row of B with the targets
 * a_dst(ro, e1 + o1, e2 + o2, d) (o2 outer, o1, d fastest). The weights are
 *
 *   X = (AᴴA + λ·tr(AᴴA)/K·I)⁻¹ AᴴB,   K = #columns of A.
 *
 * Convolution kernel: K_conv(−δ + cRO, o1 − κ1 + cE1, o2 − κ2 + cE2, src, dst)
 * = X(δ, κ1, κ2, src; dst, o1, o2), so that circular convolution of the
 * zero-filled k-space with K_conv gives the GRAPPA k-space; without
 * "fit itself" the acquired line is kept through an identity at the centre.
 *
 * Image domain: kIm(x, src, dst) = F_c⁻¹(pad(√(RO·E1·E2)·K_conv)) with the
 * kernel centre at (⌊RO/2⌋, ⌊E1/2⌋, ⌊E2/2⌋), so that
 * F_c⁻¹(K_conv ⊛ zf) = Σ_src kIm(·, src, ·)·F_c⁻¹(zf)_src. With coil maps m
 * (Σ_d |m_d|² = 1) the unmixing weights are u_src = Σ_dst kIm(src, dst)·conj(m_dst),
 * the combined image I = Σ_src u_src·a_src, and g = ‖u‖₂/(R_E1·R_E2).
 */
import { cgemm, cherk, cposv } from './blas.js';
import { channelSum } from './channel-sum.js';
import { rootSumOfSquaresOfPlanes } from './complex-ops.js';
import { NotPositiveDefiniteError } from './dense.js';
import { fftc } from './fft.js';
import { checkOperand, type LinearOperator } from './linear-operator.js';
import { copyInto } from './copy.js';

/** Source and target offsets of a GRAPPA kernel. */
export interface GrappaPattern {
  /** Readout source offsets δ = −⌊kRO/2⌋ … ⌊kRO/2⌋ (kRO rounded up to odd). */
  readonly ro: readonly number[];
  /** E1 source offsets κ1 (multiples of R_E1). */
  readonly e1: readonly number[];
  /** E2 source offsets κ2 (multiples of R_E2); [0] in 2D. */
  readonly e2: readonly number[];
  /** Target offsets (o1, o2) relative to an acquired position, o2 outer and o1 inner. */
  readonly targets: readonly (readonly [number, number])[];
  /** True when the targets include (0, 0): the acquired position is re-estimated. */
  readonly fitItself: boolean;
  readonly accelE1: number;
  readonly accelE2: number;
}

/** Options of {@link grappaKernelPattern} and {@link calibrateGrappa}. */
export interface GrappaKernelOptions {
  accelE1: number;
  /** Default 1; > 1 only for 3D. */
  accelE2?: number;
  /** Readout kernel size (Gadgetron `grappa_kSize_RO`, 5); even sizes are rounded up. */
  kRO: number;
  /** Number of E1 source lines (`grappa_kSize_E1`, 4). */
  kE1: number;
  /** Number of E2 source partitions (`grappa_kSize_E2`, 4); 3D only. */
  kE2?: number;
  /** True for a 3D kernel (E2 > 1). */
  threeD?: boolean;
  /** Estimate the acquired position too (needed when source and target channels differ). */
  fitItself: boolean;
}

/** Options of {@link calibrateGrappa}. */
export interface GrappaCalibrationOptions extends GrappaKernelOptions {
  /** Tikhonov λ relative to tr(AᴴA)/K (`grappa_reg_lamda`, 5e-4). */
  lambda: number;
  /** 3D only: limit the rows of A to ⌈ratio·K⌉ (`grappa_calib_over_determine_ratio`, 45); ≤ 1 uses all. */
  overDetermineRatio?: number;
}

/** Source offsets along one phase-encoding direction for `k` lines at acceleration `R`. */
function sourceOffsets(k: number, R: number): number[] {
  const out: number[] = [];
  if (k % 2 === 0) {
    for (let i = -(k / 2 - 1); i <= k / 2; i++) out.push(i * R);
  } else {
    const h = (k - 1) / 2;
    for (let i = -h; i <= h; i++) out.push(i * R);
  }
  return out;
}

function checkPositiveInteger(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`Cannot build a GRAPPA kernel: ${name} = ${v} is not a positive integer`);
}

/**
 * Kernel geometry: E1 offsets {−(k/2 − 1)R, …, (k/2)R} for even k and
 * {−⌊k/2⌋R, …, ⌊k/2⌋R} for odd k (likewise E2 in 3D), RO offsets
 * −⌊kRO/2⌋ … ⌊kRO/2⌋, targets o ∈ [0, R) (without (0, 0) unless `fitItself`).
 * In 3D without `fitItself` the targets are every (o1, o2) but (0, 0);
 * Gadgetron builds the product of the two 1D target sets there, which leaves
 * out every target with o1 = 0 or o2 = 0 (none at all for R_E2 = 1); its recon
 * gadget takes that path only with downstream_coil_compression = false.
 */
export function grappaKernelPattern(options: GrappaKernelOptions): GrappaPattern {
  const accelE1 = options.accelE1;
  const accelE2 = options.accelE2 ?? 1;
  const threeD = options.threeD ?? false;
  checkPositiveInteger('accelE1', accelE1);
  checkPositiveInteger('accelE2', accelE2);
  checkPositiveInteger('kRO', options.kRO);
  checkPositiveInteger('kE1', options.kE1);
  if (!threeD && accelE2 !== 1) throw new RangeError(`Cannot build a 2D GRAPPA kernel with acceleration ${accelE2} in E2`);
  const h = options.kRO >> 1;
  const ro: number[] = [];
  for (let d = -h; d <= h; d++) ro.push(d);
  const e1 = sourceOffsets(options.kE1, accelE1);
  let e2 = [0];
  if (threeD) {
    checkPositiveInteger('kE2', options.kE2 ?? 4);
    e2 = sourceOffsets(options.kE2 ?? 4, accelE2);
  }
  const targets: [number, number][] = [];
  for (let o2 = 0; o2 < accelE2; o2++) {
    for (let o1 = 0; o1 < accelE1; o1++) {
      if (!options.fitItself && o1 === 0 && o2 === 0) continue;
      targets.push([o1, o2]);
    }
  }
  return { ro, e1, e2, targets, fitItself: options.fitItself, accelE1, accelE2 };
}

/** Calibrated GRAPPA weights. */
export interface GrappaCalibration {
  readonly pattern: GrappaPattern;
  readonly srcCha: number;
  readonly dstCha: number;
  /**
   * K × (T·dstCha) column-major complex weights, K = |ro|·|e1|·|e2|·srcCha:
   * rows δ fastest, then κ1, κ2, src; columns d fastest, then target.
   */
  readonly weights: Float32Array;
  /** K, the number of source samples per equation. */
  readonly unknowns: number;
  /** Rows of A used (calibration equations). */
  readonly equations: number;
}

/**
 * The least-squares system of a GRAPPA calibration, A·W ≈ B: A (M × K) holds
 * the source samples of each of the M kernel positions in the ACS region, B
 * (M × T) its targets; both column-major complex.
 */
export interface GrappaSystem {
  readonly pattern: GrappaPattern;
  readonly srcCha: number;
  readonly dstCha: number;
  readonly lambda: number;
  readonly K: number;
  readonly T: number;
  readonly M: number;
  readonly A: Float32Array;
  readonly B: Float32Array;
}

/**
 * The normal equations AᴴA·W = AᴴB of a calibration, formed where the
 * solve reads them: `gram` is K × K (column-major complex) and holds the
 * lower triangle of AᴴA (the upper one is never read nor written), `rhs` is
 * K × T, AᴴB. They are formed in two pieces of equal work, split at column
 * {@link normalSplit} of A (A = [A₁ A₂]): piece 0 is A₁ᴴA₁ and A₂ᴴA₂ (lower
 * triangles, Hermitian rank-k updates) and A₁ᴴB, piece 1 is A₂ᴴA₁ and A₂ᴴB,
 * each written into its own rows and columns of the two arrays. Two threads
 * form them at once; one thread forms both, in the same way, so the weights
 * have the same bits for any thread count. {@link solveGrappa} solves them in
 * place: no matrix is assembled or copied between forming and solving.
 */
export interface NormalEquations {
  /** K × K: the lower triangle of AᴴA; the Cholesky factor after {@link solveGrappa}. */
  readonly gram: Float32Array;
  /** K × T: AᴴB; the weights after {@link solveGrappa}. */
  readonly rhs: Float32Array;
}

/** k₁, the columns of A in its first block. */
export function normalSplit(K: number): number {
  return K >> 1;
}

/** Floats of the arrays of {@link NormalEquations} for `system`. */
export function normalEquationFloats(system: Pick<GrappaSystem, 'K' | 'T'>): { gram: number; rhs: number } {
  return { gram: 2 * system.K * system.K, rhs: 2 * system.K * system.T };
}

/** The arrays of {@link NormalEquations} for `system`, from `allocate`, not yet formed. */
export function normalEquations(
  system: Pick<GrappaSystem, 'K' | 'T'>, allocate: (floats: number) => Float32Array = (n) => new Float32Array(n),
): NormalEquations {
  const n = normalEquationFloats(system);
  return { gram: allocate(n.gram), rhs: allocate(n.rhs) };
}

/** Forms piece `part` of the normal equations of `system` into its rows and columns of `out`. */
export function normalEquationPiece(system: GrappaSystem, part: 0 | 1, out: NormalEquations): NormalEquations {
  const { K, T, M, A, B } = system;
  const n = normalEquationFloats(system);
  if (out.gram.length < n.gram || out.rhs.length < n.rhs) {
    throw new RangeError(`Cannot form GRAPPA normal equations of ${K} unknowns and ${T} targets: the arrays hold too few values`);
  }
  const k1 = normalSplit(K);
  const k2 = K - k1;
  const A1 = A.subarray(0, 2 * M * k1);
  const A2 = A.subarray(2 * M * k1, 2 * M * K);
  // Block (i, j) of the K × K and K × T arrays starts at float 2·(i + K·j).
  const at = (a: Float32Array, i: number, j: number): Float32Array => a.subarray(2 * (i + K * j));
  if (part === 0) {
    if (k1 > 0) cherk(k1, M, A1, out.gram, { trans: 'C', ldc: K });
    cherk(k2, M, A2, at(out.gram, k1, k1), { trans: 'C', ldc: K });
    if (k1 > 0 && T > 0) cgemm(k1, T, M, A1, B, out.rhs, { opA: 'C', ldc: K });
  } else {
    if (k1 > 0) cgemm(k2, k1, M, A2, A1, at(out.gram, k1, 0), { opA: 'C', ldc: K });
    if (T > 0) cgemm(k2, T, M, A2, B, at(out.rhs, k1, 0), { opA: 'C', ldc: K });
  }
  return out;
}

/**
 * Solves the regularized normal equations in place: λ·trace(G)/K added to
 * the diagonal of G = AᴴA, then G·W = AᴴB by Cholesky (the lower triangle).
 * `normal.gram` ends as the Cholesky factor; the returned weights are
 * `normal.rhs`.
 */
export function solveGrappa(system: GrappaSystem, normal: NormalEquations): GrappaCalibration {
  const { pattern, srcCha, dstCha, K, T, M } = system;
  const G = normal.gram;
  let trace = 0;
  for (let i = 0; i < K; i++) trace += Math.abs(G[2 * (i + K * i)] as number);
  if (!(trace > 0) || !Number.isFinite(trace)) {
    throw new Error('Cannot calibrate GRAPPA: the calibration (ACS) data are all zero or not finite');
  }
  const reg = (system.lambda * trace) / K;
  for (let i = 0; i < K; i++) {
    G[2 * (i + K * i)] = Math.abs(G[2 * (i + K * i)] as number) + reg;
    G[2 * (i + K * i) + 1] = 0;
  }
  if (T === 0) return { pattern, srcCha, dstCha, weights: new Float32Array(0), unknowns: K, equations: M };
  const weights = normal.rhs.subarray(0, 2 * K * T);
  try {
    cposv(K, T, G, weights);
  } catch (err) {
    if (err instanceof NotPositiveDefiniteError) {
      throw new Error(
        `Cannot calibrate GRAPPA: the normal equations are singular (${M} equations for ${K} unknowns, grappa_reg_lamda = ${system.lambda}); increase grappa_reg_lamda or the ACS size`,
        { cause: err },
      );
    }
    throw err;
  }
  return { pattern, srcCha, dstCha, weights, unknowns: K, equations: M };
}

/**
 * Calibrates GRAPPA weights from fully sampled ACS data: `acsSrc`
 * [RO, E1, E2, srcCha] and `acsDst` [RO, E1, E2, dstCha] (pass the same array
 * for both with `fitItself` false to keep acquired lines). Throws a clear
 * Error when the ACS region is too small for the kernel or all zero.
 */
export function calibrateGrappa(
  acsSrc: Float32Array, acsDims: readonly number[], acsDst: Float32Array, dstCha: number, options: GrappaCalibrationOptions,
): GrappaCalibration {
  const system = grappaSystem(acsSrc, acsDims, acsDst, dstCha, options);
  const normal = normalEquations(system);
  normalEquationPiece(system, 0, normal);
  normalEquationPiece(system, 1, normal);
  return solveGrappa(system, normal);
}

/**
 * The system of a GRAPPA calibration (see {@link calibrateGrappa} for the
 * arguments), with A and B from `allocate` (shared memory, for threads).
 */
export function grappaSystem(
  acsSrc: Float32Array, acsDims: readonly number[], acsDst: Float32Array, dstCha: number, options: GrappaCalibrationOptions,
  allocate: (floats: number) => Float32Array = (n) => new Float32Array(n),
): GrappaSystem {
  if (acsDims.length !== 4) throw new RangeError(`Cannot calibrate GRAPPA: ACS dims [${acsDims.join(', ')}] are not [RO, E1, E2, CHA]`);
  const [RO, E1, E2, srcCha] = acsDims as [number, number, number, number];
  const vol = RO * E1 * E2;
  if (acsSrc.length !== 2 * vol * srcCha) {
    throw new RangeError(`Cannot calibrate GRAPPA: source ACS length ${acsSrc.length} does not match [${acsDims.join(', ')}]`);
  }
  if (acsDst.length !== 2 * vol * dstCha) {
    throw new RangeError(`Cannot calibrate GRAPPA: target ACS length ${acsDst.length} does not match ${dstCha} channels of [${RO}, ${E1}, ${E2}]`);
  }
  const threeD = options.threeD ?? E2 > 1;
  const pattern = grappaKernelPattern({ ...options, threeD });
  if (!pattern.fitItself && dstCha !== srcCha) {
    throw new RangeError(`Cannot calibrate GRAPPA without fitting the acquired lines: ${srcCha} source and ${dstCha} target channels differ`);
  }
  const { ro, e1, e2, targets } = pattern;
  const h = ro.length >> 1;
  const e1Min = e1[0] as number;
  const e1Max = e1[e1.length - 1] as number;
  const e2Min = e2[0] as number;
  const e2Max = e2[e2.length - 1] as number;
  const needE1 = e1Max - e1Min + 1;
  if (E1 < needE1) {
    throw new Error(
      `Cannot calibrate GRAPPA: ${E1} ACS lines are fewer than the kernel needs (${needE1} lines for grappa_kSize_E1 = ${e1.length} at acceleration ${pattern.accelE1})`,
    );
  }
  const needE2 = e2Max - e2Min + 1;
  if (E2 < needE2) {
    throw new Error(
      `Cannot calibrate GRAPPA: ${E2} ACS partitions are fewer than the kernel needs (${needE2} partitions for grappa_kSize_E2 = ${e2.length} at acceleration ${pattern.accelE2})`,
    );
  }
  if (RO < ro.length) {
    throw new Error(`Cannot calibrate GRAPPA: ${RO} ACS readout samples are fewer than the kernel needs (${ro.length} for grappa_kSize_RO)`);
  }
  const sE1 = Math.abs(e1Min);
  const eE1 = E1 - 1 - e1Max;
  const sE2 = Math.abs(e2Min);
  const eE2 = E2 - 1 - e2Max;
  let sRO = h;
  let eRO = RO - h - 1;
  const lenE1 = eE1 - sE1 + 1;
  const lenE2 = eE2 - sE2 + 1;
  const K = ro.length * e1.length * e2.length * srcCha;
  const T = targets.length * dstCha;
  const ratio = options.overDetermineRatio ?? 0;
  if (threeD && ratio > 1) {
    const maxRows = Math.ceil(ratio * K);
    const maxRO = Math.max(1, Math.floor(maxRows / (lenE1 * lenE2)));
    if (maxRO < eRO - sRO + 1) {
      let best = -1;
      let roInd = 0;
      for (let x = 0; x < RO; x++) {
        let re = 0;
        let im = 0;
        for (let z = 0; z < E2; z++) {
          for (let y = 0; y < E1; y++) {
            re += acsSrc[2 * (x + RO * (y + E1 * z))] as number;
            im += acsSrc[2 * (x + RO * (y + E1 * z)) + 1] as number;
          }
        }
        const a = Math.hypot(re, im);
        if (a > best) {
          best = a;
          roInd = x;
        }
      }
      sRO = roInd > Math.floor(maxRO / 2) + h ? roInd - Math.floor(maxRO / 2) : h;
      eRO = Math.min(sRO + maxRO - 1, RO - h - 1);
    }
  }
  const lenRO = eRO - sRO + 1;
  const M = lenRO * lenE1 * lenE2;
  const Ad = allocate(2 * M * K);
  const Bd = allocate(2 * M * T);
  // Column by column: row (x, y, z) of a column is x fastest, so each (y, z) fills lenRO consecutive
  // entries from lenRO consecutive samples of one ACS line.
  const copyColumn = (dst: Float32Array, col: number, src: Float32Array, offset: number): void => {
    let t = 2 * M * col;
    for (let z = sE2; z <= eE2; z++) {
      for (let y = sE1; y <= eE1; y++) {
        const from = 2 * (offset + sRO + RO * (y + E1 * z));
        copyInto(dst, src.subarray(from, from + 2 * lenRO), t);
        t += 2 * lenRO;
      }
    }
  };
  let col = 0;
  for (let c = 0; c < srcCha; c++) {
    for (const k2 of e2) {
      for (const k1 of e1) {
        for (const d of ro) copyColumn(Ad, col++, acsSrc, vol * c + d + RO * (k1 + E1 * k2));
      }
    }
  }
  col = 0;
  for (const [o1, o2] of targets) {
    for (let d = 0; d < dstCha; d++) copyColumn(Bd, col++, acsDst, vol * d + RO * (o1 + E1 * o2));
  }
  return { pattern, srcCha, dstCha, lambda: options.lambda, K, T, M, A: Ad, B: Bd };
}

/** GRAPPA k-space convolution kernel [cRO, cE1, cE2, srcCha, dstCha] with its centre index. */
export interface GrappaConvolutionKernel {
  readonly data: Float32Array;
  readonly dims: readonly [number, number, number, number, number];
  /** Index of the zero shift along RO, E1, E2. */
  readonly center: readonly [number, number, number];
}

/**
 * Converts calibrated weights into a convolution kernel: size (2·kRO + 3) ×
 * (2·c1 + 1) × (2·c2 + 1) with c = max |o − κ| (= max |κ| for even kernel
 * sizes), centre (kRO + 1, c1, c2); the identity is set at the centre for
 * src = dst when the acquired position is not fitted.
 */
export function grappaConvolutionKernel(cal: GrappaCalibration): GrappaConvolutionKernel {
  const { pattern, srcCha, dstCha, weights } = cal;
  const { ro, e1, e2, targets } = pattern;
  const kRO = ro.length;
  let c1 = 0;
  let c2 = 0;
  for (const k of e1) c1 = Math.max(c1, Math.abs(k));
  for (const k of e2) c2 = Math.max(c2, Math.abs(k));
  for (const [o1, o2] of targets) {
    for (const k of e1) c1 = Math.max(c1, Math.abs(o1 - k));
    for (const k of e2) c2 = Math.max(c2, Math.abs(o2 - k));
  }
  const cRO = 2 * kRO + 3;
  const cE1 = 2 * c1 + 1;
  const cE2 = 2 * c2 + 1;
  const centreRO = kRO + 1;
  const data = new Float32Array(2 * cRO * cE1 * cE2 * srcCha * dstCha);
  const K = cal.unknowns;
  const W = weights;
  const at = (a: number, b: number, c: number, s: number, d: number): number => a + cRO * (b + cE1 * (c + cE2 * (s + srcCha * d)));
  targets.forEach(([o1, o2], t) => {
    for (let d = 0; d < dstCha; d++) {
      const col = d + dstCha * t;
      let row = 0;
      for (let s = 0; s < srcCha; s++) {
        for (const k2 of e2) {
          for (const k1 of e1) {
            for (const delta of ro) {
              const i = at(centreRO - delta, o1 - k1 + c1, o2 - k2 + c2, s, d);
              data[2 * i] = W[2 * (row + K * col)] as number;
              data[2 * i + 1] = W[2 * (row + K * col) + 1] as number;
              row++;
            }
          }
        }
      }
    }
  });
  if (!pattern.fitItself && srcCha === dstCha) {
    for (let s = 0; s < srcCha; s++) {
      for (let d = 0; d < dstCha; d++) {
        const i = at(centreRO, c1, c2, s, d);
        data[2 * i] = s === d ? 1 : 0;
        data[2 * i + 1] = 0;
      }
    }
  }
  return { data, dims: [cRO, cE1, cE2, srcCha, dstCha], center: [centreRO, c1, c2] };
}

function checkSize(what: string, size: readonly number[]): [number, number, number] {
  if (size.length !== 3 || size.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(`Cannot ${what}: size [${size.join(', ')}] is not [RO, E1, E2]`);
  }
  return size as [number, number, number];
}

const mod = (i: number, n: number): number => ((i % n) + n) % n;

/**
 * Image-domain GRAPPA kernel of one (src, dst) pair on an [RO, E1, E2] grid:
 * kIm = F_c⁻¹(pad(√(RO·E1·E2)·K_conv(·, src, dst))), the kernel centre at
 * (⌊RO/2⌋, ⌊E1/2⌋, ⌊E2/2⌋) (wrapping if the grid is smaller than the kernel).
 * `out` holds RO·E1·E2 complex values; returns it.
 */
export function grappaImageDomainKernel(conv: GrappaConvolutionKernel, size: readonly number[], src: number, dst: number, out: Float32Array): Float32Array {
  const [RO, E1, E2] = checkSize('compute the image-domain GRAPPA kernel', size);
  const [, , , srcCha, dstCha] = conv.dims;
  if (src < 0 || src >= srcCha || dst < 0 || dst >= dstCha) throw new RangeError(`Cannot take kernel (${src} → ${dst}) of a ${srcCha} → ${dstCha} kernel`);
  const vol = RO * E1 * E2;
  if (out.length !== 2 * vol) throw new RangeError(`Cannot compute the image-domain GRAPPA kernel: output holds ${out.length / 2} values, not ${vol}`);
  out.fill(0);
  padKernel(conv, RO, E1, E2, src, dst, out);
  return fftc(out, [RO, E1, E2], [0, 1, 2], true);
}

/** Adds √(RO·E1·E2)·K_conv(·, src, dst) into the zeroed [RO, E1, E2] grid `out`, centred as {@link grappaImageDomainKernel} says. */
function padKernel(conv: GrappaConvolutionKernel, RO: number, E1: number, E2: number, src: number, dst: number, out: Float32Array): void {
  const [cRO, cE1, cE2, srcCha] = conv.dims;
  const vol = RO * E1 * E2;
  const scale = Math.sqrt(vol);
  const [x0, y0, z0] = conv.center;
  const base = cRO * cE1 * cE2 * (src + srcCha * dst);
  for (let c = 0; c < cE2; c++) {
    const z = mod(Math.floor(E2 / 2) + c - z0, E2);
    for (let b = 0; b < cE1; b++) {
      const y = mod(Math.floor(E1 / 2) + b - y0, E1);
      for (let a = 0; a < cRO; a++) {
        const k = 2 * (base + a + cRO * (b + cE1 * c));
        const re = conv.data[k] as number;
        const im = conv.data[k + 1] as number;
        if (re === 0 && im === 0) continue;
        const x = mod(Math.floor(RO / 2) + a - x0, RO);
        const i = 2 * (x + RO * (y + E1 * z));
        out[i] = (out[i] as number) + scale * re;
        out[i + 1] = (out[i + 1] as number) + scale * im;
      }
    }
  }
}

/**
 * Unmixing weights u_src(x) = Σ_dst kIm(x, src, dst)·conj(m_dst(x)) into
 * `unmixing` [RO, E1, E2, srcCha], and, when `gfactor` is given, the g-factor
 * g(x) = √(Σ_src |u_src(x)|²)/(R_E1·R_E2) into it ([RO, E1, E2] real).
 * `maps` are [RO, E1, E2, dstCha] coil maps normalised so Σ_d |m_d|² = 1.
 */
export function grappaUnmixing(
  conv: GrappaConvolutionKernel, maps: Float32Array, size: readonly number[], acceleration: number, unmixing: Float32Array, gfactor?: Float32Array,
): Float32Array {
  const [RO, E1, E2] = checkSize('compute GRAPPA unmixing weights', size);
  const srcCha = conv.dims[3];
  const dstCha = conv.dims[4];
  const vol = RO * E1 * E2;
  if (maps.length !== 2 * vol * dstCha) {
    throw new RangeError(`Cannot compute GRAPPA unmixing weights: coil maps hold ${maps.length / (2 * vol)} channels of [${RO}, ${E1}, ${E2}], the kernel has ${dstCha} targets`);
  }
  if (unmixing.length !== 2 * vol * srcCha) throw new RangeError(`Cannot compute GRAPPA unmixing weights: output does not hold ${srcCha} channels of [${RO}, ${E1}, ${E2}]`);
  if (gfactor && gfactor.length !== vol) throw new RangeError(`Cannot compute the g-factor: output holds ${gfactor.length} values, not ${vol}`);
  grappaUnmixingChannels(conv, maps, size, 0, srcCha, unmixing);
  if (gfactor) gfactorFromUnmixing(unmixing, vol, srcCha, acceleration, gfactor);
  return unmixing;
}

/**
 * The unmixing weights u_src of {@link grappaUnmixing} for source channels
 * `from` ≤ src < `to` only, written into their place in `unmixing`
 * [RO, E1, E2, srcCha] (the other channels are left alone). Each channel's
 * sum runs over the targets in the same order whichever range it is computed
 * in, so splitting the channels over threads gives the same bits.
 */
export function grappaUnmixingChannels(
  conv: GrappaConvolutionKernel, maps: Float32Array, size: readonly number[], from: number, to: number, unmixing: Float32Array,
): Float32Array {
  const [RO, E1, E2] = checkSize('compute GRAPPA unmixing weights', size);
  const srcCha = conv.dims[3];
  const dstCha = conv.dims[4];
  const vol = RO * E1 * E2;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > srcCha || from > to) {
    throw new RangeError(`Cannot compute GRAPPA unmixing weights for channels [${from}, ${to}) of ${srcCha}`);
  }
  if (maps.length !== 2 * vol * dstCha) {
    throw new RangeError(`Cannot compute GRAPPA unmixing weights: coil maps hold ${maps.length / (2 * vol)} channels of [${RO}, ${E1}, ${E2}], the kernel has ${dstCha} targets`);
  }
  if (unmixing.length !== 2 * vol * srcCha) throw new RangeError(`Cannot compute GRAPPA unmixing weights: output does not hold ${srcCha} channels of [${RO}, ${E1}, ${E2}]`);
  if (dstCha === 0) return unmixing.fill(0, 2 * vol * from, 2 * vol * to);
  // Per source channel: the dstCha image-domain kernels in one batched FFT, then Σ_dst conj(m_dst)·kIm_dst in float64.
  const kIm = new Float32Array(2 * vol * dstCha);
  for (let s = from; s < to; s++) {
    kIm.fill(0);
    for (let d = 0; d < dstCha; d++) padKernel(conv, RO, E1, E2, s, d, kIm.subarray(2 * vol * d, 2 * vol * (d + 1)));
    fftc(kIm, [RO, E1, E2, dstCha], [0, 1, 2], true);
    channelSum(maps, kIm, vol, dstCha, true, 1, unmixing.subarray(2 * vol * s, 2 * vol * (s + 1)));
  }
  return unmixing;
}

/** g(x) = √(Σ_c |u_c(x)|²)/acceleration for unmixing weights [vol, channels]. */
export function gfactorFromUnmixing(unmixing: Float32Array, vol: number, channels: number, acceleration: number, gfactor: Float32Array): Float32Array {
  if (unmixing.length < 2 * vol * channels) throw new RangeError(`Cannot compute the g-factor: weights hold fewer than ${channels} × ${vol} values`);
  // √(Σ_c |u_c|²) / R, each pixel's sum over the channels in order (natively where the addon is built).
  return rootSumOfSquaresOfPlanes(unmixing, vol, channels, acceleration, gfactor);
}

/**
 * Applies unmixing weights: dst(x) = scale·Σ_{c < channels} u_c(x)·a_c(x),
 * with aliased images `aliased` [vol, ≥ channels] and weights `unmixing`
 * [vol, ≥ channels] (sums in float64, scaled, rounded once); `dst` holds vol
 * complex values.
 */
export function applyUnmixing(aliased: Float32Array, unmixing: Float32Array, vol: number, channels: number, dst: Float32Array, scale = 1): Float32Array {
  if (aliased.length < 2 * vol * channels || unmixing.length < 2 * vol * channels) {
    throw new RangeError(`Cannot apply GRAPPA unmixing over ${channels} channels: images or weights hold fewer than ${channels} × ${vol} values`);
  }
  if (dst.length !== 2 * vol) throw new RangeError(`Cannot apply GRAPPA unmixing: destination holds ${dst.length / 2} values, not ${vol}`);
  return channelSum(unmixing, aliased, vol, channels, false, scale, dst);
}

/**
 * Circular convolution of multi-channel k-space [RO, E1, E2, srcCha] with a
 * GRAPPA convolution kernel, giving [RO, E1, E2, dstCha]:
 * y(p, d) = Σ_{s, a} K(a, s, d)·x(p − (a − centre), s).
 */
export class GrappaKspaceConvolution implements LinearOperator {
  readonly name = 'GRAPPA k-space convolution';
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];

  constructor(readonly kernel: GrappaConvolutionKernel, readonly size: readonly [number, number, number]) {
    checkSize('build a GRAPPA convolution', size);
    this.inShape = [...size, kernel.dims[3]];
    this.outShape = [...size, kernel.dims[4]];
  }

  private apply(from: Float32Array, to: Float32Array, adjoint: boolean): void {
    const [RO, E1, E2] = this.size;
    const vol = RO * E1 * E2;
    const [cRO, cE1, cE2, srcCha, dstCha] = this.kernel.dims;
    const [x0, y0, z0] = this.kernel.center;
    const K = this.kernel.data;
    to.fill(0);
    for (let d = 0; d < dstCha; d++) {
      for (let s = 0; s < srcCha; s++) {
        const kBase = cRO * cE1 * cE2 * (s + srcCha * d);
        const inCh = adjoint ? d : s;
        const outCh = adjoint ? s : d;
        for (let c = 0; c < cE2; c++) {
          for (let b = 0; b < cE1; b++) {
            for (let a = 0; a < cRO; a++) {
              const k = 2 * (kBase + a + cRO * (b + cE1 * c));
              const kr = K[k] as number;
              const ki = adjoint ? -(K[k + 1] as number) : (K[k + 1] as number);
              if (kr === 0 && ki === 0) continue;
              const sign = adjoint ? 1 : -1;
              const dx = mod(sign * (a - x0), RO);
              const dy = mod(sign * (b - y0), E1);
              const dz = mod(sign * (c - z0), E2);
              for (let z = 0; z < E2; z++) {
                const zs = z + dz < E2 ? z + dz : z + dz - E2;
                for (let y = 0; y < E1; y++) {
                  const ys = y + dy < E1 ? y + dy : y + dy - E1;
                  const outRow = 2 * (RO * (y + E1 * z) + vol * outCh);
                  const inRow = 2 * (RO * (ys + E1 * zs) + vol * inCh);
                  for (let x = 0; x < RO; x++) {
                    const xs = x + dx < RO ? x + dx : x + dx - RO;
                    const fr = from[inRow + 2 * xs] as number;
                    const fi = from[inRow + 2 * xs + 1] as number;
                    to[outRow + 2 * x] = (to[outRow + 2 * x] as number) + kr * fr - ki * fi;
                    to[outRow + 2 * x + 1] = (to[outRow + 2 * x + 1] as number) + kr * fi + ki * fr;
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  forward(x: Float32Array, y: Float32Array): Float32Array {
    checkOperand(this, 'x', x, this.inShape);
    checkOperand(this, 'y', y, this.outShape);
    this.apply(x, y, false);
    return y;
  }

  adjoint(y: Float32Array, x: Float32Array): Float32Array {
    checkOperand(this, 'y', y, this.outShape);
    checkOperand(this, 'x', x, this.inShape);
    this.apply(y, x, true);
    return x;
  }
}

/**
 * GRAPPA unmixing as an operator [vol, channels] → [vol]: forward
 * I = Σ_c u_c·a_c, adjoint a_c = conj(u_c)·I.
 */
export class GrappaUnmixingOperator implements LinearOperator {
  readonly name = 'GRAPPA unmixing';
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];

  constructor(readonly unmixing: Float32Array, readonly vol: number, readonly channels: number) {
    if (unmixing.length !== 2 * vol * channels) throw new RangeError(`Cannot build GRAPPA unmixing: weights hold ${unmixing.length / 2} values, not ${vol} × ${channels}`);
    this.inShape = [vol, channels];
    this.outShape = [vol];
  }

  forward(x: Float32Array, y: Float32Array): Float32Array {
    checkOperand(this, 'x', x, this.inShape);
    checkOperand(this, 'y', y, this.outShape);
    return applyUnmixing(x, this.unmixing, this.vol, this.channels, y);
  }

  adjoint(y: Float32Array, x: Float32Array): Float32Array {
    checkOperand(this, 'y', y, this.outShape);
    checkOperand(this, 'x', x, this.inShape);
    const { vol, unmixing } = this;
    for (let c = 0; c < this.channels; c++) {
      const base = 2 * vol * c;
      for (let p = 0; p < vol; p++) {
        const ur = unmixing[base + 2 * p] as number;
        const ui = -(unmixing[base + 2 * p + 1] as number);
        const yr = y[2 * p] as number;
        const yi = y[2 * p + 1] as number;
        x[base + 2 * p] = ur * yr - ui * yi;
        x[base + 2 * p + 1] = ur * yi + ui * yr;
      }
    }
    return x;
  }
}
