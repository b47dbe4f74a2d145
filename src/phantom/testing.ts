/**
 * Helpers for the phantom tests: temporary folders, the optional Debian
 * ISMRMRD/HDF5 tools, and reading the reference generator's ground truth.
 * Not part of the public surface.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { hdf5Available, hdf5UnavailableReason } from '../formats/index.js';

/** True when `tool` is an executable on PATH. */
export function onPath(tool: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((d) => d !== '' && existsSync(join(d, tool)));
}

/** Why a test that needs the HDF5 addon and `tools` cannot run, or undefined when it can. */
export function missingPrerequisite(...tools: string[]): string | undefined {
  if (!hdf5Available()) return `ISMRMRD HDF5 addon not available: ${hdf5UnavailableReason()}`;
  const missing = tools.filter((t) => !onPath(t));
  return missing.length > 0 ? `${missing.join(', ')} not installed` : undefined;
}

/** Runs a command, returning its status and output. */
export function runTool(cmd: string, args: string[], cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...(cwd ? { cwd } : {}) });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh temporary folder and a function that removes it. */
export function tempDir(prefix = 'gantry-phantom-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Reads a compound {real, imag} float32 dataset with `h5dump -b NATIVE` as interleaved floats (last dimension fastest). */
export function readComplexDataset(file: string, dataset: string, scratch: string): Float32Array {
  const out = join(scratch, `${dataset.replace(/\W/g, '_')}.bin`);
  const r = runTool('h5dump', ['-b', 'NATIVE', '-o', out, '-d', dataset, file]);
  if (r.status !== 0) throw new Error(`Cannot dump ${dataset} from ${file}: ${r.stderr}`);
  const bytes = readFileSync(out);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
