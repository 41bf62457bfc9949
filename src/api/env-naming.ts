import { GitSealError } from '../errors.js';
import { formatKeyPath } from '../format/keypath.js';
import { decodeScalar, type PathSegment, type ScalarSpan, type TomlDocument } from '../toml/index.js';

/**
 * Secrets as environment variables.
 *
 * `dlt` (default), as dlt's EnvironProvider looks them up: the table path and key joined by `__`,
 * upper case (`[sources.stripe] api_key` → SOURCES__STRIPE__API_KEY). `plain`: joined by `_`.
 * Values: strings as they are; integers in decimal; floats and booleans as their TOML text;
 * date-times as written; arrays (also arrays of tables) and inline tables as one JSON variable,
 * which dlt parses for list and dict settings.
 */
export type EnvNaming = 'dlt' | 'plain';
export const ENV_NAMINGS: readonly EnvNaming[] = ['dlt', 'plain'];

export interface EnvSecret {
  name: string;
  value: string;
  /** The TOML key it came from, e.g. `sources.stripe.api_key`. */
  key: string;
  /** False when every value behind it is stored in plaintext (plaintext_keys). */
  sealed: boolean;
  /** String values inside (for masking in CI logs). */
  strings: string[];
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

function scalarText(raw: string, kind: ScalarSpan['kind']): string {
  const v = decodeScalar(raw, kind).value;
  if (kind === 'string') return v as string;
  if (kind === 'integer') return (v as bigint).toString();
  if (kind === 'float') return raw.replace(/_/g, '');
  return raw; // booleans and date-times as written
}

/** A scalar inside a JSON value: numbers as JSON numbers (integers keep every digit). */
function jsonScalar(raw: string, kind: ScalarSpan['kind']): string {
  const v = decodeScalar(raw, kind).value;
  if (kind === 'integer') return (v as bigint).toString();
  if (kind === 'float') {
    const f = v as number;
    return Number.isNaN(f) ? 'NaN' : f === Infinity ? 'Infinity' : f === -Infinity ? '-Infinity' : JSON.stringify(f);
  }
  if (kind === 'boolean') return String(v);
  return JSON.stringify(kind === 'string' ? v : raw);
}

/** Serialise nested values; leaves are already JSON text. */
function toJson(node: Map<PathSegment, unknown> | string): string {
  if (typeof node === 'string') return node;
  const entries = [...node.entries()];
  if (entries.length > 0 && entries.every(([k]) => typeof k === 'number')) {
    return `[${entries.map(([, v]) => toJson(v as Map<PathSegment, unknown> | string)).join(',')}]`;
  }
  return `{${entries.map(([k, v]) => `${JSON.stringify(String(k))}:${toJson(v as Map<PathSegment, unknown> | string)}`).join(',')}}`;
}

function envName(path: readonly PathSegment[], naming: EnvNaming, file: string): string {
  const name = path.map(String).join(naming === 'dlt' ? '__' : '_').toUpperCase();
  if (!ENV_NAME.test(name)) {
    throw new GitSealError(
      `${file}: key '${formatKeyPath(path)}' gives '${name}', which is not a valid environment variable name`,
      'use only letters, digits and _ in table and key names, or read the file instead of using exec',
    );
  }
  return name;
}

/** Where a scalar's variable is rooted: at the first array, else at the inline table holding it, else itself. */
function rootOf(s: ScalarSpan, entryPath: readonly PathSegment[] | undefined): PathSegment[] {
  const arrayAt = s.path.findIndex((seg) => typeof seg === 'number');
  let len = arrayAt >= 0 ? arrayAt : s.path.length;
  if (entryPath && entryPath.length < len) len = entryPath.length;
  return s.path.slice(0, len);
}

/** The environment variables for one plaintext TOML document. */
export function envFromToml(text: string, doc: TomlDocument, opts: { naming: EnvNaming; file: string; sealedKeys?: (path: PathSegment[]) => boolean }): EnvSecret[] {
  const groups = new Map<string, { root: PathSegment[]; scalars: ScalarSpan[]; empty?: string }>();
  let e = 0;
  for (const s of doc.scalars) {
    while (e < doc.entries.length && doc.entries[e].valueEnd <= s.start) e++;
    const entry = doc.entries[e];
    const inside = entry && entry.valueStart <= s.start && s.end <= entry.valueEnd ? entry.path : undefined;
    const root = rootOf(s, inside);
    const id = JSON.stringify(root);
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { root, scalars: [] }));
    g.scalars.push(s);
  }
  // Empty arrays and inline tables hold no scalars but are still values.
  for (const entry of doc.entries) {
    const open = text[entry.valueStart];
    if ((open === '[' || open === '{') && ![...groups.values()].some((g) => isPrefix(entry.path, g.root) || isPrefix(g.root, entry.path))) {
      groups.set(JSON.stringify(entry.path), { root: entry.path, scalars: [], empty: open === '[' ? '[]' : '{}' });
    }
  }

  const out: EnvSecret[] = [];
  for (const { root, scalars, empty } of groups.values()) {
    const name = envName(root, opts.naming, opts.file);
    const sealed = scalars.some((s) => opts.sealedKeys?.(s.path) ?? true);
    const strings = scalars.filter((s) => s.kind === 'string').map((s) => decodeScalar(text.slice(s.start, s.end), 'string').value as string);
    const simple = scalars.length === 1 && scalars[0].path.length === root.length;
    let value: string;
    if (simple) value = scalarText(text.slice(scalars[0].start, scalars[0].end), scalars[0].kind);
    else if (empty !== undefined) value = empty;
    else {
      const tree = new Map<PathSegment, unknown>();
      for (const s of scalars) {
        let node = tree;
        const rel = s.path.slice(root.length);
        for (let i = 0; i < rel.length - 1; i++) {
          if (!node.has(rel[i])) node.set(rel[i], new Map());
          node = node.get(rel[i]) as Map<PathSegment, unknown>;
        }
        node.set(rel[rel.length - 1], jsonScalar(text.slice(s.start, s.end), s.kind));
      }
      value = toJson(tree);
    }
    out.push({ name, value, key: formatKeyPath(root), sealed, strings });
  }
  return out;
}

function isPrefix(prefix: readonly PathSegment[], path: readonly PathSegment[]): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => s === path[i]);
}
