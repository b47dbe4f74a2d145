/**
 * `serve` flags that secure the HTTP side and the gateway→worker links (see
 * docs/security.md):
 *
 * - `--http-tls-cert/--http-tls-key`: HTTPS;
 * - `--http-token-file FILE` (one token per line): the API, page and
 *   downloads need a bearer token; `--http-auth-all` also protects the
 *   probes and /metrics;
 * - `--worker-secret-file FILE`: sessions on the data port must first prove
 *   the shared secret, and links this server opens to workers prove it;
 *   `--gateway-secret-file FILE` only proves it to workers (a gateway whose
 *   data port stays open to plain clients);
 * - `--worker-tls-ca/--worker-tls-cert/--worker-tls-key`: links to workers
 *   use TLS (workers whose data port is TLS-only), with a client certificate
 *   for mutual TLS.
 */
import type { Command } from 'commander';
import type { WorkerConnector } from '../distributed/nodes/types.js';
import type { HttpAuthOptions } from '../http/auth.js';
import { MIN_TOKEN_LENGTH } from '../http/auth.js';
import { readFlagFile, readSecretLines } from '../server/tls-files.js';
import { MIN_WORKER_SECRET_LENGTH, WorkerProofVerifier } from '../server/worker-auth.js';
import { workerLinkConnector, type WorkerLinkSettings } from '../server/worker-link.js';

/** Parsed security flags. */
export interface SecurityFlags {
  httpTlsCert?: string;
  httpTlsKey?: string;
  httpTokenFile?: string;
  httpAuthAll: boolean;
  workerSecretFile?: string;
  gatewaySecretFile?: string;
  workerTlsCa?: string;
  workerTlsCert?: string;
  workerTlsKey?: string;
}

/** Adds the security flags to `serve`. */
export function addSecurityOptions(command: Command): Command {
  return command
    .option('--http-tls-cert <file>', 'PEM certificate chain: the HTTP side serves HTTPS')
    .option('--http-tls-key <file>', 'PEM private key of the HTTPS side')
    .option('--http-token-file <file>', 'bearer tokens (one per line, at least 16 characters): the API, the page and downloads need `Authorization: Bearer TOKEN` (the page asks for it once)')
    .option('--http-auth-all', 'with --http-token-file, also require the token on /livez, /readyz and /metrics', false)
    .option('--worker-secret-file <file>', 'shared secret (first line; more lines are also accepted, for rotation; at least 16 characters): sessions on --port must prove it (give clients --tls-port), and links to workers prove it')
    .option('--gateway-secret-file <file>', 'shared secret proven on links to workers only (this server\'s own data port stays open; first line used)')
    .option('--worker-tls-ca <file>', 'links to workers use TLS, trusting workers\' certificates signed by this PEM CA bundle')
    .option('--worker-tls-cert <file>', 'PEM client certificate presented to workers (mutual TLS; with --worker-tls-key)')
    .option('--worker-tls-key <file>', 'PEM private key of --worker-tls-cert');
}

/** HTTPS and token settings of the HTTP side from the flags. */
export function httpSecurityFromFlags(flags: SecurityFlags): { https?: { cert: Buffer; key: Buffer }; auth?: HttpAuthOptions } {
  if (Boolean(flags.httpTlsCert) !== Boolean(flags.httpTlsKey)) throw new Error('Cannot serve HTTPS: give both --http-tls-cert and --http-tls-key');
  if (flags.httpAuthAll && !flags.httpTokenFile) throw new Error('Cannot use --http-auth-all without --http-token-file');
  return {
    ...(flags.httpTlsCert && flags.httpTlsKey
      ? { https: { cert: readFlagFile('--http-tls-cert', flags.httpTlsCert), key: readFlagFile('--http-tls-key', flags.httpTlsKey) } }
      : {}),
    ...(flags.httpTokenFile
      ? { auth: { tokens: readSecretLines('--http-token-file', flags.httpTokenFile, MIN_TOKEN_LENGTH), protectAll: flags.httpAuthAll } }
      : {}),
  };
}

/** The worker-link proof check (for this server's data port) and the connector to workers, from the flags. */
export function workerSecurityFromFlags(flags: SecurityFlags): { workerProof?: WorkerProofVerifier; connect?: WorkerConnector } {
  if (Boolean(flags.workerTlsCert) !== Boolean(flags.workerTlsKey)) throw new Error('Cannot use a client certificate for workers: give both --worker-tls-cert and --worker-tls-key');
  if (flags.workerTlsCert && !flags.workerTlsCa) throw new Error('Cannot use --worker-tls-cert without --worker-tls-ca (the CA that signed the workers\' certificates)');
  if (flags.workerSecretFile && flags.gatewaySecretFile) throw new Error('Cannot use both --worker-secret-file and --gateway-secret-file (the worker secret is also proven to workers)');
  const secrets = flags.workerSecretFile ? readSecretLines('--worker-secret-file', flags.workerSecretFile, MIN_WORKER_SECRET_LENGTH) : undefined;
  const outgoing = secrets ?? (flags.gatewaySecretFile ? readSecretLines('--gateway-secret-file', flags.gatewaySecretFile, MIN_WORKER_SECRET_LENGTH) : undefined);
  const link: WorkerLinkSettings = {
    ...(outgoing ? { secret: outgoing[0] as string } : {}),
    ...(flags.workerTlsCa ? {
      tls: {
        ca: readFlagFile('--worker-tls-ca', flags.workerTlsCa),
        ...(flags.workerTlsCert && flags.workerTlsKey
          ? { cert: readFlagFile('--worker-tls-cert', flags.workerTlsCert), key: readFlagFile('--worker-tls-key', flags.workerTlsKey) }
          : {}),
      },
    } : {}),
  };
  return {
    ...(secrets ? { workerProof: new WorkerProofVerifier(secrets) } : {}),
    ...(link.secret !== undefined || link.tls ? { connect: workerLinkConnector(link) } : {}),
  };
}
