/**
 * Benchmark figures: what one run measured, how it prints, and how it is
 * recorded in (and checked against) docs/performance.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** One measured figure. Times are in the unit given; `ratio` = gantry ÷ reference. */
export interface Figure {
  id: string;
  group: 'fft' | 'blas' | 'e2e' | 'ingest' | 'cine' | 'dist';
  label: string;
  unit: 'µs' | 'ms' | 's' | 'GB/s' | 'MB';
  /** Gantry's best time (or throughput for GB/s). */
  gantry: number;
  /** The reference's best time, measured in the same run. */
  reference?: number;
  referenceName?: string;
  /** gantry ÷ reference for times; for throughput, the figure itself. */
  ratio?: number;
  /** Target: ratio at most `max`, or throughput at least `min`. */
  target?: { max?: number; min?: number };
  /** Other columns (e.g. the TypeScript fallback, the bart CLI). */
  extra?: Record<string, number>;
  /** Notes, e.g. a correctness cross-check. */
  note?: string;
}

/** Does a figure meet its target? undefined when it has none. */
export function meetsTarget(f: Figure): boolean | undefined {
  if (!f.target) return undefined;
  const value = f.unit === 'GB/s' ? f.gantry : f.ratio;
  if (value === undefined) return undefined;
  if (f.target.max !== undefined && value > f.target.max) return false;
  if (f.target.min !== undefined && value < f.target.min) return false;
  return true;
}

function fmt(v: number | undefined, unit?: string): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  const digits = v >= 1000 ? 0 : v >= 100 ? 1 : v >= 10 ? 2 : 3;
  return unit ? `${v.toFixed(digits)} ${unit}` : v.toFixed(digits);
}

/** A plain-text table of the figures. */
export function formatTable(figures: readonly Figure[]): string {
  const rows: string[][] = [['figure', 'gantry', 'reference', 'ratio', 'target', 'met', 'other']];
  for (const f of figures) {
    const met = meetsTarget(f);
    const target = f.target ? (f.target.max !== undefined ? `≤ ${f.target.max}×` : `≥ ${f.target.min} ${f.unit}`) : '';
    const extra = f.extra ? Object.entries(f.extra).map(([k, v]) => `${k} ${fmt(v)}`).join('; ') : '';
    rows.push([
      f.label,
      fmt(f.gantry, f.unit),
      f.reference === undefined ? '' : `${fmt(f.reference, f.unit)} (${f.referenceName ?? ''})`,
      f.ratio === undefined || f.unit === 'GB/s' ? '' : `${f.ratio.toFixed(2)}×`,
      target,
      met === undefined ? '' : met ? 'yes' : 'NO',
      [extra, f.note ?? ''].filter((s) => s).join('; '),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()).join('\n');
}

/** A Markdown table of the figures. */
export function formatMarkdown(figures: readonly Figure[]): string {
  const lines = ['| figure | Gantry | reference | ratio | target | met | other |', '|---|---|---|---|---|---|---|'];
  for (const f of figures) {
    const met = meetsTarget(f);
    const target = f.target ? (f.target.max !== undefined ? `≤ ${f.target.max}×` : `≥ ${f.target.min} ${f.unit}`) : '';
    const extra = f.extra ? Object.entries(f.extra).map(([k, v]) => `${k} ${fmt(v)}`).join('; ') : '';
    lines.push(
      `| ${f.label} | ${fmt(f.gantry, f.unit)} | ${f.reference === undefined ? '' : `${fmt(f.reference, f.unit)} (${f.referenceName ?? ''})`} | ${
        f.ratio === undefined || f.unit === 'GB/s' ? '' : `${f.ratio.toFixed(2)}×`
      } | ${target} | ${met === undefined ? '' : met ? 'yes' : '**no**'} | ${[extra, f.note ?? ''].filter((s) => s).join('; ')} |`,
    );
  }
  return lines.join('\n');
}

const BEGIN = '<!-- bench-figures:begin -->';
const END = '<!-- bench-figures:end -->';

/** The recorded run, as stored in docs/performance.md. */
export interface RecordedRun {
  machine: string;
  command: string;
  date: string;
  figures: Figure[];
}

/** Reads the recorded figures from the fenced JSON block of docs/performance.md (undefined when absent). */
export function readRecorded(path: string): RecordedRun | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) return undefined;
  const block = text.slice(start + BEGIN.length, end);
  const json = /```json\s*([\s\S]*?)```/.exec(block);
  if (!json) return undefined;
  return JSON.parse(json[1] as string) as RecordedRun;
}

const TABLE_BEGIN = '<!-- bench-table:begin -->';
const TABLE_END = '<!-- bench-table:end -->';

/**
 * Replaces (or appends) the recorded block of docs/performance.md with this
 * run, and the Markdown table between the bench-table markers when present.
 */
export function writeRecorded(path: string, run: RecordedRun): void {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = '# Performance\n';
  }
  const round = (f: Figure): Figure => JSON.parse(JSON.stringify(f, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(4)) : v))) as Figure;
  const block = `${BEGIN}\n\`\`\`json\n${JSON.stringify({ ...run, figures: run.figures.map(round) }, null, 1)}\n\`\`\`\n${END}`;
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  let next = start >= 0 && end > start ? text.slice(0, start) + block + text.slice(end + END.length) : `${text.trimEnd()}\n\n${block}\n`;
  const t0 = next.indexOf(TABLE_BEGIN);
  const t1 = next.indexOf(TABLE_END);
  if (t0 >= 0 && t1 > t0) {
    const table = `${TABLE_BEGIN}\nMachine: ${run.machine}. Command: \`${run.command}\`, ${run.date.slice(0, 16).replace('T', ' ')} UTC.\n\n${formatMarkdown(run.figures)}\n`;
    next = next.slice(0, t0) + table + next.slice(t1);
  }
  writeFileSync(path, next);
}

/** Allowed slowdown before `--check` fails. */
export const CHECK_TOLERANCE = 1.25;

/**
 * Compares this run with the recorded one. Figures with a reference compare
 * their ratio (so a slower or busier machine does not count as a
 * regression); throughputs compare the figure itself. Returns the failures.
 */
export function checkAgainst(recorded: RecordedRun, figures: readonly Figure[]): string[] {
  const failures: string[] = [];
  for (const f of figures) {
    const old = recorded.figures.find((r) => r.id === f.id);
    if (!old) continue;
    if (f.unit === 'GB/s') {
      if (f.gantry * CHECK_TOLERANCE < old.gantry) failures.push(`${f.label}: ${f.gantry.toFixed(2)} GB/s, recorded ${old.gantry.toFixed(2)} GB/s`);
    } else if (f.ratio !== undefined && old.ratio !== undefined) {
      if (f.ratio > old.ratio * CHECK_TOLERANCE) failures.push(`${f.label}: ${f.ratio.toFixed(2)}× the reference, recorded ${old.ratio.toFixed(2)}×`);
    } else if (f.gantry > old.gantry * CHECK_TOLERANCE) {
      failures.push(`${f.label}: ${f.gantry.toFixed(1)} ${f.unit}, recorded ${old.gantry.toFixed(1)} ${f.unit}`);
    }
  }
  return failures;
}
