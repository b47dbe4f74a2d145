/**
 * Every `gantry` subcommand answers --help, and bad flags fail clearly.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { runGantry } from '../helpers/gantry-process.js';

for (const sub of ['', 'serve', 'client', 'recon', 'configs']) {
  test(`gantry ${sub || '(top level)'} --help prints usage`, async () => {
    const args = sub ? [sub, '--help'] : ['--help'];
    const result = await runGantry(args, 30_000);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Usage: gantry/);
  });
}

test('gantry client flags match gadgetron_ismrmrd_client', async () => {
  const result = await runGantry(['client', '--help'], 30_000);
  for (const flag of ['-a', '-p', '-f', '-o', '-g', '-G', '-c', '-C', '-Q', '-q', '-t', '-v']) {
    assert.match(result.stdout, new RegExp(`\\s${flag},`), `client --help lists ${flag}`);
  }
});

test('gantry client without a reachable server exits non-zero with a clear message', async () => {
  const result = await runGantry(['client', '-a', '127.0.0.1', '-p', '1', '-Q', 'gadgetron::info', '-t', '2000'], 30_000);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /Cannot connect to 127\.0\.0\.1:1/);
});

test('gantry configs lists the shipped configs', async () => {
  const result = await runGantry(['configs'], 30_000);
  assert.equal(result.code, 0);
  for (const name of ['default.xml', 'default_short.xml', 'default_optimized.xml', 'isalive.xml']) assert.match(result.stdout, new RegExp(name));
});
