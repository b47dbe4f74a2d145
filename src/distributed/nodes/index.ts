/**
 * Distributed nodes: `<distributed>` (and the legacy Distribute … Collect
 * section) and `<puredistributed>` run their inner stream on remote workers,
 * exactly once, with replay on failure and in-process fallback.
 */
export {
  acquisitionDistributor, acquisitionLanes, bufferDistributor, counterValue, distributorDefinitions, PARALLEL_DIMENSIONS,
  type AnyDistributorDefinition, type Distributor, type DistributorDefinition, type LaneAssignment, type ParallelDimension,
} from './distributors.js';
export { runDistributedStep } from './distributed-runner.js';
export { runPureDistributedStep } from './pure-distributed-runner.js';
export {
  LEGACY_COLLECT_CLASSES, LEGACY_DISTRIBUTE_CLASSES, legacyCollectProperties, legacyDistributeProperties, legacyLaneMode,
} from './legacy.js';
export { NodeContext, type LocalRunner, type RemoteStreamPlan } from './node-context.js';
export { RemoteSession, tcpConnector, watchSessions, WorkerError, type RemoteSessionOptions } from './remote-session.js';
export {
  defaultDistribution, type DistributionEnvironment, type JobAttempt, type JobOutcome, type JobRecord, type JobWorkerPool,
  type WorkerConnector, type WorkerTransport,
} from './types.js';
export { encodeForWorker, messageBytes, messageOfFrame, WIRE_IDS, WIRE_KINDS, type WireLink } from './wire.js';
