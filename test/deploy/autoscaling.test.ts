/**
 * The autoscaling decision: the HPA algorithm (test/deploy/hpa-model.ts)
 * with the parameters of deploy/kubernetes/base/hpa.yaml, applied to
 * Gantry's metric over a simulated load curve, gives the expected replica
 * counts: fast scale-up within the rate limits, no reaction inside the
 * tolerance or to a short dip (scale-down stabilisation), the max bound,
 * then one pod per two minutes once the stabilisation window has passed.
 * The metric fed to it is the one a real `gantry serve` exports.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startGantryServer } from '../helpers/gantry-process.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { KUBE_DIR } from './k8s-objects.js';
import { HpaSimulator, hpaSpecOf, parseQuantity, proposal, type HpaSpec } from './hpa-model.js';

function hpas(): Map<string, HpaSpec> {
  const docs = parseAllDocuments(readFileSync(join(KUBE_DIR, 'base', 'hpa.yaml'), 'utf8')).map((d) => d.toJS() as { metadata: { name: string }; spec: Record<string, unknown> });
  return new Map(docs.map((d) => [d.metadata.name, hpaSpecOf(d)]));
}

test('HPA model basics', () => {
  assert.equal(parseQuantity('2'), 2);
  assert.equal(parseQuantity('1500m'), 1.5);
  assert.equal(proposal(4, [3, 3, 3, 3], 2), 6, 'ceil(4 × 3/2)');
  assert.equal(proposal(4, [2.1, 2.1, 2.1, 2.1], 2), 4, 'within the 10 % tolerance');
  assert.equal(proposal(4, [0, 0, 0, 1], 2), 1);
});

test('worker autoscaler over a simulated load curve', () => {
  const spec = hpas().get('gantry-worker') as HpaSpec;
  assert.deepEqual([spec.minReplicas, spec.maxReplicas, spec.target], [2, 20, 2]);
  // total mrd_sessions_active over the worker pods, by time (s)
  const load = (t: number): number => {
    if (t < 300) return 2; // quiet: 1 wanted, min 2
    if (t < 600) return 30; // a busy hour starts
    if (t < 720) return 10; // a two-minute lull
    if (t < 1200) return 30;
    if (t < 1260) return 31; // +3 %: inside the tolerance
    if (t < 1320) return 60; // a burst: 30 wanted, max 20
    return 4; // evening
  };
  const hpa = new HpaSimulator(spec);
  const at = new Map<number, number>();
  for (let t = 0; t <= 4500; t += 15) at.set(t, hpa.syncTotal(t, load(t)));
  const expected: [number, number, string][] = [
    [285, 2, 'min replicas while 1 is enough'],
    [300, 6, 'scale-up limited to max(+100 %, +4 pods) per 15 s: 2 → 6'],
    [315, 12, '6 → 12'],
    [330, 15, 'ceil(30 / 2)'],
    [705, 15, 'no scale-down in a short lull (10-minute stabilisation)'],
    [1245, 15, '31 sessions on 15 pods is within the tolerance'],
    [1260, 20, 'the burst wants 30: capped at maxReplicas'],
    [1890, 20, 'still inside the stabilisation window of the burst'],
    [1905, 19, 'first scale-down 600 s after the last high recommendation'],
    [2010, 19, 'one pod per 120 s'],
    [2025, 18, ''],
    [3930, 3, ''],
    [3945, 2, 'back at minReplicas'],
    [4500, 2, ''],
  ];
  for (const [t, replicas, why] of expected) assert.equal(at.get(t), replicas, `t=${t} s: ${why}`);
  // never more than one pod removed per two minutes
  const times = [...at.keys()];
  for (const t of times) {
    const later = at.get(t + 105);
    if (later !== undefined) assert.ok((at.get(t) as number) - later <= 1, `at most one pod removed in (${t}, ${t + 105}]`);
  }
});

test('gateway autoscaler: steady growth through the day', () => {
  const spec = hpas().get('gantry-gateway') as HpaSpec;
  assert.deepEqual([spec.minReplicas, spec.maxReplicas, spec.target], [2, 8, 4]);
  const hpa = new HpaSimulator(spec);
  const seen: number[] = [];
  // client sessions: 0, 8, 16, 24, 32, 40 for ten minutes each
  for (let t = 0; t < 3600; t += 15) seen.push(hpa.syncTotal(t, Math.floor(t / 600) * 8));
  const endOf = (block: number): number => seen[(block + 1) * 40 - 1] as number;
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(endOf), [2, 2, 4, 6, 8, 8], 'ceil(sessions / 4), within 2..8');
});

test('the simulated metric is the one gantry serve exports', { timeout: 30_000 }, async () => {
  const spec = hpas().get('gantry-worker') as HpaSpec;
  const server = await startGantryServer();
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const s = connect({ host: '127.0.0.1', port: server.port });
      s.on('error', () => undefined);
      sockets.push(s);
    }
    let value: number | undefined;
    const deadline = Date.now() + 10_000;
    while (value !== 5 && Date.now() < deadline) {
      const text = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
      value = sampleValue(parsePrometheusText(text), 'mrd_sessions_active');
      if (value !== 5) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(value, 5, 'five open connections are five active sessions');
    // one pod at 5 sessions with a target of 2: ceil(5 / 2) = 3 pods
    assert.equal(proposal(1, [value], spec.target), 3);
    const hpa = new HpaSimulator(spec, 2);
    assert.equal(hpa.sync(0, [value, 0]), 3, 'two pods, one with 5 sessions, one idle: 3 wanted');
  } finally {
    for (const s of sockets) s.destroy();
    await server.stop();
  }
});
