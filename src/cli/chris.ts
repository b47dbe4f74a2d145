/**
 * `gantry chris IN_DIR OUT_DIR`: Gantry as a ChRIS `ds` (data synthesis)
 * plugin. Every ISMRMRD file in IN_DIR (recursively; `.h5`, `.hdf5`, `.mrd`,
 * `.ismrmrd`) is reconstructed, noise measurements first (with the
 * noise config, which stores their covariances) so that imaging measurements
 * find their noise dependencies; outputs and `report.json` go to OUT_DIR; the
 * exit status is non-zero when any input failed. Input is only read. There is
 * no storage server between ChRIS runs, so dependencies live in a temporary
 * folder store unless `--storage`/`--storage-url` name one. Logs are JSON
 * records on stdout (ChRIS collects stdout); `gantry chris --json` prints the
 * plugin descriptor instead.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { shippedConfigDir } from '../config/index.js';
import { IsmrmrdFile } from '../formats/ismrmrd-hdf5.js';
import { AcqFlag, isFlagSet } from '../ismrmrd/types.js';
import { buildInfo } from '../server/queries.js';
import { InstrumentedStore } from '../storage/instrumented-store.js';
import { FolderStore } from '../storage/folder-store.js';
import type { DependencyStore } from '../storage/types.js';
import { createLogger, type LogDestination, type LogLevel, type Logger } from '../util/logger.js';
import { RECON_FORMATS, reconToFormat, type ReconFormat } from './recon-output.js';
import { storeFromFlags, type StorageFlags } from './storage.js';

/** File name endings taken as ISMRMRD files. */
export const ISMRMRD_EXTENSIONS = ['.h5', '.hdf5', '.mrd', '.ismrmrd'];

/** `gantry chris` settings. */
export interface ChrisOptions {
  inputDir: string;
  outputDir: string;
  config: string;
  noiseConfig: string;
  format: ReconFormat;
  deidentify: boolean;
  inGroup: string;
  configDirs: string[];
  log: Logger;
  /** A dependency store to use instead of a temporary one. */
  storage?: DependencyStore;
}

/** One input's line of the report. */
export interface ChrisInputReport {
  file: string;
  kind: 'noise' | 'imaging';
  config: string;
  status: 'success' | 'error';
  images: number;
  outputs: string[];
  durationMs: number;
  error?: string;
}

/** `report.json`. */
export interface ChrisReport {
  tool: 'gantry chris';
  version: string;
  format: ReconFormat;
  config: string;
  noiseConfig: string;
  startedAt: string;
  finishedAt: string;
  success: boolean;
  inputs: ChrisInputReport[];
}

/** ISMRMRD files under `dir`, sorted by path. */
export function findIsmrmrdFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && ISMRMRD_EXTENSIONS.some((e) => entry.name.toLowerCase().endsWith(e))) out.push(path);
    }
  };
  walk(dir);
  return out;
}

/** True when every acquisition of the file is a noise readout (a noise measurement). */
export function isNoiseMeasurement(path: string, group = '/dataset'): boolean {
  const file = IsmrmrdFile.open(path, group);
  try {
    const n = file.acquisitionCount();
    if (n === 0) return false;
    for (let start = 0; start < n; start += 256) {
      for (const raw of file.readAcquisitions(start, Math.min(256, n - start))) {
        if (!isFlagSet(raw.head.flags, AcqFlag.IS_NOISE_MEASUREMENT)) return false;
      }
    }
    return true;
  } finally {
    file.close();
  }
}

