import { scanToml } from './scanner.js';
import { TomlSyntaxError } from './errors.js';
import { formatBasicString } from './scalars.js';
import type { KeyValueSpan, PathSegment, TomlDocument } from './types.js';

/**
 * Format-preserving edits of TOML text: each function changes only the lines it must, keeps
 * comments and layout, and checks that the result still parses.
 */

/** Why an edit was refused, for code that handles one kind. */
export type TomlEditErrorCode = 'would-be-invalid' | 'empty-key' | 'inside-inline-value' | 'no-such-key' | 'not-an-array' | 'no-such-item';

export class TomlEditError extends Error {
  constructor(
    message: string,
    readonly code: TomlEditErrorCode,
  ) {
    super(message);
  }
}

const BARE = /^[A-Za-z0-9_-]+$/;

/** A key segment as written in TOML: bare when possible, else a basic string. */
function formatKey(segment: string): string {
  return BARE.test(segment) ? segment : formatBasicString(segment);
}

function formatDottedKey(path: readonly string[]): string {
  return path.map(formatKey).join('.');
}

const samePath = (a: readonly PathSegment[], b: readonly PathSegment[]) => a.length === b.length && a.every((s, i) => s === b[i]);

function lineStart(text: string, i: number): number {
  return text.lastIndexOf('\n', i - 1) + 1;
}

/** Index just past the end of the line containing `i` (after its newline, or the end of text). */
function lineEnd(text: string, i: number): number {
  const nl = text.indexOf('\n', i);
  return nl < 0 ? text.length : nl + 1;
}

function eolOf(doc: TomlDocument): string {
  return doc.eol;
}

function checked(text: string, what: string): string {
  try {
    scanToml(text);
  } catch (err) {
    if (err instanceof TomlSyntaxError) throw new TomlEditError(`${what} would make the file invalid (${err.reason})`, 'would-be-invalid');
    throw err;
  }
  return text;
}

function findEntry(doc: TomlDocument, path: readonly PathSegment[]): KeyValueSpan | undefined {
  return doc.entries.find((e) => samePath(e.path, path));
}

/** The value text of a key, or undefined. */
export function getRawValue(text: string, path: readonly PathSegment[]): string | undefined {
  const doc = scanToml(text);
  const e = findEntry(doc, path);
  if (e) return text.slice(e.valueStart, e.valueEnd);
  const s = doc.scalars.find((x) => samePath(x.path, path));
  return s ? text.slice(s.start, s.end) : undefined;
}

/** End of the section that a header starting at `headerStart` opens (the start of the next header line). */
function sectionEnd(doc: TomlDocument, text: string, headerStart: number): number {
  const next = doc.tables.find((t) => t.start > headerStart);
  return next ? lineStart(text, next.start) : text.length;
}

/** Where to insert a new line in a section: after its last entry, else right after its header line. */
function insertionPoint(doc: TomlDocument, text: string, from: number, to: number): number {
  let at = from;
  for (const e of doc.entries) if (e.keyStart >= from && e.keyStart < to) at = Math.max(at, lineEnd(text, e.valueEnd));
  return at;
}

function insertLine(text: string, at: number, line: string, eol: string): string {
  const before = at > 0 && text[at - 1] !== '\n' ? eol : '';
  return text.slice(0, at) + before + line + eol + text.slice(at);
}

/**
 * Set `path` to the raw TOML value `raw` (already formatted: `"x"`, `42`, `[1, 2]`). An existing value
 * is replaced in place; a new key goes at the end of its table, creating `[table]` when there is none.
 * `limit` (default: end of text) keeps insertions before a trailing region such as git-seal's metadata.
 */
export function setRawValue(text: string, path: readonly string[], raw: string, limit = text.length): string {
  if (path.length === 0) throw new TomlEditError('empty key', 'empty-key');
  const doc = scanToml(text);
  const eol = eolOf(doc);
  const entry = findEntry(doc, path);
  if (entry) return checked(text.slice(0, entry.valueStart) + raw + text.slice(entry.valueEnd), 'setting the value');
  const scalar = doc.scalars.find((s) => samePath(s.path, path));
  if (scalar) return checked(text.slice(0, scalar.start) + raw + text.slice(scalar.end), 'setting the value');
  const parent = path.slice(0, -1);
  const key = formatKey(path[path.length - 1]);
  const header = [...doc.tables].reverse().find((t) => !t.arrayOfTables && samePath(t.path, parent) && t.start < limit);
  if (header) {
    const at = insertionPoint(doc, text, lineEnd(text, header.end), Math.min(sectionEnd(doc, text, header.start), limit));
    return checked(insertLine(text, at, `${key} = ${raw}`, eol), `adding ${formatDottedKey(path)}`);
  }
  // A table defined by dotted keys (`a.b.c = 1`) cannot get a [a.b] header: add a dotted key next to them.
  const sectionOf = (at: number) => [...doc.tables].reverse().find((t) => t.start < at)?.path ?? [];
  const dotted = doc.entries.filter((e) => {
    if (e.keyStart >= limit || e.path.length <= parent.length || !samePath(e.path.slice(0, parent.length), parent)) return false;
    const section = sectionOf(e.keyStart);
    return section.length < parent.length && samePath(parent.slice(0, section.length), section);
  });
  if (dotted.length) {
    const last = dotted[dotted.length - 1];
    const section = sectionOf(last.keyStart);
    const line = `${formatDottedKey(path.slice(section.length) as string[])} = ${raw}`;
    return checked(insertLine(text, lineEnd(text, last.valueEnd), line, eol), `adding ${formatDottedKey(path)}`);
  }
  const firstHeader = doc.tables[0];
  if (parent.length === 0) {
    const rootEnd = Math.min(firstHeader ? lineStart(text, firstHeader.start) : text.length, limit);
    const at = insertionPoint(doc, text, 0, rootEnd);
    const hasRootEntries = doc.entries.some((e) => e.keyStart < rootEnd);
    const insertAt = hasRootEntries ? at : rootEnd;
    const line = `${key} = ${raw}` + (!hasRootEntries && firstHeader && insertAt === lineStart(text, firstHeader.start) ? eol : '');
    return checked(insertLine(text, insertAt, line, eol), `adding ${formatDottedKey(path)}`);
  }
  let at = limit;
  let prefix = '';
  if (at > 0 && text[at - 1] !== '\n') prefix = eol;
  if (text.slice(0, at).trim() !== '') prefix += eol;
  const block = `${prefix}[${formatDottedKey(parent)}]${eol}${key} = ${raw}${eol}`;
  return checked(text.slice(0, at) + block + text.slice(at), `adding ${formatDottedKey(path)}`);
}

