/** Static lists, DNS (with a stub resolver), relay answers and the sources `serve` builds from flags and environment. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DiscoveryError } from './errors.js';
import { dnsSource, type DnsResolver, type SrvAnswer } from './dns-source.js';
import { normalizeRelayUrl, relaySource, workersFromRelayAnswer } from './relay-source.js';
import { createDiscoverySources } from './sources.js';
import { staticSource } from './static-source.js';

const signal = new AbortController().signal;

function dnsError(code: string): Error {
  return Object.assign(new Error(`query ${code}`), { code });
}

/** A resolver answering from fixed records (or failing with `fail`), recording each query. */
function scriptedResolver(records: { a?: Record<string, string[]>; aaaa?: Record<string, string[]>; srv?: Record<string, SrvAnswer[]>; fail?: string }): DnsResolver & { queries: string[] } {
  const queries: string[] = [];
  const answer = <T>(kind: string, table: Record<string, T[]> | undefined, name: string): Promise<T[]> => {
    queries.push(`${kind} ${name}`);
    if (records.fail) return Promise.reject(dnsError(records.fail));
    const found = table?.[name];
    return found ? Promise.resolve(found) : Promise.reject(dnsError('ENOTFOUND'));
  };
  return {
    queries,
    resolve4: (name) => answer('A', records.a, name),
    resolve6: (name) => answer('AAAA', records.aaaa, name),
    resolveSrv: (name) => answer('SRV', records.srv, name),
  };
}

test('static source answers its list, parsed at creation', async () => {
  const source = staticSource(['node1:9050,node2:9051', '[::1]:9052', 'node3']);
  assert.equal(source.name, 'static');
  assert.deepEqual(await source.discover(signal), [
    { host: 'node1', port: 9050 }, { host: 'node2', port: 9051 }, { host: '::1', port: 9052 }, { host: 'node3', port: 9002 },
  ]);
  assert.throws(() => staticSource(['node1:abc']), /Cannot parse worker address "node1:abc"/);
});

test('DNS source reads A and AAAA records of a headless service on the given port', async () => {
  const resolver = scriptedResolver({ a: { 'workers.default.svc': ['10.1.0.4', '10.1.0.5'] }, aaaa: { 'workers.default.svc': ['FD00::5'] } });
  const source = dnsSource('workers.default.svc', 9002, { resolver });
  assert.deepEqual(await source.discover(signal), [
    { host: '10.1.0.4', port: 9002 }, { host: '10.1.0.5', port: 9002 }, { host: 'fd00::5', port: 9002 },
  ]);
  assert.deepEqual(resolver.queries.sort(), ['A workers.default.svc', 'AAAA workers.default.svc']);
});

test('DNS source prefers SRV _gadgetron._tcp records when no port is given, else port 9002', async () => {
  const srv = scriptedResolver({
    srv: { '_gadgetron._tcp.workers': [
      { name: 'pod-b.workers', port: 9010, priority: 10, weight: 5 },
      { name: 'pod-a.workers', port: 9011, priority: 0, weight: 5 },
    ] },
    a: { 'pod-a.workers': ['10.1.0.7'], 'pod-b.workers': ['10.1.0.8'] },
  });
  assert.deepEqual(await dnsSource('workers', undefined, { resolver: srv }).discover(signal), [
    { host: '10.1.0.7', port: 9011 }, { host: '10.1.0.8', port: 9010 },
  ]);
  const plain = scriptedResolver({ a: { workers: ['10.1.0.9', '10.1.0.9'] } });
  assert.deepEqual(await dnsSource('workers', undefined, { resolver: plain }).discover(signal), [{ host: '10.1.0.9', port: 9002 }]);
  assert.ok(plain.queries.includes('SRV _gadgetron._tcp.workers'));
});

test('DNS source reads a given SRV name', async () => {
  const resolver = scriptedResolver({
    srv: { '_mrd._tcp.recon.ns.svc.cluster.local': [{ name: 'r-0.recon.ns.svc.cluster.local', port: 9002, priority: 0, weight: 0 }] },
    aaaa: { 'r-0.recon.ns.svc.cluster.local': ['fd00::9'] },
  });
  assert.deepEqual(await dnsSource('_mrd._tcp.recon.ns.svc.cluster.local.', undefined, { resolver }).discover(signal), [{ host: 'fd00::9', port: 9002 }]);
});

