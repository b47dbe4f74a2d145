/** Self-exclusion: a server recognises its own address in a worker list by interface addresses, host name, POD_IP and port. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../util/logger.js';
import { canonicalHost, machineIdentity, ownHosts, selfMatcher, type LocalIdentity } from './self-endpoint.js';
import { createWorkerPool, type DiscoverySource } from './worker-pool.js';

/** A Kubernetes pod: eth0 10.1.2.3 (and an IPv6 link-local address with a zone), host name gantry-gateway-0. */
const pod = (env: Record<string, string> = {}): LocalIdentity => ({
  interfaceAddresses: () => ['127.0.0.1', '::1', '10.1.2.3', 'fe80::1%eth0'],
  hostname: () => 'gantry-gateway-0',
  env,
});

test('hosts compare without brackets, zones or the IPv4-mapped prefix, case-insensitively', () => {
  assert.equal(canonicalHost(' [FE80::1%eth0] '), 'fe80::1');
  assert.equal(canonicalHost('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(canonicalHost('[::FFFF:10.1.2.3]'), '10.1.2.3');
  assert.equal(canonicalHost('LocalHost'), 'localhost');
});

test('a server bound to 0.0.0.0 (a pod) is its interface addresses, host name and loopback on its own port only', () => {
  const isSelf = selfMatcher([{ host: '0.0.0.0', port: 9002 }], pod());
  for (const host of ['10.1.2.3', '::ffff:10.1.2.3', 'fe80::1', '[fe80::1]', '127.0.0.1', '127.0.0.53', 'localhost', '::1', 'GANTRY-GATEWAY-0']) {
    assert.equal(isSelf(host, 9002), true, `${host}:9002 is this server`);
  }
  assert.equal(isSelf('10.1.2.3', 9003), false, 'another port on the same pod is another server');
  assert.equal(isSelf('10.1.2.4', 9002), false, 'another pod is a worker');
  assert.equal(isSelf('gantry-gateway-1', 9002), false);
});

test('POD_IP and POD_IPS count as this server when bound to a wildcard, even when no interface shows them', () => {
  const hidden: LocalIdentity = { interfaceAddresses: () => ['127.0.0.1'], hostname: () => 'node', env: { POD_IP: '10.9.0.7', POD_IPS: '10.9.0.7, fd00::7' } };
  const isSelf = selfMatcher([{ host: '::', port: 9002 }], hidden);
  assert.equal(isSelf('10.9.0.7', 9002), true);
  assert.equal(isSelf('[FD00::7]', 9002), true);
  assert.equal(isSelf('10.9.0.8', 9002), false);
  assert.equal(selfMatcher([{ host: '0.0.0.0', port: 9002 }], { ...hidden, env: {} })('10.9.0.7', 9002), false, 'without POD_IP that address is unknown');
  assert.ok(ownHosts(hidden).has('fd00::7'));
});

test('a server bound to one address is that address only, not the machine\'s other addresses', () => {
  const isSelf = selfMatcher([{ host: '10.1.2.3', port: 9002 }], pod({ POD_IPS: '10.1.2.3,fd00::3' }));
  assert.equal(isSelf('10.1.2.3', 9002), true);
  assert.equal(isSelf('::ffff:10.1.2.3', 9002), true);
  assert.equal(isSelf('fd00::3', 9002), false, 'bound to IPv4 only: its IPv6 address does not reach it');
  assert.equal(isSelf('127.0.0.1', 9002), false, 'not listening on loopback');
  assert.equal(isSelf('fe80::1', 9002), false);
  const loopback = selfMatcher([{ host: '127.0.0.1', port: 9002 }], pod());
  assert.equal(loopback('localhost', 9002), true);
  assert.equal(loopback('127.0.1.1', 9002), true);
  assert.equal(loopback('10.1.2.3', 9002), false);
  assert.equal(selfMatcher([], pod())('127.0.0.1', 9002), false);
});

test('the running machine\'s own interface addresses are recognised', () => {
  const identity = machineIdentity({});
  const isSelf = selfMatcher([{ host: '0.0.0.0', port: 4000 }], identity);
  const addresses = identity.interfaceAddresses();
  assert.ok(addresses.length > 0);
  for (const a of addresses) assert.equal(isSelf(a, 4000), true, a);
});

test('a gateway pod whose headless service lists its own pod IP sends no jobs to itself', async (t) => {
  const dns: DiscoverySource = {
    name: 'dns',
    discover: () => Promise.resolve([{ host: '10.1.2.3', port: 9002 }, { host: '10.1.2.4', port: 9002 }, { host: '10.1.2.5', port: 9002 }]),
  };
  const pool = createWorkerPool({ sources: [dns], refreshMs: 0, log: silentLogger, self: [{ host: '0.0.0.0', port: 9002 }], identity: pod(), probe: () => Promise.resolve(true) });
  t.after(() => pool.close());
  await pool.ready(2_000);
  assert.deepEqual(pool.snapshot().map((w) => w.id), ['10.1.2.4:9002', '10.1.2.5:9002']);
  assert.deepEqual(pool.takeWarnings(), []);

  const alone: DiscoverySource = { name: 'dns', discover: () => Promise.resolve([{ host: '10.9.0.7', port: 9002 }]) };
  const single = createWorkerPool({
    sources: [alone], refreshMs: 0, log: silentLogger, self: [{ host: '0.0.0.0', port: 9002 }],
    identity: { interfaceAddresses: () => ['127.0.0.1'], hostname: () => 'x', env: { POD_IP: '10.9.0.7' } },
  });
  t.after(() => single.close());
  await single.ready(2_000);
  assert.deepEqual(single.snapshot(), [], 'a service of one pod, this one: compute locally');
  assert.equal(single.pick(), undefined);
  assert.deepEqual(single.takeWarnings(), [], 'listing only itself is not a discovery failure');
});
