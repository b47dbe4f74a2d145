/**
 * DNS discovery against a real DNS server (a small UDP responder in the test
 * answering A, AAAA and SRV like a Kubernetes headless service), through
 * node's c-ares resolver; and the system-resolver fallback for names the DNS
 * queries do not find (`localhost`, /etc/hosts, search domains).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { discoverByDns, dnsSource, lookupAll, type DnsResolver, type SrvAnswer } from './dns-source.js';

const signal = new AbortController().signal;

interface Zone {
  a?: Record<string, string[]>;
  aaaa?: Record<string, string[]>;
  srv?: Record<string, SrvAnswer[]>;
}

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter((p) => p !== '');
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'ascii')])), Buffer.from([0])]);
}

function decodeName(msg: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let at = offset;
  for (;;) {
    const len = msg[at] ?? 0;
    at += 1;
    if (len === 0) break;
    labels.push(msg.subarray(at, at + len).toString('ascii'));
    at += len;
  }
  return { name: labels.join('.').toLowerCase(), next: at };
}

function record(name: string, type: number, data: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(30, 4);
  fixed.writeUInt16BE(data.length, 8);
  return Buffer.concat([encodeName(name), fixed, data]);
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
}

/** Answers one query from `zone`: NXDOMAIN for unknown names, no records for a known name without that type. */
function answer(query: Buffer, zone: Zone): Buffer {
  const { name, next } = decodeName(query, 12);
  const type = query.readUInt16BE(next);
  const known = [zone.a, zone.aaaa, zone.srv].some((z) => z && name in z);
  const answers: Buffer[] = [];
  if (type === 1) for (const ip of zone.a?.[name] ?? []) answers.push(record(name, 1, Buffer.from(ip.split('.').map(Number))));
  if (type === 28) for (const ip of zone.aaaa?.[name] ?? []) answers.push(record(name, 28, ipv6Bytes(ip)));
  if (type === 33) {
    for (const srv of zone.srv?.[name] ?? []) {
      const head = Buffer.alloc(6);
      head.writeUInt16BE(srv.priority, 0);
      head.writeUInt16BE(srv.weight, 2);
      head.writeUInt16BE(srv.port, 4);
      answers.push(record(name, 33, Buffer.concat([head, encodeName(srv.name)])));
    }
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8180 | (known ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, query.subarray(12, next + 4), ...answers]);
}

