/**
 * `npm run bench`: times Gantry and the references in one run on the same
 * data and prints the ratios.
 *
 *   npm run bench                 full run (a few minutes)
 *   npm run bench -- --quick      short run (fewer sizes, shorter rounds)
 *   npm run bench -- --check      also compare with docs/performance.md; exit 1 on a slowdown over 25 %
 *   npm run bench -- --record     write this run's figures into docs/performance.md
 *   npm run bench -- --only fft,blas,e2e    run some groups
 *   npm run bench -- --only cine [--quick]  real-time cine GRAPPA: threads, memory, streaming (not in the default run)
 *   npm run bench -- --only dist [--quick]  distributed: 16-slice cine over 2 local workers vs single node (not in the default run)
 *   npm run bench -- --json FILE  also write the figures as JSON
 *
 * References: FFTW 3 MEASURE plans and OpenBLAS through bench/c/reference.c
 * (compiled here with gcc), the `bart fft` command, and
 * `ismrmrd_recon_cartesian_2d`. Everything runs single-threaded. Temporary
 * files go to one folder that is removed at the end, also on Ctrl-C.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelBackend, nativeKernels, nativeKernelsUnavailableReason } from '../src/kernels/index.js';
import { benchEndToEnd } from './end-to-end.js';
import { checkAgainst, formatTable, meetsTarget, readRecorded, writeRecorded, type Figure } from './figures.js';
import { benchBlas, benchFft, buildHarness } from './kernels.js';
import { haveCommand } from './timing.js';

interface Args {
  quick: boolean;
  check: boolean;
  record: boolean;
  only: Set<string>;
  json?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, check: false, record: false, only: new Set(['fft', 'blas', 'e2e']) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--check') args.check = true;
    else if (a === '--record') args.record = true;
    else if (a === '--only') args.only = new Set((argv[++i] ?? '').split(',').filter((s) => s));
    else if (a === '--json') args.json = argv[++i];
    else if (a === '--help' || a === '-h') {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]!.replace(/^\/\*\*?|^ \* ?/gm, '') + '\n');
      process.exit(0);
    } else throw new Error(`Cannot run the benchmarks: unknown option ${a} (see --help)`);
  }
  return args;
}

function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bench'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('Cannot find the repository root (package.json beside bench/)');
}

/** One line naming the machine: CPU, cores, memory, OS, Node and library versions. */
function describeMachine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  let os = process.platform;
  try {
    const rel = readFileSync('/etc/os-release', 'utf8');
    os = (/PRETTY_NAME="([^"]+)"/.exec(rel)?.[1] ?? os) as NodeJS.Platform;
  } catch {
    // not Linux
  }
  const mem = spawnSync('sh', ['-c', "awk '/MemTotal/ {printf \"%.0f GiB\", $2/1048576}' /proc/meminfo"], { encoding: 'utf8' }).stdout;
  const info = nativeKernels()?.info();
  const libs = info ? `, ${info.fftw}, ${info.blasConfig.replace(/\s+/g, ' ')}` : `, native kernels unavailable (${nativeKernelsUnavailableReason()})`;
  return `${cpu}, ${cpus().length} cores, ${mem}, ${os}, Node ${process.version}${libs}`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = repositoryRoot();
  const tmp = mkdtempSync(join(tmpdir(), 'gantry-bench-'));
  const cleanup = (): void => rmSync(tmp, { recursive: true, force: true });
  const onSignal = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const figures: Figure[] = [];
  const started = Date.now();
  const machine = describeMachine();
  const hyperfine = haveCommand('hyperfine');
  try {
    log(`machine: ${machine}`);
    log(`kernels: ${kernelBackend()}; command timing: ${hyperfine ? 'hyperfine' : 'own repeat-and-take-best'}${args.quick ? '; quick run' : ''}`);
    const options = { root, tmp, quick: args.quick, hyperfine, log };
    if (args.only.has('fft') || args.only.has('blas')) {
      const harness = buildHarness(root, tmp);
      if (args.only.has('fft')) {
        log('FFT (per batch, single thread):');
        figures.push(...benchFft(harness, options));
      }
      if (args.only.has('blas')) {
        log('BLAS (single thread):');
        figures.push(...benchBlas(harness, options));
      }
    }
    if (args.only.has('e2e')) {
      log('end to end (process start included):');
      figures.push(...(await benchEndToEnd(options)));
    }
    if (args.only.has('cine')) figures.push(...(await (await import('./cine.js')).benchCine(options))); // only with --only cine: minutes long
    if (args.only.has('dist')) figures.push(...(await (await import('./distributed.js')).benchDistributed(options))); // only with --only dist: 16-slice cine over 2 local workers vs single node
  } finally {
    cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  const shown = [args.quick ? '--quick' : '', args.only.size < 3 ? `--only ${[...args.only].join(',')}` : ''].filter((a) => a);
  const command = `npm run bench${shown.length > 0 ? ` -- ${shown.join(' ')}` : ''}`;
  process.stdout.write(`\n${formatTable(figures)}\n\n${figures.filter((f) => meetsTarget(f) === true).length} of ${figures.filter((f) => f.target).length} targets met; ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  const run = { machine, command, date: new Date().toISOString(), figures };
  if (args.json) writeFileSync(args.json, JSON.stringify(run, null, 1));
  const doc = join(root, 'docs/performance.md');
  let failed = false;
  if (args.check) {
    const recorded = readRecorded(doc);
    if (!recorded) {
      process.stdout.write('check: docs/performance.md holds no recorded figures\n');
      failed = true;
    } else {
      const failures = checkAgainst(recorded, figures);
      if (failures.length > 0) {
        process.stdout.write(`check: slower than recorded by more than 25 %:\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
        failed = true;
      } else {
        process.stdout.write(`check: no figure more than 25 % slower than recorded (${recorded.date})\n`);
      }
    }
  }
  if (args.record) {
    writeRecorded(doc, run);
    process.stdout.write(`recorded in ${doc}\n`);
  }
  if (failed) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
