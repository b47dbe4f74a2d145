/**
 * Shapes of what the server records about its sessions, as the HTTP API and
 * the web page see them. Nothing here holds a patient identifier: a session is
 * known by a random id, its config name and its timings.
 */
import type { Message } from '../ismrmrd/messages.js';
import type { Frame } from '../protocol/frames.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';

/** Where a session is in its life. */
export type SessionState = 'connected' | 'configured' | 'streaming' | 'finishing' | 'completed' | 'failed';

/** How a session ended (the `outcome` label of the session metrics). */
export type SessionOutcome = 'success' | 'error' | 'client_abort' | 'timeout' | 'drained';

/** Why an input was refused (the `reason` label of `mrd_protocol_errors_total`). */
export type ProtocolErrorReason =
  | 'unknown_id' | 'oversize' | 'malformed' | 'unsupported' | 'truncated' | 'bad_header' | 'unexpected_message'
  | 'config' | 'timeout';

/** One remote job of a distributed session: which worker did what. */
export interface JobInfo {
  /** Worker id (`host:port`), or `local` when the job ran in this process. */
  worker: string;
  /** What the job was, e.g. `slice 3` or `bucket 12`. */
  job: string;
  startedAt: number;
  endedAt?: number;
  outcome?: 'success' | 'error' | 'retried';
  error?: string;
}

/** A worker of the pool (distributed sessions). */
export interface WorkerInfo {
  id: string;
  state: 'ready' | 'busy' | 'unreachable';
  activeJobs: number;
  completedJobs: number;
  failedJobs: number;
  source?: string;
}

/** Where the workers view gets its data (the distributed worker pool matches this shape). */
export interface WorkerSnapshotSource {
  snapshot(): readonly {
    id: string;
    healthy: boolean;
    activeJobs: number;
    completedJobs?: number;
    failedJobs?: number;
    source?: string;
  }[];
}

/** A session as the API lists it. */
export interface SessionInfo {
  id: string;
  /** The TCP server's connection number (matches the `session` field of its log records). */
  connection: number;
  state: SessionState;
  outcome?: SessionOutcome;
  config?: string;
  remote?: string;
  /** Epoch milliseconds of each transition. */
  timings: {
    connectedAt: number;
    configuredAt?: number;
    streamingAt?: number;
    inputClosedAt?: number;
    firstImageAt?: number;
    endedAt?: number;
    durationMs?: number;
  };
  acquisitions: number;
  images: number;
  /** Images still held in memory (older ones are dropped past the memory cap). */
  imagesKept: number;
  bytesIn: number;
  bytesOut: number;
  errors: string[];
  jobs: JobInfo[];
}

/** An image's header fields and meta, as the API returns them (pixels are separate). */
export interface ImageInfo {
  /** Position of the image in the session's output (0-based). */
  index: number;
  series: number;
  imageIndex: number;
  matrix: [number, number, number];
  channels: number;
  dataType: number;
  imageType: number;
  complex: boolean;
  slice: number;
  phase: number;
  repetition: number;
  contrast: number;
  set: number;
  average: number;
  fieldOfView: [number, number, number];
  position: [number, number, number];
  readDir: [number, number, number];
  phaseDir: [number, number, number];
  sliceDir: [number, number, number];
  acquisitionTimeStamp: number;
  /** Default window from the meta (GADGETRON_WindowCenter/Width or WindowCenter/Width), if present. */
  window?: { center: number; width: number };
  meta: Record<string, string[]>;
  receivedAt: number;
}

/** What the registry tells its subscribers (the page's live stream). */
export type RegistryEvent =
  | { type: 'session'; session: SessionInfo }
  | { type: 'image'; session: string; image: ImageInfo }
  | { type: 'readiness'; ready: boolean };

/**
 * What a session reports as it runs (implemented by a session record). Every
 * method is cheap and never throws.
 */
export interface SessionObserver {
  /** The config was loaded and its pipeline planned. */
  configured(name: string): void;
  /** The ISMRMRD header arrived; data flows. The header is kept for DICOM export only (never shown by the API). */
  streaming(header?: IsmrmrdHeader): void;
  /** The client sent CLOSE; the pipeline finishes. */
  inputClosed(): void;
  /** A frame was decoded from the client. */
  received(frame: Frame): void;
  /** Chunks of one message were written to the client. */
  sent(chunks: readonly Uint8Array[]): void;
  /** A message is about to be written to the client (images are kept for the viewer). */
  output(message: Message): void;
  /** An error was recorded for the client. */
  error(location: string, err: unknown): void;
}
