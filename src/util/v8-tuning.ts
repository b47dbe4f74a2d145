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
 * MB of shared memory between the major collections Gantry starts itself
 * (src/util/gc.ts `noteSharedAllocation`).
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
  /** The V8 flag it sets; none for a setting Gantry reads itself. */
  flag?: string;
  fallback: number;
  min: number;
  max: number;
  unit: string;
}

const HEAP_GROWTH: Setting = { variable: 'GANTRY_HEAP_GROWTH', flag: '--heap-growing-percent', fallback: DEFAULT_HEAP_GROWTH_PERCENT, min: 1, max: 1000, unit: 'percentage' };
const SHARED_GC: Setting = { variable: 'GANTRY_SHARED_GC', fallback: 48, min: 1, max: 65536, unit: 'count of MB' };
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
    if (value !== null && s.flag) flags.push(`${s.flag}=${value}`);
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

/**
 * GANTRY_SHARED_GC — MB of shared memory made for passing data (file blocks,
 * readouts after oversampling removal) between the major collections that
 * Gantry starts itself (src/util/gc.ts `noteSharedAllocation`); null for
 * `off`. Undefined or empty: the default (48). Throws on anything else.
 */
export function sharedCollectionMB(value: string | undefined): number | null {
  return settingValue(SHARED_GC, value);
}

/** Applies GANTRY_HEAP_GROWTH and GANTRY_JIT_BUDGET (or their defaults) to this process's V8 and checks GANTRY_SHARED_GC; returns the flags set. Throws on a bad value. */
export function tuneV8(env: NodeJS.ProcessEnv = process.env): string[] {
  sharedCollectionMB(env[SHARED_GC.variable]);
  const flags = flagsOf(env, false);
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}
