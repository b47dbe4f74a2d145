/**
 * How far V8 lets the old generation grow between full (mark-compact)
 * collections. V8 sizes the next limit as the live heap times a factor it
 * derives from GC and mutator speed; with Gantry's small JavaScript heap
 * (10–20 MB: the bulk data are ArrayBuffers outside it) and concurrent
 * marking, that factor stays near its floor, so a few MB of promoted
 * objects start the next incremental mark-compact. On the 16-slice cine
 * scan that was ~95 of them (6 per slice), and V8's four GC helper threads
 * spent ~7 s of CPU marking on a 2-core machine; a fixed factor of 4
 * (`--heap-growing-percent=300`) halves their CPU and the count (see
 * docs/performance.md). The cost is at most a few tens of MB of JavaScript
 * heap more.
 *
 * V8 reads this flag each time it sets a new limit, so setting it at
 * start-up with `v8.setFlagsFromString` works. GANTRY_HEAP_GROWTH=off keeps
 * V8's own heuristic; a number sets the percentage.
 */
import { setFlagsFromString } from 'node:v8';

/** The growth per full collection that Gantry sets by default (percent: the limit is live × (1 + p/100)). */
export const DEFAULT_HEAP_GROWTH_PERCENT = 300;

/**
 * The percentage to set for the value of GANTRY_HEAP_GROWTH (undefined:
 * the default), or null for V8's own heuristic. Throws on anything else.
 */
export function heapGrowthPercent(value: string | undefined): number | null {
  if (value === undefined || value.trim() === '') return DEFAULT_HEAP_GROWTH_PERCENT;
  const v = value.trim().toLowerCase();
  if (v === 'off' || v === '0') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new RangeError(`GANTRY_HEAP_GROWTH must be off or an integer percentage from 1 to 1000, not '${value}'`);
  }
  return n;
}

/**
 * The V8 flags for GANTRY_HEAP_GROWTH (none for `off`, or for a value
 * {@link tuneHeapGrowth} will reject). The bundled CLI sets them before it
 * compiles itself, so that its code cache carries the flag hash of the run
 * (src/cli/code-cache.ts): a flag set later would make V8 reject the cache
 * at every start.
 */
export function heapGrowthFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  try {
    return flagsFor(heapGrowthPercent(env.GANTRY_HEAP_GROWTH));
  } catch {
    return [];
  }
}

function flagsFor(percent: number | null): string[] {
  return percent === null ? [] : [`--heap-growing-percent=${percent}`];
}

/** Applies GANTRY_HEAP_GROWTH (or the default) to this process's V8; returns the percentage set, or null. Throws on a bad value. */
export function tuneHeapGrowth(env: NodeJS.ProcessEnv = process.env): number | null {
  const percent = heapGrowthPercent(env.GANTRY_HEAP_GROWTH);
  for (const flag of flagsFor(percent)) setFlagsFromString(flag);
  return percent;
}
