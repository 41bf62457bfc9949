import { GitSealError } from '../errors.js';
import { FORMAT_VERSION } from '../crypto/value.js';
import { decodeScalar, formatBasicString, type TomlDocument } from '../toml/index.js';

/** Name of the reserved table that closes every sealed file. */
export const META_TABLE = 'gitseal';
export const META_COMMENT = '# Sealed by git-seal: values are encrypted, keys and comments are not. See docs/FORMAT.md.';

export interface SealedMeta {
  version: number;
  /** Public keys the data key is wrapped to, sorted. Advisory: the age header is authoritative. */
  recipients: string[];
  /** The data key as an armored age file. */
  dataKey: string;
  /** False when the plaintext had no final newline (one is added before the table). */
  finalNewline: boolean;
  /** A whole-file sealed merge conflict, when present the body is empty. */
  conflict?: string;
}

function renderMeta(meta: SealedMeta, eol: string): string {
  const lines = [`[${META_TABLE}]`, META_COMMENT, `version = ${meta.version}`];
  if (!meta.finalNewline) lines.push('final_newline = false');
  if (meta.recipients.length === 0) lines.push('recipients = []');
  else lines.push('recipients = [', ...meta.recipients.map((r) => `  ${formatBasicString(r)},`), ']');
  if (meta.conflict !== undefined) lines.push(`conflict = ${formatBasicString(meta.conflict)}`);
  const armor = meta.dataKey.trimEnd().split(/\r?\n/);
  lines.push('datakey = """', ...armor, '"""');
  return lines.join(eol) + eol;
}

/** Whether two recipient lists hold the same set of keys (duplicates ignored). */
export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}

/** A sealed file: the sealed body, one blank line, then the metadata table. */
export function assembleSealed(body: string, meta: SealedMeta, eol: string): string {
  return body + eol + renderMeta(meta, eol);
}

/** The sealed body of a file whose metadata table starts at `metaOffset` (the blank line removed). */
export function sealedBody(text: string, metaOffset: number): string {
  return text.slice(0, metaOffset).replace(/\r?\n$/, '');
}

/** Offset where the metadata table starts (the start of its header line), or -1 if the document has none. */
export function metaStart(doc: TomlDocument, text: string): number {
  const header = doc.tables.find((t) => t.path.length === 1 && t.path[0] === META_TABLE && !t.arrayOfTables);
  if (!header) return -1;
  return text.lastIndexOf('\n', header.start - 1) + 1;
}

const KNOWN_FIELDS = new Set(['version', 'final_newline', 'recipients', 'conflict', 'datakey']);

/** Read the metadata table of a scanned sealed document. */
export function readMeta(doc: TomlDocument, text: string, file: string): SealedMeta {
  const start = metaStart(doc, text);
  const last = doc.tables[doc.tables.length - 1];
  if (start < 0 || !last || last.path[0] !== META_TABLE || last.path.length !== 1) {
    throw new GitSealError(`${file}: the [${META_TABLE}] table must be the last table of a sealed file`, 'restore the file from git history');
  }
  const fields = new Map<string, unknown>();
  const recipients: string[] = [];
  for (const s of doc.scalars) {
    if (s.path[0] !== META_TABLE) continue;
    const value = decodeScalar(text.slice(s.start, s.end), s.kind).value;
    if (s.path[1] === 'recipients' && typeof s.path[2] === 'number' && s.path.length === 3) recipients.push(String(value));
    else if (s.path.length === 2) fields.set(String(s.path[1]), value);
    else throw new GitSealError(`${file}: unexpected key in [${META_TABLE}]`, 'restore the file from git history');
  }
  const version = fields.get('version');
  if (typeof version !== 'bigint') {
    throw new GitSealError(`${file}: [${META_TABLE}] has no version, so it is not git-seal metadata; that table name is reserved`, 'rename that table, or restore a sealed file from git history');
  }
  if (Number(version) !== FORMAT_VERSION) {
    throw new GitSealError(
      `${file}: sealed with format version ${version}, this git-seal reads version ${FORMAT_VERSION}`,
      'upgrade git-seal (npm install -D git-seal@latest)',
    );
  }
  const dataKey = fields.get('datakey');
  if (typeof dataKey !== 'string' || !dataKey.includes('BEGIN AGE ENCRYPTED FILE')) {
    throw new GitSealError(`${file}: [${META_TABLE}] has no datakey`, 'restore the file from git history');
  }
  const finalNewline = fields.get('final_newline');
  const conflict = fields.get('conflict');
  const unknown = [...fields.keys()].find((k) => !KNOWN_FIELDS.has(k));
  if (unknown !== undefined) throw new GitSealError(`${file}: unknown field '${unknown}' in [${META_TABLE}]`, 'restore the file from git history, or upgrade git-seal');
  if (finalNewline !== undefined && typeof finalNewline !== 'boolean') throw new GitSealError(`${file}: [${META_TABLE}] final_newline must be a boolean`, 'restore the file from git history');
  if (conflict !== undefined && typeof conflict !== 'string') throw new GitSealError(`${file}: [${META_TABLE}] conflict must be a string`, 'restore the file from git history');
  return {
    version: FORMAT_VERSION,
    recipients,
    dataKey,
    finalNewline: finalNewline !== false,
    ...(typeof conflict === 'string' ? { conflict } : {}),
  };
}
