import { GitSealError } from '../errors.js';
import { formatKeyPath } from '../format/keypath.js';
import { decodeScalar, type PathSegment, type ScalarSpan, type TomlDocument } from '../toml/index.js';
import type { EnvNaming } from '../profiles/exec-naming.js';
import { dangerousEnvName } from './env-guard.js';

/**
 * Secrets as environment variables.
 *
 * `dlt` (default), as dlt's EnvironProvider looks them up: the table path and key joined by `__`,
 * upper case (`[sources.stripe] api_key` → SOURCES__STRIPE__API_KEY). `plain`: joined by `_`.
 * Values: strings as they are; integers in decimal; floats and booleans as their TOML text;
 * date-times as written; arrays (also arrays of tables) and inline tables as one JSON variable,
 * which dlt parses for list and dict settings.
 *
 * `streamlit`, as Streamlit's st.secrets sets os.environ: only root-level keys whose value is a
 * string, an integer or a float, under the key's own name (case kept), valued as Python's str();
 * tables, arrays, booleans and date-times are not exported (Streamlit reads them from the file).
 */

export interface EnvOptions {
  naming: EnvNaming;
  file: string;
  /** Whether the value at a path is sealed in the file (default: every value). */
  sealedKeys?: (path: PathSegment[]) => boolean;
  /** Names a loader or interpreter reads that the config explicitly allows (exec.allow_env). */
  allowEnv?: ReadonlySet<string>;
  /** Where to put the key paths a naming does not export (streamlit). */
  skipped?: string[];
  /** The config key that allows a name, for the refusal's hint. */
  allowHint?: string;
}

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

/** The environment variable dlt reads for a key path: segments upper-cased and joined by `__`. */
export function dltEnvName(path: readonly PathSegment[]): string {
  return path.map((s) => String(s).toUpperCase()).join('__');
}

/** A warning when the key cannot be given to dlt as an environment variable, else null. */
export function envNameWarning(path: readonly PathSegment[]): string | null {
  const name = dltEnvName(path);
  if (ENV_NAME.test(name)) return null;
  return `'${formatKeyPath(path)}' maps to the environment variable ${name}, which is not a valid name ([A-Z_][A-Z0-9_]*): dlt reads it from the TOML file, but not from the environment, and git-seal exec refuses the file`;
}

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

