/**
 * Prometheus metrics of a Gantry server (prom-client, one registry per
 * server). Names follow Prometheus conventions (prefix `mrd_`, base units,
 * `_total` on counters); labels hold config names, outcomes, message types
 * and reasons only: never a session, patient or measurement identifier.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SessionRegistry } from '../observe/session-registry.js';
import { metricConfig } from '../observe/session-registry.js';
import type { StorageCounters } from '../storage/instrumented-store.js';

/** What readiness depends on. */
export interface ReadinessSource {
  readonly activeSessions: number;
  readonly maxSessions: number;
  readonly draining: boolean;
}

/** Metric settings. */
export interface MetricsOptions {
  sessions: SessionRegistry;
  readiness: ReadinessSource;
  build: { version: string; commit: string };
  /** Dependency-store counters (the process-wide `storageStats`). */
  storage?: StorageCounters;
  /** Also export the default `process_*` and `nodejs_*` metrics (default true). */
  defaultMetrics?: boolean;
}

/** Buckets of `mrd_session_duration_seconds`: 0.5 s to 30 min. */
export const SESSION_DURATION_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800];

/** Counters filled from a map of running totals at scrape time. */
function totalsCounter<L extends string>(
  register: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Iterable<[Record<L, string>, number]>,
): Counter<L> {
  return new Counter<L>({
    name,
    help,
    labelNames,
    registers: [register],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

/** Creates the registry with every Gantry metric. */
export function createMetrics(options: MetricsOptions): Registry {
  const register = new Registry();
  const { sessions, readiness } = options;
  const counters = sessions.counters;

  new Gauge({
    name: 'mrd_sessions_active', help: 'Sessions running now (the autoscaling input)', registers: [register],
    collect() {
      this.set(sessions.active);
    },
  });
  new Gauge({
    name: 'mrd_capacity_sessions', help: 'Sessions this server accepts at once', registers: [register],
    collect() {
      this.set(readiness.maxSessions);
    },
  });
  new Gauge({
    name: 'mrd_draining', help: '1 while the server drains for shutdown', registers: [register],
    collect() {
      this.set(readiness.draining ? 1 : 0);
    },
  });
  totalsCounter(register, 'mrd_sessions_started_total', 'Sessions started, by config', ['config'],
    () => [...counters.started].map(([config, n]) => [{ config }, n]));
  totalsCounter(register, 'mrd_sessions_completed_total', 'Sessions ended, by config and outcome', ['config', 'outcome'],
    () => [...counters.completed].map(([key, n]) => {
      const [config = 'none', outcome = 'error'] = key.split('\u0000');
      return [{ config, outcome }, n];
    }));
  totalsCounter(register, 'mrd_sessions_refused_total', 'Connections refused at the session limit', [],
    () => [[{}, counters.refused]]);
  totalsCounter(register, 'mrd_received_bytes_total', 'Bytes received from clients, by message type', ['message_type'],
    () => [...counters.receivedBytes].map(([message_type, n]) => [{ message_type }, n]));
  totalsCounter(register, 'mrd_sent_bytes_total', 'Bytes sent to clients, by message type', ['message_type'],
    () => [...counters.sentBytes].map(([message_type, n]) => [{ message_type }, n]));
  totalsCounter(register, 'mrd_messages_received_total', 'Messages received from clients, by message type', ['message_type'],
    () => [...counters.receivedMessages].map(([message_type, n]) => [{ message_type }, n]));
  totalsCounter(register, 'mrd_protocol_errors_total', 'Refused input, by reason', ['reason'],
    () => [...counters.protocolErrors].map(([reason, n]) => [{ reason }, n]));
  const storage = options.storage;
  totalsCounter(register, 'mrd_dependency_store_operations_total', 'Dependency store operations, by operation and outcome', ['op', 'outcome'],
    () => {
      if (!storage) return [];
      const s = storage;
      return [
        [{ op: 'put', outcome: 'success' }, s.saves - s.saveFailures],
        [{ op: 'put', outcome: 'error' }, s.saveFailures],
        [{ op: 'get', outcome: 'hit' }, s.loadHits],
        [{ op: 'get', outcome: 'miss' }, s.loadMisses],
        [{ op: 'get', outcome: 'error' }, s.loadFailures],
        [{ op: 'list', outcome: 'success' }, s.lists - s.listFailures],
        [{ op: 'list', outcome: 'error' }, s.listFailures],
      ];
    });
  new Gauge({
    name: 'mrd_workers', help: 'Workers of the distributed pool, by state', labelNames: ['state'], registers: [register],
    collect() {
      const byState = { ready: 0, busy: 0, unreachable: 0 };
      for (const w of sessions.workers()) byState[w.state] += 1;
      for (const [state, n] of Object.entries(byState)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'mrd_images_held_bytes', help: 'Pixel bytes of recent images held for the viewer and downloads', registers: [register],
    collect() {
      this.set(sessions.heldImageBytes);
    },
  });
  const info = new Gauge({
    name: 'mrd_build_info', help: 'Build of this server (value 1)', labelNames: ['version', 'commit'], registers: [register],
  });
  info.set({ version: options.build.version, commit: options.build.commit }, 1);

  const duration = new Histogram({
    name: 'mrd_session_duration_seconds', help: 'Session duration from connection to close, by config and outcome',
    labelNames: ['config', 'outcome'], buckets: SESSION_DURATION_BUCKETS, registers: [register],
  });
  const observed = new Set<string>();
  sessions.subscribe((event) => {
    if (event.type !== 'session' || event.session.outcome === undefined || observed.has(event.session.id)) return;
    observed.add(event.session.id);
    if (observed.size > 10_000) observed.clear();
    duration.observe({ config: metricConfig(event.session.config), outcome: event.session.outcome }, (event.session.timings.durationMs ?? 0) / 1000);
  });

  if (options.defaultMetrics !== false) collectDefaultMetrics({ register });
  return register;
}
