/**
 * Finding the Debian reference tools; tests skip with a message when one is missing.
 */
import { execFileSync } from 'node:child_process';
import { hdf5Available, hdf5UnavailableReason } from '../../src/formats/index.js';

/** True when `name` is an executable on PATH. */
export function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A skip reason when any of the tools (or the HDF5 addon) is missing, else undefined. */
export function missing(tools: string[], needHdf5 = true): string | undefined {
  const absent = tools.filter((t) => !hasTool(t));
  if (absent.length > 0) return `needs ${absent.join(', ')} (apt-get install ismrmrd-tools hdf5-tools bart)`;
  if (needHdf5 && !hdf5Available()) return `needs the HDF5 addon: ${hdf5UnavailableReason() ?? 'not built'}`;
  return undefined;
}
