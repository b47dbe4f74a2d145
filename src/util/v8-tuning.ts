/**
 * The two V8 settings Gantry changes from Node's defaults, each from an
 * environment variable (off restores V8's own), set at start-up with
 * `v8.setFlagsFromString` (V8 reads both each time it uses them).
 *
 * GANTRY_HEAP_GROWTH — how far the old generation may grow between full
 * (mark-compact) collections. V8 sizes the next limit as the live heap
 * times a factor it derives from GC and mutator speed; with Gantry's small
 * JavaScript heap (10–20 MB: the bulk data are ArrayBuffers outside it) and
 * concurrent marking, that factor stays near its floor, so a few MB of
 * promoted objects start the next incremental mark-compact. On the
 * 16-slice cine scan that was ~95 of them (6 per slice), and V8's four GC
 * helper threads spent ~7 s of CPU marking on a 2-core machine; a fixed
 * factor of 4 (`--heap-growing-percent=300`) halves their CPU and the count
 * (docs/performance.md). The cost is at most a few tens of MB of heap more.
 *
 * GANTRY_SHARED_GC — not a V8 flag, but read and checked here with them:
 * how the shared memory that data pass through reaches V8's collections
 * (src/util/gc.ts `noteSharedMemory`): `v8` (the default) reports it to V8
 * as external memory, a number of MB starts a full collection after each
 * that many MB made, `off` does neither.
 *
 * GANTRY_JIT_BUDGET — how much bytecode a function runs before TurboFan
 * optimizes it (`--interrupt-budget`, 66 KB in Node 20). Gantry's hot loops
 * are in native kernels; the JavaScript around them (gadget loops, header
 * handling, closures made per slice) reached the budget again and again,
 * and after each deoptimization ("weak objects", "code dependencies") was
 * compiled anew: 380 TurboFan jobs and 2.5–3.7 s of background CPU on the
 * 16-slice cine scan, on a 2-core machine. At 1 MB it is 150 jobs, 1.2 s.
 */
import { setFlagsFromString } from 'node:v8';

/** The growth per full collection that Gantry sets by default (percent: the limit is live × (1 + p/100)). */
export const DEFAULT_HEAP_GROWTH_PERCENT = 300;

/** The bytecode budget before optimization that Gantry sets by default (bytes; V8's own is 67584). */
export const DEFAULT_JIT_BUDGET = 1_000_000;

interface Setting {
  variable: string;
  flag: string;
  fallback: number;
  min: number;
  max: number;
  unit: string;
}

const HEAP_GROWTH: Setting = { variable: 'GANTRY_HEAP_GROWTH', flag: '--heap-growing-percent', fallback: DEFAULT_HEAP_GROWTH_PERCENT, min: 1, max: 1000, unit: 'percentage' };
const JIT_BUDGET: Setting = { variable: 'GANTRY_JIT_BUDGET', flag: '--interrupt-budget', fallback: DEFAULT_JIT_BUDGET, min: 1000, max: 100_000_000, unit: 'byte count' };

/** The value to set for an environment value of `s` (undefined: the default), or null for V8's own. Throws on anything else. */
function settingValue(s: Setting, value: string | undefined): number | null {
  if (value === undefined || value.trim() === '') return s.fallback;
  const v = value.trim().toLowerCase();
  if (v === 'off' || v === '0') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < s.min || n > s.max) {
    throw new RangeError(`${s.variable} must be off or an integer ${s.unit} from ${s.min} to ${s.max}, not '${value}'`);
  }
  return n;
}

/** The percentage to set for the value of GANTRY_HEAP_GROWTH (undefined: the default), or null for V8's own heuristic. Throws on anything else. */
export function heapGrowthPercent(value: string | undefined): number | null {
  return settingValue(HEAP_GROWTH, value);
}

/** The budget to set for the value of GANTRY_JIT_BUDGET (undefined: the default), or null for V8's own. Throws on anything else. */
export function jitBudget(value: string | undefined): number | null {
  return settingValue(JIT_BUDGET, value);
}

function flagsOf(env: NodeJS.ProcessEnv, lenient: boolean): string[] {
  const flags: string[] = [];
  for (const s of [HEAP_GROWTH, JIT_BUDGET]) {
    let value: number | null;
    try {
      value = settingValue(s, env[s.variable]);
    } catch (err) {
      if (lenient) continue;
      throw err;
    }
    if (value !== null) flags.push(`${s.flag}=${value}`);
  }
  return flags;
}

/**
 * The V8 flags for GANTRY_HEAP_GROWTH and GANTRY_JIT_BUDGET (none for
 * `off`, or for a value {@link tuneV8} will reject). The bundled CLI sets
 * them before it compiles itself, so that its code cache carries the flag
 * hash of the run (src/cli/code-cache.ts): a flag set later would make V8
 * reject the cache at every start.
 */
export function v8TuningFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  return flagsOf(env, true);
}

/** How shared memory made for data in passing reaches V8's collections (GANTRY_SHARED_GC). */
export type SharedCollection =
  /** Reported to V8 as external memory, which starts concurrent marking as it grows (the default). */
  | { readonly kind: 'v8' }
  /** A full collection after each `mb` MB made (where V8 cannot be told: no kernels addon, 48 MB). */
  | { readonly kind: 'paced'; readonly mb: number }
  /** Neither: V8 collects at its own pace, unaware of the shared memory. */
  | { readonly kind: 'off' };

/** MB between collections where GANTRY_SHARED_GC is `v8` but V8 cannot be told of shared memory (no kernels addon). */
export const FALLBACK_SHARED_GC_MB = 48;

/** The GANTRY_SHARED_GC setting for `value` (undefined or empty: `v8`). Throws on anything but v8, off or an integer count of MB from 1 to 65536. */
export function sharedCollection(value: string | undefined): SharedCollection {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'v8') return { kind: 'v8' };
  if (v === 'off' || v === '0') return { kind: 'off' };
  const mb = Number(v);
  if (!Number.isInteger(mb) || mb < 1 || mb > 65536) throw new RangeError(`GANTRY_SHARED_GC must be v8, off or an integer count of MB from 1 to 65536, not '${value}'`);
  return { kind: 'paced', mb };
}

/** Applies GANTRY_HEAP_GROWTH and GANTRY_JIT_BUDGET (or their defaults) to this process's V8 and checks GANTRY_SHARED_GC; returns the flags set. Throws on a bad value. */
export function tuneV8(env: NodeJS.ProcessEnv = process.env): string[] {
  sharedCollection(env['GANTRY_SHARED_GC']);
  const flags = flagsOf(env, false);
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}
