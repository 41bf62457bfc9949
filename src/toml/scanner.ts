import { atomEnd, checkAtom } from './atoms.js';
import { describeChar, syntaxError } from './errors.js';
import { LineTracker } from './position.js';
import { controlReason, isControl, isMultiLineStart, readString, type Fail } from './strings.js';
import { DefinitionTree, newTable, type KeyPart, type TableNode, type TreeNode } from './tree.js';
import type { KeyValueSpan, PathSegment, ScalarKind, ScalarSpan, TableHeaderSpan, TomlDocument } from './types.js';

export { decodeUtf8 } from './utf8.js';
export type * from './types.js';

/** Validates a TOML 1.1 document and reports where its scalars, entries and table headers are. */
export function scanToml(source: string): TomlDocument {
  return new Scanner(source).scan();
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
/** Nesting limit for arrays and inline tables, well below the call stack limit. */
const MAX_DEPTH = 1000;

class Scanner {
  private pos = 0;
  private depth = 0; // of arrays and inline tables
  private readonly lines: LineTracker;
  private readonly tree: DefinitionTree;
  private readonly scalars: ScalarSpan[] = [];
  private readonly entries: KeyValueSpan[] = [];
  private readonly tables: TableHeaderSpan[] = [];
  private section: { table: TableNode; path: PathSegment[] };

  constructor(private readonly src: string) {
    this.lines = new LineTracker(src);
    this.tree = new DefinitionTree(this.failAt);
    this.section = { table: this.tree.root, path: [] };
  }

  scan(): TomlDocument {
    if (this.src.charCodeAt(0) === 0xfeff) this.pos = 1;
    while (this.skipBlanks() < this.src.length) {
      const c = this.peek();
      if (c === 0x5b /* [ */) {
        this.tableHeader();
        this.endOfLine('after table header');
      } else if (c === 0x23 /* # */ || c === LF || c === CR) {
        this.endOfLine('after comment');
      } else {
        this.keyValue();
        this.endOfLine('after value');
      }
    }
    const firstLf = this.src.indexOf('\n');
    const eol = firstLf > 0 && this.src[firstLf - 1] === '\r' ? '\r\n' : '\n';
    return { scalars: this.scalars, entries: this.entries, tables: this.tables, eol };
  }

  private fail(reason: string, index = this.pos): never {
    throw syntaxError(this.src, index, reason);
  }

  private readonly failAt: Fail = (reason, index) => this.fail(reason, index);

  private peek(offset = 0): number {
    return this.src.charCodeAt(this.pos + offset);
  }

  /** Skips spaces and tabs; returns the new position. */
  private skipBlanks(): number {
    while (this.peek() === SPACE || this.peek() === TAB) this.pos++;
    return this.pos;
  }

  /** Skips an optional comment, then requires a newline or the end of the file. */
  private endOfLine(context: string): void {
    this.skipBlanks();
    if (this.peek() === 0x23 /* # */) this.comment();
    if (this.pos >= this.src.length) return;
    if (this.newline()) return;
    const c = this.peek();
    if (isControl(c)) this.fail(controlReason(c));
    this.fail(`expected end of line ${context}`);
  }

  /** Consumes LF or CRLF if present. */
  private newline(): boolean {
    if (this.peek() === LF) this.pos++;
    else if (this.peek() === CR && this.peek(1) === LF) this.pos += 2;
    else return false;
    return true;
  }

  /** From '#' up to (not including) the line ending. */
  private comment(): void {
    for (this.pos++; this.pos < this.src.length; this.pos++) {
      const c = this.peek();
      if (c === LF || (c === CR && this.peek(1) === LF)) return;
      if (isControl(c)) this.fail(`${controlReason(c)} in comment`);
    }
  }

  /** Inside arrays and inline tables: blanks, comments and newlines. */
  private skipBlankLines(): void {
    for (;;) {
      this.skipBlanks();
      if (this.peek() === 0x23 /* # */) this.comment();
      if (!this.newline()) return;
    }
  }

  private tableHeader(): void {
    const start = this.pos;
    const line = this.lines.at(start).line;
    const arrayOfTables = this.peek(1) === 0x5b;
    this.pos += arrayOfTables ? 2 : 1;
    this.skipBlanks();
    const { parts } = this.key();
    const close = arrayOfTables ? ']]' : ']';
    if (!this.src.startsWith(close, this.pos)) {
      this.fail(`expected '${close}' to close the ${arrayOfTables ? 'array of tables' : 'table'} header`);
    }
    this.pos += close.length;
    this.section = this.tree.openTable(parts, arrayOfTables);
    this.tables.push({ path: [...this.section.path], arrayOfTables, start, end: this.pos, line });
  }

  private keyValue(): void {
    const keyStart = this.pos;
    const line = this.lines.at(keyStart).line;
    const { parts, end: keyEnd } = this.key();
    const path = [...this.section.path, ...parts.map((k) => k.name)];
    const valueStart = this.expectEquals();
    const value = this.value(path);
    this.tree.define(this.section.table, parts, value, this.section.path);
    this.entries.push({ path, keyStart, keyEnd, valueStart, valueEnd: this.pos, line });
  }

  /** After a key: blanks, '=', blanks. Returns where the value starts. */
  private expectEquals(): number {
    this.skipBlanks();
    if (this.peek() !== 0x3d /* = */) this.fail("expected '=' after key");
    this.pos++;
    return this.skipBlanks();
  }

  /** A simple or dotted key; leaves the position after trailing blanks. `end` is where the key text ends. */
  private key(): { parts: KeyPart[]; end: number } {
    const parts: KeyPart[] = [];
    let end: number;
    for (;;) {
      const start = this.pos;
      parts.push({ name: this.simpleKey(parts.length > 0), start });
      end = this.pos;
      this.skipBlanks();
      if (this.peek() !== 0x2e /* . */) break;
      this.pos++;
      this.skipBlanks();
    }
    return { parts, end };
  }

  private simpleKey(afterDot: boolean): string {
    const start = this.pos;
    const c = this.peek();
    if (c === 0x22 || c === 0x27) {
      if (isMultiLineStart(this.src, start)) this.fail('a multi-line string cannot be a key');
      const token = readString(this.src, start, this.failAt);
      this.pos = token.end;
      return token.value;
    }
    while (isBareKeyChar(this.peek())) this.pos++;
    if (this.pos === start) {
      const expected = afterDot ? "expected a key after '.'" : 'expected a key';
      if (this.pos >= this.src.length || c === LF || (c === CR && this.peek(1) === LF)) this.fail(expected);
      if (isControl(c)) this.fail(controlReason(c));
      this.fail(`${expected}, found ${describeChar(this.src.codePointAt(start)!)}`);
    }
    const next = this.peek();
    if (this.pos < this.src.length && !isKeyDelimiter(next)) {
      this.fail(`invalid character ${describeChar(this.src.codePointAt(this.pos)!)} in bare key`);
    }
    return this.src.slice(start, this.pos);
  }

  /** Any value; records its scalars under `path`. */
  private value(path: PathSegment[]): TreeNode {
    const start = this.pos;
    const c = this.peek();
    if (c === 0x22 || c === 0x27) {
      this.pos = readString(this.src, start, this.failAt).end;
      this.addScalar(path, start, 'string');
      return { type: 'value', isArray: false };
    }
    if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++this.depth > MAX_DEPTH) this.fail('arrays and inline tables are nested too deeply');
      const node = c === 0x5b ? this.array(path) : this.inlineTable(path);
      this.depth--;
      return node;
    }
    const end = atomEnd(this.src, start);
    if (end === start) this.noValue(c);
    const check = checkAtom(this.src.slice(start, end));
    if (check.reason !== undefined) this.fail(check.reason, start);
    this.pos = end;
    this.addScalar(path, start, check.kind);
    return { type: 'value', isArray: false };
  }

  /** Nothing that can start a value; only structural ASCII or invisible characters are named (never value text). */
  private noValue(c: number): never {
    if (isControl(c) && c !== LF && !(c === CR && this.peek(1) === LF)) this.fail(controlReason(c));
    const named = (c > 0x20 && c < 0x7f && !/[A-Za-z0-9]/.test(String.fromCharCode(c))) || c === 0xfeff;
    this.fail(named ? `expected a value, found ${describeChar(c)}` : 'expected a value');
  }

  private addScalar(path: PathSegment[], start: number, kind: ScalarKind): void {
    const { line, col } = this.lines.at(start);
    this.scalars.push({ path, start, end: this.pos, kind, line, col });
  }

  private array(path: PathSegment[]): TreeNode {
    const open = this.pos++;
    for (let index = 0; ; index++) {
      this.skipBlankLines();
      if (this.peek() === 0x5d /* ] */) break;
      if (this.pos >= this.src.length) this.fail('unclosed array', open);
      this.value([...path, index]);
      this.skipBlankLines();
      if (this.peek() === 0x2c /* , */) this.pos++;
      else if (this.peek() !== 0x5d) this.separatorError(open, 'array', ']');
    }
    this.pos++;
    return { type: 'value', isArray: true };
  }

  private inlineTable(path: PathSegment[]): TreeNode {
    const open = this.pos++;
    const table = newTable('dotted');
    for (;;) {
      this.skipBlankLines();
      if (this.peek() === 0x7d /* } */) break;
      if (this.pos >= this.src.length) this.fail('unclosed inline table', open);
      const { parts } = this.key();
      this.expectEquals();
      this.tree.define(table, parts, this.value([...path, ...parts.map((k) => k.name)]), path);
      this.skipBlankLines();
      if (this.peek() === 0x2c /* , */) this.pos++;
      else if (this.peek() !== 0x7d) this.separatorError(open, 'inline table', '}');
    }
    this.pos++;
    table.origin = 'inline';
    return table;
  }

  private separatorError(open: number, what: string, close: string): never {
    if (this.pos >= this.src.length) this.fail(`unclosed ${what}`, open);
    const c = this.peek();
    if (isControl(c)) this.fail(controlReason(c));
    this.fail(`expected ',' or '${close}' in ${what}`);
  }
}

function isBareKeyChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d;
}

/** Characters that may directly follow a bare key. */
function isKeyDelimiter(c: number): boolean {
  return c === SPACE || c === TAB || c === 0x2e || c === 0x3d || c === 0x5d || c === LF || c === CR || c === 0x23 || c === 0x2c || c === 0x7d;
}
