// Bundles the `gantry` command (dist/src/cli/main.js and what it imports, as
// tsc emitted it) into dist/bundle/cli with esbuild, so that the command
// loads a few files instead of some 130 modules (start-up time; see
// docs/performance.md, "Start-up"). Run by `npm run build` after tsc.
//
// - ESM with code splitting: the modules a subcommand imports dynamically
//   (the other subcommands, gadgets of the lazy catalogue) stay in chunks that
//   load only when used.
// - Extra entry points keep the files that are loaded by URL at run time:
//   the compute-pool worker (`new URL('./thread-pool-worker.js', import.meta.url)`)
//   and the task module it imports by name (RECON_TASKS_URL). Chunks sit
//   beside the entries, at the same depth below the package root as
//   dist/src/<dir>/, so the package-root, config, web and addon lookups from
//   import.meta.url find the same files as the unbundled build.
// - npm packages stay external (resolved from node_modules as before);
//   native addons are loaded by path at run time and are not touched.
//
// bin/gantry runs the bundle when it is at least as new as
// dist/src/cli/main.js (a later `tsc` makes it stale, and the unbundled build
// runs), unless GANTRY_BUNDLE=0.
//
// The same CLI is also bundled into one CommonJS file, main.cjs, which
// bin/gantry prefers: a CommonJS script can be compiled with a V8 code cache
// (vm.Script cachedData; Node 20 has no compile cache for ES modules), and
// one file skips the ESM loader's per-module resolve and link. The cache,
// main.cjs.cache, is made here by one `gantry recon` of a small phantom (so
// it holds the functions that command compiles) and rewritten by a later run
// when it is missing or stale (src/cli/code-cache.ts). The worker and task
// entries stay ES modules from the split build beside it (loaded by URL).
// `--no-code-cache` skips the training run.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const from = join(root, 'dist', 'src');
// `--out DIR` (tests) writes elsewhere; keep DIR two levels below dist/ so that the lookups above work.
const outArg = process.argv.indexOf('--out');
const out = outArg > 0 && process.argv[outArg + 1] ? resolve(process.argv[outArg + 1]) : join(root, 'dist', 'bundle', 'cli');

/** Entry points, relative to dist/src; each becomes `<basename>.js` in the bundle folder. */
const CLI_ENTRY_POINTS = ['cli/main.js', 'engine/thread-pool-worker.js', 'gadgets/generic-recon-tasks.js'];

/** Packages left to node_modules: those loaded by file path or with optional native parts. */
const EXTERNAL_PACKAGES = ['fastify', 'dcmjs', 'prom-client', 'fast-png'];

for (const entry of CLI_ENTRY_POINTS) {
  if (!existsSync(join(from, entry))) throw new Error(`Cannot bundle the CLI: ${join(from, entry)} is missing (run tsc first)`);
}
rmSync(out, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: CLI_ENTRY_POINTS.map((e) => join(from, e)),
  outdir: out,
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: ['node20'],
  // Pure-JS dependencies are bundled too (Node parses a CommonJS package
  // imported from ESM with its export lexer, file by file: ~20 ms here);
  // their `require` of Node's built-ins goes through this banner's require.
  external: EXTERNAL_PACKAGES,
  banner: { js: "import { createRequire as __gantryCreateRequire } from 'node:module'; const require = __gantryCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
});

/** `__lazyR(id)`: a stand-in for `require(id)` that loads the module when a member is first used (see rewriteRequiresAndImports). */
const LAZY_REQUIRE = `function __lazyR(id) {
  let m;
  const load = () => (m ??= require(id));
  return new Proxy({}, {
    get: (_t, k) => load()[k],
    set: (_t, k, v) => { load()[k] = v; return true; },
    has: (_t, k) => k in load(),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_t, k) => { const d = Reflect.getOwnPropertyDescriptor(load(), k); return d && { ...d, configurable: true }; },
  });
}
`;

