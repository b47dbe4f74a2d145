/**
 * Distributed reconstruction on one machine (`npm run bench -- --only dist`):
 * a 16-slice cine phantom from `gantry phantom` through a gateway with two
 * local `gantry serve` workers, against a single node.
 *
 * - v1: Generic_Cartesian_Grappa_RealTimeCine_Cloud.xml (one job per slice
 *   and repetition; the gateway computes too, `use_this_node_for_compute`)
 *   against Generic_Cartesian_Grappa_RealTimeCine.xml on a single node;
 * - v2: distributed_default.xml (one job per repetition, all on workers)
 *   against default.xml on a single node;
 * - the added latency of one job: a one-slice scan through
 *   distributed_default.xml on a gateway with one worker against the same
 *   config in-process.
 *
 * Every distributed run's images are checked bit for bit against the same
 * config on a single node (jobs in-process); a difference fails the bench.
 * Bytes moved per job come from the gateway's job records (`bytesSent`,
 * `bytesReceived` of the "distributed job attempt" log lines). Times are the
 * best of the timed runs after one warm-up run, client in this process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GadgetronConnection } from '../src/client/connection.js';
import type { JobRecord } from '../src/distributed/nodes/types.js';
import { IsmrmrdFile } from '../src/formats/index.js';
import type { Acquisition, Image } from '../src/ismrmrd/types.js';
import { concatChunks, encodeAcquisition, encodeClose, encodeConfigFile, encodeHeader, encodeImage } from '../src/protocol/index.js';
import type { Figure } from './figures.js';
import { gantryArgv, gantryEnv } from './gantry-command.js';

/** Settings of the distributed benchmark (those of bench/run.ts). */
export interface DistributedBenchOptions {
  root: string;
  tmp: string;
  quick: boolean;
  log: (line: string) => void;
}

interface Scan {
  header: string;
  acquisitions: Acquisition[];
  bytes: number;
}

interface Run {
  ms: number;
  images: Image[];
  texts: string[];
}

/** A `gantry serve` child with its log lines. */
interface Server {
  port: number;
  logs: () => string;
  stop: () => Promise<void>;
}

const CLOUD = 'Generic_Cartesian_Grappa_RealTimeCine_Cloud.xml';
const CINE = 'Generic_Cartesian_Grappa_RealTimeCine.xml';
const V2 = 'distributed_default.xml';
const V2_PLAIN = 'default.xml';

function makeScan(o: DistributedBenchOptions, name: string, args: string[]): Scan {
  const file = join(o.tmp, `${name}.h5`);
  const run = spawnSync(process.execPath, [...gantryArgv(o.root), 'phantom', '-o', file, '-f', ...args], { encoding: 'utf8', timeout: 300_000, env: gantryEnv(o.root) });
  if (run.status !== 0) throw new Error(`Cannot make the phantom (gantry phantom ${args.join(' ')}): ${run.stderr || run.error?.message}`);
  const f = IsmrmrdFile.open(file);
  try {
    const header = f.readHeader();
    if (!header) throw new Error(`The phantom ${file} has no header`);
    const acquisitions = f.readAcquisitions(0, f.acquisitionCount());
    const bytes = acquisitions.reduce((sum, a) => sum + concatChunks(encodeAcquisition(a)).length, 0);
    return { header, acquisitions, bytes };
  } finally {
    f.close();
  }
}

