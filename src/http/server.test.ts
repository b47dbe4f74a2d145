import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePrometheusText, sampleValue } from '../../test/helpers/prometheus-text.js';
import { SessionRegistry } from '../observe/session-registry.js';
import { StorageCounters } from '../storage/instrumented-store.js';
import { silentLogger } from '../util/logger.js';
import { GantryHttpServer, isReady } from './server.js';

test('HTTP side in-process: health, readiness, metrics, events, static page', async (t) => {
  const web = mkdtempSync(join(tmpdir(), 'gantry-web-'));
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>Gantry</title>');
  const sessions = new SessionRegistry();
  const readiness = { activeSessions: 0, maxSessions: 2, draining: false };
  const storage = new StorageCounters();
  const server = new GantryHttpServer({
    host: '127.0.0.1', port: 0, sessions, readiness, log: silentLogger, build: { version: '1.2.3', commit: 'abc' }, storage, webRoot: web,
  });
  const { port } = await server.listen();
  const url = (p: string): string => `http://127.0.0.1:${port}${p}`;
  try {
    await t.test('readiness follows draining and the session limit', async () => {
      assert.equal((await fetch(url('/livez'))).status, 200);
      assert.equal((await fetch(url('/readyz'))).status, 200);
      readiness.activeSessions = 2;
      assert.equal(isReady(readiness), false);
      assert.equal((await fetch(url('/readyz'))).status, 503);
      readiness.activeSessions = 0;
      readiness.draining = true;
      const body = (await (await fetch(url('/readyz'))).json()) as { ready: boolean; draining: boolean };
      assert.deepEqual([body.ready, body.draining], [false, true]);
      readiness.draining = false;
    });

    await t.test('metrics parse and carry registry and storage counters', async () => {
      const r = sessions.open();
      r.configured('default.xml');
      r.error('Connection Main Thread/Connection Input Thread', new Error('Connection idle for more than 10 ms; closing it'));
      r.end({ outcome: 'error' });
      storage.loads = 3;
      storage.loadHits = 2;
      storage.loadMisses = 1;
      sessions.setWorkerSource({ snapshot: () => [{ id: 'w:1', healthy: true, activeJobs: 1 }] });
      const res = await fetch(url('/metrics'));
      const e = parsePrometheusText(await res.text());
      assert.equal(sampleValue(e, 'mrd_sessions_started_total', { config: 'default.xml' }), 1);
      assert.equal(sampleValue(e, 'mrd_sessions_completed_total', { config: 'default.xml', outcome: 'timeout' }), 1);
      assert.equal(sampleValue(e, 'mrd_session_duration_seconds_count', { config: 'default.xml', outcome: 'timeout' }), 1);
      assert.equal(sampleValue(e, 'mrd_protocol_errors_total', { reason: 'timeout' }), 1);
      assert.equal(sampleValue(e, 'mrd_dependency_store_operations_total', { op: 'get', outcome: 'hit' }), 2);
      assert.equal(sampleValue(e, 'mrd_workers', { state: 'busy' }), 1);
      assert.equal(sampleValue(e, 'mrd_build_info', { version: '1.2.3', commit: 'abc' }), 1);
      assert.equal(e.types.get('mrd_session_duration_seconds'), 'histogram');
      assert.ok(e.types.has('process_resident_memory_bytes'));
    });

    await t.test('server-sent events carry session changes', async () => {
      const controller = new AbortController();
      const res = await fetch(url('/api/events'), { signal: controller.signal });
      assert.equal(res.headers.get('content-type'), 'text/event-stream');
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const opened = sessions.open();
      let text = '';
      while (!text.includes(opened.id)) text += new TextDecoder().decode((await reader.read()).value);
      assert.match(text, /event: session\ndata: \{"type":"session"/);
      controller.abort();
      opened.end({ outcome: 'ok' });
    });

    await t.test('static page and API errors', async () => {
      const page = await fetch(url('/'));
      assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(await page.text(), /Gantry/);
      const missing = await fetch(url('/app.js'));
      assert.equal(missing.status, 503);
      assert.match(await missing.text(), /npm run build/);
      assert.equal((await fetch(url('/api/sessions/unknown'))).status, 404);
      const list = (await (await fetch(url('/api/sessions'))).json()) as { sessions: unknown[] };
      assert.equal(list.sessions.length, 2);
    });
  } finally {
    await server.close();
    rmSync(web, { recursive: true, force: true });
  }
});
