import { relative, resolve } from 'node:path';
import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { formatKeyPath, parseKeyPath } from '../format/keypath.js';
import { META_TABLE } from '../format/meta.js';
import { isSealedScalar, openWithKey, parseSealed, unsealedValueError, unwrapFileDataKey, VALUE_IN_CLEAR_HINT, type SealedFile } from '../format/seal.js';
import { findRepo } from '../git/repo.js';
import { loadConfigIfPresent } from '../profiles/config.js';
import { checkAtom } from '../toml/atoms.js';
import { scanOrThrow } from '../toml/scan-or-throw.js';
import { toObject, type TomlPlain } from '../toml/to-object.js';
import {
  decodeScalar,
  formatBasicString,
  removeKey,
  scanToml,
  setRawValue,
  TomlEditError,
  TomlSyntaxError,
  type PathSegment,
  type ScalarKind,
  type ScalarSpan,
  type TomlDocument,
} from '../toml/index.js';
import { withFileLock } from '../git/atomic-write.js';
import { readText } from '../util/io.js';
import { envNameWarning } from './env-naming.js';
import { recipientInfo, type RecipientInfo } from './recipients.js';
import { fileContext, loadFile, repoFileContext, repoSecretsFiles, saveFile, valuesInClear, type FileContext } from './secrets-file.js';

// ---------------------------------------------------------------- typed values

