/**
 * deploy/compose.yaml, the lab-LAN deployment: checked statically (the same
 * image for every service, pinned; hardening; grace period above the drain;
 * every flag a flag of its command; the same serve flags as the Kubernetes
 * pods), then run as real processes on 127.0.0.1 with the file's own
 * commands (addresses and ports made local): the relay, the storage server
 * and two nodes; both nodes register with the relay, each finds the other
 * as a worker, and both use the storage server.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DRAIN_CUT_GRACE_MS } from '../../src/server/tcp-server.js';
import { GANTRY_BIN, REPO_ROOT, runGantry, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { argValue, loadBaseFiles, ofKind } from './k8s-objects.js';

interface ComposeService {
  image: string;
  command: string[];
  profiles?: string[];
  network_mode?: string;
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  tmpfs?: string[];
  stop_grace_period?: string;
  entrypoint?: unknown;
  init?: boolean;
  privileged?: boolean;
  volumes?: string[];
  healthcheck?: { test: string[] };
}

/** Compose's variable interpolation (`${VAR}`, `${VAR:-default}`, `${VAR:?message}`) over the file's text. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, op: string | undefined, arg: string | undefined) => {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (op === '-') return arg ?? '';
    if (op === '?') throw new Error(`${name}: ${arg}`);
    return '';
  });
}

function loadCompose(env: Record<string, string>): Record<string, ComposeService> {
  const text = readFileSync(join(REPO_ROOT, 'deploy', 'compose.yaml'), 'utf8');
  return (parse(interpolate(text, env), { merge: true }) as { services: Record<string, ComposeService> }).services;
}

function seconds(duration: string): number {
  const m = /^(\d+)(s|m)$/.exec(duration);
  assert.ok(m, `duration ${duration}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

test('compose.yaml: static checks', async () => {
  assert.throws(() => loadCompose({}), /GANTRY_RELAY_HOST/, 'the relay address is required');
  const services = loadCompose({ GANTRY_RELAY_HOST: '192.168.1.10' });
  assert.deepEqual(Object.keys(services).sort(), ['node', 'relay', 'storage']);
  const images = new Set(Object.values(services).map((s) => s.image));
  assert.equal(images.size, 1, 'one image for every role');
  const image = [...images][0] as string;
  assert.match(image, /:[^/:]+$/, 'the image has a tag');
  assert.doesNotMatch(image, /:latest$/);
  assert.equal(loadCompose({ GANTRY_RELAY_HOST: 'x', GANTRY_IMAGE: 'registry.example.org/mri/gantry:0.2.0' })['node']?.image, 'registry.example.org/mri/gantry:0.2.0');
  for (const [name, s] of Object.entries(services)) {
    assert.equal(s.read_only, true, `${name}: read-only root filesystem`);
    assert.match(s.user ?? '', /^[1-9]\d*:[1-9]\d*$/, `${name}: numeric non-root user`);
    assert.deepEqual(s.cap_drop, ['ALL'], `${name}: no capabilities`);
    assert.ok(s.security_opt?.includes('no-new-privileges:true'), `${name}: no-new-privileges`);
    assert.ok(s.tmpfs?.some((t) => t.startsWith('/tmp')), `${name}: a writable /tmp`);
    assert.equal(s.entrypoint, undefined, `${name}: the image's ENTRYPOINT (node as PID 1)`);
    assert.notEqual(s.privileged, true);
    assert.equal(s.network_mode, 'host', `${name}: host networking (the relay records LAN addresses)`);
    assert.ok(Array.isArray(s.command), `${name}: command as a list`);
    assert.ok(s.healthcheck?.test[0] === 'CMD', `${name}: an exec-form healthcheck`);
    const sub = s.command[0] as string;
    const help = (await runGantry([sub, '--help'], 20_000)).stdout;
    for (const a of s.command.slice(1).filter((x) => x.startsWith('--'))) {
      assert.ok(help.includes(a.split('=')[0] as string), `${name}: gantry ${sub} has no flag ${a}`);
    }
  }
  const node = services['node'] as ComposeService;
  assert.deepEqual(node.profiles, ['node']);
  assert.deepEqual(services['relay']?.profiles, ['relay']);
  assert.equal(argValue(node.command, '--relay'), 'http://192.168.1.10:5000');
  assert.equal(argValue(node.command, '--storage-url'), 'http://192.168.1.10:3333');
  assert.equal(argValue(services['relay']?.command ?? [], '--port'), '5000');
  assert.equal(argValue(services['storage']?.command ?? [], '--port'), '3333');
  const drain = Number(argValue(node.command, '--drain-timeout'));
  assert.ok(seconds(node.stop_grace_period ?? '10s') > (drain + DRAIN_CUT_GRACE_MS) / 1000, 'stop_grace_period above the drain timeout and the cut grace');
  // the same serve flags as the Kubernetes pods, apart from how workers and the store are found
  const k8s = (ofKind(loadBaseFiles(), 'Deployment').find((d) => d.metadata.name === 'gantry-gateway')?.spec.template.spec.containers[0].args ?? []) as string[];
  for (const flag of ['--host', '--port', '--http-host', '--http-port', '--log-destination', '--max-sessions', '--drain-timeout', '--worker-slots']) {
    assert.equal(argValue(node.command, flag), argValue(k8s, flag), `${flag} as in Kubernetes`);
  }
});

/** Starts `gantry <args>`; resolves once `pattern` (with a port group) appears in its log. */
async function startLogged(args: string[], pattern: RegExp): Promise<{ child: ChildProcess; port: number; log: () => string }> {
  const child = spawn(process.execPath, [GANTRY_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = pattern.exec(log);
      if (m) {
        clearInterval(timer);
        resolve(Number(m[1]));
      }
    }, 20);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`gantry ${args[0]} exited with ${code}: ${log}`));
    });
  });
  return { child, port, log: () => log };
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('compose.yaml: the LAN topology runs with the file\'s own commands', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-compose-'));
  const children: ChildProcess[] = [];
  const nodes: ServerProcess[] = [];
  try {
    const services = loadCompose({ GANTRY_RELAY_HOST: '127.0.0.1' });
    const local = (cmd: string[]): string[] => cmd.map((a) => a.replace(/^(--host)(=?)0\.0\.0\.0$/, '$1$2127.0.0.1'))
      .map((a, i, all) => (all[i - 1] === '--host' && a === '0.0.0.0' ? '127.0.0.1' : a));
    const relayCmd = local(services['relay']?.command ?? []).map((a, i, all) => (all[i - 1] === '--port' ? '0' : a));
    const relay = await startLogged(relayCmd, /"msg":"gantry relay listening"[^\n]*"url":"http:\/\/[^"]*:(\d+)/);
    children.push(relay.child);
    const storageCmd = local(services['storage']?.command ?? []).map((a, i, all) => {
      if (all[i - 1] === '--port') return '0';
      if (all[i - 1] === '--storage') return join(dir, 'store');
      return a;
    });
    const storage = await startLogged(storageCmd, /"msg":"gantry storage listening"[^\n]*"port":(\d+)/);
    children.push(storage.child);
    const nodeArgs = local(services['node']?.command ?? []).slice(1).map((a) => {
      if (a.startsWith('--host=') || a.startsWith('--http-host=')) return `${a.split('=')[0]}=127.0.0.1`;
      if (a.startsWith('--port=') || a.startsWith('--http-port=')) return `${a.split('=')[0]}=0`;
      if (a.startsWith('--relay=')) return a.replace(':5000', `:${relay.port}`);
      if (a.startsWith('--storage-url=')) return a.replace(':3333', `:${storage.port}`);
      return a;
    });
    assert.ok(nodeArgs.includes(`--relay=http://127.0.0.1:${relay.port}`));
    // shorter periods than the defaults, so that the test does not wait 10 s for discovery
    const fast = ['--relay-interval', '0.3', '--discovery-interval', '0.3'];
    for (let i = 0; i < 2; i++) nodes.push(await startGantryServer([...nodeArgs, ...fast]));
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const registered = await until('both nodes in the relay', async () => {
      const list = (await (await fetch(`http://127.0.0.1:${relay.port}/cloudbus/workers`)).json()) as string[];
      return list.length === 2 ? list : undefined;
    });
    assert.deepEqual([...registered].sort(), [`[127.0.0.1]:${a.port}`, `[127.0.0.1]:${b.port}`].sort(), 'the relay lists both nodes by address and port');
    for (const [self, other] of [[a, b], [b, a]] as const) {
      await until(`node ${self.port} to find node ${other.port}`, async () => {
        const w = (await (await fetch(`http://127.0.0.1:${self.httpPort}/api/workers`)).json()) as { workers: { id: string; state: string }[] };
        return w.workers.some((x) => x.id.endsWith(`:${other.port}`) && x.state === 'ready') ? true : undefined;
      });
      assert.match(self.logs(), new RegExp(`"msg":"dependency store"[^\\n]*127\\.0\\.0\\.1:${storage.port}`), 'the node uses the storage server');
      assert.equal((await fetch(`http://127.0.0.1:${self.httpPort}/readyz`)).status, 200);
    }
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()));
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
