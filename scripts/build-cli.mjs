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
import { build } from 'esbuild';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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
