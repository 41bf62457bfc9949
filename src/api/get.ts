import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { formatKeyPath, parseKeyPath } from '../format/keypath.js';
import { unsealedValueError, VALUE_IN_CLEAR_HINT } from '../format/seal.js';
import { scanOrThrow } from '../toml/scan-or-throw.js';
import { toObject, type TomlPlain } from '../toml/to-object.js';
import { decodeScalar, scanToml, type PathSegment, type ScalarKind, type TomlDocument } from '../toml/index.js';
import { loadFile, valuesInClear } from './secrets-file.js';

// ---------------------------------------------------------------- lookup

const samePath = (a: readonly PathSegment[], b: readonly PathSegment[]) => a.length === b.length && a.every((s, i) => s === b[i]);
const under = (p: readonly PathSegment[], prefix: readonly PathSegment[]) => p.length > prefix.length && prefix.every((s, i) => s === p[i]);

export type ValueKind = ScalarKind | 'array' | 'table';

/** The value at `path`: its TOML text as written and its type; a table is reported without text. */
export function lookup(text: string, doc: TomlDocument, path: readonly PathSegment[]): { raw?: string; kind: ValueKind } | null {
  const entry = doc.entries.find((e) => samePath(e.path, path));
  const scalar = doc.scalars.find((s) => samePath(s.path, path));
  if (entry) {
    const raw = text.slice(entry.valueStart, entry.valueEnd);
    return { raw, kind: raw.startsWith('[') ? 'array' : raw.startsWith('{') ? 'table' : scalar!.kind };
  }
  if (scalar) return { raw: text.slice(scalar.start, scalar.end), kind: scalar.kind };
  const isTable = doc.tables.some((t) => samePath(t.path, path) || under(t.path, path)) || doc.scalars.some((s) => under(s.path, path));
  return isTable ? { kind: 'table' } : null;
}

/** A value for JSON output: integers as numbers when exact (else text), inf/nan and date-times as text. */
export function jsonValue(raw: string): unknown {
  const v = toObject(scanToml(`v = ${raw}\n`), `v = ${raw}\n`).v;
  if (v === undefined) return raw.startsWith('[') ? [] : {};
  const convert = (x: TomlPlain): unknown => {
    if (typeof x === 'bigint') return x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x.toString();
    if (typeof x === 'number' && !Number.isFinite(x)) return String(x).replace('Infinity', 'inf').replace('NaN', 'nan');
    if (Array.isArray(x)) return x.map(convert);
    if (typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, convert(y)]));
    return x;
  };
  return convert(v);
}

// ---------------------------------------------------------------- get

export interface GotValue {
  file: string;
  key: string;
  type: ValueKind;
  /** The TOML literal as written. */
  raw: string;
  /** What `get` prints: the string itself for strings, else the TOML literal. */
  text: string;
}

export async function getValue(file: string, keyPath: string, identities: readonly Identity[]): Promise<GotValue> {
  const path = parseKeyPath(keyPath);
  const loaded = await loadFile(file, identities);
  const inClear = valuesInClear(loaded).filter((s) => samePath(s.path, path) || under(s.path, path));
  if (inClear.length) throw unsealedValueError(file, inClear, VALUE_IN_CLEAR_HINT);
  const { plaintext } = loaded;
  const found = lookup(plaintext, scanOrThrow(plaintext, file), path);
  const key = formatKeyPath(path);
  if (!found) throw new GitSealError(`${file}: no key '${key}'`, `git-seal ls ${file} lists its keys`);
  if (found.raw === undefined) throw new GitSealError(`${file}: '${key}' is a table, not a value`, `name one of its keys (git-seal ls ${file})`);
  const text = found.kind === 'string' ? (decodeScalar(found.raw, 'string').value as string) : found.raw;
  return { file, key, type: found.kind, raw: found.raw, text };
}
