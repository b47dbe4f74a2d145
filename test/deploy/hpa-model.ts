/**
 * The HorizontalPodAutoscaler's decision (autoscaling/v2, Pods metric with an
 * AverageValue target, behavior), as the Kubernetes controller computes it
 * each sync period (pkg/controller/podautoscaler/horizontal.go):
 *
 * 1. ratio = (mean of the pods' metric) / target; inside the tolerance
 *    (|ratio − 1| ≤ 0.1) the proposal is the current count, else
 *    ceil(ratio × pods).
 * 2. Stabilisation: the recommendation is the current count raised to the
 *    smallest proposal of the scale-up window and lowered to the largest
 *    proposal of the scale-down window (each window includes this proposal).
 * 3. Rate limits: scale-up to at most the policies' limit (selectPolicy Max:
 *    the largest), counted from the replicas at the start of each policy's
 *    period; scale-down likewise (selectPolicy Min: the smallest change);
 *    always within minReplicas..maxReplicas.
 *
 * Pods are taken as ready at once and the load as evenly spread (what the
 * Service and the gateways' worker pool aim at).
 */

/** The HPA fields the decision reads. */
export interface HpaSpec {
  minReplicas: number;
  maxReplicas: number;
  /** AverageValue target of the Pods metric. */
  target: number;
  scaleUp: ScalingRules;
  scaleDown: ScalingRules;
}

/** One direction's behavior. */
export interface ScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: 'Max' | 'Min' | 'Disabled';
  policies: { type: 'Pods' | 'Percent'; value: number; periodSeconds: number }[];
}

/** The controller's tolerance around ratio 1. */
export const TOLERANCE = 0.1;

/** Kubernetes' defaults for a missing behavior direction. */
const DEFAULT_UP: ScalingRules = { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] };
const DEFAULT_DOWN: ScalingRules = { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };

/** Reads an autoscaling/v2 HPA object (Pods metric, AverageValue) into an {@link HpaSpec}. */
export function hpaSpecOf(hpa: { spec: Record<string, unknown> }): HpaSpec {
  const spec = hpa.spec as {
    minReplicas?: number; maxReplicas: number;
    metrics: { pods: { target: { averageValue: string } } }[];
    behavior?: { scaleUp?: Partial<ScalingRules>; scaleDown?: Partial<ScalingRules> };
  };
  const rules = (given: Partial<ScalingRules> | undefined, d: ScalingRules): ScalingRules => ({
    stabilizationWindowSeconds: given?.stabilizationWindowSeconds ?? d.stabilizationWindowSeconds,
    selectPolicy: given?.selectPolicy ?? d.selectPolicy,
    policies: given?.policies ?? d.policies,
  });
  return {
    minReplicas: spec.minReplicas ?? 1,
    maxReplicas: spec.maxReplicas,
    target: parseQuantity(spec.metrics[0]?.pods.target.averageValue ?? ''),
    scaleUp: rules(spec.behavior?.scaleUp, DEFAULT_UP),
    scaleDown: rules(spec.behavior?.scaleDown, DEFAULT_DOWN),
  };
}

/** A Kubernetes quantity as a number ("2", "1500m", "1.5"). */
export function parseQuantity(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q.trim());
  if (!m) throw new Error(`Cannot read quantity ${JSON.stringify(q)}`);
  return Number(m[1]) / (m[2] === 'm' ? 1000 : 1);
}

/** The metric-based proposal: pods × mean / target, unless within the tolerance. */
export function proposal(currentReplicas: number, podMetrics: readonly number[], target: number): number {
  const mean = podMetrics.reduce((a, b) => a + b, 0) / podMetrics.length;
  const ratio = mean / target;
  if (Math.abs(ratio - 1) <= TOLERANCE) return currentReplicas;
  return Math.ceil(ratio * podMetrics.length);
}

/** An HPA over time: `sync` once per sync period with the pods' metric values. */
export class HpaSimulator {
  replicas: number;
  private readonly recommendations: { at: number; replicas: number }[] = [];
  private readonly events: { at: number; change: number }[] = [];

  constructor(private readonly spec: HpaSpec, initialReplicas = spec.minReplicas) {
    this.replicas = initialReplicas;
  }

  /** One controller sync at `now` (seconds) with the total of the metric over the pods, spread evenly; returns the new count. */
  syncTotal(now: number, total: number): number {
    return this.sync(now, Array.from({ length: this.replicas }, () => total / this.replicas));
  }

  /** One controller sync at `now` (seconds) with each pod's metric value; returns the new count. */
  sync(now: number, podMetrics: readonly number[]): number {
    const current = this.replicas;
    const desired = proposal(current, podMetrics, this.spec.target);
    // stabilisation
    let up = desired;
    let down = desired;
    for (const r of this.recommendations) {
      if (r.at > now - this.spec.scaleUp.stabilizationWindowSeconds) up = Math.min(up, r.replicas);
      if (r.at > now - this.spec.scaleDown.stabilizationWindowSeconds) down = Math.max(down, r.replicas);
    }
    this.recommendations.push({ at: now, replicas: desired });
    const keep = Math.max(this.spec.scaleUp.stabilizationWindowSeconds, this.spec.scaleDown.stabilizationWindowSeconds);
    while (this.recommendations.length > 0 && (this.recommendations[0] as { at: number }).at <= now - keep) this.recommendations.shift();
    let next = current;
    if (next < up) next = up;
    if (next > down) next = down;
    // rate limits and bounds
    if (next > current) {
      next = Math.min(next, this.scaleUpLimit(now, current), this.spec.maxReplicas);
    } else if (next < current) {
      next = Math.max(next, this.scaleDownLimit(now, current), this.spec.minReplicas);
    }
    next = Math.min(Math.max(next, this.spec.minReplicas), this.spec.maxReplicas);
    if (next !== current) this.events.push({ at: now, change: next - current });
    this.replicas = next;
    return next;
  }

  private changeInPeriod(now: number, periodSeconds: number, sign: 1 | -1): number {
    return this.events.filter((e) => e.at > now - periodSeconds && Math.sign(e.change) === sign).reduce((a, e) => a + Math.abs(e.change), 0);
  }

  private scaleUpLimit(now: number, current: number): number {
    const rules = this.spec.scaleUp;
    if (rules.selectPolicy === 'Disabled') return current;
    const proposals = rules.policies.map((p) => {
      const start = current - this.changeInPeriod(now, p.periodSeconds, 1);
      return p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    });
    return rules.selectPolicy === 'Min' ? Math.min(...proposals) : Math.max(...proposals);
  }

  private scaleDownLimit(now: number, current: number): number {
    const rules = this.spec.scaleDown;
    if (rules.selectPolicy === 'Disabled') return current;
    const proposals = rules.policies.map((p) => {
      const start = current + this.changeInPeriod(now, p.periodSeconds, -1);
      return p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    });
    // Min: the smallest change, i.e. the largest count; Max: the largest change
    return rules.selectPolicy === 'Min' ? Math.max(...proposals) : Math.min(...proposals);
  }
}