/** A DNS server on 127.0.0.1 (UDP, ephemeral port) serving `zone`; records the questions. */
async function startDnsServer(t: { after: (fn: () => Promise<void>) => void }, zone: Zone): Promise<{ server: string; questions: string[] }> {
  const socket = createSocket('udp4');
  const questions: string[] = [];
  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    const { name, next } = decodeName(msg, 12);
    questions.push(`${({ 1: 'A', 28: 'AAAA', 33: 'SRV' } as Record<number, string>)[msg.readUInt16BE(next)] ?? msg.readUInt16BE(next)} ${name}`);
    socket.send(answer(msg, zone), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { server: `127.0.0.1:${socket.address().port}`, questions };
}

const SERVICE = 'gantry-workers.recon.svc.cluster.local';
const ZONE: Zone = {
  a: { [SERVICE]: ['10.1.0.4', '10.1.0.5'], [`pod-a.${SERVICE}`]: ['10.1.0.4'], [`pod-b.${SERVICE}`]: ['10.1.0.5'] },
  aaaa: { [SERVICE]: ['fd00::4'] },
  srv: {
    [`_gadgetron._tcp.${SERVICE}`]: [
      { name: `pod-b.${SERVICE}`, port: 9012, priority: 0, weight: 10 },
      { name: `pod-a.${SERVICE}`, port: 9011, priority: 0, weight: 20 },
    ],
  },
};

test('a headless service over real DNS: A and AAAA records on the given port', async (t) => {
  const dns = await startDnsServer(t, ZONE);
  const found = await dnsSource(SERVICE, 9002, { servers: [dns.server], timeoutMs: 3_000 }).discover(signal);
  assert.deepEqual(found, [{ host: '10.1.0.4', port: 9002 }, { host: '10.1.0.5', port: 9002 }, { host: 'fd00::4', port: 9002 }]);
  assert.deepEqual(dns.questions.sort(), [`A ${SERVICE}`, `AAAA ${SERVICE}`]);
});

test('a headless service over real DNS: SRV _gadgetron._tcp records, their targets and ports, by priority then weight', async (t) => {
  const dns = await startDnsServer(t, ZONE);
  const found = await dnsSource(SERVICE, undefined, { servers: [dns.server], timeoutMs: 3_000 }).discover(signal);
  assert.deepEqual(found, [{ host: '10.1.0.4', port: 9011 }, { host: '10.1.0.5', port: 9012 }]);
  assert.ok(dns.questions.includes(`SRV _gadgetron._tcp.${SERVICE}`));
  const named = await dnsSource(`_gadgetron._tcp.${SERVICE}`, undefined, { servers: [dns.server], timeoutMs: 3_000 }).discover(signal);
  assert.deepEqual(named, found);
});

test('over real DNS: no SRV record falls back to A on port 9002; an unknown name is no workers', async (t) => {
  const dns = await startDnsServer(t, { a: { workers: ['10.2.0.1'] } });
  assert.deepEqual(await dnsSource('workers', undefined, { servers: [dns.server], timeoutMs: 3_000 }).discover(signal), [{ host: '10.2.0.1', port: 9002 }]);
  assert.deepEqual(await dnsSource('nobody.example', 9002, { servers: [dns.server], timeoutMs: 3_000 }).discover(signal), []);
  assert.deepEqual(await dnsSource('_gadgetron._tcp.nobody.example', undefined, { servers: [dns.server], timeoutMs: 3_000 }).discover(signal), []);
});

test('a DNS server that does not answer is a discovery failure within the deadline', async (t) => {
  const silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => silent.close(() => resolve())));
  const started = Date.now();
  await assert.rejects(
    dnsSource(SERVICE, 9002, { servers: [`127.0.0.1:${silent.address().port}`], timeoutMs: 400 }).discover(signal),
    /Cannot resolve gantry-workers\.recon\.svc\.cluster\.local/,
  );
  assert.ok(Date.now() - started < 3_000);
});

test('names the DNS queries do not find are asked of the system resolver (localhost, /etc/hosts)', async () => {
  assert.ok((await lookupAll('localhost')).some((a) => a === '127.0.0.1' || a === '::1'));
  const viaSystem = await dnsSource('localhost', 9050).discover(signal);
  assert.ok(viaSystem.some((w) => (w.host === '127.0.0.1' || w.host === '::1') && w.port === 9050), JSON.stringify(viaSystem));
  const asked: string[] = [];
  const resolver: DnsResolver = {
    resolve4: () => Promise.reject(Object.assign(new Error('queryA ENOTFOUND gantry-workers'), { code: 'ENOTFOUND' })),
    resolve6: () => Promise.reject(Object.assign(new Error('queryAAAA ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    resolveSrv: () => Promise.reject(Object.assign(new Error('querySrv ENOTFOUND'), { code: 'ENOTFOUND' })),
    lookup: (name) => {
      asked.push(name);
      return Promise.resolve(['10.3.0.1', '10.3.0.2']);
    },
  };
  assert.deepEqual(await discoverByDns(resolver, 'gantry-workers', 9002), [{ host: '10.3.0.1', port: 9002 }, { host: '10.3.0.2', port: 9002 }]);
  assert.deepEqual(await discoverByDns(resolver, 'gantry-workers'), [{ host: '10.3.0.1', port: 9002 }, { host: '10.3.0.2', port: 9002 }]);
  assert.deepEqual(asked, ['gantry-workers', 'gantry-workers']);
  const nothing: DnsResolver = { ...resolver, lookup: () => Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' })) };
  await assert.rejects(discoverByDns(nothing, 'gantry-workers', 9002), /ECONNREFUSED/, 'a DNS failure stays a failure when the system resolver finds nothing either');
});
