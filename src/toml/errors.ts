/** A TOML document that is not valid. Reasons name keys but never quote value text (values are secrets). */
export class TomlSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly col: number,
    readonly reason: string,
  ) {
    super(`${line}:${col}: ${reason}`);
    this.name = 'TomlSyntaxError';
  }
}

/** 1-based line and column (in code points) of a UTF-16 index. A leading BOM is not counted as a column. */
export function positionOf(source: string, index: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index; i++) {
    if (source.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: columnOf(source, lineStart, index) };
}

/** 1-based column of `index` on the line starting at `lineStart`. */
export function columnOf(source: string, lineStart: number, index: number): number {
  let col = 1;
  let i = lineStart === 0 && source.charCodeAt(0) === 0xfeff ? 1 : lineStart;
  for (; i < index; i++) {
    const c = source.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) col++; // a low surrogate continues the previous code point
  }
  return col;
}

/** Builds the error for `reason` at source index `index`. */
export function syntaxError(source: string, index: number, reason: string): TomlSyntaxError {
  const { line, col } = positionOf(source, Math.min(index, source.length));
  return new TomlSyntaxError(line, col, reason);
}

/** How a character is shown in a reason: printable ASCII as itself, anything else as U+XXXX. */
export function describeChar(codePoint: number): string {
  if (codePoint > 0x20 && codePoint < 0x7f) return `'${String.fromCharCode(codePoint)}'`;
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}
