/**
 * `gantry serve --pod-deletion-cost`: the pod's
 * controller.kubernetes.io/pod-deletion-cost annotation follows its running
 * sessions (0 when idle), patched through a stand-in Kubernetes API on
 * 127.0.0.1 that records the requests; plus the unit behaviour (token,
 * errors, retry) and the environment rules.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { POD_DELETION_COST_ANNOTATION, podTargetFromEnvironment, startPodDeletionCost } from '../../src/deploy/pod-deletion-cost.js';
import { silentLogger } from '../../src/util/logger.js';
import { startGantryServer } from '../helpers/gantry-process.js';

interface Patch {
  method: string;
  url: string;
  contentType: string;
  authorization: string;
  cost: string | undefined;
}

/** A stand-in API server: answers `status` to every request and records it. */
async function fakeApi(status: () => number): Promise<{ server: Server; url: string; patches: Patch[] }> {
  const patches: Patch[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      const parsed = JSON.parse(body || '{}') as { metadata?: { annotations?: Record<string, string> } };
      patches.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        authorization: req.headers.authorization ?? '',
        cost: parsed.metadata?.annotations?.[POD_DELETION_COST_ANNOTATION],
      });
      res.writeHead(status(), { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, patches };
}

async function until(what: string, check: () => boolean, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('pod deletion cost: environment rules', () => {
  assert.match((podTargetFromEnvironment({}) as { problem: string }).problem, /not running in Kubernetes/);
  assert.match((podTargetFromEnvironment({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }) as { problem: string }).problem, /POD_NAME/);
  const t = podTargetFromEnvironment({
    KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443', POD_NAME: 'gantry-worker-abc', POD_NAMESPACE: 'mri',
    GANTRY_KUBE_SERVICEACCOUNT_DIR: '/nonexistent',
  });
  assert.deepEqual(t, { apiUrl: 'https://10.96.0.1:443', namespace: 'mri', podName: 'gantry-worker-abc', tokenFile: '/nonexistent/token' });
  const v6 = podTargetFromEnvironment({ KUBERNETES_SERVICE_HOST: 'fd00::1', POD_NAME: 'p', POD_NAMESPACE: 'n' }) as { apiUrl: string };
  assert.equal(v6.apiUrl, 'https://[fd00::1]:443');
});

test('pod deletion cost: patches on change only, with the token, retries after a failure', async () => {
  let status = 403;
  const api = await fakeApi(() => status);
  const dir = mkdtempSync(join(tmpdir(), 'gantry-sa-'));
  writeFileSync(join(dir, 'token'), 'sa-token\n');
  let sessions = 0;
  const updater = startPodDeletionCost({
    target: { apiUrl: api.url, namespace: 'mri', podName: 'gantry-gateway-0', tokenFile: join(dir, 'token') },
    sessions: () => sessions, intervalMs: 20, log: silentLogger,
  });
  try {
    await until('a refused patch', () => api.patches.length >= 1);
    assert.equal(updater.written, undefined, 'a 403 is not a success');
    status = 200;
    await until('cost 0 written', () => updater.written === 0);
    const first = api.patches[0] as Patch;
    assert.equal(first.method, 'PATCH');
    assert.equal(first.url, '/api/v1/namespaces/mri/pods/gantry-gateway-0');
    assert.equal(first.contentType, 'application/merge-patch+json');
    assert.equal(first.authorization, 'Bearer sa-token');
    assert.equal(first.cost, '0');
    const count = api.patches.length;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(api.patches.length, count, 'no patch while the count stays the same');
    sessions = 3;
    await until('cost 3 written', () => updater.written === 3);
    assert.equal(api.patches.at(-1)?.cost, '3');
  } finally {
    await updater.stop();
    api.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gantry serve --pod-deletion-cost: the annotation follows the running sessions', { timeout: 30_000 }, async () => {
  const api = await fakeApi(() => 200);
  const server = await startGantryServer(['--pod-deletion-cost'], 15_000, {
    GANTRY_KUBE_API_URL: api.url, POD_NAME: 'gantry-worker-7d9f', POD_NAMESPACE: 'mri', GANTRY_KUBE_SERVICEACCOUNT_DIR: '/nonexistent',
  });
  const sockets: Socket[] = [];
  try {
    await until('cost 0 at start', () => api.patches.some((p) => p.cost === '0'));
    assert.ok(api.patches.every((p) => p.url === '/api/v1/namespaces/mri/pods/gantry-worker-7d9f'));
    for (let i = 0; i < 2; i++) {
      const s = connect({ host: '127.0.0.1', port: server.port });
      s.on('error', () => undefined);
      sockets.push(s);
    }
    await until('cost 2 with two sessions', () => api.patches.at(-1)?.cost === '2');
    for (const s of sockets) s.destroy();
    await until('cost 0 when idle again', () => api.patches.at(-1)?.cost === '0');
    assert.match(server.logs(), /"msg":"pod deletion cost set"/);
  } finally {
    for (const s of sockets) s.destroy();
    await server.stop();
    api.server.close();
  }
});

test('gantry serve --pod-deletion-cost outside Kubernetes: a warning, the server runs', { timeout: 20_000 }, async () => {
  const env: NodeJS.ProcessEnv = { KUBERNETES_SERVICE_HOST: '', GANTRY_KUBE_API_URL: '', POD_NAME: '' };
  const server = await startGantryServer(['--pod-deletion-cost'], 15_000, env);
  try {
    await until('the warning', () => /"msg":"pod deletion cost disabled"/.test(server.logs()));
  } finally {
    await server.stop();
  }
});
