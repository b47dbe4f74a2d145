/**
 * Options of the phantom generator, their defaults and their validation, and
 * the derived scan geometry (sizes, sampled ranges, ACS band, passes).
 */

/** How calibration (ACS) data are acquired when the scan is accelerated. */
export type AcsMode = 'embedded' | 'separate' | 'interleaved';

/** The ACS modes, for validation and the CLI. */
export const ACS_MODES: readonly AcsMode[] = ['embedded', 'separate', 'interleaved'];

/** What `generatePhantom` is asked to make; every field but `output` has a default. */
export interface PhantomOptions {
  /** HDF5 file to write. */
  output: string;
  /** ISMRMRD group in the file (default '/dataset'). */
  group?: string;
  /** Replace an existing output file (default false: refuse). */
  overwrite?: boolean;
  /** Recon matrix along RO, without oversampling (default 256). */
  matrix?: number;
  /** Phase-encoding lines E1 (default: matrix). */
  pe?: number;
  /** Receiver coils (default 8). */
  coils?: number;
  /** Slices (default 1). */
  slices?: number;
  /** Cine phases (default 1). */
  phases?: number;
  /** Partitions E2; > 1 makes a 3D scan (default 1). */
  e2?: number;
  /** Readout oversampling factor; the RO matrix and FOV are multiplied by it (default 2). */
  oversampling?: number;
  /** Acceleration along E1 (default 1). */
  accel?: number;
  /** Acceleration along E2 (default 1). */
  accelE2?: number;
  /** Calibration lines along E1 (and E2, capped at e2) when accelerated (default min(24, pe); ignored without acceleration). */
  acs?: number;
  /** Calibration mode when accelerated (default 'embedded'). */
  acsMode?: AcsMode;
  /** Fraction of E1 lines acquired, the early lines missing (default 1). */
  partialFourier?: number;
  /** Fraction of the readout acquired, the early samples missing (default 1). */
  asymmetricEcho?: number;
  /** Noise-only readouts sent first (default 0). */
  noiseScans?: number;
  /** σ of each real and imaginary noise part (default 0.05). */
  noise?: number;
  /** Neighbouring-channel noise correlation κ in [0, 1) (default 0). */
  coilCorrelation?: number;
  /** Repetitions (default 1). */
  repetitions?: number;
  /** Seed of the noise (default 1). */
  seed?: number;
}

/** Options with every default filled in and checked. */
export type ResolvedPhantomOptions = Required<Omit<PhantomOptions, 'output' | 'group' | 'overwrite'>> & {
  output: string;
  group: string;
  overwrite: boolean;
};

/** Default values of the generator options. */
export const PHANTOM_DEFAULTS = {
  matrix: 256,
  coils: 8,
  slices: 1,
  phases: 1,
  e2: 1,
  oversampling: 2,
  accel: 1,
  accelE2: 1,
  acs: 24,
  acsMode: 'embedded' as AcsMode,
  partialFourier: 1,
  asymmetricEcho: 1,
  noiseScans: 0,
  noise: 0.05,
  coilCorrelation: 0,
  repetitions: 1,
  seed: 1,
} as const;

