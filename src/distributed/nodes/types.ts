/**
 * What a distributed node needs from the server while it runs: the worker
 * pool, timeouts, the job buffer budget, how to reach a worker, and where
 * job records go (observability).
 */
import type { ProtocolLimits } from '../../protocol/index.js';
import type { WorkerEndpoint, WorkerPool, WorkerState } from '../worker-pool.js';

export type { WorkerEndpoint, WorkerState };

/** The part of the server's worker pool a distributed node uses (see `WorkerPool`): all of it but `close`. */
export type JobWorkerPool = Omit<WorkerPool, 'close'>;

/**
 * A byte link to a worker: bytes in, chunks out. TCP in production; tests use
 * in-memory links. `incoming` ends when the worker hangs up and throws when
 * the link breaks or is destroyed with an error.
 */
export interface WorkerTransport {
  readonly incoming: AsyncIterable<Uint8Array>;
  /** Writes chunks in order; resolves once they are accepted (waits while the link's buffer is full). */
  write(chunks: readonly Uint8Array[]): Promise<void>;
  /** Half-closes our side after the last write. */
  end(): void;
  /** Tears the link down; a pending `incoming` iteration throws `error`. */
  destroy(error?: Error): void;
}

/** Opens a transport to a worker, failing after `timeoutMs`. */
export type WorkerConnector = (endpoint: WorkerEndpoint, timeoutMs: number) => Promise<WorkerTransport>;

/** How one attempt of a job ended. */
export type JobOutcome = 'ok' | 'failed' | 'timeout' | 'connect-failed' | 'cancelled';

/** One attempt of one job: which worker did it, how it ended and how long it took. */
export interface JobRecord {
  /** Pipeline path of the distributed node. */
  node: string;
  /** Job number within the node run (1, 2, …), in creation order. */
  job: number;
  /** What the job holds, e.g. `slice=2` (a puredistributed job: `message=17`). */
  key: string;
  /** Worker id (`host:port`), or `local`. */
  worker: string;
  /** 1 for the first attempt, 2 for the first replay, … */
  attempt: number;
  outcome: JobOutcome;
  /** Wall time of the attempt in ms, connect included. */
  ms: number;
  messagesIn: number;
  messagesOut: number;
  /** Bytes sent to the worker over the wire (CONFIG, HEADER, the job's messages, CLOSE); remote `<distributed>` attempts only. */
  bytesSent?: number;
  /** Bytes received from the worker (its messages and CLOSE); remote `<distributed>` attempts only. */
  bytesReceived?: number;
  /** Why the attempt failed. */
  error?: string;
}

/** The start of an attempt (observability). */
export type JobAttempt = Pick<JobRecord, 'node' | 'job' | 'key' | 'worker' | 'attempt'>;

/** Settings and services of distributed nodes; absent in a RunEnvironment means "compute locally, default settings". */
export interface DistributionEnvironment {
  /** Remote workers; absent = every job runs in-process. */
  pool?: JobWorkerPool;
  /** How long a connect to a worker may take, ms. */
  connectTimeoutMs: number;
  /** How long a job may go without progress (bytes from the worker, or our writes draining) while the worker owes us some, ms. */
  workerTimeoutMs: number;
  /** Bytes of job input kept for replay per distributed node run. */
  jobBufferBytes: number;
  /** Jobs one worker runs at once (server-wide count, from the pool); more wait for a free worker. */
  workerSlots: number;
  /** Remote attempts per job before it runs in-process (default 3). */
  maxRemoteAttempts?: number;
  /** How long a node waits for the first discovery round, ms (default 2000). */
  discoveryWaitMs?: number;
  /** Limits applied to what workers send. */
  limits?: Partial<ProtocolLimits>;
  /** Opens links to workers (default: TCP). */
  connect?: WorkerConnector;
  /** Told when an attempt starts (its record follows through `recordJob`). */
  jobStarted?: (attempt: JobAttempt) => void;
  /** Receives a record for every finished attempt. */
  recordJob?: (record: JobRecord) => void;
}

/** Settings used where a RunEnvironment has no `distribution`. */
export const defaultDistribution: DistributionEnvironment = Object.freeze({
  connectTimeoutMs: 5_000,
  workerTimeoutMs: 60_000,
  jobBufferBytes: 1024 * 1024 * 1024,
  workerSlots: 2,
});
