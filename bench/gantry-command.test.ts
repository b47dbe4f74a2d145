import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gantryArgv, gantryEnv, shebangCommand, shebangNodeFlags } from './gantry-command.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('shebangNodeFlags reads the node flags of an env shebang, and refuses any other first line', () => {
  assert.deepEqual(shebangNodeFlags('#!/usr/bin/env node'), []);
  assert.deepEqual(shebangNodeFlags('#!/usr/bin/env -S node --v8-pool-size=1'), ['--v8-pool-size=1']);
  assert.deepEqual(shebangNodeFlags('#!/usr/bin/env -S node --v8-pool-size=1 --no-warnings '), ['--v8-pool-size=1', '--no-warnings']);
  for (const bad of ['#!/bin/sh', '// gantry', '#!/usr/bin/env -S node; rm -rf /', '#!/usr/bin/env -S X=$(id) node']) {
    assert.throws(() => shebangNodeFlags(bad), /Cannot read the node command/);
  }
});

test('shebangCommand reads the variables an env shebang sets before node', () => {
  assert.deepEqual(shebangCommand('#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --v8-pool-size=1'), { env: { MALLOC_ARENA_MAX: '2' }, flags: ['--v8-pool-size=1'] });
  assert.deepEqual(shebangCommand('#!/usr/bin/env -S A=1 B_2=x/y node'), { env: { A: '1', B_2: 'x/y' }, flags: [] });
  assert.deepEqual(shebangCommand('#!/usr/bin/env node'), { env: {}, flags: [] });
});

test('bin/gantry runs with its shebang\'s variables, as the benchmarks start it', () => {
  const { env } = shebangCommand(readFileSync(`${ROOT}/bin/gantry`, 'utf8').split('\n', 1)[0] ?? '');
  assert.equal(env['MALLOC_ARENA_MAX'], '2', 'glibc malloc arenas (docs/operating.md)');
  const print = ['-e', 'process.stdout.write(String(process.env.MALLOC_ARENA_MAX))'];
  assert.equal(execFileSync(process.execPath, print, { encoding: 'utf8', env: gantryEnv(ROOT, { PATH: process.env['PATH'] ?? '' }) }), '2');
});

test('bin/gantry runs through its own shebang, and as the benchmarks start it', () => {
  const direct = execFileSync(`${ROOT}/bin/gantry`, ['--version'], { encoding: 'utf8', timeout: 60_000 }).trim();
  const argv = gantryArgv(ROOT);
  assert.equal(argv[argv.length - 1], `${ROOT}/bin/gantry`.replace(/\/+/g, '/'));
  const viaNode = execFileSync(process.execPath, [...argv, '--version'], { encoding: 'utf8', timeout: 60_000 }).trim();
  assert.match(direct, /\d+\.\d+\.\d+/);
  assert.equal(viaNode, direct);
});
