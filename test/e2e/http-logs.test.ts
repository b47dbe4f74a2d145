/**
 * `gantry serve --log-destination stdout`: JSON records (including "gantry
 * listening" with its port) go to stdout and nothing to stderr; stderr stays
 * the default because Gadgetron's test harness fails on server stdout output.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { GANTRY_BIN } from '../helpers/gantry-process.js';
import { waitFor } from './http-fixtures.js';

test('gantry serve --log-destination stdout writes JSON records to stdout only', { timeout: 30_000 }, async () => {
  const child = spawn(process.execPath, [GANTRY_BIN, 'serve', '--port', '0', '--http-port', '0', '--no-storage', '--log-destination', 'stdout'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    const port = await waitFor('the listening record on stdout', () => /"msg":"gantry listening"[^\n]*"port":(\d+)/.exec(out)?.[1], 15_000);
    assert.ok(Number(port) > 0);
    for (const line of out.trim().split('\n')) assert.equal(typeof (JSON.parse(line) as { msg: string }).msg, 'string');
    assert.match(out, /"msg":"gantry http listening"/);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  assert.equal(err, '', 'nothing on stderr');
});
