/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests.
 */

/** One sample of a parsed exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed Prometheus text exposition (format 0.0.4). */
export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Parses the Prometheus text format strictly: HELP/TYPE comments, metric
 * names, label sets with escaped values, float values; samples of a family
 * follow its TYPE; counters end in `_total`; histogram buckets are cumulative
 * and `+Inf` equals `_count`. Throws on any deviation.
 */
export function parsePrometheusText(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const lines = text.split('\n').slice(0, -1);
  for (const [n, line] of lines.entries()) {
    const where = `line ${n + 1} (${line})`;
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) continue;
      if (!NAME.test(m[2] as string)) throw new Error(`bad metric name in ${where}`);
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3] ?? '')) throw new Error(`bad type in ${where}`);
        if (types.has(m[2] as string)) throw new Error(`second TYPE in ${where}`);
        types.set(m[2] as string, m[3] as string);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( \d+)?$/.exec(line);
    if (!m) throw new Error(`bad sample in ${where}`);
    const labels: Record<string, string> = {};
    if (m[3] !== undefined && m[3] !== '') {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/y;
      let pos = 0;
      while (pos < m[3].length) {
        re.lastIndex = pos;
        const l = re.exec(m[3]);
        if (!l) throw new Error(`bad labels in ${where}`);
        if ((l[1] as string) in labels) throw new Error(`repeated label in ${where}`);
        labels[l[1] as string] = (l[2] as string).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        pos = re.lastIndex;
      }
    }
    const raw = m[4] as string;
    // Values are Go ParseFloat numbers: NaN and Inf in any case (prom-client writes `Nan`).
    const special = /^([+-]?)(inf|infinity|nan)$/i.exec(raw);
    const value = special ? (special[2]?.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(raw);
    if (!special && (raw.trim() === '' || Number.isNaN(value))) throw new Error(`bad value in ${where}`);
    const name = m[1] as string;
    const family = [...types.keys()].find((f) => name === f || ((types.get(f) === 'histogram' || types.get(f) === 'summary') && /^(_bucket|_sum|_count)$/.test(name.slice(f.length)) && name.startsWith(f)));
    if (family === undefined) throw new Error(`sample without TYPE in ${where}`);
    if (types.get(family) === 'counter' && !family.endsWith('_total')) throw new Error(`counter ${family} does not end in _total`);
    samples.push({ name, labels, value });
  }
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const groups = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${family}_bucket without le`);
      const key = JSON.stringify(Object.entries(rest).sort());
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    for (const [key, buckets] of groups) {
      let previous = -Infinity;
      for (const b of buckets) {
        if (b.value < previous) throw new Error(`${family} buckets are not cumulative`);
        previous = b.value;
      }
      const inf = buckets.find((b) => b.labels['le'] === '+Inf');
      const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(Object.entries(s.labels).sort()) === key);
      if (!inf || !count || inf.value !== count.value) throw new Error(`${family}: +Inf bucket does not equal _count`);
    }
  }
  return { types, samples };
}

/** The value of one sample (0 when absent). */
export function sampleValue(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  const s = e.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value ?? 0;
}
