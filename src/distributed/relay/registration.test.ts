/** The registration client against `gantry relay`. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../util/logger.js';
import { startRelayServer } from './relay-server.js';
import { startRelayRegistration } from './registration.js';

async function until(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) assert.fail('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('registration registers, re-registers after the relay forgets, and deregisters on stop', async (t) => {
  const relay = await startRelayServer({ host: '127.0.0.1', port: 0, log: silentLogger });
  t.after(() => relay.close());
  const registration = startRelayRegistration({ relayUrl: relay.url, port: 9050, intervalMs: 30, log: silentLogger });
  t.after(() => registration.stop());
  assert.equal(await registration.firstAttempt, true);
  assert.equal(registration.registered, true);
  assert.deepEqual(relay.registry.list(), ['[127.0.0.1]:9050']);
  relay.registry.remove('[127.0.0.1]:9050');
  await until(() => relay.registry.list().length === 1);
  await registration.stop();
  assert.deepEqual(relay.registry.list(), []);
  assert.equal(registration.registered, false);
});

test('registration keeps retrying an unreachable relay and stops promptly', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const registration = startRelayRegistration({ relayUrl: `127.0.0.1:${port}`, port: 9050, intervalMs: 20, timeoutMs: 500, log: silentLogger });
  assert.equal(await registration.firstAttempt, false);
  const started = Date.now();
  await registration.stop();
  assert.ok(Date.now() - started < 1_000);
  assert.throws(() => startRelayRegistration({ relayUrl: '127.0.0.1', port: 0, log: silentLogger }), RangeError);
});
