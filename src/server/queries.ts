/**
 * Answers to QUERY (id 6) messages, in the exact text formats Gadgetron
 * returns and its integration harness parses.
 */
import { totalmem } from 'node:os';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Gadgetron protocol generation Gantry speaks. */
export const GADGETRON_COMPAT_VERSION = '4.7.2';

/** Facts about this build that queries report. */
export interface BuildInfo {
  gantryVersion: string;
  gitSha: string;
}

function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function readGitSha(root: string): string {
  try {
    const head = readFileSync(join(root, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    const ref = head.slice(5);
    const loose = join(root, '.git', ref);
    if (existsSync(loose)) return readFileSync(loose, 'utf8').trim();
    const packed = readFileSync(join(root, '.git', 'packed-refs'), 'utf8');
    for (const line of packed.split('\n')) if (line.endsWith(` ${ref}`)) return line.split(' ')[0] as string;
  } catch {
    // no git checkout: fall through
  }
  return 'unknown';
}

let cached: BuildInfo | undefined;

/** Version and commit of the running Gantry (GANTRY_GIT_SHA overrides the commit). */
export function buildInfo(): BuildInfo {
  if (cached) return cached;
  const root = packageRoot();
  let gantryVersion = '0.0.0';
  let gitSha = process.env.GANTRY_GIT_SHA ?? 'unknown';
  if (root) {
    try {
      gantryVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? gantryVersion;
    } catch {
      // keep the default
    }
    if (gitSha === 'unknown') gitSha = readGitSha(root);
  }
  cached = { gantryVersion, gitSha };
  return cached;
}

/** The multi-line text of `gadgetron::info`. */
export function systemInfoText(info: BuildInfo = buildInfo()): string {
  const memoryMb = Math.floor(totalmem() / (1024 * 1024));
  return [
    'Gadgetron Version Info',
    `  -- Version            : ${GADGETRON_COMPAT_VERSION}`,
    `  -- Git SHA1           : ${info.gitSha}`,
    `  -- System Memory size : ${memoryMb} MB`,
    '  -- Python Support     : NO',
    '  -- Julia Support      : NO',
    '  -- Matlab Support     : NO',
    '  -- CUDA Support       : NO',
    `  -- Gantry             : ${info.gantryVersion}`,
    '',
    '',
  ].join('\n');
}

/** The answer to a query key ("Unknown query" for keys Gadgetron does not know either). */
export function answerQuery(key: string, info: BuildInfo = buildInfo()): string {
  switch (key) {
    case 'ismrmrd::version':
      return '0.0.0-alpha';
    case 'gadgetron::version':
      return GADGETRON_COMPAT_VERSION;
    case 'gadgetron::build':
      return info.gitSha;
    case 'gadgetron::info':
      return systemInfoText(info);
    case 'gadgetron::info::memory':
      return String(totalmem());
    case 'gadgetron::info::python':
    case 'gadgetron::info::matlab':
    case 'gadgetron::info::cuda':
      return '0';
    case 'gadgetron::cuda::devices':
      return '0';
    case 'gadgetron::cuda::driver':
    case 'gadgetron::cuda::runtime':
      return 'N/A';
    case 'gadgetron::cuda::memory':
    case 'gadgetron::cuda::capabilities':
      return '';
    case 'gantry::version':
      return info.gantryVersion;
    default:
      return 'Unknown query';
  }
}