/** Runs the plugin; resolves with the report (also written to OUT_DIR/report.json). */
export async function runChris(options: ChrisOptions): Promise<ChrisReport> {
  const startedAt = new Date().toISOString();
  const { log } = options;
  mkdirSync(options.outputDir, { recursive: true });
  const files = findIsmrmrdFiles(options.inputDir);
  const classified = files.map((file) => {
    try {
      return { file, noise: isNoiseMeasurement(file, options.inGroup), error: undefined };
    } catch (err) {
      return { file, noise: false, error: err instanceof Error ? err.message : String(err) };
    }
  });
  const ordered = [...classified.filter((c) => c.noise), ...classified.filter((c) => !c.noise)];
  const tempStore = options.storage ? undefined : mkdtempSync(join(tmpdir(), 'gantry-chris-store-'));
  const storage = options.storage ?? new InstrumentedStore(new FolderStore(tempStore as string), log.child({ component: 'storage' }));
  const inputs: ChrisInputReport[] = [];
  try {
    for (const { file, noise, error } of ordered) {
      const rel = relative(options.inputDir, file);
      const config = noise ? options.noiseConfig : options.config;
      const started = Date.now();
      const stem = rel.replace(/\.[^./]+$/, '').replace(/[\\/]/g, '_');
      const output = options.format === 'h5' ? join(options.outputDir, `${stem}.h5`) : join(options.outputDir, stem);
      const entry: ChrisInputReport = { file: rel, kind: noise ? 'noise' : 'imaging', config, status: 'success', images: 0, outputs: [], durationMs: 0 };
      log.info('chris input', { file: rel, kind: entry.kind, config });
      try {
        if (error !== undefined) throw new Error(error);
        const result = await reconToFormat({
          filename: file,
          inGroup: options.inGroup,
          outGroup: config,
          config,
          configDirs: options.configDirs,
          storage,
          format: options.format,
          output,
          deidentify: options.deidentify,
        });
        entry.images = result.images;
        entry.outputs = result.files.map((f) => relative(options.outputDir, f));
      } catch (err) {
        entry.status = 'error';
        entry.error = err instanceof Error ? err.message : String(err);
        log.error('chris input failed', { file: rel, error: entry.error });
      }
      entry.durationMs = Date.now() - started;
      inputs.push(entry);
    }
  } finally {
    if (!options.storage) await storage.close();
    if (tempStore) rmSync(tempStore, { recursive: true, force: true });
  }
  const report: ChrisReport = {
    tool: 'gantry chris',
    version: buildInfo().gantryVersion,
    format: options.format,
    config: options.config,
    noiseConfig: options.noiseConfig,
    startedAt,
    finishedAt: new Date().toISOString(),
    success: inputs.length > 0 && inputs.every((i) => i.status === 'success'),
    inputs,
  };
  writeFileSync(join(options.outputDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** The ChRIS plugin descriptor (`gantry chris --json`). */
export function chrisDescriptor(dockImage = 'gantry:latest'): Record<string, unknown> {
  const version = buildInfo().gantryVersion;
  const param = (name: string, flag: string, type: string, help: string, dflt: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    name, type, optional: true, flag, short_flag: '', action: type === 'bool' ? 'store_true' : 'store', help, default: dflt, ui_exposed: true, ...extra,
  });
  return {
    name: 'pl-gantry-recon',
    dock_image: dockImage,
    public_repo: '',
    type: 'ds',
    title: 'Gantry MRI reconstruction',
    category: 'MRI',
    description: 'Reconstructs every ISMRMRD raw-data file of the input folder with a Gadgetron-compatible configuration (noise measurements first) and writes DICOM, PNG or ISMRMRD HDF5 images and report.json.',
    documentation: 'docs/operating.md (gantry chris)',
    license: 'MIT',
    version,
    authors: 'Gantry developers',
    icon: '',
    selfpath: '',
    selfexec: 'chris',
    execshell: 'gantry',
    parameters: [
      param('config', '--config', 'str', 'reconstruction config for imaging measurements', 'default.xml', { short_flag: '-c' }),
      param('noise_config', '--noise-config', 'str', 'config for noise measurements (stores their covariance for the imaging ones)', 'default_measurement_dependencies.xml'),
      param('format', '--format', 'str', 'output: dicom, png or h5', 'dicom'),
      param('deidentify', '--deidentify', 'bool', 'blank patient-identifying DICOM fields', false),
    ],
    min_number_of_workers: 1,
    max_number_of_workers: 1,
    min_memory_limit: 1000,
    max_memory_limit: 32000,
    min_cpu_limit: 1000,
    max_cpu_limit: 16000,
    min_gpu_limit: 0,
    max_gpu_limit: 0,
  };
}

/** Registers `gantry chris` on `program`. */
export function registerChrisCommand(program: Command): void {
  program
    .command('chris')
    .description('Run as a ChRIS ds plugin: reconstruct every ISMRMRD file of IN_DIR into OUT_DIR (noise first), with report.json')
    .argument('[inputdir]', 'input folder (read only)')
    .argument('[outputdir]', 'output folder')
    .option('--json', 'print the ChRIS plugin descriptor and exit', false)
    .option('--dock-image <image>', 'container image named in the descriptor', 'gantry:latest')
    .option('-c, --config <name>', 'config for imaging measurements', 'default.xml')
    .option('--noise-config <name>', 'config for noise measurements', 'default_measurement_dependencies.xml')
    .addOption(new Option('--format <format>', 'output format').choices([...RECON_FORMATS]).default('dicom'))
    .option('--deidentify', 'DICOM: blank patient-identifying fields', false)
    .option('-g, --in-group <group>', 'input group', '/dataset')
    .option('--config-dir <dir>', 'extra config folder (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--storage <dir>', 'dependency folder kept between runs (default: a temporary one)')
    .option('--storage-url <url>', 'an mrd-storage-server compatible service for dependencies')
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .addOption(new Option('--log-destination <stream>', 'where JSON log records go').choices(['stdout', 'stderr']).default('stdout'))
    .action(async (inputDir: string | undefined, outputDir: string | undefined, opts: {
      json: boolean; dockImage: string; config: string; noiseConfig: string; format: ReconFormat; deidentify: boolean; inGroup: string;
      configDir: string[]; logLevel: LogLevel | 'silent'; logDestination: LogDestination;
    } & StorageFlags) => {
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(chrisDescriptor(opts.dockImage), null, 2)}\n`);
        return;
      }
      if (inputDir === undefined || outputDir === undefined) throw new Error('Cannot run: give IN_DIR and OUT_DIR (or --json)');
      if (!statSync(inputDir).isDirectory()) throw new Error(`Cannot read ${inputDir}: not a folder`);
      const log = createLogger(opts.logLevel, { component: 'chris' }, opts.logDestination);
      const storage = opts.storage !== undefined || opts.storageUrl !== undefined ? await storeFromFlags(opts, log) : undefined;
      const report = await runChris({
        inputDir: resolve(inputDir),
        outputDir: resolve(outputDir),
        config: opts.config,
        noiseConfig: opts.noiseConfig,
        format: opts.format,
        deidentify: opts.deidentify,
        inGroup: opts.inGroup,
        configDirs: [...opts.configDir, shippedConfigDir()],
        log,
        ...(storage ? { storage } : {}),
      });
      await storage?.close();
      log.info('chris done', {
        inputs: report.inputs.length, failed: report.inputs.filter((i) => i.status === 'error').length,
        images: report.inputs.reduce((n, i) => n + i.images, 0), report: join(basename(resolve(outputDir)), 'report.json'),
      });
      if (!report.success) process.exitCode = report.inputs.length === 0 ? 3 : 2;
    });
}
