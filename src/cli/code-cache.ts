/**
 * Runs a CommonJS script (the one-file CLI bundle, dist/bundle/cli/main.cjs)
 * with a V8 code cache beside it, so that a later process deserialises the
 * compiled functions instead of parsing and compiling them again (Node 20
 * has no module.enableCompileCache; start-up time, docs/performance.md).
 *
 * The cache file is a header line that names the Node version, the
 * architecture and the script's size and modification time, then V8's
 * cached data. A cache whose header does not match the script on disk is
 * not used (V8 itself checks only the source length, its own version and
 * its flags), and one that V8 rejects is ignored: the script then compiles
 * as without a cache. A missing, stale or rejected cache is written afresh
 * by {@link CachedScript.save} (after the command ran, so the functions it
 * compiled lazily are in it), atomically (a temporary file renamed), and a
 * folder that cannot be written (a read-only install) is no error.
 */
import { isAscii } from 'node:buffer';
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { v8TuningFlags } from '../util/v8-tuning.js';
import vm from 'node:vm';

/** `GANTRY_CODE_CACHE`: `auto` uses the cache and writes it when missing or stale; `off` neither reads nor writes; `refresh` ignores it and writes a new one. */
export type CodeCacheMode = 'auto' | 'off' | 'refresh';

/** What happened to the cache when the script was compiled. */
export type CodeCacheState = 'accepted' | 'rejected' | 'stale' | 'missing' | 'off';

/** A script run by {@link runCommonJsWithCodeCache}. */
export interface CachedScript<T> {
  /** The script's `module.exports`. */
  exports: T;
  cache: CodeCacheState;
  /** Writes the cache when it was not used (missing, stale, rejected, or `refresh`); true when a file was written. */
  save(): boolean;
}

/** Options of {@link runCommonJsWithCodeCache}. */
export interface CodeCacheOptions {
  /**
   * V8 flags the script sets at run time (`v8.setFlagsFromString`), set
   * before it is compiled: otherwise the cache, made after the run, carries
   * another flag hash and every later process rejects it and writes it again.
   */
  v8Flags?: readonly string[];
}

/**
 * Flags the CLI sets while it runs: `--expose-gc` (src/util/gc.ts, for the
 * explicit GC before large allocations; it only adds `gc` to contexts made
 * afterwards, so setting it early changes nothing else). The heap growth
 * flags of src/util/v8-tuning.ts are added where the cache is used.
 */
export const CLI_RUNTIME_V8_FLAGS: readonly string[] = ['--expose-gc'];

const MAGIC = 'gantry-code-cache 1';

/** The mode named by `value` (`GANTRY_CODE_CACHE`; unset: auto). */
export function codeCacheMode(value: string | undefined): CodeCacheMode {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto' || v === '1' || v === 'on') return 'auto';
  if (v === 'off' || v === '0') return 'off';
  if (v === 'refresh') return 'refresh';
  throw new RangeError(`Cannot use GANTRY_CODE_CACHE="${value}": use auto, off or refresh`);
}

/** The header line that ties a cache to one script file and one Node. */
function headerFor(file: string): string | undefined {
  const s = statSync(file, { throwIfNoEntry: false });
  if (!s) return undefined;
  return `${MAGIC} ${process.version} ${process.arch} ${s.size} ${s.mtimeMs}\n`;
}

/** The cached data in `cacheFile` when its header is `header`; `stale` when it is another's, undefined when there is none. */
function readCache(cacheFile: string, header: string): Buffer | 'stale' | undefined {
  let raw: Buffer;
  try {
    raw = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const head = Buffer.from(header, 'latin1');
  if (raw.length <= head.length || !raw.subarray(0, head.length).equals(head)) return 'stale';
  return raw.subarray(head.length);
}

/** `import(specifier)` from this module (same folder as the bundle): an absolute URL or a package or built-in name. */
type DynamicImport = (specifier: string) => Promise<unknown>;
const dynamicImport: DynamicImport = (specifier) => import(specifier);

/**
 * Compiles and runs the CommonJS file `file` (as Node's loader would: the
 * module wrapper, its own `require`) with the code cache `cacheFile`, and
 * returns its exports.
 *
 * The script must not use `import()` itself: in Node 20 a function
 * deserialised from a code cache loses the script's dynamic-import callback
 * ("A dynamic import callback was not specified"), and the callback options
 * of vm are experimental. It gets a sixth wrapper parameter instead,
 * `__dimp(specifier)`, an `import()` made from this module (the build
 * rewrites the bundle's `import(` to `__dimp(`, the same length).
 */
export function runCommonJsWithCodeCache<T>(file: string, cacheFile: string, mode: CodeCacheMode = 'auto', options: CodeCacheOptions = {}): CachedScript<T> {
  // V8 stamps a cache with a hash of its flags when the cache is made (after the command ran) and rejects
  // it when they differ: flags the script sets while it runs must be set before it is compiled too.
  for (const flag of options.v8Flags ?? []) setFlagsFromString(flag);
  const bytes = readFileSync(file);
  // An ASCII file (the bundle is built so) becomes a one-byte string without UTF-8 decoding.
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  const header = headerFor(file) ?? '';
  const found = mode === 'auto' ? readCache(cacheFile, header) : undefined;
  const cachedData = found instanceof Buffer ? found : undefined;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __dimp) {${source}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const cache: CodeCacheState = mode === 'off' ? 'off'
    : cachedData ? (script.cachedDataRejected === true ? 'rejected' : 'accepted')
      : found === 'stale' ? 'stale' : 'missing';
  const wrapper = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: { exports: unknown }, f: string, d: string, i: DynamicImport) => void;
  const mod: { exports: unknown } = { exports: {} };
  wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file), dynamicImport);
  let saved = false;
  return {
    exports: mod.exports as T,
    cache,
    save(): boolean {
      if (saved || mode === 'off' || cache === 'accepted' || header === '') return false;
      saved = true;
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, Buffer.concat([Buffer.from(header, 'latin1'), script.createCachedData()]));
        renameSync(tmp, cacheFile);
        return true;
      } catch {
        try {
          unlinkSync(tmp);
        } catch {
          // nothing was written
        }
        return false;
      }
    },
  };
}

/** The one-file CommonJS bundle in a bundle folder, and its code cache. */
export function bundleFiles(bundleDir: string): { script: string; cache: string } {
  return { script: `${bundleDir.replace(/\/+$/, '')}/main.cjs`, cache: `${bundleDir.replace(/\/+$/, '')}/main.cjs.cache` };
}

/**
 * `gantry ARGV` from the CommonJS bundle in `bundleDir` (what bin/gantry
 * runs): the code cache as `GANTRY_CODE_CACHE` says, written after the
 * command's `main` resolved when it was not used.
 */
export async function runBundledMain(bundleDir: string, argv: string[]): Promise<CodeCacheState> {
  const files = bundleFiles(bundleDir);
  const run = runCommonJsWithCodeCache<{ main(argv: string[]): Promise<void> }>(files.script, files.cache, codeCacheMode(process.env['GANTRY_CODE_CACHE']), {
    v8Flags: [...CLI_RUNTIME_V8_FLAGS, ...v8TuningFlags()],
  });
  await run.exports.main(argv);
  run.save();
  return run.cache;
}