/** Python's str() of a float, as Streamlit exports it: shortest round-trip digits, `1000.0`, `1e+16`. */
export function pythonFloat(f: number): string {
  if (Number.isNaN(f)) return 'nan';
  if (!Number.isFinite(f)) return f > 0 ? 'inf' : '-inf';
  if (f === 0) return Object.is(f, -0) ? '-0.0' : '0.0';
  const [mantissa, expText] = f.toExponential().split('e');
  const exp = Number(expText);
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace(/^-/, '').replace('.', '');
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${int}.${frac || '0'}`;
}

const STREAMLIT_NAME = /^[^=\0]+$/;

function envName(path: readonly PathSegment[], opts: EnvOptions): string {
  const naming = opts.naming;
  const name = naming === 'streamlit' ? String(path[0]) : naming === 'dlt' ? dltEnvName(path) : path.map(String).join('_').toUpperCase();
  if (!(naming === 'streamlit' ? STREAMLIT_NAME : ENV_NAME).test(name)) {
    throw new GitSealError(
      `${opts.file}: key '${formatKeyPath(path)}' gives '${name}', which is not a valid environment variable name`,
      naming === 'streamlit' ? 'rename the key: no = in it' : 'use only letters, digits and _ in table and key names, or read the file instead of using exec',
    );
  }
  const danger = opts.allowEnv?.has(name) ? null : dangerousEnvName(name);
  if (danger) {
    throw new GitSealError(
      `${opts.file}: key '${formatKeyPath(path)}' would set ${name}, and ${danger}: exec never takes such variables from a secrets file`,
      `rename the key; if the value really is meant for ${name}, allow it with ${opts.allowHint ?? 'exec.allow_env'} = ["${name}"] in .gitseal.toml`,
    );
  }
  return name;
}

function checkValue(value: string, path: readonly PathSegment[], file: string): string {
  if (value.includes('\0')) {
    throw new GitSealError(`${file}: key '${formatKeyPath(path)}' holds a NUL character, which an environment variable cannot carry`, 'remove it, or pass the file to the command with exec --as-file');
  }
  return value;
}

/** Streamlit exports root-level strings and numbers under their own names. */
function streamlitEnv(text: string, doc: TomlDocument, opts: EnvOptions): EnvSecret[] {
  const out: EnvSecret[] = [];
  const seen = new Set<string>();
  for (const s of doc.scalars) {
    const root = s.path[0];
    if (s.path.length === 1 && (s.kind === 'string' || s.kind === 'integer' || s.kind === 'float')) {
      const raw = text.slice(s.start, s.end);
      const v = decodeScalar(raw, s.kind).value;
      const value = s.kind === 'float' ? pythonFloat(v as number) : String(v);
      out.push({ name: envName(s.path, opts), value: checkValue(value, s.path, opts.file), key: formatKeyPath(s.path), sealed: opts.sealedKeys?.(s.path) ?? true, strings: s.kind === 'string' ? [value] : [] });
    } else if (!seen.has(String(root))) {
      seen.add(String(root));
      opts.skipped?.push(formatKeyPath([root]));
    }
  }
  return out;
}

/** Where a scalar's variable is rooted: at the first array, else at the inline table holding it, else itself. */
function rootOf(s: ScalarSpan, entryPath: readonly PathSegment[] | undefined): PathSegment[] {
  const arrayAt = s.path.findIndex((seg) => typeof seg === 'number');
  let len = arrayAt >= 0 ? arrayAt : s.path.length;
  if (entryPath && entryPath.length < len) len = entryPath.length;
  return s.path.slice(0, len);
}

const pathId = (path: readonly PathSegment[]) => JSON.stringify(path);

/** The environment variables for one plaintext TOML document, in time linear in its size. */
export function envFromToml(text: string, doc: TomlDocument, opts: EnvOptions): EnvSecret[] {
  if (opts.naming === 'streamlit') return streamlitEnv(text, doc, opts);
  const groups = new Map<string, { root: PathSegment[]; scalars: ScalarSpan[]; empty?: string }>();
  let e = 0;
  for (const s of doc.scalars) {
    while (e < doc.entries.length && doc.entries[e].valueEnd <= s.start) e++;
    const entry = doc.entries[e];
    const inside = entry && entry.valueStart <= s.start && s.end <= entry.valueEnd ? entry.path : undefined;
    const root = rootOf(s, inside);
    const id = pathId(root);
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { root, scalars: [] }));
    g.scalars.push(s);
  }
  // Empty arrays and inline tables hold no scalars but are still values, unless they sit inside
  // another variable's value (an array of tables), which then leaves them out.
  let next = 0;
  for (const entry of doc.entries) {
    while (next < doc.scalars.length && doc.scalars[next].start < entry.valueStart) next++;
    const open = text[entry.valueStart];
    if (open !== '[' && open !== '{') continue;
    if (next < doc.scalars.length && doc.scalars[next].start < entry.valueEnd) continue; // holds scalars
    const arrayAt = entry.path.findIndex((seg) => typeof seg === 'number');
    if (arrayAt >= 0 && groups.has(pathId(entry.path.slice(0, arrayAt)))) continue;
    groups.set(pathId(entry.path), { root: entry.path, scalars: [], empty: open === '[' ? '[]' : '{}' });
  }

  const out: EnvSecret[] = [];
  for (const { root, scalars, empty } of groups.values()) {
    const name = envName(root, opts);
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
    out.push({ name, value: checkValue(value, root, opts.file), key: formatKeyPath(root), sealed, strings });
  }
  return out;
}