export const VALUE_TYPES = ['string', 'int', 'float', 'bool', 'datetime', 'toml'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

const DATETIME_KINDS: ScalarKind[] = ['offset-datetime', 'local-datetime', 'local-date', 'local-time'];

const EXAMPLES: Record<ValueType, string> = {
  string: '',
  int: '42, -7 or 0xff',
  float: '3.14, 1e-3 or inf',
  bool: 'true or false',
  datetime: 'RFC 3339, e.g. 2026-01-02T03:04:05Z, 2026-01-02 or 03:04:05',
  toml: 'one TOML value, e.g. ["a", "b"] or { x = 1 }',
};

function badValue(type: ValueType, reason?: string): never {
  const why = reason && !reason.startsWith('invalid value') ? `${reason}; ` : '';
  throw new GitSealError(`the value is not a valid TOML ${type} (${why}expected ${EXAMPLES[type]})`, 'check the value, or drop --type to store it as a string');
}

/** The TOML literal to write for `value` read as `type`. Messages never quote the value. */
export function tomlLiteral(value: string, type: ValueType): string {
  if (type === 'string') return formatBasicString(value);
  const v = value.trim();
  if (type === 'toml') {
    let doc: TomlDocument;
    try {
      doc = scanToml(`v = ${v}\n`);
    } catch (err) {
      if (err instanceof TomlSyntaxError) badValue(type, err.reason);
      throw err;
    }
    const e = doc.entries[0];
    if (doc.entries.length !== 1 || doc.tables.length || e.valueEnd - e.valueStart !== v.length) badValue(type);
    return v;
  }
  const atom = checkAtom(v);
  if (type === 'bool') return atom.kind === 'boolean' ? v : badValue(type);
  if (type === 'int') return atom.kind === 'integer' ? v : badValue(type, atom.reason);
  if (type === 'float') {
    if (atom.kind === 'float') return v;
    if (atom.kind === 'integer' && /^[+-]?[0-9][0-9_]*$/.test(v)) return `${v}.0`;
    return badValue(type, atom.reason);
  }
  return atom.kind && DATETIME_KINDS.includes(atom.kind) ? v : badValue(type, atom.reason);
}

// ---------------------------------------------------------------- lookup

const samePath = (a: readonly PathSegment[], b: readonly PathSegment[]) => a.length === b.length && a.every((s, i) => s === b[i]);
const under = (p: readonly PathSegment[], prefix: readonly PathSegment[]) => p.length > prefix.length && prefix.every((s, i) => s === p[i]);

export type ValueKind = ScalarKind | 'array' | 'table';

/** The value at `path`: its TOML text as written and its type; a table is reported without text. */
function lookup(text: string, doc: TomlDocument, path: readonly PathSegment[]): { raw?: string; kind: ValueKind } | null {
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

// ---------------------------------------------------------------- get / set / rm

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

function editablePath(keyPath: string, file: string): string[] {
  const path = parseKeyPath(keyPath);
  if (path.some((s) => typeof s === 'number')) {
    throw new GitSealError(`${file}: cannot set or remove one item of an array ('${keyPath}')`, `set the whole array with --type toml, or use git-seal edit ${file}`);
  }
  if (path[0] === META_TABLE) throw new GitSealError(`${file}: the top-level key '${META_TABLE}' is reserved for git-seal's metadata`, 'pick another name');
  return path as string[];
}

function editError(file: string, err: unknown): unknown {
  return err instanceof TomlEditError ? new GitSealError(`${file}: ${err.message}`, `use git-seal edit ${file} for this change`) : err;
}

export interface SetResult {
  key: string;
  /** The key did not exist before. */
  added: boolean;
  /** The file did not exist before. */
  createdFile: boolean;
  /** Nothing to write: the value was already that. */
  unchanged: boolean;
  written: 'sealed' | 'plaintext' | null;
  /** Set when dlt could not read this key from the environment. */
  envWarning: string | null;
}

/** Set (or add) one value, editing only its line; tables are created as needed. Holds the file's lock. */
export async function setValue(file: string, keyPath: string, value: string, opts: { identities: readonly Identity[]; type?: ValueType }): Promise<SetResult> {
  const path = editablePath(keyPath, file);
  const raw = tomlLiteral(value, opts.type ?? 'string');
  return withFileLock(file, () => setLocked(file, path, raw, opts.identities));
}

async function setLocked(file: string, path: string[], raw: string, identities: readonly Identity[]): Promise<SetResult> {
  const loaded = await loadFile(file, identities, { mayCreate: true });
  const before = loaded.plaintext;
  const added = lookup(before, scanOrThrow(before, file), path) === null;
  let after: string;
  try {
    after = setRawValue(before, path, raw);
  } catch (err) {
    throw editError(file, err);
  }
  const unchanged = after === before && loaded.exists && valuesInClear(loaded).length === 0;
  const written = unchanged ? null : await saveFile(loaded, after);
  return { key: formatKeyPath(path), added, createdFile: !loaded.exists, unchanged, written, envWarning: envNameWarning(path) };
}

/** Remove one `key = value` line. Holds the file's lock. */
export async function removeValue(file: string, keyPath: string, identities: readonly Identity[]): Promise<{ key: string; written: 'sealed' | 'plaintext' }> {
  const path = editablePath(keyPath, file);
  return withFileLock(file, () => removeLocked(file, path, identities));
}

async function removeLocked(file: string, path: string[], identities: readonly Identity[]): Promise<{ key: string; written: 'sealed' | 'plaintext' }> {
  const loaded = await loadFile(file, identities);
  let after: string;
  try {
    after = removeKey(loaded.plaintext, path);
  } catch (err) {
    if (err instanceof TomlEditError && err.code === 'no-such-key') {
      throw new GitSealError(`${file}: no key '${formatKeyPath(path)}'`, `git-seal ls ${file} lists its keys`);
    }
    throw editError(file, err);
  }
  return { key: formatKeyPath(path), written: await saveFile(loaded, after) };
}

// ---------------------------------------------------------------- ls

/** Scalars of a sealed file's body (the [gitseal] table left out). */
function bodyScalars(sealed: SealedFile): ScalarSpan[] {
  return sealed.doc.scalars.filter((s) => s.start < sealed.bodyEnd);
}


/** Masked form of a value: the first 4 characters of a long value, nothing of a short one. */
export function maskValue(text: string): string {
  const chars = [...text];
  const head = chars.slice(0, 4).join('');
  return chars.length >= 12 && !/[\x00-\x1f\x7f]/.test(head) ? `${head}…****` : '****';
}

export interface ListedValue {
  key: string;
  /** A TOML type, or 'unknown' for a sealed value no identity of yours can open. */
  type: ScalarKind | 'unknown';
  /** Masked text; with `show`, the value (a JSON value in `json`, a TOML literal in `literal`). */
  masked: string | null;
  json?: unknown;
  literal?: string;
}

export interface ListedFile {
  /** Path relative to the current directory. */
  path: string;
  profile: string | null;
  /** How the file is on disk ('invalid': it could not be read or parsed, see `error`). */
  state: 'sealed' | 'plaintext' | 'invalid';
  /** Whether its values could be read (always for plaintext). */
  readable: boolean;
  /** Sealed: who it is sealed to; plaintext: who its profile seals it for. */
  recipients: RecipientInfo[];
  values: ListedValue[];
  error?: string;
}

function listedValue(text: string, s: ScalarSpan, show: boolean): ListedValue {
  const key = formatKeyPath(s.path);
  const raw = text.slice(s.start, s.end);
  const decoded = decodeScalar(raw, s.kind);
  const shown = s.kind === 'string' ? (decoded.value as string) : raw;
  if (!show) return { key, type: s.kind, masked: maskValue(shown) };
  return { key, type: s.kind, masked: null, json: jsonValue(raw), literal: s.kind === 'string' ? formatBasicString(shown) : raw };
}

async function listOne(file: string, ctx: FileContext, identities: readonly Identity[], show: boolean): Promise<ListedFile> {
  const base = { path: relative(process.cwd(), resolve(file)) || file, profile: ctx.settings.profile?.name ?? null };
  try {
    const { text } = readText(file);
    const sealed = parseSealed(text, file);
    if (!sealed) {
      const doc = scanOrThrow(text, file);
      return { ...base, state: 'plaintext', readable: true, recipients: recipientInfo(ctx.settings.recipients, ctx.config), values: doc.scalars.map((s) => listedValue(text, s, show)) };
    }
    const recipients = recipientInfo(sealed.meta.recipients, ctx.config);
    const dataKey = sealed.meta.conflict === undefined ? await unwrapFileDataKey(sealed, identities, file) : null;
    if (dataKey) {
      const plaintext = openWithKey(sealed, dataKey, file);
      const doc = scanOrThrow(plaintext, file);
      return { ...base, state: 'sealed', readable: true, recipients, values: doc.scalars.map((s) => listedValue(plaintext, s, show)) };
    }
    const values = bodyScalars(sealed).map((s): ListedValue =>
      isSealedScalar(text, s) ? { key: formatKeyPath(s.path), type: 'unknown', masked: null } : listedValue(text, s, show),
    );
    return { ...base, state: 'sealed', readable: false, recipients, values };
  } catch (err) {
    if (!(err instanceof GitSealError)) throw err;
    return { ...base, state: 'invalid', readable: false, recipients: [], values: [], error: err.oneLine };
  }
}

/** List keys (values masked unless `show`) of the named files, or of every secrets file of the repository. */
export async function listSecrets(files: readonly string[], identities: readonly Identity[], opts: { show?: boolean } = {}): Promise<ListedFile[]> {
  const show = opts.show ?? false;
  if (files.length > 0) return Promise.all(files.map((f) => listOne(f, fileContext(f), identities, show)));
  const repo = findRepo();
  const config = loadConfigIfPresent(repo.root);
  // All files at once: an age plugin then opens every data key in one session.
  return Promise.all(
    repoSecretsFiles(repo, config).map((rel) => {
      const ctx = repoFileContext(repo, config, rel);
      return listOne(ctx.file, ctx, identities, show);
    }),
  );
}
