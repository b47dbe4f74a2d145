/**
 * Keeps this pod's `controller.kubernetes.io/pod-deletion-cost` annotation
 * equal to the number of sessions it runs, so that when a Deployment scales
 * in, its ReplicaSet deletes idle pods (cost 0) before busy ones
 * (KEP-2255, on by default since Kubernetes 1.22).
 *
 * The pod patches itself through the Kubernetes API: `PATCH
 * /api/v1/namespaces/<ns>/pods/<name>` with a JSON merge patch, as the pod's
 * ServiceAccount (RBAC: `get`, `patch` on `pods` in its namespace). Where:
 * - the API: `GANTRY_KUBE_API_URL` when set (e.g. `http://127.0.0.1:8001`
 *   of `kubectl proxy`), else `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`;
 * - the pod: `POD_NAME` and `POD_NAMESPACE` (downward API), the namespace
 *   also from the ServiceAccount folder;
 * - the credentials: `token` and `ca.crt` in the ServiceAccount folder
 *   (`GANTRY_KUBE_SERVICEACCOUNT_DIR`, default
 *   /var/run/secrets/kubernetes.io/serviceaccount); the token is read before
 *   each request, as projected tokens rotate.
 *
 * The count is polled; a patch is sent only when it changed, or after a
 * failed patch. Failures are logged (once per distinct problem) and never
 * affect sessions.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { Logger } from '../util/logger.js';

/** The annotation the ReplicaSet controller reads. */
export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';
/** Where Kubernetes mounts a pod's ServiceAccount credentials. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where and as whom to patch the pod. */
export interface KubernetesPodTarget {
  /** API base URL, e.g. https://10.96.0.1:443. */
  apiUrl: string;
  namespace: string;
  podName: string;
  /** File with the bearer token (absent: no Authorization header). */
  tokenFile?: string;
  /** CA bundle for an https API. */
  ca?: Buffer;
}

/** Options of {@link startPodDeletionCost}. */
export interface PodDeletionCostOptions {
  target: KubernetesPodTarget;
  /** The pod's running sessions now. */
  sessions: () => number;
  /** Poll period in ms (default 2000). */
  intervalMs?: number;
  /** Deadline of one request in ms (default 5000). */
  timeoutMs?: number;
  log: Logger;
}

/** A running updater. */
export interface PodDeletionCost {
  /** Patches now if the count changed (or the last patch failed); resolves with whether the pod carries the current count. */
  update(): Promise<boolean>;
  /** The cost last written successfully (undefined before the first success). */
  readonly written: number | undefined;
  /** Stops polling; waits for a request in flight. */
  stop(): Promise<void>;
}

/**
 * The pod target from the environment, or a reason why there is none (not
 * in a pod, or the pod's name unknown).
 */
export function podTargetFromEnvironment(env: NodeJS.ProcessEnv = process.env): KubernetesPodTarget | { problem: string } {
  const dir = env['GANTRY_KUBE_SERVICEACCOUNT_DIR'] || SERVICE_ACCOUNT_DIR;
  let apiUrl = env['GANTRY_KUBE_API_URL']?.trim();
  if (!apiUrl) {
    const host = env['KUBERNETES_SERVICE_HOST'];
    const port = env['KUBERNETES_SERVICE_PORT'] || '443';
    if (!host) return { problem: 'not running in Kubernetes (KUBERNETES_SERVICE_HOST is not set; GANTRY_KUBE_API_URL names an API otherwise)' };
    apiUrl = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }
  const podName = env['POD_NAME']?.trim();
  if (!podName) return { problem: 'POD_NAME is not set (give it from the downward API: fieldRef metadata.name)' };
  let namespace = env['POD_NAMESPACE']?.trim();
  if (!namespace) {
    try {
      namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim();
    } catch {
      return { problem: `POD_NAMESPACE is not set and ${join(dir, 'namespace')} cannot be read` };
    }
  }
  let ca: Buffer | undefined;
  try {
    ca = readFileSync(join(dir, 'ca.crt'));
  } catch {
    ca = undefined;
  }
  return { apiUrl, namespace, podName, tokenFile: join(dir, 'token'), ...(ca ? { ca } : {}) };
}

/** Sends the merge patch that sets the annotation to `cost`; resolves with the HTTP status. */
export async function patchPodDeletionCost(target: KubernetesPodTarget, cost: number, timeoutMs = 5_000): Promise<number> {
  const url = new URL(`/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.podName)}`, target.apiUrl);
  const body = Buffer.from(JSON.stringify({ metadata: { annotations: { [POD_DELETION_COST_ANNOTATION]: String(cost) } } }), 'utf8');
  let token: string | undefined;
  if (target.tokenFile) {
    try {
      token = (await readFile(target.tokenFile, 'utf8')).trim();
    } catch {
      token = undefined;
    }
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const req = send(url, {
      method: 'PATCH',
      headers: {
        'content-type': 'application/merge-patch+json',
        'content-length': body.byteLength,
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(url.protocol === 'https:' && target.ca ? { ca: target.ca } : {}),
      timeout: timeoutMs,
    }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`no answer from ${url.origin} within ${timeoutMs} ms`)));
    req.once('error', reject);
    req.end(body);
  });
}

/** Starts keeping the annotation up to date; see the module comment. */
export function startPodDeletionCost(options: PodDeletionCostOptions): PodDeletionCost {
  const { target, log } = options;
  const intervalMs = options.intervalMs ?? 2_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  let written: number | undefined;
  let lastProblem = '';
  let stopped = false;
  let inFlight: Promise<boolean> | undefined;

  const attempt = async (): Promise<boolean> => {
    const cost = options.sessions();
    if (cost === written) return true;
    let problem = '';
    try {
      const status = await patchPodDeletionCost(target, cost, timeoutMs);
      if (status < 200 || status > 299) {
        problem = status === 403
          ? 'HTTP 403: the ServiceAccount may not patch its pod (RBAC: get, patch on pods)'
          : `HTTP ${status}`;
      }
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
    if (problem) {
      if (problem !== lastProblem) log.warn('cannot set the pod deletion cost', { pod: target.podName, error: problem });
      lastProblem = problem;
      return false;
    }
    if (lastProblem || written === undefined) log.info('pod deletion cost set', { pod: target.podName, cost });
    lastProblem = '';
    written = cost;
    return true;
  };

  const update = (): Promise<boolean> => {
    if (inFlight) return inFlight;
    inFlight = attempt().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const timer = setInterval(() => {
    if (!stopped) void update();
  }, intervalMs);
  timer.unref();
  void update();

  return {
    update,
    get written() {
      return written;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight?.catch(() => undefined);
    },
  };
}
