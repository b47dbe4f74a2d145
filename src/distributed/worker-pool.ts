/**
 * The pool of remote workers a distributed node sends jobs to: discovery
 * (periodic and on demand), Gadgetron's load metric for choosing a worker,
 * health with exponential back-off after connect failures, and discovery
 * warnings for the client.
 *
 * Load (Gadgetron distributed/Worker.cpp): active jobs × max(duration of the
 * worker's latest successful job, age of its oldest running job), the latest
 * duration starting at 5 s. An idle worker has load 0.
 *
 * Health: `connectFailed` marks a worker unhealthy for a back-off of 1 s,
 * doubling per failure up to 30 s. When it elapses the pool probes the worker
 * (TCP connect + CLOSE) and, while no healthy worker is left, `pick` offers it
 * once per back-off period as a trial. A probe success or a successful job
 * makes it healthy again.
 *
 * Discovery: a round asks every source at once (bounded by a deadline) and
 * merges their answers by id; this server's own endpoints are left out.
 * Rounds run every `refreshMs`, on `refresh()`, and when `pick` finds the
 * pool empty (at most every 5 s). Workers no source lists any more leave the
 * pool; jobs running on them go on. A failing source's last good list is used
 * for `staleMs`.
 */
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../util/logger.js';
import { endpointId, normalizeHost } from './discovery/worker-list.js';
import { machineIdentity, selfMatcher, type LocalIdentity } from './self-endpoint.js';

