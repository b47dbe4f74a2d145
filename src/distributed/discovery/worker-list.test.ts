/** Gadgetron's worker-list grammar and Gantry's address parsing. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { endpointId, parseWorkerAddress, parseWorkerAddresses, parseWorkerList } from './worker-list.js';

function workers(text: string): { host: string; port: number }[] {
  const parsed = parseWorkerList(text);
  assert.ok(parsed.ok, `expected ${JSON.stringify(text)} to parse, got ${parsed.ok ? '' : parsed.reason}`);
  return parsed.workers;
}

function fails(text: string): string {
  const parsed = parseWorkerList(text);
  assert.ok(!parsed.ok, `expected ${JSON.stringify(text)} to fail`);
  return parsed.reason;
}

test('worker list parses the test harness output with white space and a trailing newline', () => {
  assert.deepEqual(workers('["localhost:9050", "localhost:9051"]\n'), [
    { host: 'localhost', port: 9050 },
    { host: 'localhost', port: 9051 },
  ]);
  assert.deepEqual(workers('  [\n\t"10.0.0.1:9002" ,\r\n "10.0.0.2:9003"\n]  \n'), [
    { host: '10.0.0.1', port: 9002 },
    { host: '10.0.0.2', port: 9003 },
  ]);
  assert.deepEqual(workers('["a:1"]'), [{ host: 'a', port: 1 }]);
});

test('worker list strips brackets around hosts (IPv6 and the relay form)', () => {
  assert.deepEqual(workers('["[::1]:9002", "[10.0.0.5]:9002", "[fe80::1%eth0]:9010"]'), [
    { host: '::1', port: 9002 },
    { host: '10.0.0.5', port: 9002 },
    { host: 'fe80::1%eth0', port: 9010 },
  ]);
  assert.deepEqual(workers('[" [ 2001:db8::7 ] : 9002"]'), [{ host: '2001:db8::7', port: 9002 }]);
});

test('worker list takes the port up to the closing quote and requires it to be numeric', () => {
  assert.deepEqual(workers('["host: 9002"]'), [{ host: 'host', port: 9002 }]);
  assert.match(fails('["host:http"]'), /invalid port "http"/);
  assert.match(fails('["host:0"]'), /invalid port/);
  assert.match(fails('["host:65536"]'), /invalid port/);
  assert.match(fails('["host:"]'), /expected a port/);
  assert.match(fails('["host"]'), /expected ":"/);
  assert.match(fails('["a:1:2"]'), /invalid port "1:2"/);
});

test('worker list rejects an empty list, garbage, objects and trailing text', () => {
  assert.match(fails('[]'), /empty list/);
  assert.match(fails(''), /expected "\["/);
  assert.match(fails('\n'), /expected "\["/);
  assert.match(fails('localhost:9002'), /expected "\["/);
  assert.match(fails("['localhost:9002']"), /expected a quoted/);
  assert.match(fails('["a:1",]'), /expected a quoted/);
  assert.match(fails('["a:1" "b:2"]'), /expected "," or "\]"/);
  assert.match(fails('["a:1"] x'), /unexpected text/);
  assert.match(fails('["a:1"]["b:2"]'), /unexpected text/);
  assert.match(fails('{"nodes": ["a:1"]}'), /expected "\["/);
  assert.match(fails('[{"host": "a", "port": 1}]'), /expected a quoted/);
  assert.match(fails('["a", "b:1"]'), /invalid host/);
  assert.match(fails('["[::1:9002"]'), /expected ":" after the host/);
  assert.match(fails('["[]:9002"]'), /expected a bracketed host/);
});

test('worker addresses from the command line accept host:port, bare hosts, IPv6 and quoted lists', () => {
  assert.deepEqual(parseWorkerAddress('node1:9050'), { host: 'node1', port: 9050 });
  assert.deepEqual(parseWorkerAddress(' Node1 '), { host: 'node1', port: 9002 });
  assert.deepEqual(parseWorkerAddress('[::1]:9003'), { host: '::1', port: 9003 });
  assert.deepEqual(parseWorkerAddress('[::1]'), { host: '::1', port: 9002 });
  assert.deepEqual(parseWorkerAddress('2001:db8::1'), { host: '2001:db8::1', port: 9002 });
  assert.deepEqual(parseWorkerAddress('[10.0.0.5]:9002'), { host: '10.0.0.5', port: 9002 });
  assert.throws(() => parseWorkerAddress('a:b'), RangeError);
  assert.throws(() => parseWorkerAddress(':9002'), /empty host/);
  assert.throws(() => parseWorkerAddress('[::1'), /missing "\]"/);
  assert.throws(() => parseWorkerAddress('[::1]9002'), /expected ":port"/);
  assert.throws(() => parseWorkerAddress('a b:1'), /invalid host/);
  assert.deepEqual(parseWorkerAddresses(['a:1,b:2', ' c:3 ,', '["d:4", "[::1]:5"]']), [
    { host: 'a', port: 1 }, { host: 'b', port: 2 }, { host: 'c', port: 3 }, { host: 'd', port: 4 }, { host: '::1', port: 5 },
  ]);
  assert.throws(() => parseWorkerAddresses(['a:1,b:x']), /Cannot parse worker address "b:x"/);
});

test('endpoint ids bracket IPv6 hosts only', () => {
  assert.equal(endpointId('10.0.0.1', 9002), '10.0.0.1:9002');
  assert.equal(endpointId('::1', 9002), '[::1]:9002');
  assert.equal(endpointId('localhost', 1), 'localhost:1');
});
