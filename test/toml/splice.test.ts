import { describe, expect, it } from 'vitest';
import { appendArrayItem, getRawValue, removeArrayItem, removeKey, setRawValue, TomlEditError } from '../../src/toml/splice.js';

const DOC = `# top comment
title = "x"

[sources.stripe]
api_key = "old" # keep me
retries = 3

# next table
[destination]
name = "pg"
`;

describe('format-preserving edits', () => {
  it('replaces a value in place, keeping the comment', () => {
    const out = setRawValue(DOC, ['sources', 'stripe', 'api_key'], '"new"');
    expect(out).toBe(DOC.replace('"old"', '"new"'));
  });

  it('adds a key at the end of its table, before the blank line and comments', () => {
    const out = setRawValue(DOC, ['sources', 'stripe', 'timeout'], '30');
    expect(out).toBe(DOC.replace('retries = 3\n', 'retries = 3\ntimeout = 30\n'));
  });

  it('adds a top-level key after the root entries', () => {
    expect(setRawValue(DOC, ['debug'], 'true')).toBe(DOC.replace('title = "x"\n', 'title = "x"\ndebug = true\n'));
    expect(setRawValue('[a]\nb = 1\n', ['top'], '1')).toBe('top = 1\n\n[a]\nb = 1\n');
  });

  it('creates a table when none exists, before a limit', () => {
    const out = setRawValue(DOC, ['sources', 'github', 'access token'], '"t"');
    expect(out).toBe(DOC + '\n[sources.github]\n"access token" = "t"\n');
    expect(setRawValue('', ['a', 'b'], '1')).toBe('[a]\nb = 1\n');
    expect(setRawValue('x = 1\n[meta]\nm = 2\n', ['a', 'b'], '1', 'x = 1\n'.length)).toBe('x = 1\n\n[a]\nb = 1\n[meta]\nm = 2\n');
  });

  it('keeps CRLF line endings', () => {
    const crlf = 'a = 1\r\n[t]\r\nb = 2\r\n';
    expect(setRawValue(crlf, ['t', 'c'], '3')).toBe('a = 1\r\n[t]\r\nb = 2\r\nc = 3\r\n');
  });

  it('replaces values inside inline tables and arrays', () => {
    expect(setRawValue('p = { x = 1, y = 2 }\n', ['p', 'y'], '5')).toBe('p = { x = 1, y = 5 }\n');
  });

  it('removes a key line with its comment', () => {
    expect(removeKey(DOC, ['sources', 'stripe', 'api_key'])).toBe(DOC.replace('api_key = "old" # keep me\n', ''));
    expect(() => removeKey(DOC, ['nope'])).toThrow(TomlEditError);
    expect(() => removeKey('p = { x = 1 }\n', ['p', 'x'])).toThrow(/inline table/);
  });

  it('appends to and removes from arrays, single- and multi-line', () => {
    expect(appendArrayItem('r = []\n', ['r'], '"a"')).toBe('r = ["a"]\n');
    expect(appendArrayItem('r = ["a"] # c\n', ['r'], '"b"')).toBe('r = ["a", "b"] # c\n');
    expect(appendArrayItem('r = [\n  "a",\n]\n', ['r'], '"b"')).toBe('r = [\n  "a",\n  "b",\n]\n');
    expect(appendArrayItem('r = [\n  "a"\n]\n', ['r'], '"b"')).toBe('r = [\n  "a",\n  "b",\n]\n');
    expect(removeArrayItem('r = ["a", "b", "c"]\n', ['r'], 1)).toBe('r = ["a", "c"]\n');
    expect(removeArrayItem('r = ["a", "b"]\n', ['r'], 1)).toBe('r = ["a"]\n');
    expect(removeArrayItem('r = ["a"]\n', ['r'], 0)).toBe('r = []\n');
    expect(removeArrayItem('r = [\n  "a",\n  "b", # bob\n]\n', ['r'], 1)).toBe('r = [\n  "a",\n]\n');
  });

  it('reads raw values', () => {
    expect(getRawValue(DOC, ['sources', 'stripe', 'retries'])).toBe('3');
    expect(getRawValue(DOC, ['missing'])).toBeUndefined();
  });
});