/** A worker's address; `id` is `host:port` with IPv6 hosts bracketed (`[::1]:9002`). */
export interface WorkerEndpoint {
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

/** A worker as the pool sees it (observability). `source` lists the discovery sources naming it, comma-separated, or is "removed" for a worker that left discovery while jobs still run on it. */
export interface WorkerState {
  id: string;
  host: string;
  port: number;
  activeJobs: number;
  completedJobs: number;
  failedJobs: number;
  lastJobMs: number | undefined;
  healthy: boolean;
  source: string;
}

/** Chooses workers for jobs and tracks their load and health. */
export interface WorkerPool {
  /** Best worker for a new job: healthy, least loaded (active jobs × max(recent job time, age of the oldest running job), Gadgetron's metric with a 5 s initial estimate), ties by fewest active jobs then id; never one in `exclude`; undefined when none → the caller runs locally. */
  pick(exclude?: ReadonlySet<string>): WorkerEndpoint | undefined;
  jobStarted(workerId: string): void;
  jobFinished(workerId: string, ok: boolean, durationMs: number): void;
  /** A connect failure marks the worker unhealthy until a later probe/refresh shows it back (exponential backoff retry, e.g. 1 s → 30 s). */
  connectFailed(workerId: string): void;
  /** Current workers (for observability: sessions record which worker did which job). */
  snapshot(): WorkerState[];
  /** Waits for the first discovery round (bounded by a timeout). */
  ready(timeoutMs?: number): Promise<void>;
  /** Warnings from discovery (e.g. "worker command failed: …", "no workers found; computing locally"), drained by the caller to tell the client. */
  takeWarnings(): string[];
  close(): Promise<void>;
}

/** A pool that also refreshes discovery on demand. */
export interface DiscoveringWorkerPool extends WorkerPool {
  /** Runs a discovery round now (or joins the one running) and probes workers due for a retry. */
  refresh(): Promise<void>;
}

/** Where workers come from. A source throws when it cannot answer; an empty answer means "no workers". */
export interface DiscoverySource {
  readonly name: string;
  discover(signal: AbortSignal): Promise<{ host: string; port: number }[]>;
}

/** Checks whether a worker accepts connections (default: a TCP connect that sends Gadgetron's CLOSE). */
export type WorkerProbe = (worker: WorkerEndpoint, signal: AbortSignal) => Promise<boolean>;

/** Options of {@link createWorkerPool}. */
export interface WorkerPoolOptions {
  sources: DiscoverySource[];
  /** Discovery period in ms; 0 or less = discover once, then only on demand. */
  refreshMs: number;
  log: Logger;
  /** This server's own endpoint(s): never added to the pool (a list naming only this server means "compute locally"). A wildcard host (0.0.0.0, ::) matches every address of this machine's interfaces, its host name and POD_IP/POD_IPS (see self-endpoint.ts). */
  self?: { host: string; port: number }[];
  /** The machine's addresses, host name and environment for recognising `self` (tests; default the running machine and process.env, re-read every discovery round). */
  identity?: LocalIdentity;
  /** Monotonic clock in ms (tests). */
  now?: () => number;
  /** Health probe for workers whose back-off has elapsed (tests). */
  probe?: WorkerProbe;
  /** First back-off after a connect failure in ms (default 1000); doubles per failure. */
  backoffInitialMs?: number;
  /** Longest back-off in ms (default 30 000). */
  backoffMaxMs?: number;
  /** Deadline of one discovery round in ms (default 15 000). */
  discoveryTimeoutMs?: number;
  /** How long a failing source's last good list is still used, in ms (default max(60 s, 6 × refreshMs)). */
  staleMs?: number;
  /** Job time assumed before a worker has finished a job, in ms (default 5000, Gadgetron's). */
  initialJobMs?: number;
}

/** The initial job-time estimate of Gadgetron's load metric. */
export const INITIAL_JOB_ESTIMATE_MS = 5_000;

const MAX_PENDING_WARNINGS = 32;
const PROBE_TIMEOUT_MS = 2_000;
/** An empty pool looks again on pick() at most this often (ms). */
const ON_DEMAND_MIN_INTERVAL_MS = 5_000;

interface WorkerRecord {
  endpoint: WorkerEndpoint;
  sources: string[];
  listed: boolean;
  starts: number[];
  completed: number;
  failed: number;
  lastJobMs: number | undefined;
  healthy: boolean;
  failures: number;
  retryAt: number;
  probing: boolean;
}

/** TCP probe: connects, sends a CLOSE message (id 4) so a Gadgetron or Gantry server ends the connection cleanly, and reports whether the connect succeeded. */
export function tcpProbe(timeoutMs = PROBE_TIMEOUT_MS): WorkerProbe {
  return (worker, signal) => new Promise<boolean>((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const socket = connect({ host: worker.host, port: worker.port });
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (ok) socket.end(Buffer.from([4, 0]));
      else socket.destroy();
      socket.on('error', () => undefined);
      setTimeout(() => socket.destroy(), 1_000).unref();
      resolve(ok);
    };
    const onAbort = (): void => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

function delay(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

class Pool implements DiscoveringWorkerPool {
  private readonly records = new Map<string, WorkerRecord>();
  private readonly now: () => number;
  private readonly probe: WorkerProbe;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly discoveryTimeoutMs: number;
  private readonly staleMs: number;
  private readonly initialJobMs: number;
  private readonly lastGood = new Map<number, { workers: { host: string; port: number }[]; at: number }>();
  private readonly closing = new AbortController();
  private pending: string[] = [];
  private current: string[] = [];
  private loggedWarnings = '';
  private round: Promise<void> | undefined;
  private lastRoundEnd = -Infinity;
  private refreshTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly firstRound: Promise<void>;

  constructor(private readonly options: WorkerPoolOptions) {
    this.now = options.now ?? (() => performance.now());
    this.probe = options.probe ?? tcpProbe();
    this.backoffInitialMs = options.backoffInitialMs ?? 1_000;
    this.backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.discoveryTimeoutMs = options.discoveryTimeoutMs ?? 15_000;
    this.staleMs = options.staleMs ?? Math.max(60_000, 6 * Math.max(0, options.refreshMs));
    this.initialJobMs = options.initialJobMs ?? INITIAL_JOB_ESTIMATE_MS;
    this.firstRound = this.refresh();
  }

  pick(exclude?: ReadonlySet<string>): WorkerEndpoint | undefined {
    const now = this.now();
    let best: WorkerRecord | undefined;
    let bestLoad = Infinity;
    let trial: WorkerRecord | undefined;
    let trialLoad = Infinity;
    for (const rec of this.records.values()) {
      if (!rec.listed || exclude?.has(rec.endpoint.id)) continue;
      const load = this.load(rec, now);
      if (rec.healthy) {
        if (!best || this.better(rec, load, best, bestLoad)) {
          best = rec;
          bestLoad = load;
        }
      } else if (rec.retryAt <= now && (!trial || this.better(rec, load, trial, trialLoad))) {
        trial = rec;
        trialLoad = load;
      }
    }
    if (best) return best.endpoint;
    if (trial) {
      trial.retryAt = now + this.backoff(trial.failures);
      this.options.log.debug('retrying an unhealthy worker', { worker: trial.endpoint.id });
      return trial.endpoint;
    }
    if (!this.closed && !this.round && now - this.lastRoundEnd >= ON_DEMAND_MIN_INTERVAL_MS && !this.hasListedWorkers()) void this.refresh();
    return undefined;
  }

  jobStarted(workerId: string): void {
    const rec = this.records.get(workerId);
    if (!rec) {
      this.options.log.debug('job started on a worker the pool does not know', { worker: workerId });
      return;
    }
    rec.starts.push(this.now());
  }

  jobFinished(workerId: string, ok: boolean, durationMs: number): void {
    const rec = this.records.get(workerId);
    if (!rec) return;
    const now = this.now();
    if (rec.starts.length > 0) {
      const started = now - durationMs;
      let at = 0;
      for (let i = 1; i < rec.starts.length; i++) {
        if (Math.abs(rec.starts[i]! - started) < Math.abs(rec.starts[at]! - started)) at = i;
      }
      rec.starts.splice(at, 1);
    }
    if (ok) {
      rec.completed++;
      if (Number.isFinite(durationMs) && durationMs >= 0) rec.lastJobMs = durationMs;
      this.markHealthy(rec);
    } else {
      rec.failed++;
    }
    if (!rec.listed && rec.starts.length === 0) this.records.delete(workerId);
  }

  connectFailed(workerId: string): void {
    const rec = this.records.get(workerId);
    if (!rec) return;
    rec.failures++;
    const wait = this.backoff(rec.failures);
    rec.retryAt = this.now() + wait;
    if (rec.healthy) this.options.log.warn('worker unreachable; retrying later', { worker: workerId, retryInMs: wait });
    rec.healthy = false;
    this.scheduleProbe();
  }

  snapshot(): WorkerState[] {
    return [...this.records.values()]
      .map((rec) => ({
        id: rec.endpoint.id,
        host: rec.endpoint.host,
        port: rec.endpoint.port,
        activeJobs: rec.starts.length,
        completedJobs: rec.completed,
        failedJobs: rec.failed,
        lastJobMs: rec.lastJobMs,
        healthy: rec.healthy,
        source: rec.listed ? rec.sources.join(',') : 'removed',
      }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async ready(timeoutMs = this.discoveryTimeoutMs): Promise<void> {
    const wait = delay(timeoutMs);
    const finished = await Promise.race([this.firstRound.then(() => true), wait.promise.then(() => false)]);
    wait.cancel();
    if (!finished && !this.hasListedWorkers()) {
      this.addPending([`worker discovery is still running after ${timeoutMs} ms; computing locally`]);
    }
  }

  takeWarnings(): string[] {
    const out = this.pending;
    this.pending = [];
    if (!this.hasListedWorkers()) {
      for (const w of this.current) if (!out.includes(w)) out.push(w);
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.refreshTimer);
    clearTimeout(this.probeTimer);
    this.closing.abort(new Error('worker pool closed'));
    await this.round;
  }

  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.round ??= this.discover().finally(() => {
      this.round = undefined;
      this.lastRoundEnd = this.now();
      this.scheduleRefresh();
    });
    return this.round;
  }

  private hasListedWorkers(): boolean {
    for (const rec of this.records.values()) if (rec.listed) return true;
    return false;
  }

  private better(rec: WorkerRecord, load: number, than: WorkerRecord, thanLoad: number): boolean {
    if (load !== thanLoad) return load < thanLoad;
    if (rec.starts.length !== than.starts.length) return rec.starts.length < than.starts.length;
    return rec.endpoint.id < than.endpoint.id;
  }

  private load(rec: WorkerRecord, now: number): number {
    const active = rec.starts.length;
    if (active === 0) return 0;
    const oldest = Math.min(...rec.starts);
    return active * Math.max(rec.lastJobMs ?? this.initialJobMs, now - oldest);
  }

  private backoff(failures: number): number {
    return Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  }

  private markHealthy(rec: WorkerRecord): void {
    if (!rec.healthy) this.options.log.info('worker reachable again', { worker: rec.endpoint.id });
    rec.healthy = true;
    rec.failures = 0;
    rec.retryAt = 0;
  }

  private addPending(warnings: readonly string[]): void {
    for (const w of warnings) if (!this.pending.includes(w)) this.pending.push(w);
    if (this.pending.length > MAX_PENDING_WARNINGS) this.pending.splice(0, this.pending.length - MAX_PENDING_WARNINGS);
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    if (this.closed || this.options.refreshMs <= 0) return;
    this.refreshTimer = setTimeout(() => void this.refresh(), this.options.refreshMs);
    this.refreshTimer.unref();
  }

  private scheduleProbe(): void {
    if (this.closed) return;
    let next = Infinity;
    for (const rec of this.records.values()) if (rec.listed && !rec.healthy && !rec.probing) next = Math.min(next, rec.retryAt);
    clearTimeout(this.probeTimer);
    if (next === Infinity) return;
    this.probeTimer = setTimeout(() => void this.probeDue(), Math.max(0, Math.min(next - this.now(), this.backoffMaxMs)));
    this.probeTimer.unref();
  }

  private async probeDue(): Promise<void> {
    const now = this.now();
    const due = [...this.records.values()].filter((rec) => rec.listed && !rec.healthy && !rec.probing && rec.retryAt <= now);
    await Promise.all(due.map(async (rec) => {
      rec.probing = true;
      let ok = false;
      try {
        ok = await this.probe(rec.endpoint, this.closing.signal);
      } catch {
        ok = false;
      } finally {
        rec.probing = false;
      }
      if (this.closed) return;
      if (ok) this.markHealthy(rec);
      else if (!rec.healthy) {
        rec.failures++;
        rec.retryAt = this.now() + this.backoff(rec.failures);
      }
    }));
    this.scheduleProbe();
  }

  private async discover(): Promise<void> {
    const { sources, log } = this.options;
    const controller = new AbortController();
    const onClose = (): void => controller.abort(this.closing.signal.reason);
    this.closing.signal.addEventListener('abort', onClose, { once: true });
    const timer = setTimeout(
      () => controller.abort(new Error(`no answer within ${this.discoveryTimeoutMs} ms`)),
      this.discoveryTimeoutMs,
    );
    let results: PromiseSettledResult<{ host: string; port: number }[]>[];
    try {
      results = await Promise.all(sources.map((source) => {
        const answer = Promise.resolve().then(() => source.discover(controller.signal));
        const aborted = new Promise<never>((_, reject) => {
          if (controller.signal.aborted) reject(controller.signal.reason);
          controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
        });
        aborted.catch(() => undefined);
        return Promise.race([answer, aborted]).then(
          (value): PromiseSettledResult<{ host: string; port: number }[]> => ({ status: 'fulfilled', value }),
          (reason: unknown): PromiseSettledResult<{ host: string; port: number }[]> => ({ status: 'rejected', reason }),
        );
      }));
    } finally {
      clearTimeout(timer);
      this.closing.signal.removeEventListener('abort', onClose);
    }
    if (this.closed) return;

    const now = this.now();
    const isSelf = selfMatcher(this.options.self ?? [], this.options.identity ?? machineIdentity());
    const warnings: string[] = [];
    const merged = new Map<string, { host: string; port: number; sources: string[] }>();
    let selfListed = false;
    results.forEach((result, index) => {
      const source = sources[index]!;
      let workers: { host: string; port: number }[];
      if (result.status === 'fulfilled') {
        workers = result.value;
        this.lastGood.set(index, { workers, at: now });
      } else {
        const previous = this.lastGood.get(index);
        const keep = previous !== undefined && now - previous.at <= this.staleMs && previous.workers.length > 0;
        warnings.push(`worker discovery via ${source.name} failed: ${message(result.reason)}${keep ? `; using its list from ${Math.round((now - previous.at) / 1000)} s ago` : ''}`);
        workers = keep ? previous.workers : [];
      }
      for (const worker of workers) {
        const host = normalizeHost(worker.host);
        if (!host || !Number.isInteger(worker.port) || worker.port < 1 || worker.port > 65535) continue;
        if (isSelf(host, worker.port)) {
          selfListed = true;
          continue;
        }
        const id = endpointId(host, worker.port);
        const entry = merged.get(id);
        if (entry) {
          if (!entry.sources.includes(source.name)) entry.sources.push(source.name);
        } else {
          merged.set(id, { host, port: worker.port, sources: [source.name] });
        }
      }
    });

    for (const [id, rec] of this.records) {
      const entry = merged.get(id);
      if (entry) {
        if (!rec.listed) log.info('worker discovered again', { worker: id });
        rec.listed = true;
        rec.sources = entry.sources;
      } else if (rec.listed) {
        rec.listed = false;
        log.info('worker left discovery', { worker: id, activeJobs: rec.starts.length });
        if (rec.starts.length === 0) this.records.delete(id);
      }
    }
    for (const [id, entry] of merged) {
      if (this.records.has(id)) continue;
      this.records.set(id, {
        endpoint: { id, host: entry.host, port: entry.port },
        sources: entry.sources,
        listed: true,
        starts: [],
        completed: 0,
        failed: 0,
        lastJobMs: undefined,
        healthy: true,
        failures: 0,
        retryAt: 0,
        probing: false,
      });
      log.info('worker discovered', { worker: id, source: entry.sources.join(',') });
    }

    if (merged.size === 0) {
      if (sources.length === 0) {
        warnings.push('no workers found (no discovery configured: set GADGETRON_REMOTE_WORKER_COMMAND, --workers or --relay); computing locally');
      } else if (selfListed && warnings.length === 0) {
        log.debug('discovery lists only this server; computing locally');
      } else {
        warnings.push('no workers found; computing locally');
      }
    }
    this.current = warnings;
    this.addPending(warnings);
    const key = warnings.join('\n');
    if (key !== this.loggedWarnings) {
      for (const w of warnings) log.warn(w);
      this.loggedWarnings = key;
    }
    await this.probeDue();
  }
}

/** Creates a pool and starts its first discovery round; see {@link WorkerPool}. */
export function createWorkerPool(options: WorkerPoolOptions): DiscoveringWorkerPool {
  return new Pool(options);
}
