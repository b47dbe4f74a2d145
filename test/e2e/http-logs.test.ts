/**
 * Logs of `gantry serve`: structured JSON records, one per line, on stdout by
 * default (stderr stays empty), one `session_state` record per state change
 * with the session id; `--log-destination stderr` moves every record to
 * stderr and leaves stdout empty. (Levels and redaction: src/util/logger.test.ts.)
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { runGantry, startGantryServer } from '../helpers/gantry-process.js';

interface LogRecord {
  level: string;
  time: string;
  msg: string;
  session_id?: string;
  state?: string;
}

const records = (text: string): LogRecord[] => text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as LogRecord);

test('gantry serve logs JSON records to stdout by default, one per session state change', { timeout: 60_000 }, async () => {
  const server = await startGantryServer(['--no-storage']);
  try {
    const query = await runGantry(['client', '-p', String(server.port), '-a', '127.0.0.1', '-Q', 'gadgetron::version'], 30_000);
    assert.equal(query.code, 0, query.stderr);
    const states = await (async () => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const s = records(server.stdout()).filter((r) => r.msg === 'session_state');
        if (s.some((r) => r.state === 'completed') || Date.now() > deadline) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    assert.ok(states.length >= 2, `session_state records on stdout, got ${JSON.stringify(states)}`);
    const ids = new Set(states.map((r) => r.session_id));
    assert.equal(ids.size, 1, 'every record of the session carries its id');
    assert.match([...ids][0] ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(states[0]?.state, 'connected');
    assert.equal(states.at(-1)?.state, 'completed');
    for (const r of records(server.stdout())) {
      assert.equal(typeof r.msg, 'string');
      assert.ok(['debug', 'info', 'warn', 'error'].includes(r.level), `level ${r.level}`);
      assert.ok(!Number.isNaN(Date.parse(r.time)), `ISO time ${r.time}`);
    }
    assert.match(server.stdout(), /"msg":"gantry http listening"/);
  } finally {
    await server.stop();
  }
  assert.equal(server.stderr(), '', 'nothing on stderr');
  assert.match(server.stdout(), /"msg":"shutting down"/);
});

test('gantry serve --log-destination stderr writes every record to stderr only', { timeout: 30_000 }, async () => {
  const server = await startGantryServer(['--no-storage', '--log-destination', 'stderr']);
  await server.stop();
  assert.equal(server.stdout(), '', 'nothing on stdout');
  const lines = records(server.stderr());
  assert.ok(lines.some((r) => r.msg === 'gantry listening'), server.stderr());
  assert.ok(lines.some((r) => r.msg === 'shutting down'), `exit ${server.child.exitCode} ${server.child.signalCode}: ${server.stderr()}`);
});
