/**
 * What the server remembers about its sessions: one record per connection
 * with its state transitions, timings, counts, errors, remote jobs, and the
 * images it produced (for the viewer and downloads), plus server-wide counters
 * for the metrics. Memory is bounded: the records of the most recent
 * `keepSessions` sessions are kept (running ones always), and image pixels up
 * to `maxImageBytes` in all, the oldest images dropped first.
 *
 * Every state change is logged as one `session_state` record with the random
 * session id; records never hold patient identifiers.
 */
import { randomUUID } from 'node:crypto';
import type { Message } from '../ismrmrd/messages.js';
import { bytesPerPixel, DataType, type Image } from '../ismrmrd/types.js';
import type { Frame } from '../protocol/frames.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { ProtocolError } from '../protocol/errors.js';
import type { Logger } from '../util/logger.js';
import { windowFromMeta } from '../formats/windowing.js';
import type {
  ImageInfo, JobInfo, ProtocolErrorReason, RegistryEvent, SessionInfo, SessionObserver, SessionOutcome, SessionState,
  WorkerInfo, WorkerSnapshotSource,
} from './types.js';
import { receivedFrameSize, sentMessageSize, type MessageTypeLabel } from './wire-bytes.js';

/** Registry settings. */
export interface SessionRegistryOptions {
  /** Finished sessions kept for the API (default 50). */
  keepSessions?: number;
  /** Pixel bytes kept over all sessions (default 256 MiB). */
  maxImageBytes?: number;
  log?: Logger;
  now?: () => number;
}

/** Server-wide counters (the metrics read them). */
export class RegistryCounters {
  readonly started = new Map<string, number>();
  /** Key: `config\u0000outcome`. */
  readonly completed = new Map<string, number>();
  readonly receivedBytes = new Map<MessageTypeLabel, number>();
  readonly sentBytes = new Map<MessageTypeLabel, number>();
  readonly receivedMessages = new Map<MessageTypeLabel, number>();
  readonly protocolErrors = new Map<ProtocolErrorReason, number>();
  refused = 0;
}

function add<K>(map: Map<K, number>, key: K, n = 1): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

interface StoredImage {
  info: ImageInfo;
  image: Image;
  bytes: number;
}

const vec3 = (v: readonly number[]): [number, number, number] => [v[0] ?? 0, v[1] ?? 0, v[2] ?? 0];

/** Header fields and meta of `image` for the API. */
export function describeImage(image: Image, index: number, receivedAt: number): ImageInfo {
  const h = image.head;
  const meta: Record<string, string[]> = Object.fromEntries(image.meta);
  const window = windowFromMeta(meta);
  return {
    index,
    series: h.image_series_index,
    imageIndex: h.image_index,
    matrix: vec3(h.matrix_size),
    channels: h.channels,
    dataType: h.data_type,
    imageType: h.image_type,
    complex: h.data_type === DataType.CXFLOAT || h.data_type === DataType.CXDOUBLE,
    slice: h.slice,
    phase: h.phase,
    repetition: h.repetition,
    contrast: h.contrast,
    set: h.set,
    average: h.average,
    fieldOfView: vec3(h.field_of_view),
    position: vec3(h.position),
    readDir: vec3(h.read_dir),
    phaseDir: vec3(h.phase_dir),
    sliceDir: vec3(h.slice_dir),
    acquisitionTimeStamp: h.acquisition_time_stamp,
    ...(window ? { window } : {}),
    meta,
    receivedAt,
  };
}

