/**
 * Test certificates made with the `openssl` CLI in a temporary folder: a CA,
 * a server certificate for 127.0.0.1/localhost and a client certificate
 * signed by it, and a second ("rogue") CA with its own client certificate,
 * which a server trusting only the first CA must refuse.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasTool } from '../helpers/tools.js';

/** Paths of the files {@link makeCertificates} writes. */
export interface Certificates {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueCa: string;
  rogueClientCert: string;
  rogueClientKey: string;
}

/** Skip reason for tests that need openssl, or false. */
export const needsOpenssl: string | false = hasTool('openssl') ? false : 'needs openssl (apt-get install openssl)';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

function ca(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=gantry test ${name}`,
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)]);
}

function leaf(dir: string, name: string, caName: string, subject: string, ext: string): void {
  const p = (f: string): string => join(dir, f);
  writeFileSync(p(`${name}.ext`), ext);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`)]);
  openssl(['x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${caName}.crt`), '-CAkey', p(`${caName}.key`), '-CAcreateserial',
    '-days', '2', '-extfile', p(`${name}.ext`), '-out', p(`${name}.crt`)]);
}

/** Writes the certificates into `dir`. */
export function makeCertificates(dir: string): Certificates {
  ca(dir, 'ca');
  ca(dir, 'rogue-ca');
  leaf(dir, 'server', 'ca', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf(dir, 'client', 'ca', '/CN=scanner-1', 'extendedKeyUsage=clientAuth\n');
  leaf(dir, 'rogue-client', 'rogue-ca', '/CN=stranger', 'extendedKeyUsage=clientAuth\n');
  const p = (f: string): string => join(dir, f);
  return {
    ca: p('ca.crt'), serverCert: p('server.crt'), serverKey: p('server.key'), clientCert: p('client.crt'), clientKey: p('client.key'),
    rogueCa: p('rogue-ca.crt'), rogueClientCert: p('rogue-client.crt'), rogueClientKey: p('rogue-client.key'),
  };
}
