import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { formatKeyPath } from '../format/keypath.js';
import { withFileLock } from '../git/atomic-write.js';
import { checkAtom } from '../toml/atoms.js';
import { scanOrThrow } from '../toml/scan-or-throw.js';
import { formatBasicString, scanToml, setRawValue, TomlSyntaxError, type ScalarKind, type TomlDocument } from '../toml/index.js';
import { envNameWarning } from './env-naming.js';
import { lookup } from './get.js';
import { editablePath, editError, loadFile, saveFile, valuesInClear } from './secrets-file.js';

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

// ---------------------------------------------------------------- set

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
