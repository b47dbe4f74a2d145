/**
 * `serve` flags for running in a cluster: `--pod-deletion-cost` keeps the
 * pod's deletion cost equal to its running sessions (idle pods go first
 * when a Deployment scales in); `--tls-cert`/`--tls-key` (and/or
 * `--tls-psk-file`, optionally `--tls-client-ca`) make the data port take TLS
 * only, or, with `--tls-port`, add a TLS listener for clients from outside
 * beside the plain port that pods use among themselves. See docs/deploy.md
 * and docs/security.md.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { TlsListenerOptions } from '../server/tcp-server.js';
import { readFlagFile, readPskFile } from '../server/tls-files.js';
import type { TlsServerSettings } from '../server/tls-listener.js';
import type { StartServerOptions } from './serve.js';
import { addSecurityOptions, httpSecurityFromFlags, workerSecurityFromFlags, type SecurityFlags } from './security-options.js';
import { podTargetFromEnvironment, startPodDeletionCost } from '../deploy/pod-deletion-cost.js';
import type { GantryTcpServer } from '../server/tcp-server.js';
import type { Logger } from '../util/logger.js';

/** Parsed deployment flags (with the security flags of security-options.ts). */
export interface DeployFlags extends SecurityFlags {
  podDeletionCost: boolean;
  tlsPort?: number;
  tlsHost?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  tlsPskFile?: string;
}

function tcpPort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('--tls-port must be an integer from 0 to 65535');
  return n;
}

/** Adds the deployment flags (and the security flags) to `serve`. */
export function addDeployOptions(command: Command): Command {
  addSecurityOptions(command);
  return command
    .option('--pod-deletion-cost', 'in Kubernetes: keep this pod\'s controller.kubernetes.io/pod-deletion-cost annotation equal to its running sessions, so that scale-in removes idle pods first (needs POD_NAME, POD_NAMESPACE and RBAC get/patch on pods)', false)
    .option('--tls-port <port>', 'also listen for the Gadgetron protocol inside TLS on this port (same sessions; the plain --port stays, e.g. for workers); without it the TLS flags make --port itself TLS-only', tcpPort)
    .option('--tls-host <host>', 'address the TLS listener binds (default: --host)')
    .option('--tls-cert <file>', 'PEM certificate chain for TLS (of --tls-port, or else of the data port, which then refuses plain TCP)')
    .option('--tls-key <file>', 'PEM private key for TLS')
    .option('--tls-client-ca <file>', 'PEM CA bundle: TLS clients must present a certificate it signed (mutual TLS)')
    .option('--tls-psk-file <file>', 'pre-shared keys for stunnel-style TLS clients: IDENTITY:KEY lines (hex or text key, at least 16 bytes; TLS 1.2 PSK ciphers)');
}

/** The certificate, key, client CA and pre-shared keys of the TLS flags (reads the files). */
function tlsSettings(flags: DeployFlags, what: string): TlsServerSettings {
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new Error(`Cannot listen with TLS: ${what} needs both --tls-cert and --tls-key`);
  if (!flags.tlsCert && !flags.tlsPskFile) throw new Error(`Cannot listen with TLS: ${what} needs --tls-cert and --tls-key (or --tls-psk-file)`);
  return {
    ...(flags.tlsCert && flags.tlsKey ? { cert: readFlagFile('--tls-cert', flags.tlsCert), key: readFlagFile('--tls-key', flags.tlsKey) } : {}),
    ...(flags.tlsClientCa ? { clientCa: readFlagFile('--tls-client-ca', flags.tlsClientCa) } : {}),
    ...(flags.tlsPskFile ? { psk: readPskFile('--tls-psk-file', flags.tlsPskFile) } : {}),
  };
}

/** The extra TLS listener from the flags (undefined without --tls-port); reads the PEM files. */
export function tlsFromFlags(flags: DeployFlags, host: string): TlsListenerOptions | undefined {
  if (flags.tlsPort === undefined) return undefined;
  return { host: flags.tlsHost ?? host, port: flags.tlsPort, ...tlsSettings(flags, '--tls-port') };
}

/** TLS on the data port itself: the TLS flags without --tls-port (undefined when none is given). */
export function dataTlsFromFlags(flags: DeployFlags): TlsServerSettings | undefined {
  if (flags.tlsPort !== undefined) return undefined;
  if (!flags.tlsCert && !flags.tlsKey && !flags.tlsClientCa && !flags.tlsPskFile) return undefined;
  if (flags.tlsHost !== undefined) throw new Error('Cannot use --tls-host without --tls-port (the data port binds --host)');
  return tlsSettings(flags, 'a TLS data port');
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

/**
 * `options` with what the TLS and security flags ask for: TLS on the data
 * port, the worker-secret check, HTTPS and tokens on the HTTP side, and how
 * links to workers are opened. Reads the files; errors name the flag.
 */
export function secureServeOptions(flags: DeployFlags, options: StartServerOptions): StartServerOptions {
  const dataTls = dataTlsFromFlags(flags);
  const http = httpSecurityFromFlags(flags);
  const { workerProof, connect } = workerSecurityFromFlags(flags);
  if ((http.https || http.auth) && !options.http) throw new Error('Cannot use --http-tls-cert, --http-token-file or --http-auth-all with --no-http');
  return {
    ...options,
    ...(dataTls ? { dataTls } : {}),
    ...(workerProof ? { workerProof } : {}),
    ...(options.http ? { http: { ...options.http, ...http } } : {}),
    ...(connect && options.distribution ? { distribution: { ...options.distribution, connect } } : {}),
  };
}
