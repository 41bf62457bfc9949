// Runs the official toml-test corpus (TOML 1.1 list, plus valid/spec-1.0.0) through the scanner.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORPUS } from '../helpers.js';
import { decodeScalar, decodeUtf8, scanToml, TomlSyntaxError, type ScalarKind, type TomlScalar } from '../../src/toml/index.js';

const ROOT = process.env.TOML_TEST_DIR ?? CORPUS;
const available = existsSync(join(ROOT, 'files-toml-1.1.0'));
// CI always has ../shared beside the clone: a missing corpus there is a failure, not a skip.
if (!available && process.env.CI) throw new Error(`toml-test corpus not found at ${ROOT}`);

const listed = available
  ? readFileSync(join(ROOT, 'files-toml-1.1.0'), 'utf8').split('\n').filter((f) => f.endsWith('.toml'))
  : [];
const spec10 = available
  ? readdirSync(join(ROOT, 'valid/spec-1.0.0')).filter((f) => f.endsWith('.toml')).map((f) => `valid/spec-1.0.0/${f}`)
  : [];
const validFiles = [...new Set([...listed.filter((f) => f.startsWith('valid/')), ...spec10])].sort();
const invalidFiles = listed.filter((f) => f.startsWith('invalid/'));

interface Tagged {
  type: string;
  value: string;
}
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const KIND_OF_TYPE: Record<string, ScalarKind> = {
  string: 'string',
  integer: 'integer',
  float: 'float',
  bool: 'boolean',
  datetime: 'offset-datetime',
  'datetime-local': 'local-datetime',
  'date-local': 'local-date',
  'time-local': 'local-time',
};

function isTagged(v: Json): v is Json & Tagged {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 2 && typeof v.type === 'string' && typeof v.value === 'string';
}

/** Every tagged leaf of the expected JSON, keyed by JSON.stringify(path) (array indices as numbers). */
function leavesOf(json: Json, path: (string | number)[] = [], out = new Map<string, Tagged>()): Map<string, Tagged> {
  if (isTagged(json)) out.set(JSON.stringify(path), json);
  else if (Array.isArray(json)) json.forEach((v, i) => leavesOf(v, [...path, i], out));
  else if (json !== null && typeof json === 'object') for (const [k, v] of Object.entries(json)) leavesOf(v, [...path, k], out);
  return out;
}

/** toml-test compares date-times by meaning: case, separator, omitted seconds and trailing fraction zeros do not matter. */
function normalizeDateTime(text: string): string {
  let s = text.toUpperCase().replace(/^(\d{4}-\d{2}-\d{2}) /, '$1T');
  s = s.replace(/(^|T)(\d{2}:\d{2})(?=$|[Z+-])/, '$1$2:00');
  return s.replace(/(\.\d*?)0+(?=$|[Z+-])/, '$1').replace(/\.(?=$|[Z+-])/, '');
}

function expectSameValue(actual: TomlScalar, expected: Tagged, where: string): void {
  expect(actual.kind, where).toBe(KIND_OF_TYPE[expected.type]);
  switch (actual.kind) {
    case 'string':
      return void expect(actual.value, where).toBe(expected.value);
    case 'integer':
      return void expect(actual.value, where).toBe(BigInt(expected.value));
    case 'boolean':
      return void expect(String(actual.value), where).toBe(expected.value);
    case 'float': {
      const want = { inf: Infinity, '+inf': Infinity, '-inf': -Infinity, nan: NaN }[expected.value] ?? Number(expected.value);
      return void expect(Object.is(actual.value, want) || actual.value === want, `${where}: ${actual.value} vs ${want}`).toBe(true);
    }
    default:
      return void expect(normalizeDateTime(actual.value), where).toBe(normalizeDateTime(expected.value));
  }
}

function lineCount(bytes: Uint8Array): number {
  const newlines = bytes.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
  return bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a ? newlines + 1 : newlines;
}

describe.skipIf(!available)('toml-test corpus, TOML 1.1', () => {
  it('lists files', () => {
    expect(validFiles.length).toBeGreaterThan(200);
    expect(invalidFiles.length).toBeGreaterThan(400);
  });

  describe(`valid corpus (${validFiles.length} files)`, () => {
    it.each(validFiles)('%s', (file) => {
      const source = decodeUtf8(readFileSync(join(ROOT, file)));
      const doc = scanToml(source);
      const expected = leavesOf(JSON.parse(readFileSync(join(ROOT, file.replace(/\.toml$/, '.json')), 'utf8')) as Json);
      const covered = new Set<string>();
      let previousEnd = 0;
      for (const span of doc.scalars) {
        const key = JSON.stringify(span.path);
        expect(span.start, `${key} overlaps the previous scalar`).toBeGreaterThanOrEqual(previousEnd);
        expect(span.end).toBeGreaterThan(span.start);
        previousEnd = span.end;
        const leaf = expected.get(key);
        expect(leaf, `no expected value at ${key}`).toBeDefined();
        expect(covered.has(key), `two scalars at ${key}`).toBe(false);
        covered.add(key);
        expectSameValue(decodeScalar(source.slice(span.start, span.end), span.kind), leaf!, key);
      }
      expect([...expected.keys()].filter((k) => !covered.has(k)), 'expected values with no scalar').toEqual([]);
      for (const entry of doc.entries) {
        expect(entry.keyStart).toBeLessThan(entry.keyEnd);
        expect(entry.keyEnd).toBeLessThanOrEqual(entry.valueStart);
        expect(entry.valueStart).toBeLessThan(entry.valueEnd);
      }
    });
  });

  describe(`invalid corpus (${invalidFiles.length} files)`, () => {
    it.each(invalidFiles)('%s', (file) => {
      const bytes = readFileSync(join(ROOT, file));
      let error: unknown;
      try {
        scanToml(decodeUtf8(bytes));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TomlSyntaxError);
      const { line, col, reason, message } = error as TomlSyntaxError;
      expect(line).toBeGreaterThanOrEqual(1);
      expect(col).toBeGreaterThanOrEqual(1);
      expect(line).toBeLessThanOrEqual(lineCount(bytes) + 1);
      expect(message).toBe(`${line}:${col}: ${reason}`);
    });
  });
});
