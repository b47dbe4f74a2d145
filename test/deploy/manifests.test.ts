/**
 * The Kubernetes manifests in deploy/kubernetes, checked without a cluster:
 * - rendered by `kubectl kustomize` (base and every overlay; when kubectl is
 *   missing only the base's files are checked, and the test says so);
 * - every object validated against the OpenAPI schemas bundled in
 *   kubernetes-models (and @kubernetes-models/prometheus-operator), and
 *   type-checked against the same models' interfaces so that unknown or
 *   misspelled fields fail too;
 * - Gantry's invariants (test/deploy/invariants.ts): selectors and labels
 *   across Deployment/Service/PDB/NetworkPolicy/HPA/ServiceMonitor, probes
 *   on Gantry's endpoints, grace period above the drain, deletion cost,
 *   discovery through the headless Service, shared store, hardening, pinned
 *   images, NetworkPolicy flows, autoscaling on an exported metric;
 * - the probe paths and ports against real `gantry serve` / `gantry storage`
 *   processes started with the manifests' own arguments, and every flag in
 *   the manifests against the commands' --help;
 * - the Prometheus Adapter rule against the HPA's metric;
 * - the checks themselves, on planted mistakes.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runGantry, startGantryServer, GANTRY_BIN, type ServerProcess } from '../helpers/gantry-process.js';
import {
  HAVE_KUBECTL, KUBE_DIR, argValue, kustomize, loadBaseFiles, ofKind, schemaErrors, unknownFieldDiagnostics, type KubeObject,
} from './k8s-objects.js';
import {
  AUTOSCALING_METRIC, autoscalingProblems, gantryPodProblems, hardeningProblems, networkPolicyProblems, selectorProblems,
} from './invariants.js';

const RENDERED = ['base', 'overlays/production', 'overlays/lab'] as const;

/** The sets under test: rendered by kubectl when present, else the base's files. */
function sets(): { name: string; objects: KubeObject[] }[] {
  if (!HAVE_KUBECTL) return [{ name: 'base (files, kubectl absent)', objects: loadBaseFiles() }];
  return RENDERED.map((dir) => ({ name: dir, objects: kustomize(dir) }));
}

/** Metric names and types in a Prometheus exposition. */
function exportedMetrics(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1] as string, m[2] as string);
  return out;
}

/** Long flags a command accepts, from its --help. */
async function helpFlags(sub: string): Promise<Set<string>> {
  const r = await runGantry([sub, '--help'], 20_000);
  assert.equal(r.code, 0, r.stderr);
  return new Set([...r.stdout.matchAll(/--[a-z][a-z0-9-]*/g)].map((m) => m[0]));
}

/** Starts `gantry storage` with `args`; resolves with its port once it listens. */
async function startStorage(args: string[]): Promise<{ port: number; stop(): void }> {
  const child = spawn(process.execPath, [GANTRY_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const onData = (d: Buffer): void => {
    log += d.toString();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /"msg":"gantry storage listening"[^\n]*"port":(\d+)/.exec(log);
      if (m) {
        clearInterval(timer);
        resolve(Number(m[1]));
      }
    }, 20);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`gantry storage exited with ${code}: ${log}`));
    });
  });
  return { port, stop: () => child.kill('SIGTERM') };
}

