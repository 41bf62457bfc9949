import { describeChar } from './errors.js';

/** Reports an error at a source index; never returns. */
export type Fail = (reason: string, index: number) => never;

export interface StringToken {
  /** Index just past the closing delimiter. */
  end: number;
  /** The decoded string (newlines inside multi-line strings are kept as written). */
  value: string;
}

const LF = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
const SPACE = 0x20;
const QUOTE = 0x22;
const APOS = 0x27;
const BACKSLASH = 0x5c;

const SIMPLE_ESCAPES: Record<string, string> = {
  b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', e: '\x1b', '"': '"', '\\': '\\',
};
const HEX_ESCAPE_LENGTH: Record<string, number> = { x: 2, u: 4, U: 8 };

/** True for characters TOML never allows raw in strings or comments (tab excepted, newlines handled apart). */
export function isControl(c: number): boolean {
  return (c < 0x20 && c !== TAB) || c === 0x7f;
}

export function controlReason(c: number): string {
  if (c === CR) return 'carriage return must be followed by a line feed';
  return `control character ${describeChar(c)} not allowed`;
}

export function isMultiLineStart(src: string, i: number): boolean {
  const q = src.charCodeAt(i);
  return (q === QUOTE || q === APOS) && src.charCodeAt(i + 1) === q && src.charCodeAt(i + 2) === q;
}

/** Reads (validates and decodes) the string whose opening quote is at `start`. */
export function readString(src: string, start: number, fail: Fail): StringToken {
  const quote = src.charCodeAt(start);
  const multiLine = isMultiLineStart(src, start);
  if (quote === QUOTE) return multiLine ? readMultiLine(src, start, true, fail) : readSingleLine(src, start, true, fail);
  return multiLine ? readMultiLine(src, start, false, fail) : readSingleLine(src, start, false, fail);
}

function readSingleLine(src: string, start: number, basic: boolean, fail: Fail): StringToken {
  const quote = basic ? QUOTE : APOS;
  let out = '';
  let run = start + 1;
  let i = run;
  for (;;) {
    if (i >= src.length) fail('unterminated string', start);
    const c = src.charCodeAt(i);
    if (c === quote) return { end: i + 1, value: out + src.slice(run, i) };
    if (basic && c === BACKSLASH) {
      const escape = readEscape(src, i, start, fail);
      out += src.slice(run, i) + escape.text;
      i = run = escape.end;
      continue;
    }
    if (c === LF || (c === CR && src.charCodeAt(i + 1) === LF)) fail('unterminated string (end of line)', start);
    if (isControl(c)) fail(controlReason(c), i);
    i++;
  }
}

function readMultiLine(src: string, start: number, basic: boolean, fail: Fail): StringToken {
  const quote = basic ? QUOTE : APOS;
  let i = start + 3;
  i += newlineLength(src, i); // a newline right after the opening delimiter is trimmed
  let out = '';
  let run = i;
  for (;;) {
    if (i >= src.length) fail('unterminated multi-line string', start);
    const c = src.charCodeAt(i);
    if (c === quote) {
      let n = 1;
      while (src.charCodeAt(i + n) === quote) n++;
      if (n < 3) {
        i += n;
        continue;
      }
      if (n > 5) fail('too many quotes at the end of a multi-line string', i + 5);
      return { end: i + n, value: out + src.slice(run, i + n - 3) };
    }
    if (basic && c === BACKSLASH) {
      out += src.slice(run, i);
      if (isLineEndingBackslash(src, i, fail)) {
        i = skipBlankLines(src, i + 1);
      } else {
        const escape = readEscape(src, i, start, fail);
        out += escape.text;
        i = escape.end;
      }
      run = i;
      continue;
    }
    if (c === CR && src.charCodeAt(i + 1) === LF) i += 2;
    else if (c === LF) i++;
    else if (isControl(c)) fail(controlReason(c), i);
    else i++;
  }
}

/** A backslash followed by optional blanks then a newline; blanks then anything else is an error. */
function isLineEndingBackslash(src: string, i: number, fail: Fail): boolean {
  let j = i + 1;
  while (src.charCodeAt(j) === SPACE || src.charCodeAt(j) === TAB) j++;
  if (newlineLength(src, j) > 0) return true;
  if (j > i + 1) fail('a backslash followed by whitespace must end the line', i);
  return false;
}

function skipBlankLines(src: string, i: number): number {
  for (;;) {
    const c = src.charCodeAt(i);
    if (c === SPACE || c === TAB) i++;
    else if (newlineLength(src, i) > 0) i += newlineLength(src, i);
    else return i;
  }
}

function newlineLength(src: string, i: number): number {
  const c = src.charCodeAt(i);
  if (c === LF) return 1;
  return c === CR && src.charCodeAt(i + 1) === LF ? 2 : 0;
}

/** Decodes the escape sequence whose backslash is at `i` (inside the string opened at `start`). */
function readEscape(src: string, i: number, start: number, fail: Fail): { text: string; end: number } {
  if (i + 1 >= src.length) fail('unterminated string', start);
  const letter = src[i + 1];
  const simple = SIMPLE_ESCAPES[letter];
  if (simple !== undefined) return { text: simple, end: i + 2 };
  const length = HEX_ESCAPE_LENGTH[letter];
  if (length === undefined) {
    const shown = describeChar(src.codePointAt(i + 1)!);
    fail(shown.startsWith("'") ? `invalid escape '\\${letter}'` : `invalid escape: backslash followed by ${shown}`, i);
  }
  const digits = src.slice(i + 2, i + 2 + length);
  if (!/^[0-9A-Fa-f]*$/.test(digits) || digits.length !== length) {
    fail(`invalid escape '\\${letter}': expected ${length} hex digits`, i);
  }
  const codePoint = parseInt(digits, 16);
  if (codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
    fail(`escape '\\${letter}' is not a Unicode scalar value`, i);
  }
  return { text: String.fromCodePoint(codePoint), end: i + 2 + length };
}
