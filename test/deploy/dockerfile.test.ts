/**
 * deploy/Dockerfile, checked statically (there is no Docker engine here):
 * hadolint's rules (test/deploy/dockerfile-lint.ts; hadolint itself too when
 * it is installed), the image rules (multi-stage, numeric non-root USER,
 * node as PID 1 through an exec-form ENTRYPOINT, nothing for building in the
 * runtime stage), what the runtime stage copies, and the shared libraries
 * the built native addons need (readelf + dpkg) against the packages the
 * runtime stage installs.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/gantry-process.js';
import { hasTool } from '../helpers/tools.js';
import { aptPackages, lintDockerfile, parseDockerfile, stagesOf } from './dockerfile-lint.js';
import { loadBaseFiles, ofKind } from './k8s-objects.js';
import { IMAGE_SLEEP } from './invariants.js';
import { shebangCommand, shebangNodeFlags } from '../../bench/gantry-command.js';

const DOCKERFILE = join(REPO_ROOT, 'deploy', 'Dockerfile');
const text = readFileSync(DOCKERFILE, 'utf8');
const stages = stagesOf(parseDockerfile(text));
const build = stages[0];
const runtime = stages[stages.length - 1];

const runtimePackages = (): string[] => (runtime?.instructions ?? []).filter((i) => i.keyword === 'RUN').flatMap((i) => aptPackages(i.args));
const buildPackages = (): string[] => (build?.instructions ?? []).filter((i) => i.keyword === 'RUN').flatMap((i) => aptPackages(i.args));

test('deploy/Dockerfile passes the hadolint rules and the image rules', () => {
  assert.deepEqual(lintDockerfile(text), []);
});

test('deploy/Dockerfile with hadolint itself', { skip: hasTool('hadolint') ? false : 'hadolint is not installed (neither a Debian nor an npm package); its rules run in the test above' }, () => {
  execFileSync('hadolint', [DOCKERFILE], { stdio: 'pipe' });
});

test('the rules catch planted mistakes', () => {
  const bad = [
    'FROM node AS build',
    'RUN apt-get update && apt-get install libfoo-dev',
    'ADD . /src',
    'WORKDIR src',
    'RUN cd /src && sudo npm install left-pad | tee log',
    'FROM node:latest AS build',
    'COPY --from=builder /src/dist dist/',
    'RUN apt-get install -y --no-install-recommends g++ && rm -rf /var/lib/apt/lists/*',
    'ENV API_TOKEN=abc',
    'USER root',
    'CMD node bin/gantry serve',
    'ENTRYPOINT ["sh", "-c", "node bin/gantry serve | tee /tmp/log"]',
    'CMD ["serve"]',
  ].join('\n');
  const rules = new Set(lintDockerfile(bad).map((f) => f.rule));
  for (const r of ['DL3006', 'DL3007', 'DL3008', 'DL3009', 'DL3014', 'DL3015', 'DL3020', 'DL3000', 'DL3003', 'DL3004', 'DL3016', 'DL4006',
    'DL3024', 'DL3022', 'DL3045', 'DL3025', 'DL4003', 'DL3002', 'GANTRY2', 'GANTRY3', 'GANTRY4', 'GANTRY5']) {
    assert.ok(rules.has(r), `${r} is reported (got ${[...rules].sort().join(' ')})`);
  }
  const single = lintDockerfile('FROM node:20.20.2-bookworm-slim\nUSER 10001:10001\nENTRYPOINT ["node", "bin/gantry"]\n');
  assert.deepEqual(single.map((f) => f.rule), ['GANTRY1']);
  const ignored = lintDockerfile('FROM node:20.20.2-bookworm-slim AS a\nFROM node:20.20.2-bookworm-slim\n# hadolint ignore=DL3008\nRUN apt-get update && apt-get install -y --no-install-recommends libfoo1 && rm -rf /var/lib/apt/lists/*\nUSER 10001\nENTRYPOINT ["node", "x"]\n');
  assert.deepEqual(ignored, [], 'a hadolint ignore pragma silences its rule for the next instruction');
});

test('the runtime stage: only what runs, as a non-root user, node as PID 1', () => {
  assert.ok(build && runtime && stages.length >= 2);
  assert.equal(build.image, runtime.image, 'the same Node base in both stages (the addons match its ABI)');
  assert.match(runtime.image, /^node:20\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/, 'Node 20 on Debian bookworm, the version pinned');
  const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
  for (const what of ['/src/dist/', '/src/node_modules/', '/src/native/build/Release/ismrmrd_hdf5.node', '/src/native/kernels/build/Release/gantry_kernels.node', '/src/config/', '/src/bin/', '/src/package.json']) {
    assert.ok(copies.some((c) => c.startsWith('--from=build') && c.includes(` ${what} `)), `the runtime stage copies ${what} from the build stage`);
  }
  assert.ok(!copies.some((c) => !c.includes('--from=')), 'nothing from the build context goes straight into the runtime stage');
  const buildRuns = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
  assert.match(buildRuns, /npm ci --ignore-scripts/);
  assert.match(buildRuns, /npm run build:native/);
  assert.match(buildRuns, /npm run build\b/);
  assert.match(buildRuns, /npm ci --omit=dev/, 'production node_modules only');
  for (const dev of ['libismrmrd-dev', 'libhdf5-dev', 'libfftw3-dev', 'libopenblas-dev']) assert.ok(buildPackages().includes(dev), `the build stage installs ${dev}`);
  const env = runtime.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
  assert.match(env, /GANTRY_FFTW_WISDOM=\/var\/lib\/gantry\//, 'FFTW wisdom on the writable data volume');
  assert.match(env, /GANTRY_STORAGE_DIR=\/var\/lib\/gantry\//);
  assert.match(env, /HOME=\/tmp/, 'a writable HOME under a read-only root');
  const expose = runtime.instructions.filter((i) => i.keyword === 'EXPOSE').map((i) => i.args).join(' ');
  assert.deepEqual(expose.split(/\s+/).sort(), ['8080', '9002']);
  const entry = JSON.parse(runtime.instructions.filter((i) => i.keyword === 'ENTRYPOINT').pop()?.args ?? '[]') as string[];
  // node with bin/gantry's own flags (its shebang), so the image runs what the gantry command runs.
  const shebang = readFileSync(join(REPO_ROOT, 'bin', 'gantry'), 'utf8').split('\n', 1)[0] ?? '';
  assert.deepEqual(entry, ['node', ...shebangNodeFlags(shebang), '/opt/gantry/bin/gantry']);
  assert.deepEqual(shebangNodeFlags(shebang), ['--v8-pool-size=1']);
  // And in bin/gantry's environment: what the shebang sets before node, the image sets with ENV.
  for (const [name, value] of Object.entries(shebangCommand(shebang).env)) {
    assert.match(env, new RegExp(`(^|\\s)${name}=${value}(\\s|$)`), `the image sets ${name}=${value} as bin/gantry does`);
  }
  assert.ok('MALLOC_ARENA_MAX' in shebangCommand(shebang).env);
  const ignore = readFileSync(join(REPO_ROOT, 'deploy', 'Dockerfile.dockerignore'), 'utf8').split('\n');
  for (const p of ['**/node_modules', 'dist', 'native/build', 'native/kernels/build']) assert.ok(ignore.includes(p), `the build context leaves out ${p}`);
});

