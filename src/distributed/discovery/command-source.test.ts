/** GADGETRON_REMOTE_WORKER_COMMAND run as Gadgetron runs it: splitting, PATH, no shell, output grammar, deadlines. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { commandSource, splitCommandLine } from './command-source.js';
import { DiscoveryError } from './errors.js';

function script(t: { after: (fn: () => void) => void }, name: string, body: string): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-cmd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return { dir, path };
}

async function discover(command: string, options: Parameters<typeof commandSource>[1] = {}): Promise<{ host: string; port: number }[]> {
  return commandSource(command, options).discover(new AbortController().signal);
}

async function failure(command: string, options: Parameters<typeof commandSource>[1] = {}): Promise<DiscoveryError> {
  try {
    await discover(command, options);
  } catch (err) {
    assert.ok(err instanceof DiscoveryError, `expected a DiscoveryError, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${command} to fail`);
}

test('command line splits on spaces, keeps quoted spaces and strips enclosing quotes', () => {
  assert.deepEqual(splitCommandLine('echo ["127.0.0.1:9050", "localhost:9051"]'), ['echo', '["127.0.0.1:9050",', '"localhost:9051"]']);
  assert.deepEqual(splitCommandLine('sh -c "echo a b"'), ['sh', '-c', 'echo a b']);
  assert.deepEqual(splitCommandLine('  cat   ~/.gadgetron/workers.json  '), ['cat', '~/.gadgetron/workers.json']);
  assert.deepEqual(splitCommandLine('a --x="b c" "d"e'), ['a', '--x="b c"', '"d"e']);
  assert.deepEqual(splitCommandLine('say \\"hi\\"'), ['say', '"hi"']);
  assert.deepEqual(splitCommandLine('a\tb'), ['a\tb']);
  assert.deepEqual(splitCommandLine('   '), []);
});

test('command source reads the test harness command `echo ["127.0.0.1:9050", "localhost:9051"]`', async () => {
  assert.deepEqual(await discover('echo ["127.0.0.1:9050", "localhost:9051"]'), [
    { host: '127.0.0.1', port: 9050 },
    { host: 'localhost', port: 9051 },
  ]);
  assert.deepEqual(await discover('echo ["[::1]:9002", "[10.0.0.5]:9003"]'), [
    { host: '::1', port: 9002 },
    { host: '10.0.0.5', port: 9003 },
  ]);
});

test('command source passes quoted tokens as single arguments without a shell', async () => {
  assert.deepEqual(await discover('printf "[%s, %s]" "\\"h1:1\\"" "\\"h2:2\\""'), [
    { host: 'h1', port: 1 },
    { host: 'h2', port: 2 },
  ]);
  const err = await failure('echo $HOME | cat');
  assert.equal(err.code, 'PARSE_FAILED');
  assert.match(err.message, /Failed to parse worker list from discovery command: "\$HOME \| cat\\n"/);
});

test('command source finds the executable on PATH, ignores the exit status and discards stderr', async (t) => {
  const { dir } = script(t, 'list-workers', 'echo "noise on stderr" >&2\nprintf \'["w1:9050"]\'\nexit 3');
  const env = { ...process.env, PATH: `${dir}${delimiter}${process.env.PATH ?? ''}` };
  assert.deepEqual(await discover('list-workers', { env }), [{ host: 'w1', port: 9050 }]);
});

test('command source reports an empty list and garbage as parse failures', async (t) => {
  const empty = await failure('echo []');
  assert.equal(empty.code, 'PARSE_FAILED');
  assert.match(empty.message, /^Failed to parse worker list from discovery command: "\[\]\\n" \(expected a quoted .*empty list/);
  const garbage = await failure('echo hello world');
  assert.match(garbage.message, /"hello world\\n"/);
  const { path } = script(t, 'fails', 'echo oops >&2\nexit 2');
  const silent = await failure(path);
  assert.match(silent.message, /"" \(expected "\[" at offset 0; the command exited with status 2\)/);
});

test('command source reports a missing executable', async () => {
  const err = await failure('gantry-no-such-discovery-command --list');
  assert.equal(err.code, 'COMMAND_FAILED');
  assert.match(err.message, /Failed executing remote worker command: executable "gantry-no-such-discovery-command" not found/);
  const empty = await failure('   ');
  assert.equal(empty.code, 'EMPTY_COMMAND');
});

test('command source kills a command that hangs, with its children, after the deadline', async () => {
  const started = Date.now();
  const err = await failure('sh -c "sleep 30 & sleep 30"', { timeoutMs: 300 });
  assert.equal(err.code, 'COMMAND_TIMEOUT');
  assert.match(err.message, /no result within 300 ms; the command was killed/);
  assert.ok(Date.now() - started < 5_000);
});

test('command source caps the output size', async (t) => {
  const { path } = script(t, 'chatty', 'while :; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done');
  const err = await failure(path, { maxOutputBytes: 4096, timeoutMs: 5_000 });
  assert.equal(err.code, 'OUTPUT_TOO_LARGE');
});

test('command source stops when discovery is aborted', async () => {
  const controller = new AbortController();
  const pending = commandSource('sleep 30').discover(controller.signal);
  setTimeout(() => controller.abort(new Error('stop now')), 50);
  await assert.rejects(pending, /stop now/);
});