function int(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Cannot generate phantom: ${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function fraction(name: string, value: number): number {
  if (!(value > 0.5 && value <= 1)) throw new RangeError(`Cannot generate phantom: ${name} must be in (0.5, 1], got ${value}`);
  return value;
}

/** Fills in defaults and validates; throws `RangeError` naming the offending option. */
export function resolvePhantomOptions(o: PhantomOptions): ResolvedPhantomOptions {
  if (typeof o.output !== 'string' || o.output.length === 0) throw new TypeError('Cannot generate phantom: no output file given');
  const matrix = int('matrix', o.matrix ?? PHANTOM_DEFAULTS.matrix, 2, 4096);
  const oversampling = int('oversampling', o.oversampling ?? PHANTOM_DEFAULTS.oversampling, 1, 8);
  if (matrix * oversampling > 65535) throw new RangeError(`Cannot generate phantom: matrix × oversampling = ${matrix * oversampling} exceeds 65535 samples`);
  const pe = int('pe', o.pe ?? matrix, 2, 4096);
  const e2 = int('e2', o.e2 ?? PHANTOM_DEFAULTS.e2, 1, 1024);
  const coils = int('coils', o.coils ?? PHANTOM_DEFAULTS.coils, 1, 256);
  const slices = int('slices', o.slices ?? PHANTOM_DEFAULTS.slices, 1, 1024);
  const phases = int('phases', o.phases ?? PHANTOM_DEFAULTS.phases, 1, 1024);
  const repetitions = int('repetitions', o.repetitions ?? PHANTOM_DEFAULTS.repetitions, 1, 1024);
  const accel = int('accel', o.accel ?? PHANTOM_DEFAULTS.accel, 1, Math.min(16, pe));
  const accelE2 = int('accel-e2', o.accelE2 ?? PHANTOM_DEFAULTS.accelE2, 1, Math.min(16, e2));
  const acs = int('acs', o.acs ?? Math.min(PHANTOM_DEFAULTS.acs, pe), 0, accel > 1 || accelE2 > 1 ? pe : 65535);
  const acsMode = o.acsMode ?? PHANTOM_DEFAULTS.acsMode;
  if (!ACS_MODES.includes(acsMode)) throw new RangeError(`Cannot generate phantom: acs-mode must be one of ${ACS_MODES.join(', ')}, got ${String(acsMode)}`);
  const partialFourier = fraction('partial-fourier', o.partialFourier ?? PHANTOM_DEFAULTS.partialFourier);
  const asymmetricEcho = fraction('asymmetric-echo', o.asymmetricEcho ?? PHANTOM_DEFAULTS.asymmetricEcho);
  const noiseScans = int('noise-scans', o.noiseScans ?? PHANTOM_DEFAULTS.noiseScans, 0, 65535);
  const noise = o.noise ?? PHANTOM_DEFAULTS.noise;
  if (!(noise >= 0 && Number.isFinite(noise))) throw new RangeError(`Cannot generate phantom: noise must be a finite value ≥ 0, got ${noise}`);
  const coilCorrelation = o.coilCorrelation ?? PHANTOM_DEFAULTS.coilCorrelation;
  if (!(coilCorrelation >= 0 && coilCorrelation < 1)) {
    throw new RangeError(`Cannot generate phantom: coil-correlation must be in [0, 1), got ${coilCorrelation}`);
  }
  const seed = o.seed ?? PHANTOM_DEFAULTS.seed;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`Cannot generate phantom: seed must be an integer, got ${seed}`);
  const resolved: ResolvedPhantomOptions = {
    output: o.output, group: o.group ?? '/dataset', overwrite: o.overwrite ?? false,
    matrix, pe, coils, slices, phases, e2, oversampling, accel, accelE2, acs, acsMode,
    partialFourier, asymmetricEcho, noiseScans, noise, coilCorrelation, repetitions, seed,
  };
  scanGeometry(resolved);
  return resolved;
}

/** An inclusive index range. */
export interface IndexRange {
  first: number;
  last: number;
}

/** Sizes and sampled ranges derived from the options. */
export interface ScanGeometry {
  /** Encoded RO samples M = matrix × oversampling. */
  readoutLength: number;
  /** Samples per imaging readout Ns (< M with asymmetric echo). */
  samples: number;
  /** center_sample of imaging readouts: ⌊M/2⌋ − (M − Ns). */
  centerSample: number;
  /** Offset of the recon grid inside the oversampled readout: ⌊(M − matrix)/2⌋. */
  roOffset: number;
  /** k-space centres ⌊pe/2⌋ and ⌊e2/2⌋. */
  centreE1: number;
  centreE2: number;
  /** First acquired E1 line (pe − round(partialFourier·pe)). */
  firstE1: number;
  /** True when R_E1 or R_E2 > 1. */
  accelerated: boolean;
  /** Interleaved passes per repetition (R_E1·R_E2 in interleaved mode, else 1). */
  passes: number;
  /** ACS band along E1 and E2 (empty, first > last, when not accelerated or acs = 0). */
  acsE1: IndexRange;
  acsE2: IndexRange;
}

/** Sizes and sampled ranges for resolved options; throws `RangeError` when they are inconsistent. */
export function scanGeometry(o: ResolvedPhantomOptions): ScanGeometry {
  const readoutLength = o.matrix * o.oversampling;
  const samples = Math.round(o.asymmetricEcho * readoutLength);
  const half = Math.floor(readoutLength / 2);
  const centerSample = half - (readoutLength - samples);
  if (centerSample < 1) throw new RangeError(`Cannot generate phantom: asymmetric-echo ${o.asymmetricEcho} leaves no samples before the echo`);
  const centreE1 = Math.floor(o.pe / 2);
  const centreE2 = Math.floor(o.e2 / 2);
  const firstE1 = o.pe - Math.round(o.partialFourier * o.pe);
  if (firstE1 >= centreE1) throw new RangeError(`Cannot generate phantom: partial-fourier ${o.partialFourier} does not reach the k-space centre`);
  const accelerated = o.accel > 1 || o.accelE2 > 1;
  const empty: IndexRange = { first: 0, last: -1 };
  let acsE1 = empty;
  let acsE2 = empty;
  if (accelerated && o.acs > 0) {
    acsE1 = { first: centreE1 - Math.floor(o.acs / 2), last: centreE1 - Math.floor(o.acs / 2) + o.acs - 1 };
    const w2 = Math.min(o.acs, o.e2);
    acsE2 = { first: centreE2 - Math.floor(w2 / 2), last: centreE2 - Math.floor(w2 / 2) + w2 - 1 };
    if (acsE1.first < firstE1) {
      throw new RangeError(`Cannot generate phantom: the ${o.acs} ACS lines start at line ${acsE1.first}, before the first acquired line ${firstE1} (partial Fourier)`);
    }
  } else if (accelerated && o.acsMode !== 'interleaved') {
    throw new RangeError(`Cannot generate phantom: ${o.acsMode} calibration needs acs > 0`);
  }
  const passes = accelerated && o.acsMode === 'interleaved' ? o.accel * o.accelE2 : 1;
  if (o.repetitions * passes > 65535) throw new RangeError('Cannot generate phantom: repetitions × passes exceed 65535');
  return {
    readoutLength, samples, centerSample, roOffset: Math.floor((readoutLength - o.matrix) / 2),
    centreE1, centreE2, firstE1, accelerated, passes, acsE1, acsE2,
  };
}