/** How a recorded error counts as a protocol error, if it does. */
export function protocolErrorReason(location: string, err: unknown): ProtocolErrorReason | undefined {
  if (err instanceof ProtocolError) {
    switch (err.code) {
      case 'UNKNOWN_MESSAGE_ID': return 'unknown_id';
      case 'MESSAGE_TOO_LARGE': return 'oversize';
      case 'UNSUPPORTED': return 'unsupported';
      case 'TRUNCATED_MESSAGE': return 'truncated';
      default: return 'malformed';
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/idle for more than/.test(message)) return 'timeout';
  if (/^Cannot parse ISMRMRD header/.test(message)) return 'bad_header';
  if (err instanceof Error && (err.name === 'ConfigError' || err.name === 'PipelineBuildError' || /^Cannot (load|find|read) config/.test(message))) {
    return 'config';
  }
  if (location.endsWith('Connection Input Thread') && /^Received /.test(message)) return 'unexpected_message';
  return undefined;
}

/** One session's record; it is the session's observer. */
export class SessionRecord implements SessionObserver {
  readonly id: string = randomUUID();
  state: SessionState = 'connected';
  outcome: SessionOutcome | undefined;
  config: string | undefined;
  readonly timings: SessionInfo['timings'];
  acquisitions = 0;
  images = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly errors: string[] = [];
  readonly jobs: JobInfo[] = [];
  /** Kept images by output index. */
  readonly kept = new Map<number, StoredImage>();
  /** The session's ISMRMRD header (patient fields: used for DICOM export, never listed by the API). */
  header: IsmrmrdHeader | undefined;
  private timedOut = false;
  private clientGone = false;

  constructor(
    private readonly registry: SessionRegistry,
    readonly connection: number,
    readonly remote: string | undefined,
  ) {
    this.timings = { connectedAt: registry.now() };
  }

  /** True while the session runs. */
  get running(): boolean {
    return this.state !== 'completed' && this.state !== 'failed';
  }

  configured(name: string): void {
    this.config = name;
    this.timings.configuredAt = this.registry.now();
    this.transition('configured');
  }

  streaming(header?: IsmrmrdHeader): void {
    this.header = header;
    this.timings.streamingAt = this.registry.now();
    this.transition('streaming');
  }

  inputClosed(): void {
    this.timings.inputClosedAt = this.registry.now();
    if (this.state === 'streaming' || this.state === 'configured') this.transition('finishing');
  }

  received(frame: Frame): void {
    const { type, bytes } = receivedFrameSize(frame);
    this.bytesIn += bytes;
    if (type === 'acquisition') this.acquisitions += 1;
    add(this.registry.counters.receivedBytes, type, bytes);
    add(this.registry.counters.receivedMessages, type);
  }

  sent(chunks: readonly Uint8Array[]): void {
    const { type, bytes } = sentMessageSize(chunks);
    this.bytesOut += bytes;
    add(this.registry.counters.sentBytes, type, bytes);
  }

  output(message: Message): void {
    const image = message.kind === 'image' ? message : message.kind === 'dicom' ? message.image : undefined;
    if (!image) return;
    const index = this.images++;
    const now = this.registry.now();
    if (this.timings.firstImageAt === undefined) this.timings.firstImageAt = now;
    this.registry.keepImage(this, index, image, now);
  }

  error(location: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.errors.push(`[${location}] ${message}`);
    if (/idle for more than/.test(message)) this.timedOut = true;
    if (/^Connection (closed by the client without a CLOSE message|lost)/.test(message)) this.clientGone = true;
    const reason = protocolErrorReason(location, err);
    if (reason) add(this.registry.counters.protocolErrors, reason);
  }

  /** Records a remote (or local) job of a distributed session; call `end` when it finishes. */
  job(worker: string, job: string): { end(outcome: 'success' | 'error' | 'retried', error?: string): void } {
    const record: JobInfo = { worker, job, startedAt: this.registry.now() };
    this.jobs.push(record);
    this.registry.changed(this);
    return {
      end: (outcome, error) => {
        record.endedAt = this.registry.now();
        record.outcome = outcome;
        if (error !== undefined) record.error = error;
        this.registry.changed(this);
      },
    };
  }

  /** Marks the end of the session (called by the TCP server). */
  end(result: { outcome: 'ok' | 'error' }, cutByDrain = false): void {
    if (!this.running) return;
    const now = this.registry.now();
    this.timings.endedAt = now;
    this.timings.durationMs = now - this.timings.connectedAt;
    this.outcome = result.outcome === 'ok' ? 'success' : cutByDrain ? 'drained' : this.timedOut ? 'timeout' : this.clientGone ? 'client_abort' : 'error';
    this.transition(result.outcome === 'ok' ? 'completed' : 'failed');
    this.registry.ended(this);
  }

  /** The API view of this record. */
  info(): SessionInfo {
    return {
      id: this.id,
      connection: this.connection,
      state: this.state,
      ...(this.outcome ? { outcome: this.outcome } : {}),
      ...(this.config === undefined ? {} : { config: this.config }),
      ...(this.remote === undefined ? {} : { remote: this.remote }),
      timings: { ...this.timings },
      acquisitions: this.acquisitions,
      images: this.images,
      imagesKept: this.kept.size,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      errors: [...this.errors],
      jobs: this.jobs.map((j) => ({ ...j })),
    };
  }

  /** Kept images, in output order. */
  storedImages(): { info: ImageInfo; image: Image }[] {
    return [...this.kept.values()].sort((a, b) => a.info.index - b.info.index).map(({ info, image }) => ({ info, image }));
  }

  /** One kept image. */
  storedImage(index: number): { info: ImageInfo; image: Image } | undefined {
    const s = this.kept.get(index);
    return s ? { info: s.info, image: s.image } : undefined;
  }

  private transition(state: SessionState): void {
    this.state = state;
    this.registry.stateChanged(this);
  }
}

/** The sessions of one server. */
export class SessionRegistry {
  readonly counters = new RegistryCounters();
  readonly now: () => number;
  private readonly records = new Map<string, SessionRecord>();
  private readonly order: SessionRecord[] = [];
  private readonly imageQueue: { record: SessionRecord; index: number }[] = [];
  private imageBytes = 0;
  private readonly listeners = new Set<(event: RegistryEvent) => void>();
  private readonly keepSessions: number;
  private readonly maxImageBytes: number;
  private readonly log: Logger | undefined;
  private workerSource: WorkerSnapshotSource | undefined;
  private isDraining = false;
  private nextConnection = 1;

  constructor(options: SessionRegistryOptions = {}) {
    this.keepSessions = options.keepSessions ?? 50;
    this.maxImageBytes = options.maxImageBytes ?? 256 * 1024 * 1024;
    this.log = options.log;
    this.now = options.now ?? Date.now;
  }

  /** Starts a record for a new connection. */
  open(info: { connection?: number; remote?: string } = {}): SessionRecord {
    const record = new SessionRecord(this, info.connection ?? this.nextConnection++, info.remote);
    this.records.set(record.id, record);
    this.order.push(record);
    this.prune();
    this.stateChanged(record);
    return record;
  }

  /** Counts a connection refused at the session limit. */
  refused(): void {
    this.counters.refused += 1;
  }

  /** Sessions, newest first. */
  list(): SessionInfo[] {
    return [...this.order].reverse().map((r) => r.info());
  }

  /** A session by id. */
  get(id: string): SessionRecord | undefined {
    return this.records.get(id);
  }

  /** Sessions running now. */
  get active(): number {
    let n = 0;
    for (const r of this.order) if (r.running) n += 1;
    return n;
  }

  /** Pixel bytes held. */
  get heldImageBytes(): number {
    return this.imageBytes;
  }

  /** True once the server drains for shutdown. */
  get draining(): boolean {
    return this.isDraining;
  }

  /** Marks the server as draining (readiness turns false). */
  setDraining(draining: boolean): void {
    if (this.isDraining === draining) return;
    this.isDraining = draining;
    this.log?.info('server draining', { draining });
    this.emit({ type: 'readiness', ready: !draining });
  }

  /** Where the workers view reads the pool from (the distributed worker pool). */
  setWorkerSource(source: WorkerSnapshotSource | undefined): void {
    this.workerSource = source;
  }

  /** The workers of the pool (empty without a distributed pool). */
  workers(): WorkerInfo[] {
    if (!this.workerSource) return [];
    return this.workerSource.snapshot().map((w) => ({
      id: w.id,
      state: !w.healthy ? 'unreachable' : w.activeJobs > 0 ? 'busy' : 'ready',
      activeJobs: w.activeJobs,
      completedJobs: w.completedJobs ?? 0,
      failedJobs: w.failedJobs ?? 0,
      ...(w.source === undefined ? {} : { source: w.source }),
    }));
  }

  /** Subscribes to session and image events; returns the unsubscribe function. */
  subscribe(listener: (event: RegistryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal */
  stateChanged(record: SessionRecord): void {
    const fields: Record<string, unknown> = { session_id: record.id, session: record.connection, state: record.state };
    if (record.config !== undefined) fields['config'] = record.config;
    if (record.outcome !== undefined) {
      fields['outcome'] = record.outcome;
      fields['images'] = record.images;
      fields['duration_s'] = (record.timings.durationMs ?? 0) / 1000;
    }
    this.log?.info('session_state', fields);
    if (record.state === 'configured') add(this.counters.started, metricConfig(record.config));
    this.changed(record);
  }

  /** @internal */
  changed(record: SessionRecord): void {
    this.emit({ type: 'session', session: record.info() });
  }

  /** @internal */
  ended(record: SessionRecord): void {
    if (record.timings.configuredAt === undefined) add(this.counters.started, metricConfig(undefined));
    add(this.counters.completed, `${metricConfig(record.config)}\u0000${record.outcome ?? 'error'}`);
    this.prune();
  }

  /** @internal */
  keepImage(record: SessionRecord, index: number, image: Image, now: number): void {
    const info = describeImage(image, index, now);
    const bytes = image.data.byteLength || pixelBytes(image);
    record.kept.set(index, { info, image, bytes });
    this.imageQueue.push({ record, index });
    this.imageBytes += bytes;
    while (this.imageBytes > this.maxImageBytes && this.imageQueue.length > 1) {
      const oldest = this.imageQueue.shift() as { record: SessionRecord; index: number };
      this.dropImage(oldest.record, oldest.index);
    }
    this.emit({ type: 'image', session: record.id, image: info });
  }

  private dropImage(record: SessionRecord, index: number): void {
    const stored = record.kept.get(index);
    if (!stored) return;
    record.kept.delete(index);
    this.imageBytes -= stored.bytes;
  }

  private prune(): void {
    let finished = this.order.filter((r) => !r.running).length;
    for (let i = 0; i < this.order.length && finished > this.keepSessions; ) {
      const r = this.order[i] as SessionRecord;
      if (r.running) {
        i += 1;
        continue;
      }
      for (const index of [...r.kept.keys()]) this.dropImage(r, index);
      this.order.splice(i, 1);
      this.records.delete(r.id);
      finished -= 1;
    }
    if (this.imageQueue.some((q) => !this.records.has(q.record.id))) {
      const alive = this.imageQueue.filter((q) => this.records.has(q.record.id) && q.record.kept.has(q.index));
      this.imageQueue.splice(0, this.imageQueue.length, ...alive);
    }
  }

  private emit(event: RegistryEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.log?.warn('registry listener failed', { error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
}

function pixelBytes(image: Image): number {
  const [x = 0, y = 1, z = 1] = image.head.matrix_size;
  return x * y * z * image.head.channels * bytesPerPixel(image.head.data_type);
}

/**
 * The `config` label: a config name as loaded (names resolve only to files in
 * the config folders, so the set is bounded), `script` for config scripts,
 * `none` when the session sent no config.
 */
export function metricConfig(config: string | undefined): string {
  if (config === undefined || config === '') return 'none';
  if (config === '<script>') return 'script';
  return config.length > 64 ? config.slice(0, 64) : config;
}
