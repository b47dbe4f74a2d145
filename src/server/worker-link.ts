/**
 * How a gateway opens its links to workers when worker links are secured:
 * TCP or TLS (`--worker-tls-ca` to trust the workers' certificates,
 * `--worker-tls-cert/--worker-tls-key` to present one for mutual TLS), and,
 * with `--worker-secret-file`, the worker-link proof as the first message
 * (see worker-auth.ts). Without either it behaves like the plain TCP
 * connector.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { socketTransport, WorkerError } from '../distributed/nodes/remote-session.js';
import type { WorkerConnector, WorkerTransport } from '../distributed/nodes/types.js';
import { encodeWorkerProof } from './worker-auth.js';

/** How to reach workers. */
export interface WorkerLinkSettings {
  /** TLS to the workers (their data port is TLS-only): trust anchors, client certificate. */
  tls?: Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'servername'>;
  /** Shared secret proven at the start of each link. */
  secret?: string;
}

/** A worker connector for `settings`. */
export function workerLinkConnector(settings: WorkerLinkSettings): WorkerConnector {
  return (endpoint, timeoutMs) => new Promise<WorkerTransport>((resolve, reject) => {
    const tls = settings.tls;
    const socket: Socket = tls
      ? tlsConnect({ host: endpoint.host, port: endpoint.port, ...tls, ...(tls.servername === undefined && !/^[\d.:]+$/.test(endpoint.host) ? { servername: endpoint.host } : {}) })
      : netConnect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new WorkerError('connect', `Cannot connect to worker ${endpoint.id}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const what = tls ? 'TLS connection to' : 'connect to';
      reject(new WorkerError('connect', `Cannot ${what} worker ${endpoint.id}: ${err.code ?? err.message}`));
    });
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      if (settings.secret !== undefined) socket.write(encodeWorkerProof(settings.secret));
      resolve(socketTransport(socket, endpoint));
    });
  });
}