const ADDONS = [join(REPO_ROOT, 'native', 'build', 'Release', 'ismrmrd_hdf5.node'), join(REPO_ROOT, 'native', 'kernels', 'build', 'Release', 'gantry_kernels.node')];
const libSkip = !ADDONS.every((a) => existsSync(a)) ? 'the native addons are not built here (npm run build:native)'
  : !hasTool('readelf') || !hasTool('dpkg') ? 'needs readelf (binutils) and dpkg' : false;

/** The Debian package that holds a file (merged /usr: tries the path, its real path, and the /lib spelling). */
function debianOwner(path: string): string | undefined {
  const real = realpathSync(path);
  for (const p of new Set([path, real, real.replace(/^\/usr\/lib\//, '/lib/'), path.replace(/^\/usr\/lib\//, '/lib/')])) {
    try {
      return execFileSync('dpkg', ['-S', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0]?.trim();
    } catch {
      // not under this spelling
    }
  }
  return undefined;
}

test('the runtime stage installs the shared libraries the native addons link', { skip: libSkip }, () => {
  // what the Node base image already has
  const base = new Set(['libc6', 'libstdc++6', 'libgcc-s1']);
  const installed = new Set(runtimePackages());
  const needed: string[] = [];
  for (const addon of ADDONS) {
    const dyn = execFileSync('readelf', ['-d', addon], { encoding: 'utf8' });
    for (const m of dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)) needed.push(m[1] as string);
  }
  assert.ok(needed.includes('libismrmrd.so.1.8') && needed.includes('libfftw3f.so.3') && needed.includes('libopenblas.so.0'), needed.join(' '));
  for (const lib of needed) {
    const path = execFileSync('sh', ['-c', `ldconfig -p | awk '$1 == "${lib}" { print $NF; exit }'`], { encoding: 'utf8' }).trim();
    assert.ok(path, `${lib} is found by the loader here`);
    const owner = debianOwner(path);
    assert.ok(owner, `dpkg knows which package holds ${path}`);
    assert.ok(base.has(owner) || installed.has(owner), `${lib} comes from the Debian package ${owner}, which the runtime stage must install`);
  }
  for (const p of installed) assert.ok(!/-dev$/.test(p), `no -dev package at runtime (${p})`);
});

test('the runtime image has the preStop hook\'s command: coreutils sleep of the Debian base', () => {
  const hooks = ofKind(loadBaseFiles(), 'Deployment')
    .flatMap((d) => (d.spec.template.spec.containers as { lifecycle?: { preStop?: { exec?: { command: string[] } } } }[]))
    .map((c) => c.lifecycle?.preStop?.exec?.command?.[0])
    .filter((cmd): cmd is string => cmd !== undefined);
  assert.ok(hooks.length > 0, 'the Deployments pause in preStop with an exec');
  for (const cmd of hooks) assert.equal(cmd, IMAGE_SLEEP);
  assert.match(runtime?.image ?? '', /-bookworm(-slim)?(@|$)/, 'a Debian bookworm base (coreutils is Essential there, /bin is /usr/bin)');
  if (hasTool('dpkg')) {
    assert.equal(execFileSync('dpkg', ['-S', IMAGE_SLEEP], { encoding: 'utf8' }).split(':')[0], 'coreutils');
    assert.equal(execFileSync('dpkg-query', ['-W', '-f=${Essential}', 'coreutils'], { encoding: 'utf8' }), 'yes');
  }
});
