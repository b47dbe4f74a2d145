/** `gantry relay`: the Python cloudbus relay's API plus Gantry's deregistration and health routes. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../util/logger.js';
import { relaySource } from '../discovery/relay-source.js';
import { RelayRegistry, relayClientAddress, relayWorkerKey, startRelayServer, type RelayServer } from './relay-server.js';

async function start(t: { after: (fn: () => Promise<void>) => void }, options: { expiryMs?: number; now?: () => number; maxWorkers?: number } = {}): Promise<RelayServer> {
  const relay = await startRelayServer({ host: '127.0.0.1', port: 0, log: silentLogger, ...options });
  t.after(() => relay.close());
  return relay;
}

async function post(relay: RelayServer, path: string, body: string, contentType = 'application/json'): Promise<{ status: number; text: string }> {
  const res = await fetch(`${relay.url}${path}`, { method: 'POST', body, headers: { 'content-type': contentType } });
  return { status: res.status, text: await res.text() };
}

async function workers(relay: RelayServer): Promise<unknown> {
  const res = await fetch(`${relay.url}/cloudbus/workers`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return res.json();
}

test('relay stores add_worker under "[<client address>]:<port>" and lists it', async (t) => {
  const relay = await start(t);
  assert.deepEqual(await workers(relay), []);
  assert.deepEqual(await post(relay, '/cloudbus/add_worker', '{"port": "9002"}'), { status: 200, text: 'OK' });
  assert.deepEqual(await post(relay, '/cloudbus/add_worker', '{"port": 9003}'), { status: 200, text: 'OK' });
  assert.deepEqual(await post(relay, '/cloudbus/add_worker', '{"port": "9002"}'), { status: 200, text: 'OK' });
  assert.deepEqual(await workers(relay), ['[127.0.0.1]:9002', '[127.0.0.1]:9003']);
  assert.deepEqual(await relaySource(relay.url).discover(new AbortController().signal), [
    { host: '127.0.0.1', port: 9002 },
    { host: '127.0.0.1', port: 9003 },
  ]);
});

test('relay rejects bad add_worker bodies with 400 and a clear message', async (t) => {
  const relay = await start(t);
  const cases: [string, RegExp][] = [
    ['', /the body is not JSON/],
    ['port=9002', /the body is not JSON/],
    ['[]', /expected a JSON body \{"port": "<port>"\}/],
    ['"9002"', /expected a JSON body/],
    ['{}', /"port" is missing/],
    ['{"port": null}', /"port" is missing/],
    ['{"port": ""}', /"port" is missing/],
    ['{"port": "abc"}', /"port" must be an integer from 1 to 65535, got "abc"/],
    ['{"port": "0"}', /must be an integer from 1 to 65535/],
    ['{"port": 65536}', /must be an integer from 1 to 65535, got 65536/],
    ['{"port": 90.5}', /must be an integer/],
    ['{"port": "9002; rm"}', /must be an integer/],
    ['{"port": true}', /must be an integer/],
  ];
  for (const [body, message] of cases) {
    const { status, text } = await post(relay, '/cloudbus/add_worker', body);
    assert.equal(status, 400, body);
    const json = JSON.parse(text) as { error: string };
    assert.match(json.error, /^Cannot register worker: /);
    assert.match(json.error, message, body);
  }
  const big = await post(relay, '/cloudbus/add_worker', JSON.stringify({ port: '9002', pad: 'x'.repeat(20_000) }));
  assert.equal(big.status, 413);
  assert.deepEqual(await workers(relay), []);
});

test('relay prunes workers not heard from within the expiry (injectable clock)', async (t) => {
  let now = 1_000_000;
  const relay = await start(t, { expiryMs: 300_000, now: () => now });
  await post(relay, '/cloudbus/add_worker', '{"port": "9002"}');
  now += 200_000;
  await post(relay, '/cloudbus/add_worker', '{"port": "9003"}');
  now += 100_000;
  assert.deepEqual(await workers(relay), ['[127.0.0.1]:9002', '[127.0.0.1]:9003']);
  now += 1;
  assert.deepEqual(await workers(relay), ['[127.0.0.1]:9003']);
  await post(relay, '/cloudbus/add_worker', '{"port": "9002"}');
  now += 200_000;
  assert.deepEqual(await workers(relay), ['[127.0.0.1]:9002']);
});

test('relay deregisters with POST remove_worker and DELETE /cloudbus/workers/<key>', async (t) => {
  const relay = await start(t);
  for (const port of [9002, 9003, 9004]) await post(relay, '/cloudbus/add_worker', JSON.stringify({ port: String(port) }));
  assert.deepEqual(await post(relay, '/cloudbus/remove_worker', '{"port": "9002"}'), { status: 200, text: 'OK' });
  const again = await post(relay, '/cloudbus/remove_worker', '{"port": "9002"}');
  assert.equal(again.status, 404);
  assert.match(again.text, /Cannot remove worker \[127\.0\.0\.1\]:9002: not registered/);
  assert.equal((await post(relay, '/cloudbus/remove_worker', '{}')).status, 400);
  let res = await fetch(`${relay.url}/cloudbus/workers/${encodeURIComponent('[127.0.0.1]:9003')}`, { method: 'DELETE' });
  assert.equal(res.status, 200);
  res = await fetch(`${relay.url}/cloudbus/workers/127.0.0.1:9004`, { method: 'DELETE' });
  assert.equal(res.status, 200);
  res = await fetch(`${relay.url}/cloudbus/workers/127.0.0.1:9004`, { method: 'DELETE' });
  assert.equal(res.status, 404);
  res = await fetch(`${relay.url}/cloudbus/workers/nonsense`, { method: 'DELETE' });
  assert.equal(res.status, 400);
  assert.deepEqual(await workers(relay), []);
});

test('relay answers health, unknown paths and wrong methods', async (t) => {
  const relay = await start(t);
  await post(relay, '/cloudbus/add_worker', '{"port": "9002"}');
  let res = await fetch(`${relay.url}/healthz`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 'ok', workers: 1 });
  res = await fetch(`${relay.url}/cloudbus/add_worker`);
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'POST');
  res = await fetch(`${relay.url}/cloudbus/workers`, { method: 'POST' });
  assert.equal(res.status, 405);
  res = await fetch(`${relay.url}/nothing`);
  assert.equal(res.status, 404);
  assert.match(((await res.json()) as { error: string }).error, /Cannot find \/nothing/);
});

test('relay registry caps its size and client addresses drop the IPv4-mapped prefix', () => {
  const registry = new RelayRegistry({ maxWorkers: 2, now: () => 0 });
  assert.deepEqual(registry.touch('[a]:1'), { added: true, stored: true });
  assert.deepEqual(registry.touch('[b]:1'), { added: true, stored: true });
  assert.deepEqual(registry.touch('[c]:1'), { added: false, stored: false });
  assert.deepEqual(registry.touch('[a]:1'), { added: false, stored: true });
  assert.equal(relayClientAddress('::ffff:10.0.0.5'), '10.0.0.5');
  assert.equal(relayClientAddress('::FFFF:127.0.0.1'), '127.0.0.1');
  assert.equal(relayClientAddress('fd00::5'), 'fd00::5');
  assert.equal(relayWorkerKey('fd00::5', 9002), '[fd00::5]:9002');
  assert.throws(() => new RelayRegistry({ expiryMs: 0 }), RangeError);
});
