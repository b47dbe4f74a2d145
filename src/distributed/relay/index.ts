/** The cloudbus relay (`gantry relay`) and the registration client that keeps a server listed in it. */
export {
  DEFAULT_RELAY_EXPIRY_MS, RelayRegistry, relayClientAddress, relayRequestHandler, relayWorkerKey, startRelayServer,
  type RelayRegistryOptions, type RelayServer, type RelayServerOptions,
} from './relay-server.js';
export { startRelayRegistration, type RelayRegistration, type RelayRegistrationOptions } from './registration.js';