/** Remove a `key = value` line (with its comment). Keys inside inline tables cannot be removed this way. */
export function removeKey(text: string, path: readonly string[]): string {
  const doc = scanToml(text);
  const entry = findEntry(doc, path);
  if (!entry) {
    if (doc.scalars.some((s) => samePath(s.path.slice(0, path.length), path))) {
      throw new TomlEditError(`${formatDottedKey(path)} is inside an inline table or array; edit it by hand`, 'inside-inline-value');
    }
    throw new TomlEditError(`no key ${formatDottedKey(path)}`, 'no-such-key');
  }
  return checked(text.slice(0, lineStart(text, entry.keyStart)) + text.slice(lineEnd(text, entry.valueEnd)), `removing ${formatDottedKey(path)}`);
}

function arrayEntry(doc: TomlDocument, text: string, path: readonly string[]): KeyValueSpan {
  const entry = findEntry(doc, path);
  if (!entry || text[entry.valueStart] !== '[') throw new TomlEditError(`${formatDottedKey(path)} is not an array`, 'not-an-array');
  return entry;
}

/** Append an item (raw TOML) to the array at `path`, one per line in a multi-line array. */
export function appendArrayItem(text: string, path: readonly string[], raw: string): string {
  const doc = scanToml(text);
  const entry = arrayEntry(doc, text, path);
  const items = doc.scalars.filter((s) => s.path.length === path.length + 1 && samePath(s.path.slice(0, path.length), path));
  const close = entry.valueEnd - 1;
  let out: string;
  if (items.length === 0) {
    out = text.slice(0, entry.valueStart + 1) + raw + text.slice(close);
  } else {
    const last = items[items.length - 1];
    const tail = text.slice(last.end, close);
    const multiLine = tail.includes('\n');
    if (multiLine) {
      const indent = /^[ \t]*/.exec(text.slice(lineStart(text, last.start)))![0];
      const comma = tail.trimStart().startsWith(',') ? '' : ',';
      const closeLine = lineStart(text, close);
      out = text.slice(0, last.end) + comma + text.slice(last.end, closeLine) + `${indent}${raw},${doc.eol}` + text.slice(closeLine);
    } else {
      out = text.slice(0, last.end) + `, ${raw}` + text.slice(last.end);
    }
  }
  return checked(out, `adding to ${formatDottedKey(path)}`);
}

/** Remove the `index`-th item of the array at `path`. */
export function removeArrayItem(text: string, path: readonly string[], index: number): string {
  const doc = scanToml(text);
  arrayEntry(doc, text, path);
  const items = doc.scalars.filter((s) => s.path.length === path.length + 1 && samePath(s.path.slice(0, path.length), path));
  const item = items.find((s) => s.path[path.length] === index);
  if (!item) throw new TomlEditError(`${formatDottedKey(path)} has no item ${index}`, 'no-such-item');
  const ls = lineStart(text, item.start);
  const le = lineEnd(text, item.end);
  const ownLine = /^[ \t]*$/.test(text.slice(ls, item.start)) && /^[ \t]*,?[ \t]*(#.*)?\r?\n?$/.test(text.slice(item.end, le));
  let out: string;
  if (ownLine) out = text.slice(0, ls) + text.slice(le);
  else {
    const after = /^\s*,\s*/.exec(text.slice(item.end));
    if (after) out = text.slice(0, item.start) + text.slice(item.end + after[0].length);
    else {
      const before = /,\s*$/.exec(text.slice(0, item.start));
      out = before ? text.slice(0, before.index) + text.slice(item.end) : text.slice(0, item.start) + text.slice(item.end);
    }
  }
  return checked(out, `removing from ${formatDottedKey(path)}`);
}