test('Kubernetes manifests', { timeout: 120_000 }, async (t) => {
  if (!HAVE_KUBECTL) t.diagnostic('kubectl is not installed: the overlays are not rendered; only the base files are checked (apt-get install kubectl)');
  const all = sets();

  await t.test('render and parse', () => {
    for (const { name, objects } of all) {
      assert.ok(objects.length >= 10, `${name}: ${objects.length} objects`);
      const ids = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      assert.equal(new Set(ids).size, ids.length, `${name}: duplicate objects`);
    }
    if (HAVE_KUBECTL) {
      const prod = all.find((s) => s.name === 'overlays/production')?.objects ?? [];
      assert.ok(prod.filter((o) => o.kind !== 'Namespace').every((o) => o.metadata.namespace === 'mri'), 'the production overlay sets the namespace');
      assert.ok(ofKind(prod, 'ServiceMonitor').length === 1, 'the production overlay includes the ServiceMonitor');
      assert.equal(ofKind(all[0]?.objects ?? [], 'ServiceMonitor').length, 0, 'no ServiceMonitor unless the component is chosen');
    }
  });

  await t.test('every object validates against the bundled Kubernetes OpenAPI schemas', async () => {
    for (const { name, objects } of all) {
      for (const o of objects) {
        const err = await schemaErrors(o);
        assert.equal(err, undefined, `${name}: ${o.kind} ${o.metadata.name}: ${err}`);
      }
    }
  });

  await t.test('no unknown or misspelled fields (TypeScript excess-property check against the models)', () => {
    const objects = all.flatMap(({ name, objects: os }) => os.map((obj) => ({ label: `${name}: ${obj.kind} ${obj.metadata.name}`, obj })));
    assert.equal(unknownFieldDiagnostics(objects), '');
  });

  // one real server gives the metric names and answers the probes
  const dir = mkdtempSync(join(tmpdir(), 'gantry-manifests-'));
  let server: ServerProcess | undefined;
  try {
    const gateway = ofKind(all[0]?.objects ?? [], 'Deployment').find((d) => d.metadata.name === 'gantry-gateway') as KubeObject;
    const container = gateway.spec.template.spec.containers[0] as { args: string[]; ports: { name: string; containerPort: number }[] };
    // the manifest's own arguments, on loopback, with free ports and a local store
    const args = container.args.slice(1).filter((a) => !a.startsWith('--dns-workers') && !a.startsWith('--tls-')).map((a) => {
      if (a.startsWith('--host=') || a.startsWith('--http-host=')) return `${a.slice(0, a.indexOf('='))}=127.0.0.1`;
      if (a.startsWith('--port=') || a.startsWith('--http-port=')) return `${a.slice(0, a.indexOf('='))}=0`;
      if (a.startsWith('--storage=')) return `--storage=${join(dir, 'store')}`;
      return a;
    });
    server = await startGantryServer(args);
    const httpPort = server.httpPort as number;
    const metricsText = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const metrics = exportedMetrics(metricsText);

    await t.test(`gantry serve exports ${AUTOSCALING_METRIC} as a gauge`, () => {
      assert.equal(metrics.get(AUTOSCALING_METRIC), 'gauge');
    });

    await t.test('every probe path answers 200 on a running server, on the port the server listens on', async () => {
      for (const { name, objects } of all) {
        for (const d of ofKind(objects, 'Deployment')) {
          for (const c of d.spec.template.spec.containers as { name: string; args: string[]; ports: { name: string; containerPort: number }[]; [k: string]: unknown }[]) {
            if (c.args[0] !== 'serve') continue;
            const httpArg = Number(argValue(c.args, '--http-port') ?? 8080);
            for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
              const probe = (c[kind] as { httpGet?: { path: string; port: string | number } } | undefined)?.httpGet;
              assert.ok(probe, `${name}: ${d.metadata.name} has a ${kind}`);
              const port = typeof probe.port === 'number' ? probe.port : c.ports.find((p) => p.name === probe.port)?.containerPort;
              assert.equal(port, httpArg, `${name}: ${d.metadata.name} ${kind} port is the --http-port`);
              const res = await fetch(`http://127.0.0.1:${httpPort}${probe.path}`);
              assert.equal(res.status, 200, `${name}: ${d.metadata.name} ${kind} GET ${probe.path}`);
            }
          }
        }
      }
    });

    await t.test('the storage server probes answer on gantry storage', { skip: HAVE_KUBECTL ? false : 'needs the lab overlay rendered' }, async () => {
      const lab = all.find((s) => s.name === 'overlays/lab')?.objects ?? [];
      const storage = ofKind(lab, 'Deployment').find((d) => d.metadata.name === 'gantry-storage') as KubeObject;
      const c = storage.spec.template.spec.containers[0] as { args: string[]; ports: { name: string; containerPort: number }[]; [k: string]: unknown };
      const storageArgs = c.args.map((a) => {
        if (a.startsWith('--host=')) return '--host=127.0.0.1';
        if (a.startsWith('--port=')) return '--port=0';
        if (a.startsWith('--storage=')) return `--storage=${join(dir, 'storage-server')}`;
        return a;
      });
      const s = await startStorage(storageArgs);
      try {
        for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
          const probe = (c[kind] as { httpGet: { path: string; port: string } }).httpGet;
          assert.equal(c.ports.find((p) => p.name === probe.port)?.containerPort, Number(argValue(c.args, '--port')));
          assert.equal((await fetch(`http://127.0.0.1:${s.port}${probe.path}`)).status, 200, `${kind} GET ${probe.path}`);
        }
      } finally {
        s.stop();
      }
    });

    await t.test('every flag in the manifests is a flag of the command', async () => {
      const flags = new Map<string, Set<string>>();
      for (const { name, objects } of all) {
        for (const d of ofKind(objects, 'Deployment')) {
          for (const c of d.spec.template.spec.containers as { args: string[] }[]) {
            const sub = c.args[0] as string;
            if (!flags.has(sub)) flags.set(sub, await helpFlags(sub));
            for (const a of c.args.slice(1)) {
              const flag = a.split('=')[0] as string;
              assert.ok(flags.get(sub)?.has(flag), `${name}: ${d.metadata.name}: gantry ${sub} has no flag ${flag}`);
            }
          }
        }
      }
    });

    for (const { name, objects } of all) {
      await t.test(`invariants: ${name}`, () => {
        assert.deepEqual(selectorProblems(objects), [], 'selectors and labels');
        assert.deepEqual(hardeningProblems(objects), [], 'hardening');
        assert.deepEqual(gantryPodProblems(objects), [], 'Gantry pods');
        assert.deepEqual(autoscalingProblems(objects, new Set(metrics.keys())), [], 'autoscaling');
        assert.deepEqual(networkPolicyProblems(objects), [], 'network policies');
      });
    }

    await t.test('the Prometheus Adapter rule serves the HPA metric from the exported gauge', () => {
      const values = parse(readFileSync(join(KUBE_DIR, 'monitoring', 'prometheus-adapter-values.yaml'), 'utf8')) as {
        rules: { default: boolean; custom: { seriesQuery: string; name: { matches: string; as: string }; metricsQuery: string; resources: { overrides: Record<string, { resource: string }> } }[] };
      };
      const rule = values.rules.custom.find((r) => r.name.as === AUTOSCALING_METRIC);
      assert.ok(rule, `a rule named ${AUTOSCALING_METRIC}`);
      const series = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{/.exec(rule.seriesQuery)?.[1];
      assert.equal(series, AUTOSCALING_METRIC);
      assert.equal(metrics.get(series), 'gauge', 'a gauge: no rate() in the query');
      assert.ok(!/rate\(/.test(rule.metricsQuery));
      assert.match(rule.metricsQuery, /<<\.Series>>\{<<\.LabelMatchers>>\}/);
      assert.match(rule.metricsQuery, /by \(<<\.GroupBy>>\)/);
      assert.deepEqual([rule.resources.overrides['namespace']?.resource, rule.resources.overrides['pod']?.resource], ['namespace', 'pod']);
    });
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  await t.test('the checks catch planted mistakes', async () => {
    const base = (): KubeObject[] => JSON.parse(JSON.stringify(all[0]?.objects)) as KubeObject[];
    const dep = (os: KubeObject[], n = 'gantry-gateway'): KubeObject => ofKind(os, 'Deployment').find((d) => d.metadata.name === n) as KubeObject;
    const c0 = (d: KubeObject): Record<string, unknown> & { args: string[]; securityContext: Record<string, unknown> } => d.spec.template.spec.containers[0];
    const metrics = new Set([AUTOSCALING_METRIC]);

    let os = base();
    ofKind(os, 'PodDisruptionBudget')[0]!.spec.selector.matchLabels['app.kubernetes.io/component'] = 'gatway';
    assert.match(selectorProblems(os).join('\n'), /PodDisruptionBudget gantry-gateway: selects the pods of 0 Deployments/);

    os = base();
    ofKind(os, 'Service').find((s) => s.metadata.name === 'gantry')!.spec.ports[0].targetPort = 'mrdd';
    assert.match(selectorProblems(os).join('\n'), /target mrdd is not a container port/);

    os = base();
    dep(os).spec.template.spec.terminationGracePeriodSeconds = 240;
    assert.match(gantryPodProblems(os).join('\n'), /terminationGracePeriodSeconds 240 is not above/);

    os = base();
    c0(dep(os)).args = c0(dep(os)).args.map((a) => (a.startsWith('--drain-timeout=') ? '--drain-timeout=600000' : a));
    assert.match(gantryPodProblems(os).join('\n'), /terminationGracePeriodSeconds 270 is not above preStop \+ drain timeout/);

    os = base();
    c0(dep(os))['lifecycle'] = { preStop: { sleep: { seconds: 5 } } };
    c0(dep(os, 'gantry-worker'))['lifecycle'] = { preStop: { exec: { command: ['sh', '-c', 'sleep 5'] } } };
    assert.match(gantryPodProblems(os).join('\n'), /gantry-gateway container gantry: the preStop sleep action needs Kubernetes >= 1\.30/);
    assert.match(gantryPodProblems(os).join('\n'), /gantry-worker container gantry: no preStop pause/);

    os = base();
    c0(dep(os))['image'] = 'gantry:latest';
    c0(dep(os, 'gantry-worker'))['image'] = 'registry.example.org:5000/gantry';
    assert.equal(hardeningProblems(os).filter((p) => /is not pinned/.test(p)).length, 2);

    os = base();
    c0(dep(os)).securityContext['readOnlyRootFilesystem'] = false;
    dep(os, 'gantry-worker').spec.template.spec.securityContext.runAsUser = 0;
    assert.match(hardeningProblems(os).join('\n'), /readOnlyRootFilesystem is not true/);
    assert.match(hardeningProblems(os).join('\n'), /gantry-worker: pod securityContext.runAsUser must be a non-zero UID/);

    os = base();
    ofKind(os, 'HorizontalPodAutoscaler')[0]!.spec.metrics[0].pods.metric.name = 'gadgetron_activity';
    assert.match(autoscalingProblems(os, metrics).join('\n'), /metric gadgetron_activity is not exported by gantry serve/);
    os = base();
    delete ofKind(os, 'HorizontalPodAutoscaler')[1]!.spec.behavior.scaleDown.stabilizationWindowSeconds;
    assert.match(autoscalingProblems(os, metrics).join('\n'), /scale-down stabilisation undefined s/);

    os = base();
    c0(dep(os))['readinessProbe'] = { httpGet: { path: '/healthz', port: 'http' } };
    assert.match(gantryPodProblems(os).join('\n'), /readinessProbe must be \/readyz/);

    os = base();
    os = os.filter((o) => o.metadata.name !== 'gantry-allow-dns');
    assert.match(networkPolicyProblems(os).join('\n'), /no DNS egress/);

    const lab = all.find((x) => x.name === 'overlays/lab')?.objects;
    if (lab) {
      os = JSON.parse(JSON.stringify(lab)) as KubeObject[];
      const np = ofKind(os, 'NetworkPolicy').find((n) => n.metadata.name === 'gantry-allow-pod-to-pod') as KubeObject;
      np.spec.ingress[0].ports = (np.spec.ingress[0].ports as { port: number }[]).filter((p) => p.port !== 3333);
      assert.match(networkPolicyProblems(os).join('\n'), /no ingress from Gantry pods to the storage server Deployment gantry-storage on 3333/);
    }

    os = base();
    dep(os).spec.replicas = 3;
    assert.match(selectorProblems(os).join('\n'), /sets replicas although HPA/);

    // the schema validators catch wrong types and missing fields…
    os = base();
    c0(dep(os))['ports'] = [{ name: 'mrd', containerPort: '9002' }];
    assert.match((await schemaErrors(dep(os))) ?? '', /containerPort must be integer/);
    // …and the type check catches what they let through: a misspelled field
    os = base();
    const d = dep(os);
    d.spec.template.spec.terminationGracePeriodSecnds = 10;
    assert.equal(await schemaErrors(d), undefined, 'the bundled validators accept unknown fields');
    assert.match(unknownFieldDiagnostics([{ label: 'planted', obj: d }]), /terminationGracePeriodSecnds/);
  });
});