test('DNS source treats a missing name as no workers and other failures as errors', async () => {
  assert.deepEqual(await dnsSource('gone', 9002, { resolver: scriptedResolver({}) }).discover(signal), []);
  await assert.rejects(dnsSource('workers', 9002, { resolver: scriptedResolver({ fail: 'ESERVFAIL' }) }).discover(signal), (err: unknown) => {
    assert.ok(err instanceof DiscoveryError);
    assert.equal(err.code, 'DNS_FAILED');
    assert.match(err.message, /Cannot resolve workers: .*ESERVFAIL/);
    return true;
  });
  const halfBroken: DnsResolver = {
    resolve4: () => Promise.reject(dnsError('ETIMEOUT')),
    resolve6: () => Promise.reject(dnsError('ENODATA')),
    resolveSrv: () => Promise.reject(dnsError('ENOTFOUND')),
  };
  await assert.rejects(dnsSource('workers', 9002, { resolver: halfBroken }).discover(signal), /ETIMEOUT/);
  const hanging: DnsResolver = { resolve4: () => new Promise(() => undefined), resolve6: () => new Promise(() => undefined), resolveSrv: () => new Promise(() => undefined) };
  await assert.rejects(dnsSource('workers', 9002, { resolver: hanging, timeoutMs: 50 }).discover(signal), /no answer within 50 ms/);
  assert.throws(() => dnsSource('workers', 70000), RangeError);
});

test('relay URLs accept bare hosts (port 5000) and full URLs', () => {
  assert.equal(normalizeRelayUrl('relay').href, 'http://relay:5000/');
  assert.equal(normalizeRelayUrl('relay:8080').href, 'http://relay:8080/');
  assert.equal(normalizeRelayUrl('relay:80').href, 'http://relay/');
  assert.equal(normalizeRelayUrl('[::1]').href, 'http://[::1]:5000/');
  assert.equal(normalizeRelayUrl('http://relay/').href, 'http://relay/');
  assert.equal(normalizeRelayUrl('https://relay.example/base/').href, 'https://relay.example/base');
  assert.throws(() => normalizeRelayUrl('ftp://relay'), TypeError);
});

test('relay answers parse to workers; malformed entries are skipped', () => {
  assert.deepEqual(workersFromRelayAnswer('["[10.0.0.5]:9002", "[::1]:9003"]\n'), [{ host: '10.0.0.5', port: 9002 }, { host: '::1', port: 9003 }]);
  assert.deepEqual(workersFromRelayAnswer('[]'), []);
  assert.deepEqual(workersFromRelayAnswer('["[10.0.0.5]:None", "[10.0.0.6]:9002"]'), [{ host: '10.0.0.6', port: 9002 }]);
  assert.throws(() => workersFromRelayAnswer('["[10.0.0.5]:None"]'), DiscoveryError);
  assert.throws(() => workersFromRelayAnswer('{"workers": []}'), /expected a JSON array/);
  assert.throws(() => workersFromRelayAnswer('<html>'), /not JSON/);
});

test('relay source asks GET /cloudbus/workers and reports HTTP and connection failures', async (t) => {
  let status = 200;
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(`${req.method} ${req.url}`);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(status === 200 ? '["[127.0.0.1]:9050"]' : 'boom');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const source = relaySource(`127.0.0.1:${port}`);
  assert.deepEqual(await source.discover(signal), [{ host: '127.0.0.1', port: 9050 }]);
  assert.deepEqual(paths, ['GET /cloudbus/workers']);
  status = 500;
  await assert.rejects(source.discover(signal), /answered HTTP 500: boom/);
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  await assert.rejects(relaySource(`http://127.0.0.1:${deadPort}`).discover(signal), (err: unknown) => {
    assert.ok(err instanceof DiscoveryError);
    assert.match(err.message, /Cannot reach relay http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    return true;
  });
});

test('discovery sources come from the environment and flags in a fixed order', async () => {
  assert.deepEqual(createDiscoverySources({ env: {} }), []);
  assert.deepEqual(createDiscoverySources({ env: { GADGETRON_REMOTE_WORKER_COMMAND: '  ' }, workers: [''] }), []);
  const sources = createDiscoverySources({
    env: { GADGETRON_REMOTE_WORKER_COMMAND: 'echo ["127.0.0.1:9050", "localhost:9051"]', PATH: process.env.PATH },
    workers: ['node1:9052'],
    relayUrl: 'relay.local',
    dnsName: 'workers.default.svc',
    dnsResolver: scriptedResolver({}),
  });
  assert.deepEqual(sources.map((s) => s.name), ['command', 'static', 'relay', 'dns']);
  assert.deepEqual(await sources[0]!.discover(signal), [{ host: '127.0.0.1', port: 9050 }, { host: 'localhost', port: 9051 }]);
  assert.deepEqual(await sources[1]!.discover(signal), [{ host: 'node1', port: 9052 }]);
  assert.throws(() => createDiscoverySources({ env: {}, workers: ['bad:port'] }), RangeError);
  assert.throws(() => createDiscoverySources({ env: {}, relayUrl: 'ftp://x' }), TypeError);
});
