/**
 * Maps the positions that the XML DOM records (just past an element's start tag) back to where
 * the start tag begins, so that messages point at `<gadget` rather than at its closing `>`.
 */
import type { XmlElement } from '../util/xml.js';

/** Start-tag positions for the elements of one parsed text. */
export class SourcePositions {
  private lineStarts: number[] | undefined;

  constructor(private readonly text: string) {}

  /** The 1-based line and column (in code points) of `element`'s `<`. */
  startOf(element: XmlElement): { line: number; column: number } {
    const fallback = { line: element.line, column: element.column };
    const starts = this.starts();
    const lineStart = starts[element.line - 1];
    if (lineStart === undefined) return fallback;
    const end = this.advance(lineStart, element.column - 1);
    if (end <= 0 || this.text.charCodeAt(end - 1) !== 0x3e /* > */) return fallback;
    const open = this.text.lastIndexOf('<', end - 1);
    if (open < 0) return fallback;
    const line = this.lineOf(open, starts);
    return { line: line + 1, column: this.codePoints(starts[line] ?? 0, open) + 1 };
  }

  private starts(): number[] {
    if (this.lineStarts) return this.lineStarts;
    const starts = [0];
    const { text } = this;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x0a) starts.push(i + 1);
      else if (c === 0x0d) {
        if (text.charCodeAt(i + 1) === 0x0a) i += 1;
        starts.push(i + 1);
      }
    }
    this.lineStarts = starts;
    return starts;
  }

  /** The offset `count` code points after `from`. */
  private advance(from: number, count: number): number {
    let i = from;
    for (let k = 0; k < count && i < this.text.length; k++) {
      const c = this.text.charCodeAt(i);
      i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
    }
    return i;
  }

  private codePoints(from: number, to: number): number {
    let n = 0;
    for (let i = from; i < to; i++) {
      const c = this.text.charCodeAt(i);
      if (!(c >= 0xdc00 && c <= 0xdfff)) n += 1;
    }
    return n;
  }

  /** The 0-based index of the line holding `offset`. */
  private lineOf(offset: number, starts: number[]): number {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
