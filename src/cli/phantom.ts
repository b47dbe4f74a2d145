/**
 * `gantry phantom`: writes a synthetic Cartesian ISMRMRD scan of the
 * Shepp–Logan phantom with its ground truth (see src/phantom and
 * docs/phantom.md).
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { ACS_MODES, generatePhantom, PHANTOM_DEFAULTS } from '../phantom/index.js';
import type { AcsMode, PhantomOptions } from '../phantom/index.js';

function integer(name: string, min: number, max = 65535): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

function real(name: string, check: (n: number) => boolean, range: string): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new InvalidArgumentError(`${name} must be a number in ${range}`);
    return n;
  };
}

/** Parsed `gantry phantom` options as commander names them. */
interface PhantomCliOptions {
  output: string;
  group: string;
  force: boolean;
  matrix: number;
  pe?: number;
  coils: number;
  slices: number;
  phases: number;
  e2: number;
  oversampling: number;
  accel: number;
  accelE2: number;
  acs?: number;
  acsMode: AcsMode;
  partialFourier: number;
  asymmetricEcho: number;
  noiseScans: number;
  noise: number;
  coilCorrelation: number;
  repetitions: number;
  seed: number;
}

/** Adds `gantry phantom` to `program`. */
export function registerPhantomCommand(program: Command): void {
  const d = PHANTOM_DEFAULTS;
  program
    .command('phantom')
    .description('Write a synthetic Shepp-Logan ISMRMRD scan (multi-coil, slices, cine, 3D, acceleration, noise) with its ground truth')
    .requiredOption('-o, --output <file>', 'output ISMRMRD HDF5 file')
    .option('-g, --group <group>', 'ISMRMRD group in the file', '/dataset')
    .option('-f, --force', 'replace an existing output file', false)
    .option('--matrix <n>', 'recon matrix along the readout (no oversampling)', integer('matrix', 2, 4096), d.matrix)
    .option('--pe <n>', 'phase-encoding lines (default: matrix)', integer('pe', 2, 4096))
    .option('--coils <n>', 'receiver coils', integer('coils', 1, 256), d.coils)
    .option('--slices <n>', 'slices', integer('slices', 1, 1024), d.slices)
    .option('--phases <n>', 'cine phases (a beating feature appears when > 1)', integer('phases', 1, 1024), d.phases)
    .option('--e2 <n>', 'partitions along E2 (> 1 makes a 3D scan)', integer('e2', 1, 1024), d.e2)
    .option('--oversampling <n>', 'readout oversampling factor', integer('oversampling', 1, 8), d.oversampling)
    .option('--accel <n>', 'acceleration along E1', integer('accel', 1, 16), d.accel)
    .option('--accel-e2 <n>', 'acceleration along E2', integer('accel-e2', 1, 16), d.accelE2)
    .option('--acs <n>', `calibration lines when accelerated (default: min(${d.acs}, pe))`, integer('acs', 0, 4096))
    .addOption(new Option('--acs-mode <mode>', 'calibration mode when accelerated').choices([...ACS_MODES]).default(d.acsMode))
    .option('--partial-fourier <f>', 'fraction of E1 lines acquired, early lines missing', real('partial-fourier', (n) => n > 0.5 && n <= 1, '(0.5, 1]'), d.partialFourier)
    .option('--asymmetric-echo <f>', 'fraction of the readout acquired, early samples missing', real('asymmetric-echo', (n) => n > 0.5 && n <= 1, '(0.5, 1]'), d.asymmetricEcho)
    .option('--noise-scans <n>', 'noise-only readouts sent first', integer('noise-scans', 0), d.noiseScans)
    .option('--noise <sigma>', 'noise σ of each real and imaginary part', real('noise', (n) => n >= 0, '[0, ∞)'), d.noise)
    .option('--coil-correlation <k>', 'neighbouring-channel noise correlation', real('coil-correlation', (n) => n >= 0 && n < 1, '[0, 1)'), d.coilCorrelation)
    .option('--repetitions <n>', 'repetitions', integer('repetitions', 1, 1024), d.repetitions)
    .option('--seed <n>', 'noise seed (the same options and seed give the same data)', integer('seed', 0, 2 ** 32 - 1), d.seed)
    .action(async (opts: PhantomCliOptions) => {
      const { force, pe, acs, ...rest } = opts;
      const options: PhantomOptions = {
        ...rest,
        overwrite: force,
        ...(pe === undefined ? {} : { pe }),
        ...(acs === undefined ? {} : { acs }),
      };
      const s = await generatePhantom(options);
      const parts = [`${s.imagingReadouts} imaging`];
      if (s.calibrationReadouts > 0) parts.push(`${s.calibrationReadouts} calibration`);
      if (s.noiseReadouts > 0) parts.push(`${s.noiseReadouts} noise`);
      const truth = Object.entries(s.groundTruthImages).map(([name, n]) => `${n} ${name}`).join(', ');
      process.stderr.write(
        `gantry phantom: wrote ${s.acquisitions} readouts (${parts.join(', ')}) and ${truth} to ${s.path} ${s.group} ` +
          `in ${(s.elapsedMs / 1000).toFixed(2)} s\n`,
      );
    });
}