async function startServer(o: DistributedBenchOptions, args: string[]): Promise<Server> {
  const child: ChildProcess = spawn(process.execPath, [...gantryArgv(o.root), 'serve', '--port', '0', '--host', '127.0.0.1', '--no-http', '--log-level', 'info', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: gantryEnv(o.root),
  });
  let text = '';
  const collect = (d: Buffer): void => {
    text += d.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Cannot start gantry serve ${args.join(' ')}: not listening after 30 s:\n${text}`)), 30_000);
    const look = (): void => {
      const m = /"msg":"gantry listening"[^\n]*"port":(\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Cannot start gantry serve ${args.join(' ')}: it exited with ${code}:\n${text}`));
    });
  });
  return {
    port,
    logs: () => text,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Sends `scan` with `config` and collects images and texts until the server's CLOSE. */
async function reconstruct(port: number, config: string, scan: Scan, timeoutMs = 600_000): Promise<Run> {
  const started = performance.now();
  const connection = await GadgetronConnection.open({ host: '127.0.0.1', port, timeoutMs: 10_000 });
  const images: Image[] = [];
  const texts: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    const receive = (async () => {
      for await (const frame of connection.frames()) {
        if (frame.kind === 'image') images.push(frame.image);
        else if (frame.kind === 'text') texts.push(frame.text);
        else if (frame.kind === 'close') return;
      }
      throw new Error(`${config}: the server hung up without CLOSE`);
    })();
    const send = (async () => {
      await connection.send([...encodeConfigFile(config), ...encodeHeader(scan.header)]);
      for (const a of scan.acquisitions) await connection.send(encodeAcquisition(a));
      await connection.send(encodeClose());
    })();
    send.catch(() => undefined);
    await Promise.race([
      Promise.all([send, receive]),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${config}: no CLOSE within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
    connection.close();
  }
  const errors = texts.filter((t) => /\] ERROR: /.test(t));
  if (errors.length > 0) throw new Error(`${config} reported errors: ${errors.join(' | ')}`);
  return { ms: performance.now() - started, images, texts };
}

/** Fails unless `actual` holds the images of `expected`, bit for bit, in order, each once. */
function checkIdentical(actual: readonly Image[], expected: readonly Image[], what: string): void {
  const key = (image: Image): string => Buffer.from(concatChunks(encodeImage(image))).toString('base64');
  if (expected.length === 0) throw new Error(`${what}: the single-node run gave no images`);
  if (actual.length !== expected.length) throw new Error(`${what}: ${actual.length} images instead of the single node's ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    if (key(actual[i] as Image) !== key(expected[i] as Image)) throw new Error(`${what}: image ${i} differs from the single-node run`);
  }
}

/** Job records logged by `server` after log offset `from`. */
function jobRecordsSince(server: Server, from: number): JobRecord[] {
  return server.logs().slice(from).split('\n')
    .filter((line) => line.includes('"distributed job attempt"'))
    .map((line) => JSON.parse(line) as JobRecord);
}

interface Timed {
  best: Run;
  /** Job records of the timed runs (remote attempts that succeeded). */
  remote: JobRecord[];
  /** Successful attempts of the last timed run. */
  jobs: JobRecord[];
}

/** One warm-up run, then `runs` timed runs; keeps the fastest. */
async function timeRuns(server: Server, config: string, scan: Scan, runs: number, what: string, o: DistributedBenchOptions): Promise<Timed> {
  await reconstruct(server.port, config, scan);
  let best: Run | undefined;
  const remote: JobRecord[] = [];
  let jobs: JobRecord[] = [];
  for (let i = 0; i < runs; i++) {
    const from = server.logs().length;
    const run = await reconstruct(server.port, config, scan);
    jobs = jobRecordsSince(server, from).filter((r) => r.outcome === 'ok');
    remote.push(...jobs.filter((r) => r.worker !== 'local'));
    if (!best || run.ms < best.ms) best = run;
  }
  o.log(`  ${what}: best ${(best!.ms / 1000).toFixed(2)} s of ${runs}`);
  return { best: best!, remote, jobs };
}

const mean = (values: readonly number[]): number => (values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length);
const kB = (bytes: number): number => bytes / 1024;

function perJob(records: readonly JobRecord[]): { sentKiB: number; receivedKiB: number; ms: number } {
  return {
    sentKiB: kB(mean(records.map((r) => r.bytesSent ?? NaN))),
    receivedKiB: kB(mean(records.map((r) => r.bytesReceived ?? NaN))),
    ms: mean(records.map((r) => r.ms)),
  };
}

/** Runs the distributed benchmark; see the module comment. */
export async function benchDistributed(o: DistributedBenchOptions): Promise<Figure[]> {
  const matrix = o.quick ? 64 : 96;
  const phases = o.quick ? 4 : 8;
  const runs = o.quick ? 1 : 3;
  const shape = ['--matrix', String(matrix), '--slices', '16', '--phases', String(phases), '--coils', '8', '--accel', '2', '--repetitions', '2'];
  const cine = makeScan(o, 'cine16', shape);
  const one = makeScan(o, 'one-slice', ['--matrix', String(matrix), '--slices', '1', '--phases', '1', '--coils', '8', '--repetitions', '1']);
  const what = `16-slice cine ${matrix}², ${phases} phases, 2 repetitions, 8 coils, R=2 (${(cine.bytes / 2 ** 20).toFixed(0)} MiB)`;
  o.log(`  ${what}; 2 local workers; ${runs} timed run(s) after a warm-up`);

  const servers: Server[] = [];
  try {
    const single = await startServer(o, []);
    servers.push(single);
    const workers = await Promise.all([startServer(o, []), startServer(o, [])]);
    servers.push(...workers);
    const gateway = await startServer(o, ['--workers', workers.map((w) => `127.0.0.1:${w.port}`).join(','), '--worker-timeout', '120']);
    servers.push(gateway);
    const oneWorker = await startServer(o, ['--workers', `127.0.0.1:${workers[0]!.port}`, '--worker-timeout', '120']);
    servers.push(oneWorker);

    const figures: Figure[] = [];
    const pairs = [
      { id: 'dist.cloud.2w', label: 'cine 16 slices, v1 Cloud config: gateway + 2 workers vs 1 node', distributed: CLOUD, plain: CINE },
      { id: 'dist.v2.2w', label: `cine 16 slices, v2 ${V2}: gateway + 2 workers vs 1 node`, distributed: V2, plain: V2_PLAIN },
    ];
    for (const pair of pairs) {
      const plain = await timeRuns(single, pair.plain, cine, runs, `single node, ${pair.plain}`, o);
      const inProcess = await timeRuns(single, pair.distributed, cine, runs, `single node, ${pair.distributed} (jobs in-process)`, o);
      const spread = await timeRuns(gateway, pair.distributed, cine, runs, `gateway + 2 workers, ${pair.distributed}`, o);
      checkIdentical(spread.best.images, inProcess.best.images, `${pair.distributed} with 2 workers`);
      if (spread.best.texts.some((t) => /WARNING/.test(t))) throw new Error(`${pair.distributed} with 2 workers warned: ${spread.best.texts.join(' | ')}`);
      const job = perJob(spread.remote);
      const byWorker = new Map<string, number>();
      for (const r of spread.jobs) byWorker.set(r.worker, (byWorker.get(r.worker) ?? 0) + 1);
      figures.push({
        id: pair.id,
        group: 'dist',
        label: pair.label,
        unit: 's',
        gantry: spread.best.ms / 1000,
        reference: plain.best.ms / 1000,
        referenceName: `1 node, ${pair.plain}`,
        ratio: spread.best.ms / plain.best.ms,
        extra: {
          'throughput ×': plain.best.ms / spread.best.ms,
          'same config in-process s': inProcess.best.ms / 1000,
          jobs: spread.jobs.length,
          'jobs on workers': spread.jobs.filter((r) => r.worker !== 'local').length,
          'KiB to worker/job': job.sentKiB,
          'KiB from worker/job': job.receivedKiB,
          'remote job ms': job.ms,
        },
        note: `${what}; images bit-identical to 1 node; jobs per place ${[...byWorker].map(([w, n]) => `${w === 'local' ? 'gateway' : w.replace('127.0.0.1:', ':')} ${n}`).join(', ')}`,
      });
    }

    const latencyRuns = o.quick ? 3 : 10;
    const local = await timeRuns(single, V2, one, latencyRuns, `one-slice job in-process, ${V2}`, o);
    const remote = await timeRuns(oneWorker, V2, one, latencyRuns, `one-slice job on 1 worker, ${V2}`, o);
    checkIdentical(remote.best.images, local.best.images, `${V2} one-slice job on a worker`);
    if (remote.jobs.some((r) => r.worker === 'local')) throw new Error('the one-slice job ran in the gateway, not on the worker');
    const job = perJob(remote.remote);
    figures.push({
      id: 'dist.job-latency',
      group: 'dist',
      label: `one job on a worker vs in-process (1 slice ${matrix}², 8 coils, ${V2})`,
      unit: 'ms',
      gantry: remote.best.ms,
      reference: local.best.ms,
      referenceName: 'in-process',
      ratio: remote.best.ms / local.best.ms,
      extra: {
        'added ms': remote.best.ms - local.best.ms,
        'KiB to worker': job.sentKiB,
        'KiB from worker': job.receivedKiB,
        'scan KiB': kB(one.bytes),
      },
      note: `best of ${latencyRuns}; images bit-identical`,
    });
    return figures;
  } finally {
    await Promise.allSettled(servers.map((s) => s.stop()));
  }
}
