/** Worker discovery: Gadgetron's worker command, static lists, cloudbus relays and DNS. */
export { DiscoveryError, type DiscoveryErrorCode } from './errors.js';
export {
  DEFAULT_WORKER_PORT, endpointId, normalizeHost, parsePort, parseWorkerAddress, parseWorkerAddresses, parseWorkerList,
  type WorkerAddress, type WorkerListParse,
} from './worker-list.js';
export {
  commandSource, runDiscoveryCommand, splitCommandLine, workersFromCommandOutput, type CommandRun, type CommandSourceOptions,
} from './command-source.js';
export { staticSource } from './static-source.js';
export {
  DEFAULT_RELAY_PORT, normalizeRelayUrl, relayEndpoint, relaySource, workersFromRelayAnswer, type RelaySourceOptions,
} from './relay-source.js';
export { discoverByDns, dnsSource, type DnsResolver, type DnsSourceOptions, type SrvAnswer } from './dns-source.js';
export { REMOTE_WORKER_COMMAND_ENV, createDiscoverySources, type DiscoverySettings } from './sources.js';
