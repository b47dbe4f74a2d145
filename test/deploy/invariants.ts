/**
 * Gantry's invariants over a set of rendered Kubernetes objects. Each check
 * returns problems as sentences (an empty list when the set is sound), so a
 * failing test says exactly what is wrong and where.
 */
import { DRAIN_CUT_GRACE_MS } from '../../src/server/tcp-server.js';
import { argValue, ofKind, podTemplates, selects, type KubeObject } from './k8s-objects.js';

/** Gantry's metric the autoscalers must use. */
export const AUTOSCALING_METRIC = 'mrd_sessions_active';
/** `gantry serve`'s default drain timeout (ms), when the args give none. */
const DEFAULT_DRAIN_MS = 60_000;

type Container = {
  name: string; image: string; args?: string[]; command?: string[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string }[];
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } } };
  startupProbe?: Probe; readinessProbe?: Probe; livenessProbe?: Probe;
};
type Probe = { httpGet?: { path: string; port: number | string } };

function containersOf(spec: KubeObject['spec']): Container[] {
  return [...((spec.initContainers ?? []) as Container[]), ...((spec.containers ?? []) as Container[])];
}

/** A container port by name or number. */
function containerPort(c: Container, port: number | string): number | undefined {
  if (typeof port === 'number') return c.ports?.some((p) => p.containerPort === port) ? port : undefined;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/**
 * The preStop exec commands the image provides: coreutils' sleep of the Debian
 * base (an Essential package; test/deploy/dockerfile.test.ts checks the base),
 * by absolute path since a hook has no shell.
 */
export const IMAGE_SLEEP = '/bin/sleep';

/** The preStop pause in seconds (sleep action, or `exec /bin/sleep N`). */
function preStopSeconds(c: Container): number {
  const p = c.lifecycle?.preStop;
  if (p?.sleep) return p.sleep.seconds;
  const cmd = p?.exec?.command;
  if (cmd && cmd[0] === IMAGE_SLEEP && cmd.length === 2 && /^\d+$/.test(cmd[1] ?? '')) return Number(cmd[1]);
  return 0;
}

/** Selector-and-label consistency across Deployments, Services, PDBs, NetworkPolicies and HPAs. */
export function selectorProblems(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  const pods = podTemplates(objects);
  for (const { owner, labels } of pods) {
    const sel = owner.spec.selector?.matchLabels as Record<string, string> | undefined;
    if (!sel || !selects(sel, labels)) problems.push(`Deployment ${owner.metadata.name}: selector ${JSON.stringify(sel)} does not match its template labels`);
    if (sel && Object.keys(owner.spec.selector).some((k) => k !== 'matchLabels')) problems.push(`Deployment ${owner.metadata.name}: use matchLabels only`);
  }
  // no two Deployments may claim the same pods
  for (const a of pods) {
    for (const b of pods) {
      if (a !== b && selects(a.owner.spec.selector.matchLabels, b.labels)) {
        problems.push(`Deployment ${a.owner.metadata.name}'s selector also matches the pods of ${b.owner.metadata.name}`);
      }
    }
  }
  for (const svc of ofKind(objects, 'Service')) {
    const matched = pods.filter((p) => selects(svc.spec.selector, p.labels));
    if (!svc.spec.selector || matched.length === 0) {
      problems.push(`Service ${svc.metadata.name}: its selector matches no pod template`);
      continue;
    }
    for (const port of svc.spec.ports as { name: string; port: number; targetPort?: number | string }[]) {
      const target = port.targetPort ?? port.port;
      for (const p of matched) {
        if (!containersOf(p.spec).some((c) => containerPort(c, target) !== undefined)) {
          problems.push(`Service ${svc.metadata.name} port ${port.name}: target ${target} is not a container port of Deployment ${p.owner.metadata.name}`);
        }
      }
    }
  }
  for (const pdb of ofKind(objects, 'PodDisruptionBudget')) {
    const sel = pdb.spec.selector?.matchLabels as Record<string, string> | undefined;
    const matched = pods.filter((p) => selects(sel, p.labels));
    if (matched.length !== 1) problems.push(`PodDisruptionBudget ${pdb.metadata.name}: selects the pods of ${matched.length} Deployments (want exactly 1)`);
    else if (JSON.stringify(sel) !== JSON.stringify(matched[0]?.owner.spec.selector.matchLabels)) {
      problems.push(`PodDisruptionBudget ${pdb.metadata.name}: selector differs from Deployment ${matched[0]?.owner.metadata.name}'s`);
    }
  }
  for (const np of ofKind(objects, 'NetworkPolicy')) {
    const matched = pods.filter((p) => selects(np.spec.podSelector?.matchLabels, p.labels));
    if (matched.length === 0) problems.push(`NetworkPolicy ${np.metadata.name}: its podSelector matches no pod template`);
    for (const rule of (np.spec.ingress ?? []) as { ports?: { port: number | string }[] }[]) {
      for (const port of rule.ports ?? []) {
        if (typeof port.port !== 'string') continue;
        for (const p of matched) {
          if (!containersOf(p.spec).some((c) => containerPort(c, port.port) !== undefined)) {
            problems.push(`NetworkPolicy ${np.metadata.name}: named port ${port.port} is not a port of Deployment ${p.owner.metadata.name}`);
          }
        }
      }
    }
  }
  for (const hpa of ofKind(objects, 'HorizontalPodAutoscaler')) {
    const ref = hpa.spec.scaleTargetRef as { apiVersion: string; kind: string; name: string };
    const target = ofKind(objects, ref.kind).find((o) => o.metadata.name === ref.name && o.apiVersion === ref.apiVersion);
    if (!target) problems.push(`HorizontalPodAutoscaler ${hpa.metadata.name}: target ${ref.kind} ${ref.name} does not exist`);
    else if (target.spec.replicas !== undefined) problems.push(`Deployment ${ref.name}: sets replicas although HPA ${hpa.metadata.name} owns them`);
    if (target && !ofKind(objects, 'PodDisruptionBudget').some((pdb) => selects(pdb.spec.selector.matchLabels, target.spec.template.metadata.labels))) {
      problems.push(`Deployment ${ref.name}: autoscaled but no PodDisruptionBudget covers it`);
    }
  }
  for (const sm of ofKind(objects, 'ServiceMonitor')) {
    const svcs = ofKind(objects, 'Service').filter((s) => selects(sm.spec.selector.matchLabels, s.metadata.labels));
    if (svcs.length === 0) problems.push(`ServiceMonitor ${sm.metadata.name}: selects no Service`);
    for (const ep of sm.spec.endpoints as { port: string }[]) {
      for (const s of svcs) {
        if (!(s.spec.ports as { name: string }[]).some((p) => p.name === ep.port)) problems.push(`ServiceMonitor ${sm.metadata.name}: Service ${s.metadata.name} has no port ${ep.port}`);
      }
    }
  }
  return problems;
}

/** Hardening: non-root, read-only root filesystem, no privilege, seccomp, resources, pinned images. */
export function hardeningProblems(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const { owner, spec } of podTemplates(objects)) {
    const where = `Deployment ${owner.metadata.name}`;
    const psc = (spec.securityContext ?? {}) as Record<string, unknown> & { seccompProfile?: { type: string } };
    if (psc['runAsNonRoot'] !== true) problems.push(`${where}: pod securityContext.runAsNonRoot is not true`);
    if (typeof psc['runAsUser'] !== 'number' || psc['runAsUser'] === 0) problems.push(`${where}: pod securityContext.runAsUser must be a non-zero UID`);
    if (psc.seccompProfile?.type !== 'RuntimeDefault') problems.push(`${where}: pod seccompProfile is not RuntimeDefault`);
    if (spec.hostNetwork || spec.hostPID || spec.hostIPC) problems.push(`${where}: uses host namespaces`);
    const volumes = new Set(((spec.volumes ?? []) as { name: string }[]).map((v) => v.name));
    for (const c of containersOf(spec)) {
      const cw = `${where} container ${c.name}`;
      const sc = c.securityContext ?? {};
      if (sc['readOnlyRootFilesystem'] !== true) problems.push(`${cw}: readOnlyRootFilesystem is not true`);
      if (sc['allowPrivilegeEscalation'] !== false) problems.push(`${cw}: allowPrivilegeEscalation is not false`);
      if (sc['privileged'] === true) problems.push(`${cw}: privileged`);
      if (sc['runAsUser'] === 0 || sc['runAsNonRoot'] === false) problems.push(`${cw}: runs as root`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${cw}: capabilities are not dropped (drop: [ALL])`);
      if ((sc.capabilities as { add?: string[] } | undefined)?.add?.length) problems.push(`${cw}: adds capabilities`);
      for (const kind of ['requests', 'limits'] as const) {
        for (const r of ['cpu', 'memory']) if (!c.resources?.[kind]?.[r]) problems.push(`${cw}: no ${r} ${kind}`);
      }
      const image = c.image;
      const digest = image.includes('@sha256:');
      const tag = /:([^/:@]+)$/.exec(image.split('@')[0] as string)?.[1];
      if (!digest && (tag === undefined || tag === 'latest')) problems.push(`${cw}: image ${image} is not pinned (a tag other than latest, or a digest)`);
      if (c.volumeMounts?.some((m) => !volumes.has(m.name))) problems.push(`${cw}: mounts a volume the pod does not have`);
      if (!c.volumeMounts?.some((m) => m.mountPath === '/tmp')) problems.push(`${cw}: no writable /tmp (the root filesystem is read-only)`);
    }
  }
  return problems;
}

/** Gantry-specific pod settings: probes on Gantry's endpoints, drain vs grace period, deletion cost, discovery. */
export function gantryPodProblems(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const { owner, spec, labels } of podTemplates(objects)) {
    for (const c of spec.containers as Container[]) {
      const where = `Deployment ${owner.metadata.name} container ${c.name}`;
      const args = c.args ?? [];
      if (args[0] !== 'serve') continue;
      for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
        if (!c[kind]?.httpGet) problems.push(`${where}: no ${kind} over HTTP`);
      }
      if (c.readinessProbe?.httpGet?.path !== '/readyz') problems.push(`${where}: readinessProbe must be /readyz (draining and session limit)`);
      if (c.livenessProbe?.httpGet?.path !== '/livez') problems.push(`${where}: livenessProbe must be /livez (never tied to sessions)`);
      const drainMs = Number(argValue(args, '--drain-timeout') ?? DEFAULT_DRAIN_MS);
      const needed = preStopSeconds(c) + (drainMs + DRAIN_CUT_GRACE_MS) / 1000;
      const grace = spec.terminationGracePeriodSeconds ?? 30;
      if (!(grace > needed)) problems.push(`${where}: terminationGracePeriodSeconds ${grace} is not above preStop + drain timeout + cut grace = ${needed} s`);
      if (preStopSeconds(c) <= 0) problems.push(`${where}: no preStop pause for endpoint removal (exec ${IMAGE_SLEEP} N, or the sleep action)`);
      if (c.lifecycle?.preStop?.sleep) problems.push(`${where}: the preStop sleep action needs Kubernetes >= 1.30; use exec ${IMAGE_SLEEP} N`);
      if (argValue(args, '--log-destination') !== 'stdout') problems.push(`${where}: logs must go to stdout in a cluster (--log-destination=stdout)`);
      if (argValue(args, '--host') !== '0.0.0.0' || argValue(args, '--http-host') !== '0.0.0.0') problems.push(`${where}: must bind 0.0.0.0 (--host, --http-host)`);
      const mrd = containerPort(c, 'mrd');
      if (mrd !== Number(argValue(args, '--port') ?? 9002)) problems.push(`${where}: port mrd (${mrd}) is not --port`);
      // deletion cost: the flag, the annotation, a token, and RBAC allowing the patch
      if (args.includes('--pod-deletion-cost')) {
        if (spec.automountServiceAccountToken !== true) problems.push(`${where}: --pod-deletion-cost needs the ServiceAccount token`);
        const env = (c as { env?: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[] }).env ?? [];
        if (env.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath !== 'metadata.name') problems.push(`${where}: POD_NAME from metadata.name missing`);
        if (env.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath !== 'metadata.namespace') problems.push(`${where}: POD_NAMESPACE from metadata.namespace missing`);
        const sa = spec.serviceAccountName as string | undefined;
        const binding = ofKind(objects, 'RoleBinding').find((b) => (b.subjects as { kind: string; name: string }[]).some((s) => s.kind === 'ServiceAccount' && s.name === sa));
        const role = binding && ofKind(objects, 'Role').find((r) => r.metadata.name === binding.roleRef.name);
        const allowed = (role?.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[] | undefined)?.some((r) => r.apiGroups.includes('') && r.resources.includes('pods') && r.verbs.includes('patch'));
        if (!allowed) problems.push(`${where}: ServiceAccount ${sa} may not patch pods (needed by --pod-deletion-cost)`);
        if (ofKind(objects, 'ClusterRoleBinding').length > 0) problems.push('a ClusterRoleBinding: Gantry needs no cluster-wide rights');
      } else {
        problems.push(`${where}: no --pod-deletion-cost (idle pods would not go first on scale-in)`);
      }
      if (owner.spec.template.metadata.annotations?.['controller.kubernetes.io/pod-deletion-cost'] === undefined) {
        problems.push(`${where}: the pod template has no initial pod-deletion-cost annotation`);
      }
      // discovery: --dns-workers names a headless Service that selects this kind of pod, on its mrd port
      const dns = argValue(args, '--dns-workers');
      if (!dns) problems.push(`${where}: no --dns-workers`);
      else {
        const [host, port] = dns.split(':');
        const svc = ofKind(objects, 'Service').find((s) => host?.startsWith(`${s.metadata.name}.`));
        if (!svc) problems.push(`${where}: --dns-workers ${dns} names no Service of this set`);
        else {
          if (svc.spec.clusterIP !== 'None') problems.push(`Service ${svc.metadata.name}: discovery needs a headless Service (clusterIP: None)`);
          if (svc.spec.publishNotReadyAddresses === true) problems.push(`Service ${svc.metadata.name}: must not publish unready (draining or full) pods`);
          if (!(svc.spec.ports as { name: string; port: number }[]).some((p) => p.name === 'mrd' && String(p.port) === port)) {
            problems.push(`Service ${svc.metadata.name}: has no mrd port ${port}`);
          }
          if (host !== `${svc.metadata.name}.$(POD_NAMESPACE).svc.cluster.local`) problems.push(`${where}: --dns-workers should be <service>.$(POD_NAMESPACE).svc.cluster.local`);
          if (!selects(svc.spec.selector, labels)) problems.push(`${where}: its pods are not in the discovery Service ${svc.metadata.name}`);
        }
      }
      // the dependency store is shared: an RWX claim, or a storage server
      const storageDir = argValue(args, '--storage');
      const storageUrl = argValue(args, '--storage-url');
      if (storageDir) {
        const mount = c.volumeMounts?.find((m) => storageDir.startsWith(`${m.mountPath}/`) || storageDir === m.mountPath);
        const volume = mount && (spec.volumes as { name: string; persistentVolumeClaim?: { claimName: string } }[]).find((v) => v.name === mount.name);
        const claim = volume?.persistentVolumeClaim && ofKind(objects, 'PersistentVolumeClaim').find((p) => p.metadata.name === volume.persistentVolumeClaim?.claimName);
        if (!claim?.spec.accessModes.includes('ReadWriteMany')) problems.push(`${where}: --storage ${storageDir} is not on a ReadWriteMany claim`);
      } else if (storageUrl) {
        const host = new URL(storageUrl).hostname;
        if (!ofKind(objects, 'Service').some((s) => s.metadata.name === host)) problems.push(`${where}: --storage-url names no Service of this set`);
      } else {
        problems.push(`${where}: no shared dependency store (--storage on RWX, or --storage-url)`);
      }
    }
  }
  return problems;
}

/** Autoscalers: autoscaling/v2 on Gantry's metric, with scale-down stabilisation. */
export function autoscalingProblems(objects: KubeObject[], exportedMetrics: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const hpas = ofKind(objects, 'HorizontalPodAutoscaler');
  if (hpas.length === 0) problems.push('no HorizontalPodAutoscaler');
  for (const hpa of hpas) {
    const where = `HorizontalPodAutoscaler ${hpa.metadata.name}`;
    if (hpa.apiVersion !== 'autoscaling/v2') problems.push(`${where}: not autoscaling/v2`);
    for (const m of hpa.spec.metrics as { type: string; pods?: { metric: { name: string }; target: { type: string } } }[]) {
      if (m.type !== 'Pods' || !m.pods) {
        problems.push(`${where}: metric of type ${m.type} (want Pods ${AUTOSCALING_METRIC})`);
        continue;
      }
      if (m.pods.metric.name !== AUTOSCALING_METRIC) problems.push(`${where}: metric ${m.pods.metric.name} (want ${AUTOSCALING_METRIC})`);
      if (!exportedMetrics.has(m.pods.metric.name)) problems.push(`${where}: metric ${m.pods.metric.name} is not exported by gantry serve`);
      if (m.pods.target.type !== 'AverageValue') problems.push(`${where}: target type ${m.pods.target.type} (want AverageValue)`);
    }
    const down = hpa.spec.behavior?.scaleDown?.stabilizationWindowSeconds as number | undefined;
    if (!(down !== undefined && down >= 300)) problems.push(`${where}: scale-down stabilisation ${down} s (want >= 300)`);
    if (!(hpa.spec.minReplicas >= 2)) problems.push(`${where}: minReplicas below 2 (a drain or node loss would stop service)`);
  }
  return problems;
}

/** NetworkPolicy coverage: default deny plus the allowed flows. */
export function networkPolicyProblems(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  const nps = ofKind(objects, 'NetworkPolicy');
  const pods = podTemplates(objects);
  const deny = nps.find((np) => !np.spec.ingress && !np.spec.egress && ['Ingress', 'Egress'].every((t) => (np.spec.policyTypes as string[]).includes(t)));
  if (!deny) problems.push('no default-deny NetworkPolicy (both policy types, no rules)');
  else {
    for (const p of pods) if (!selects(deny.spec.podSelector.matchLabels, p.labels)) problems.push(`default deny does not cover Deployment ${p.owner.metadata.name}`);
  }
  type Peer = { podSelector?: { matchLabels?: Record<string, string> }; namespaceSelector?: { matchLabels?: Record<string, string> }; ipBlock?: { cidr: string } };
  type Rule = { from?: Peer[]; to?: Peer[]; ports?: { port: number | string; protocol?: string }[] };
  const ingress = nps.flatMap((np) => ((np.spec.ingress ?? []) as Rule[]).map((r) => ({ np, r })));
  const egress = nps.flatMap((np) => ((np.spec.egress ?? []) as Rule[]).map((r) => ({ np, r })));
  const hasPort = (r: Rule, port: number | string, protocol = 'TCP'): boolean => (r.ports ?? []).some((p) => p.port === port && (p.protocol ?? 'TCP') === protocol);
  const gateways = pods.filter((p) => p.labels['app.kubernetes.io/component'] === 'gateway');
  for (const g of gateways) {
    if (!ingress.some(({ np, r }) => selects(np.spec.podSelector.matchLabels, g.labels) && r.from?.some((f) => f.ipBlock) && hasPort(r, 'mrd'))) {
      problems.push(`no ingress from clients to Deployment ${g.owner.metadata.name} on mrd`);
    }
  }
  for (const p of pods) {
    const name = p.owner.metadata.name;
    const applies = ({ np }: { np: KubeObject }): boolean => selects(np.spec.podSelector.matchLabels, p.labels);
    if (!ingress.some((x) => applies(x) && x.r.from?.some((f) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring') && hasPort(x.r, 'http'))) {
      if ((p.spec.containers as Container[])[0]?.args?.[0] === 'serve') problems.push(`no metrics scrape ingress (monitoring namespace, http) to Deployment ${name}`);
    }
    if (!egress.some((x) => applies(x) && hasPort(x.r, 53, 'UDP') && hasPort(x.r, 53, 'TCP'))) problems.push(`no DNS egress (53 UDP and TCP) from Deployment ${name}`);
    if (!egress.some((x) => applies(x) && x.r.to?.some((t) => t.podSelector) && hasPort(x.r, 9002))) problems.push(`no pod-to-pod egress on 9002 from Deployment ${name}`);
    if (!ingress.some((x) => applies(x) && x.r.from?.some((f) => f.podSelector && !f.namespaceSelector) && hasPort(x.r, 9002))) problems.push(`no pod-to-pod ingress on 9002 to Deployment ${name}`);
    if (!egress.some((x) => applies(x) && hasPort(x.r, 3333))) problems.push(`no egress to the storage service (3333) from Deployment ${name}`);
    const c = (p.spec.containers as Container[])[0];
    if (c?.args?.[0] === 'storage') {
      const port = Number(argValue(c.args, '--port') ?? 3333);
      if (!ingress.some((x) => applies(x) && x.r.from?.some((f) => f.podSelector) && hasPort(x.r, port))) problems.push(`no ingress from Gantry pods to the storage server Deployment ${name} on ${port}`);
    }
  }
  return problems;
}
