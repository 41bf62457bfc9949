import { columnOf } from './errors.js';

/** Line/column lookup for indices queried in (mostly) increasing order. */
export class LineTracker {
  private index = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly source: string) {}

  at(index: number): { line: number; col: number } {
    if (index < this.index) {
      this.index = 0;
      this.line = 1;
      this.lineStart = 0;
    }
    for (; this.index < index; this.index++) {
      if (this.source.charCodeAt(this.index) === 0x0a) {
        this.line++;
        this.lineStart = this.index + 1;
      }
    }
    return { line: this.line, col: columnOf(this.source, this.lineStart, index) };
  }
}
