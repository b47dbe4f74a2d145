/**
 * The bundled CLI (scripts/build-cli.mjs, what bin/gantry runs after
 * `npm run build`) behaves as the unbundled one: same help, same images, and
 * `--threads 2` finds the compute-pool worker and its task module in the
 * bundle folder. Both builds: the one-file CommonJS bundle with its V8 code
 * cache (what bin/gantry prefers) and the code-split ES modules. The bundle is built afresh into a folder of its own under
 * dist/ (same depth as dist/bundle/cli, so package-root lookups work).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IsmrmrdFile } from '../../src/formats/index.js';
import { REPO_ROOT } from '../helpers/gantry-process.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `gantry ARGS` from the bundle in `bundleDir` (through a runner file: worker threads inherit node's flags, so no `-e`). */
function bundled(bundleDir: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  return run([join(bundleDir, 'run.mjs'), ...args], env);
}

/** `gantry ARGS` from the CommonJS bundle in `bundleDir`, with its code cache (as bin/gantry runs it). */
function bundledCjs(bundleDir: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  return run([join(bundleDir, 'run-cjs.mjs'), ...args], env);
}

/** `gantry ARGS` from dist/src (the tsc output). */
function unbundled(args: string[]): Promise<Run> {
  return run([join(REPO_ROOT, 'bin', 'gantry'), ...args], { GANTRY_BUNDLE: '0' });
}

function images(file: string): { head: unknown; data: number[] }[] {
  const f = IsmrmrdFile.open(file, 'default.xml', { readOnly: true });
  try {
    return f.imageSeriesNames().flatMap((name) => f.readImages(name).map((i) => ({ head: i.head, data: Array.from(i.data as Float32Array) })));
  } finally {
    f.close();
  }
}

test('the bundled CLI gives the same help and images as the unbundled one, inline and with a worker thread', { timeout: 300_000 }, async () => {
  const bundleDir = join(REPO_ROOT, 'dist', `bundle-test-${process.pid}`, 'cli');
  const dir = mkdtempSync(join(tmpdir(), 'gantry-bundle-'));
  try {
    const build = await run([join(REPO_ROOT, 'scripts', 'build-cli.mjs'), '--out', bundleDir]);
    assert.equal(build.code, 0, build.stderr);
    for (const entry of ['main.js', 'main.cjs', 'main.cjs.cache', 'code-cache.js', 'thread-pool-worker.js', 'generic-recon-tasks.js']) assert.ok(existsSync(join(bundleDir, entry)), entry);
    writeFileSync(join(bundleDir, 'run.mjs'), "import('./main.js').then((m) => m.main(process.argv));\n");
    const codeCache = pathToFileURL(join(bundleDir, 'code-cache.js')).href;
    writeFileSync(join(bundleDir, 'run-cjs.mjs'), `import { runBundledMain } from ${JSON.stringify(codeCache)};\nawait runBundledMain(${JSON.stringify(bundleDir)}, process.argv);\n`);
    const cache = readFileSync(join(bundleDir, 'main.cjs.cache'));

    for (const args of [['--help'], ['recon', '--help'], ['--version']]) {
      const [a, b, c] = await Promise.all([unbundled(args), bundled(bundleDir, args), bundledCjs(bundleDir, args)]);
      assert.equal(b.code, a.code, args.join(' '));
      assert.equal(b.stdout, a.stdout, args.join(' '));
      assert.equal(c.code, a.code, `${args.join(' ')} (CommonJS bundle)`);
      assert.equal(c.stdout, a.stdout, `${args.join(' ')} (CommonJS bundle)`);
    }

    // 32 coils of 256²: 16 MiB of k-space, above SimpleRecon's inline limit, so --threads 2 uses the pool.
    const input = join(dir, 'in.h5');
    const made = await unbundled(['phantom', '-o', input, '--matrix', '256', '--coils', '32']);
    assert.equal(made.code, 0, made.stderr);
    const outputs = { unbundled: join(dir, 'a.h5'), inline: join(dir, 'b.h5'), threads: join(dir, 'c.h5'), cjsInline: join(dir, 'd.h5'), cjsThreads: join(dir, 'e.h5') };
    const a = await unbundled(['recon', '--no-storage', '--threads', '1', input, outputs.unbundled]);
    assert.equal(a.code, 0, a.stderr);
    const b = await bundled(bundleDir, ['recon', '--no-storage', '--threads', '1', input, outputs.inline]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stderr, `gantry recon: 1 images written to ${outputs.inline}\n`);
    const c = await bundled(bundleDir, ['recon', '--no-storage', '--threads', '2', input, outputs.threads], { NODE_DEBUG: 'worker' });
    assert.equal(c.code, 0, c.stderr);
    const workerUrl = pathToFileURL(join(bundleDir, 'thread-pool-worker.js')).href;
    assert.ok(c.stderr.includes(`url: ${workerUrl}`), `a worker thread started from the bundle:\n${c.stderr.slice(0, 2000)}`);

    const d = await bundledCjs(bundleDir, ['recon', '--no-storage', '--threads', '1', input, outputs.cjsInline]);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stderr, `gantry recon: 1 images written to ${outputs.cjsInline}\n`);
    const e = await bundledCjs(bundleDir, ['recon', '--no-storage', '--threads', '2', input, outputs.cjsThreads], { NODE_DEBUG: 'worker' });
    assert.equal(e.code, 0, e.stderr);
    assert.ok(e.stderr.includes(`url: ${workerUrl}`), `a worker thread started from the bundle (CommonJS):\n${e.stderr.slice(0, 2000)}`);
    assert.deepEqual(readFileSync(join(bundleDir, 'main.cjs.cache')), cache, 'the code cache made by the build was used, not rewritten');

    const expected = images(outputs.unbundled);
    assert.equal(expected.length, 1);
    assert.deepEqual(images(outputs.inline), expected, 'bundled, --threads 1: same headers and bits');
    assert.deepEqual(images(outputs.threads), expected, 'bundled, --threads 2: same headers and bits');
    assert.deepEqual(images(outputs.cjsInline), expected, 'CommonJS bundle, --threads 1: same headers and bits');
    assert.deepEqual(images(outputs.cjsThreads), expected, 'CommonJS bundle, --threads 2: same headers and bits');
  } finally {
    rmSync(join(REPO_ROOT, 'dist', `bundle-test-${process.pid}`), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
