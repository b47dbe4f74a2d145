/**
 * `serve` flags for running in a cluster: `--pod-deletion-cost` keeps the
 * pod's deletion cost equal to its running sessions (idle pods go first
 * when a Deployment scales in); `--tls-port` with `--tls-cert`/`--tls-key`
 * (and optionally `--tls-client-ca`) adds a TLS listener for clients from
 * outside, beside the plain port that pods use among themselves. See
 * docs/deploy.md.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { TlsListenerOptions } from '../server/tcp-server.js';
import { podTargetFromEnvironment, startPodDeletionCost } from '../deploy/pod-deletion-cost.js';
import type { GantryTcpServer } from '../server/tcp-server.js';
import type { Logger } from '../util/logger.js';

/** Parsed deployment flags. */
export interface DeployFlags {
  podDeletionCost: boolean;
  tlsPort?: number;
  tlsHost?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
}

function tcpPort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('--tls-port must be an integer from 0 to 65535');
  return n;
}

/** Adds the deployment flags to `serve`. */
export function addDeployOptions(command: Command): Command {
  return command
    .option('--pod-deletion-cost', 'in Kubernetes: keep this pod\'s controller.kubernetes.io/pod-deletion-cost annotation equal to its running sessions, so that scale-in removes idle pods first (needs POD_NAME, POD_NAMESPACE and RBAC get/patch on pods)', false)
    .option('--tls-port <port>', 'also listen for the Gadgetron protocol inside TLS on this port (same sessions; the plain --port stays, e.g. for workers)', tcpPort)
    .option('--tls-host <host>', 'address the TLS listener binds (default: --host)')
    .option('--tls-cert <file>', 'PEM certificate chain of the TLS listener')
    .option('--tls-key <file>', 'PEM private key of the TLS listener')
    .option('--tls-client-ca <file>', 'PEM CA bundle: TLS clients must present a certificate it signed (mutual TLS)');
}

/** The TLS listener from the flags (undefined without --tls-port); reads the PEM files. */
export function tlsFromFlags(flags: DeployFlags, host: string): TlsListenerOptions | undefined {
  if (flags.tlsPort === undefined) {
    if (flags.tlsCert || flags.tlsKey || flags.tlsClientCa) throw new Error('Cannot use --tls-cert, --tls-key or --tls-client-ca without --tls-port');
    return undefined;
  }
  if (!flags.tlsCert || !flags.tlsKey) throw new Error('Cannot listen with TLS: --tls-port needs --tls-cert and --tls-key');
  const read = (flag: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`Cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return {
    host: flags.tlsHost ?? host,
    port: flags.tlsPort,
    cert: read('--tls-cert', flags.tlsCert),
    key: read('--tls-key', flags.tlsKey),
    ...(flags.tlsClientCa ? { clientCa: read('--tls-client-ca', flags.tlsClientCa) } : {}),
  };
}

/** Starts what the deployment flags ask for, stopped when the server starts draining. */
export function startDeployHelpers(server: GantryTcpServer, flags: DeployFlags, log: Logger, env: NodeJS.ProcessEnv = process.env): void {
  if (!flags.podDeletionCost) return;
  const target = podTargetFromEnvironment(env);
  if ('problem' in target) {
    log.warn('pod deletion cost disabled', { reason: target.problem });
    return;
  }
  const updater = startPodDeletionCost({ target, sessions: () => server.activeSessions, log: log.child({ component: 'pod-deletion-cost' }) });
  server.onCloseStart(() => updater.stop());
}
