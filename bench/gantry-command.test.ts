import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gantryArgv, shebangNodeFlags } from './gantry-command.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('shebangNodeFlags reads the node flags of an env shebang, and refuses any other first line', () => {
  assert.deepEqual(shebangNodeFlags('#!/usr/bin/env node'), []);
  assert.deepEqual(shebangNodeFlags('#!/usr/bin/env -S node --v8-pool-size=1'), ['--v8-pool-size=1']);
  assert.deepEqual(shebangNodeFlags('#!/usr/bin/env -S node --v8-pool-size=1 --no-warnings '), ['--v8-pool-size=1', '--no-warnings']);
  for (const bad of ['#!/bin/sh', '// gantry', '#!/usr/bin/env -S node; rm -rf /']) assert.throws(() => shebangNodeFlags(bad), /Cannot read the node flags/);
});

test('bin/gantry runs through its own shebang, and as the benchmarks start it', () => {
  const direct = execFileSync(`${ROOT}/bin/gantry`, ['--version'], { encoding: 'utf8', timeout: 60_000 }).trim();
  const argv = gantryArgv(ROOT);
  assert.equal(argv[argv.length - 1], `${ROOT}/bin/gantry`.replace(/\/+/g, '/'));
  const viaNode = execFileSync(process.execPath, [...argv, '--version'], { encoding: 'utf8', timeout: 60_000 }).trim();
  assert.match(direct, /\d+\.\d+\.\d+/);
  assert.equal(viaNode, direct);
});
