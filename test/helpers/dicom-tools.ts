/**
 * Checking DICOM files with Debian's reference tools: dciodvfy (dicom3tools)
 * and dcmdump (dcmtk), whichever are installed.
 */
import { execFileSync } from 'node:child_process';
import { hasTool } from './tools.js';

/** True when at least one of dciodvfy and dcmdump is installed. */
export function haveDicomTools(): boolean {
  return hasTool('dciodvfy') || hasTool('dcmdump');
}

/** The errors dciodvfy and dcmdump report for the DICOM file at `path` (warnings do not count), or undefined. */
export function dicomToolErrors(path: string): string | undefined {
  if (hasTool('dciodvfy')) {
    let out = '';
    try {
      out = execFileSync('dciodvfy', [path], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    const errors = out.split('\n').filter((l) => /^Error/.test(l));
    if (errors.length > 0) return errors.join('\n');
  }
  if (hasTool('dcmdump')) {
    try {
      const out = execFileSync('dcmdump', ['-q', path], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
      if (/^E:/m.test(out)) return out;
    } catch (err) {
      return String((err as { stderr?: string }).stderr ?? err);
    }
  }
  return undefined;
}
