/**
 * A one-line progress bar on a terminal: `gantry recon` shows acquisitions
 * read out of the total and images written, redrawn in place with `\r` at
 * most every `intervalMs`, and erased when done. Nothing is written when the
 * stream is not a TTY.
 */

/** The part of a stream the bar needs (process.stderr fits). */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** What the bar shows. */
export interface ReconProgress {
  /** Acquisitions read from the input so far. */
  acquisitions: number;
  /** Acquisitions in the input. */
  total: number;
  /** Images written so far. */
  images: number;
}

/** The bar's text for `p` in `columns` columns (no `\r`). */
export function progressLine(p: ReconProgress, columns = 80): string {
  const fraction = p.total > 0 ? Math.min(1, p.acquisitions / p.total) : 1;
  const percent = `${Math.floor(fraction * 100)}`.padStart(3);
  const counts = ` ${percent}% ${p.acquisitions}/${p.total} acquisitions, ${p.images} image${p.images === 1 ? '' : 's'}`;
  const width = Math.max(0, Math.min(40, columns - counts.length - 3));
  if (width < 5) return counts.trimStart().slice(0, Math.max(0, columns - 1));
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${counts}`;
}

/** A progress bar on `stream`; inert when the stream is not a TTY. */
export class ProgressBar {
  readonly #stream: ProgressStream;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #active: boolean;
  #last = -Infinity;
  #shown = 0;

  constructor(stream: ProgressStream, options: { intervalMs?: number; now?: () => number } = {}) {
    this.#stream = stream;
    this.#intervalMs = options.intervalMs ?? 100;
    this.#now = options.now ?? (() => performance.now());
    this.#active = stream.isTTY === true;
  }

  /** True when the bar writes anything. */
  get active(): boolean {
    return this.#active;
  }

  /** Records `p`; redraws when the last drawing is older than the interval. */
  update(p: ReconProgress): void {
    if (!this.#active) return;
    const t = this.#now();
    if (t - this.#last < this.#intervalMs) return;
    this.#last = t;
    this.#draw(p);
  }

  /** Erases the bar (the caller then prints its summary line). */
  done(): void {
    if (!this.#active || this.#shown === 0) return;
    this.#stream.write(`\r${' '.repeat(this.#shown)}\r`);
    this.#shown = 0;
  }

  #draw(p: ReconProgress): void {
    const line = progressLine(p, this.#stream.columns || 80); // a pty may report 0 columns
    this.#stream.write(`\r${line}${' '.repeat(Math.max(0, this.#shown - line.length))}`);
    this.#shown = Math.max(line.length, this.#shown);
  }
}
