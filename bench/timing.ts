/**
 * Timing helpers for the benchmarks: in-process best-of rounds, and whole
 * commands (process start included) through hyperfine when it is installed,
 * else a repeat-and-take-best loop of our own.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A timing in µs: the best round and the median round. */
export interface Timing {
  best: number;
  median: number;
  rounds: number;
}

/**
 * Times `fn` in process: calls per round sized to ~`roundMs`, rounds until
 * `budgetMs` is spent (at least 3), after one warm-up call. µs per call.
 */
export function timeInProcess(fn: () => void, budgetMs: number, roundMs = 10, before?: () => void): Timing {
  before?.();
  fn();
  let calls = 1;
  for (;;) {
    before?.();
    const t = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn();
    if (Number(process.hrtime.bigint() - t) / 1e6 > roundMs || calls > 1 << 20) break;
    calls *= 2;
  }
  const rounds: number[] = [];
  const start = Date.now();
  while (rounds.length < 3 || Date.now() - start < budgetMs) {
    before?.();
    const t = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - t) / 1e3 / calls);
  }
  rounds.sort((a, b) => a - b);
  return { best: rounds[0] as number, median: median(rounds), rounds: rounds.length };
}

/** The middle value of `values` (the upper one of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

/** Whether a program is on PATH. */
export function haveCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** A command to time: argv, plus an optional step run (untimed) before each run. */
export interface TimedCommand {
  argv: string[];
  prepare?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

function run(argv: string[], env: NodeJS.ProcessEnv | undefined, cwd: string | undefined, what: string): void {
  const r = spawnSync(argv[0] as string, argv.slice(1), { env: env ?? process.env, cwd, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    const err = r.stderr?.toString().trim().split('\n').slice(-3).join(' | ') ?? '';
    throw new Error(`Cannot time ${what}: \`${argv.join(' ')}\` exited with ${r.status ?? r.signal}: ${err}`);
  }
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Wall time of a whole command in seconds (process start included): best
 * and median of `runs` runs after one warm-up. Uses hyperfine (`-N`, no
 * shell) when `useHyperfine`, else spawns the command itself.
 */
export function timeCommand(cmd: TimedCommand, runs: number, tmp: string, useHyperfine: boolean, what: string): Timing {
  if (useHyperfine) {
    const out = join(tmp, 'hyperfine.json');
    const args = ['-N', '--style', 'none', '--warmup', '1', '--runs', String(runs), '--export-json', out];
    if (cmd.prepare) args.push('--prepare', cmd.prepare.map(shellQuote).join(' '));
    args.push(cmd.argv.map(shellQuote).join(' '));
    const r = spawnSync('hyperfine', args, { env: cmd.env ?? process.env, cwd: cmd.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`Cannot time ${what} with hyperfine: ${r.stderr?.toString().trim().split('\n').slice(-3).join(' | ')}`);
    const json = JSON.parse(readFileSync(out, 'utf8')) as { results: { min: number; median: number; times: number[] }[] };
    const res = json.results[0];
    if (!res) throw new Error(`Cannot time ${what}: hyperfine wrote no result`);
    return { best: res.min * 1e6, median: res.median * 1e6, rounds: res.times.length };
  }
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    if (cmd.prepare) run(cmd.prepare, cmd.env, cmd.cwd, `${what} (prepare)`);
    const t = process.hrtime.bigint();
    run(cmd.argv, cmd.env, cmd.cwd, what);
    const us = Number(process.hrtime.bigint() - t) / 1e3;
    if (i > 0) times.push(us);
  }
  times.sort((a, b) => a - b);
  return { best: times[0] as number, median: times[times.length >> 1] as number, rounds: times.length };
}

/** The better of two timings of the same thing (rounds add up). */
export function bestOf(a: Timing | undefined, b: Timing): Timing {
  if (!a) return b;
  return { best: Math.min(a.best, b.best), median: Math.min(a.median, b.median), rounds: a.rounds + b.rounds };
}
