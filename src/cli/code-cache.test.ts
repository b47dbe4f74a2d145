import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeCacheMode, runCommonJsWithCodeCache } from './code-cache.js';

const SCRIPT = `'use strict';
const { basename } = require('node:path');
function square(x) { return x * x; }
module.exports = { square, file: basename(__filename), dir: __dirname, self: this === module.exports, load: (spec) => __dimp(spec) };
`;

interface Exports {
  square(x: number): number;
  file: string;
  dir: string;
  self: boolean;
  load(spec: string): Promise<{ sep: string }>;
}

/** Runs `file` with the cache `cache` in a fresh process (as the CLI does; V8 also keeps compiled scripts per process). */
function inChild(dir: string, file: string, cache: string, mode: string): { cache: string; value: number; saved: boolean } {
  const runner = join(dir, 'run.mjs');
  writeFileSync(runner, `import { runCommonJsWithCodeCache } from ${JSON.stringify(new URL('./code-cache.js', import.meta.url).href)};
const r = runCommonJsWithCodeCache(${JSON.stringify(file)}, ${JSON.stringify(cache)}, process.argv[2]);
const sep = (await r.exports.load('node:path')).sep;
process.stdout.write(JSON.stringify({ cache: r.cache, value: sep === '/' ? r.exports.square(9) : -1, saved: r.save() }));
`);
  const r = spawnSync(process.execPath, [runner, mode], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { cache: string; value: number; saved: boolean };
}

function withDir(fn: (dir: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gantry-code-cache-test-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('GANTRY_CODE_CACHE names auto, off or refresh', () => {
  assert.equal(codeCacheMode(undefined), 'auto');
  assert.equal(codeCacheMode(''), 'auto');
  assert.equal(codeCacheMode('OFF'), 'off');
  assert.equal(codeCacheMode('0'), 'off');
  assert.equal(codeCacheMode('refresh'), 'refresh');
  assert.throws(() => codeCacheMode('sometimes'), /GANTRY_CODE_CACHE="sometimes": use auto, off or refresh/);
});

test('a script runs as a CommonJS module; its cache is written once, then used', withDir(async (dir) => {
  const file = join(dir, 'm.cjs');
  const cache = join(dir, 'm.cjs.cache');
  writeFileSync(file, SCRIPT);
  const first = runCommonJsWithCodeCache<Exports>(file, cache);
  assert.equal(first.cache, 'missing');
  assert.equal(first.exports.square(7), 49);
  assert.equal(first.exports.file, 'm.cjs');
  assert.equal(first.exports.dir, dir);
  assert.equal(first.exports.self, true, 'this is module.exports at the top level');
  assert.equal((await first.exports.load('node:path')).sep, '/', 'dynamic import through __dimp works');
  assert.equal(first.save(), true);
  assert.equal(first.save(), false, 'written once');
  const written = readFileSync(cache);
  assert.match(written.subarray(0, 200).toString('latin1'), new RegExp(`^gantry-code-cache 1 ${process.version} ${process.arch} ${SCRIPT.length} `));

  // A fresh process, as the CLI runs: V8 takes the cached data.
  const child = (mode: string): ReturnType<typeof inChild> => inChild(dir, file, cache, mode);
  assert.deepEqual(child('auto'), { cache: 'accepted', value: 81, saved: false });
  assert.deepEqual(readFileSync(cache), written, 'an accepted cache is not rewritten');
  assert.deepEqual(child('off'), { cache: 'off', value: 81, saved: false });
  assert.deepEqual(child('refresh'), { cache: 'missing', value: 81, saved: true });
  assert.deepEqual(child('auto'), { cache: 'accepted', value: 81, saved: false });
}));

test('a script that is not ASCII is read as UTF-8', withDir((dir) => {
  const file = join(dir, 'm.cjs');
  writeFileSync(file, "module.exports = { unit: 'µs', text: '\u00b5s' };\n");
  const run = runCommonJsWithCodeCache<{ unit: string; text: string }>(file, join(dir, 'm.cjs.cache'));
  assert.equal(run.exports.unit, 'µs');
  assert.equal(run.exports.unit, run.exports.text);
}));

test('flags the script sets while it runs are set before it is compiled, so that its cache stays valid', withDir((dir) => {
  const file = join(dir, 'flags.cjs');
  const cache = join(dir, 'flags.cjs.cache');
  writeFileSync(file, "module.exports = { square: (x) => x * x, load: (s) => __dimp(s) };\nrequire('node:v8').setFlagsFromString('--expose-gc');\n");
  const runner = join(dir, 'run-flags.mjs');
  writeFileSync(runner, `import { runCommonJsWithCodeCache } from ${JSON.stringify(new URL('./code-cache.js', import.meta.url).href)};
const flags = process.argv[2] === 'with' ? ['--expose-gc'] : [];
const r = runCommonJsWithCodeCache(${JSON.stringify(file)}, ${JSON.stringify(cache)}, 'auto', { v8Flags: flags });
r.save();
process.stdout.write(r.cache);
`);
  const child = (flags: string): string => {
    const r = spawnSync(process.execPath, [runner, flags], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  assert.equal(child('without'), 'missing');
  assert.equal(child('without'), 'rejected', 'the cache was made after the flag changed');
  assert.equal(child('without'), 'rejected', 'and again: written and rejected every time');
  assert.equal(child('with'), 'accepted', 'the flag set up front: the flags match those of the run that made the cache');
  assert.equal(child('with'), 'accepted', 'and the cache is not rewritten');
}));

test('a cache of another version of the script is not used, and is replaced', withDir((dir) => {
  const file = join(dir, 'm.cjs');
  const cache = join(dir, 'm.cjs.cache');
  writeFileSync(file, SCRIPT);
  const first = runCommonJsWithCodeCache<Exports>(file, cache);
  assert.equal(first.save(), true);
  // Same length, other code, other time: the header no longer matches.
  writeFileSync(file, SCRIPT.replace('x * x', 'x + x'));
  utimesSync(file, new Date(), new Date(Date.now() + 5_000));
  const second = runCommonJsWithCodeCache<Exports>(file, cache);
  assert.equal(second.cache, 'stale');
  assert.equal(second.exports.square(7), 14, 'the new source runs');
  assert.equal(second.save(), true);
  assert.equal(runCommonJsWithCodeCache<Exports>(file, cache).exports.square(7), 14);
}));

test('a damaged cache is rejected by V8 and the script still runs; an unwritable place is no error', withDir((dir) => {
  const file = join(dir, 'm.cjs');
  const cache = join(dir, 'm.cjs.cache');
  writeFileSync(file, SCRIPT);
  const first = runCommonJsWithCodeCache<Exports>(file, cache);
  assert.equal(first.save(), true);
  const whole = readFileSync(cache);
  writeFileSync(cache, whole.subarray(0, whole.length - 16));
  assert.deepEqual(inChild(dir, file, cache, 'auto'), { cache: 'rejected', value: 81, saved: true });
  assert.deepEqual(inChild(dir, file, cache, 'auto'), { cache: 'accepted', value: 81, saved: false });

  const nowhere = join(dir, 'missing-folder', 'm.cjs.cache');
  const run = runCommonJsWithCodeCache<Exports>(file, nowhere);
  assert.equal(run.cache, 'missing');
  assert.equal(run.save(), false);
  assert.equal(existsSync(nowhere), false);
}));