// The one-file CommonJS build. import.meta.url (package-root, config and addon
// look-ups relative to the file) becomes the file's own URL: same folder, same depth.
await build({
  absWorkingDir: root,
  entryPoints: [join(from, 'cli/main.js')],
  outfile: join(out, 'main.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: ['node20'],
  external: EXTERNAL_PACKAGES.filter((p) => p !== 'fast-png'), // fast-png is ESM only: bundled (a `require` of it would fail)
  define: { 'import.meta.url': '__gantryImportMetaUrl' },
  // Smaller to read (0.76 MB instead of 1.1 MB) and all ASCII, so the loader takes it as latin1 without
  // UTF-8 decoding; names are kept (no identifier minification), so stack traces read as before.
  minifyWhitespace: true,
  minifySyntax: true,
  charset: 'ascii',
  banner: { js: LAZY_REQUIRE + "var __gantryImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  sourcemap: 'linked',
  logLevel: 'warning',
});

rewriteRequiresAndImports(join(out, 'main.cjs'));

// The loader of main.cjs (bin/gantry imports it), one module of its own: node built-ins only.
await build({
  absWorkingDir: root,
  entryPoints: [join(from, 'cli/code-cache.js')],
  outfile: join(out, 'code-cache.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: ['node20'],
  logLevel: 'warning',
});
if (!process.argv.includes('--no-code-cache')) {
  try {
    trainCodeCache();
  } catch (err) {
    // E.g. no HDF5 addon (an optional part of the build): the CLI then writes its cache on its first run.
    console.warn(`gantry: ${err.message}; the first run of the CLI will write the code cache`);
  }
}

/**
 * Two same-length rewrites of main.cjs (so its source map stays right).
 *
 * Node built-ins that cost milliseconds to load and that `recon` needs only
 * on some paths (HTTP storage, commander's external subcommands, the
 * compute pool's workers, the explicit GC): in main.cjs their
 * `require("node:X")` becomes `__lazyR("node:X")`, a stand-in that loads the
 * module on first use of any member. A module whose members are read when
 * the bundle starts is then simply loaded then, as before.
 *
 * Dynamic `import(` becomes `__dimp(`, the loader's import function.
 */
function lazyBuiltinNames() {
  return ['async_hooks', 'child_process', 'crypto', 'dns/promises', 'http', 'https', 'net', 'perf_hooks', 'tls', 'v8', 'worker_threads'];
}

function rewriteRequiresAndImports(file) {
  const names = new Set(lazyBuiltinNames().map((n) => `node:${n}`));
  const text = readFileSync(file, 'utf8');
  const lazy = text.replace(/\brequire\("(node:[a-z0-9_/]+)"\)/g, (call, id) => (names.has(id) ? `__lazyR("${id}")` : call));
  // Dynamic imports left in the bundle (built-ins, and the task module's URL in the inline pool) go through
  // the loader's `__dimp`: `import()` in a script compiled from a code cache fails in Node 20 (src/cli/code-cache.ts).
  const rewritten = lazy.replace(/(?<![\w$.])import\(/g, '__dimp(');
  if (rewritten.length !== text.length) throw new Error('Cannot rewrite the bundle: it changed length');
  writeFileSync(file, rewritten);
}

/** Writes main.cjs.cache: `gantry phantom` (no cache) then `gantry recon` (cache refreshed) of a small scan, from the new bundle. */
function trainCodeCache() {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-code-cache-'));
  try {
    const runner = join(dir, 'run.mjs');
    const codeCache = pathToFileURL(join(out, 'code-cache.js')).href;
    writeFileSync(runner, `import { runBundledMain } from ${JSON.stringify(codeCache)};\nawait runBundledMain(${JSON.stringify(out)}, process.argv);\n`);
    const gantry = (args, cacheMode) => {
      const r = spawnSync(process.execPath, [runner, ...args], {
        cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, GANTRY_CODE_CACHE: cacheMode },
      });
      if (r.status !== 0) throw new Error(`Cannot make the CLI's code cache: gantry ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
    };
    const scan = join(dir, 'scan.h5');
    gantry(['phantom', '-o', scan, '--matrix', '64', '--coils', '4'], 'off');
    gantry(['recon', '--storage', join(dir, 'store'), scan, join(dir, 'out.h5')], 'refresh');
    if (!existsSync(join(out, 'main.cjs.cache'))) throw new Error('Cannot make the CLI\'s code cache: the training run wrote no main.cjs.cache');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
