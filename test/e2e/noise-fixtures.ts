/**
 * Fixtures of the noise end-to-end tests: phantom datasets split into a noise
 * and an imaging measurement with Siemens-style ids, a prewhitening chain
 * (NoiseAdjust in front of default.xml's chain), `gantry storage` processes,
 * and image comparison.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsmrmrdFile } from '../../src/formats/index.js';
import { AcqFlag, isFlagSet, type Acquisition, type Image } from '../../src/ismrmrd/types.js';
import { parseIsmrmrdHeader, serializeIsmrmrdHeader } from '../../src/ismrmrd/xml-header.js';
import { GANTRY_BIN, REPO_ROOT, runGantry, type RunResult } from '../helpers/gantry-process.js';

/** A dataset in memory. */
export interface Dataset {
  xml: string;
  acquisitions: Acquisition[];
}

/** Generates a Shepp–Logan phantom with one noise readout (`-C`). */
export function phantom(path: string, options: { matrix: number; coils: number; repetitions?: number; noiseLevel?: number }): Dataset {
  execFileSync('ismrmrd_generate_cartesian_shepp_logan', [
    '-o', path, '-m', String(options.matrix), '-c', String(options.coils), '-r', String(options.repetitions ?? 1), '-C',
    ...(options.noiseLevel === undefined ? [] : ['-n', String(options.noiseLevel)]),
  ], { stdio: 'ignore' });
  return readDataset(path);
}

/** Reads the header and every acquisition of a file. */
export function readDataset(path: string): Dataset {
  const f = IsmrmrdFile.open(path);
  try {
    return { xml: f.readHeader() as string, acquisitions: f.readAcquisitions(0, f.acquisitionCount()) };
  } finally {
    f.close();
  }
}

/** Writes a dataset to a new file. */
export function writeDataset(path: string, dataset: Dataset): string {
  const f = IsmrmrdFile.open(path, '/dataset', { create: true });
  try {
    f.writeHeader(dataset.xml);
    for (const a of dataset.acquisitions) f.appendAcquisition(a);
  } finally {
    f.close();
  }
  return path;
}

/** The header with a measurement id, an optional Noise dependency and optional coil labels. */
export function withMeasurement(xml: string, options: { measurementId: string; noiseDependency?: string; coilLabels?: string[] }): string {
  const h = parseIsmrmrdHeader(xml);
  h.measurementInformation = {
    measurementID: options.measurementId,
    patientPosition: 'HFS',
    measurementDependency: options.noiseDependency ? [{ dependencyType: 'Noise', measurementID: options.noiseDependency }] : [],
  };
  if (options.coilLabels) {
    h.acquisitionSystemInformation = {
      ...(h.acquisitionSystemInformation ?? { coilLabel: [] }),
      coilLabel: options.coilLabels.map((coilName, coilNumber) => ({ coilNumber, coilName })),
    };
  }
  return serializeIsmrmrdHeader(h);
}

/** True for noise readouts. */
export function isNoise(a: Acquisition): boolean {
  return isFlagSet(a.head.flags, AcqFlag.IS_NOISE_MEASUREMENT);
}

/** Mixes the channels of every readout, x' = A·x per sample (A: channels × channels, column-major, interleaved complex, float64). */
export function mixChannels(acqs: readonly Acquisition[], A: Float64Array, channels: number): Acquisition[] {
  return acqs.map((a) => {
    const ns = a.head.number_of_samples;
    const out = new Float32Array(a.data.length);
    for (let s = 0; s < ns; s++) {
      for (let i = 0; i < channels; i++) {
        let re = 0;
        let im = 0;
        for (let j = 0; j < channels; j++) {
          const ar = A[2 * (i + channels * j)] as number;
          const ai = A[2 * (i + channels * j) + 1] as number;
          const xr = a.data[2 * (j * ns + s)] as number;
          const xi = a.data[2 * (j * ns + s) + 1] as number;
          re += ar * xr - ai * xi;
          im += ar * xi + ai * xr;
        }
        out[2 * (i * ns + s)] = re;
        out[2 * (i * ns + s) + 1] = im;
      }
    }
    return { ...a, data: out };
  });
}

/** A v2 config: NoiseAdjustGadget in front of the shipped default.xml chain. */
export function prewhiteningConfig(noiseAdjustProperties = ''): string {
  const base = readFileSync(join(REPO_ROOT, 'config', 'default.xml'), 'utf8');
  const gadget = `
    <gadget>
      <name>NoiseAdjust</name>
      <dll>gadgetron_mricore</dll>
      <classname>NoiseAdjustGadget</classname>${noiseAdjustProperties}
    </gadget>`;
  const out = base.replace(/(<stream key="default">)/, `$1${gadget}`);
  if (out === base) throw new Error('Cannot build the prewhitening config: default.xml has no <stream key="default">');
  return out;
}

/** Writes the prewhitening config into `dir` and returns its path. */
export function writePrewhiteningConfig(dir: string, name = 'prewhitening.xml'): string {
  const path = join(dir, name);
  writeFileSync(path, prewhiteningConfig());
  return path;
}

/** Images of one output group, all series. */
export function readImages(path: string, group: string): Image[] {
  const f = IsmrmrdFile.open(path, group);
  try {
    return f.imageSeriesNames().flatMap((n) => f.readImages(n));
  } finally {
    f.close();
  }
}

/** Sends `input` to a server with `gantry client` (config by name, or a local file with `local`). */
export function sendWithClient(port: number, input: string, out: string, group: string, config: { name?: string; local?: string }): Promise<RunResult> {
  const cfg = config.local ? ['-C', config.local] : ['-c', config.name ?? 'default.xml'];
  return runGantry(['client', '-a', '127.0.0.1', '-p', String(port), '-f', input, '-o', out, '-G', group, ...cfg], 120_000);
}

/** NRMSE of `a` against `b` after the least-squares global scale: returns the error and the scale. */
export function nrmseAfterScale(a: ArrayLike<number>, b: ArrayLike<number>): { nrmse: number; scale: number } {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] as number) * (b[i] as number);
    aa += (a[i] as number) ** 2;
    bb += (b[i] as number) ** 2;
  }
  const scale = ab / aa;
  let err = 0;
  for (let i = 0; i < a.length; i++) err += (scale * (a[i] as number) - (b[i] as number)) ** 2;
  return { nrmse: Math.sqrt(err / bb), scale };
}

/** A running `gantry storage` process. */
export interface StorageProcess {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

/** Starts `gantry storage --port 0` over `dir`; resolves once it listens. */
export async function startGantryStorage(dir: string, timeoutMs = 15_000): Promise<StorageProcess> {
  const child = spawn(process.execPath, [GANTRY_BIN, 'storage', '--port', '0', '--host', '127.0.0.1', '--storage', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gantry storage did not start within ${timeoutMs} ms:\n${err}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /"msg":"gantry storage listening"[^\n]*"port":(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gantry storage exited with ${code}:\n${err}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
