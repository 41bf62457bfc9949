import { randomBytes } from 'node:crypto';
import type { Identity } from 'age-encryption';
import { diff3Merge } from 'node-diff3';
import { wrapDataKey } from '../age/index.js';
import { encryptValue, deriveValueKeys, FORMAT_VERSION } from '../crypto/value.js';
import { assembleSealed, META_TABLE } from '../format/meta.js';
import { openWithKey, parseSealed, seal, unwrapFileDataKey, type SealedFile, type PlaintextKeyFilter } from '../format/seal.js';
import { scanToml } from '../toml/index.js';

export interface MergeInput {
  base: string;
  ours: string;
  theirs: string;
  path: string;
  markerSize?: number;
  identities: readonly Identity[];
  /** Recipients for the merged file (the profile's); defaults to ours'. */
  recipients?: readonly string[];
  plaintextKeys?: PlaintextKeyFilter;
}

export interface MergeOutput {
  /** What git should store: always sealed when the inputs were (never plaintext). */
  text: string;
  conflict: boolean;
}

/** Split a document into the text around its values and the value tokens; null if it is not TOML. */
function splitValues(text: string): { frame: string[]; values: string[] } | null {
  let doc;
  try {
    doc = scanToml(text);
  } catch {
    return null;
  }
  const frame: string[] = [];
  const values: string[] = [];
  let pos = 0;
  for (const s of doc.scalars) {
    frame.push(text.slice(pos, s.start));
    values.push(text.slice(s.start, s.end));
    pos = s.end;
  }
  frame.push(text.slice(pos));
  return { frame, values };
}

/**
 * Three-way merge value by value: when the three versions share their layout (same keys, same
 * comments), each value is taken from the side that changed it. Adjacent edits do not conflict,
 * unlike a line merge. Returns null when layouts differ or both sides changed one value differently.
 */
export function mergeValues(base: string, ours: string, theirs: string): string | null {
  const [o, a, b] = [splitValues(base), splitValues(ours), splitValues(theirs)];
  if (!o || !a || !b) return null;
  const sameFrame = (x: string[], y: string[]) => x.length === y.length && x.every((s, i) => s === y[i]);
  if (!sameFrame(o.frame, a.frame) || !sameFrame(o.frame, b.frame)) return null;
  let out = '';
  for (let i = 0; i < o.values.length; i++) {
    const [vo, va, vb] = [o.values[i], a.values[i], b.values[i]];
    let v: string;
    if (va === vb || vb === vo) v = va;
    else if (va === vo) v = vb;
    else return null;
    out += o.frame[i] + v;
  }
  return out + o.frame[o.values.length];
}

const lines = (s: string) => s.match(/[^\n]*\n|[^\n]+$/g) ?? [];

/** A line-based three-way merge with git-style conflict markers. */
export function mergeLines(base: string, ours: string, theirs: string, markerSize = 7, path = ''): { text: string; conflict: boolean } {
  const eol = ours.includes('\r\n') ? '\r\n' : '\n';
  const regions = diff3Merge(lines(ours), lines(base), lines(theirs), { excludeFalseConflicts: true });
  let text = '';
  let conflict = false;
  const emit = (ls: string[]) => {
    for (const l of ls) text += l;
    if (text && !text.endsWith('\n')) text += eol;
  };
  for (const r of regions) {
    if (r.ok) {
      for (const l of r.ok) text += l;
    } else if (r.conflict) {
      conflict = true;
      if (text && !text.endsWith('\n')) text += eol;
      text += `${'<'.repeat(markerSize)} ours${path ? ` (${path})` : ''}${eol}`;
      emit(r.conflict.a);
      text += `${'='.repeat(markerSize)}${eol}`;
      emit(r.conflict.b);
      text += `${'>'.repeat(markerSize)} theirs${eol}`;
    }
  }
  return { text, conflict };
}

/** Seal a conflicted plaintext whole, under ours' data key, so no plaintext reaches the object store. */
function sealConflict(plaintext: string, ours: SealedFile, dataKey: Uint8Array): string {
  const token = encryptValue(deriveValueKeys(dataKey), [META_TABLE, 'conflict'], plaintext);
  return assembleSealed('', { ...ours.meta, finalNewline: true, conflict: token }, ours.doc.eol);
}

/**
 * Seal a conflicted working copy (conflict markers, not TOML) whole, as the merge driver does: under
 * ours' data key when an identity opens it, else under a fresh one for `recipients`.
 */
export async function sealConflictedCopy(plaintext: string, ours: SealedFile | null, identities: readonly Identity[], recipients: readonly string[], path: string): Promise<string> {
  const oursKey = ours && ours.meta.conflict === undefined ? await unwrapFileDataKey(ours, identities, path) : null;
  if (ours && oursKey) return sealConflict(plaintext, ours, oursKey);
  const dataKey = new Uint8Array(randomBytes(32));
  const sorted = [...new Set(recipients)].sort();
  const token = encryptValue(deriveValueKeys(dataKey), [META_TABLE, 'conflict'], plaintext);
  const meta = { version: FORMAT_VERSION, recipients: sorted, dataKey: await wrapDataKey(dataKey, sorted), finalNewline: true, conflict: token };
  return assembleSealed('', meta, plaintext.includes('\r\n') ? '\r\n' : '\n');
}

/**
 * Merge three versions of a sealed file. Without keys, values merge on their stable ciphertexts when
 * all three share a data key; with keys, the plaintexts merge (value by value, else line by line) and
 * the result is sealed again. An unresolved conflict is sealed whole: the working tree shows the
 * plaintext with conflict markers, the object store only ever sees ciphertext.
 */
export async function mergeSealedFiles(input: MergeInput): Promise<MergeOutput> {
  const { base, ours, theirs, path } = input;
  const direct = mergeValues(base, ours, theirs);
  if (direct !== null) return { text: direct, conflict: false };

  const parse = (t: string) => {
    try {
      return parseSealed(t, path);
    } catch {
      return null;
    }
  };
  const [so, sa, sb] = [parse(base), parse(ours), parse(theirs)];
  if (sa && sb && sa.meta.conflict === undefined && sb.meta.conflict === undefined) {
    const open = async (s: SealedFile | null, raw: string) => {
      if (!s) return raw.trim() === '' ? { plain: '', key: null } : null; // a missing base is empty
      const key = await unwrapFileDataKey(s, input.identities, path);
      return key ? { plain: openWithKey(s, key, path), key } : null;
    };
    const [po, pa, pb] = [await open(so, base), await open(sa, ours), await open(sb, theirs)];
    if (po && pa && pb && pa.key) {
      const merged = mergeValues(po.plain, pa.plain, pb.plain);
      const result = merged !== null ? { text: merged, conflict: false } : mergeLines(po.plain, pa.plain, pb.plain, input.markerSize, path);
      if (result.conflict) return { text: sealConflict(result.text, sa, pa.key), conflict: true };
      const sealed = await seal(result.text, {
        recipients: input.recipients ?? sa.meta.recipients,
        identities: input.identities,
        previous: { sealed: sa, dataKey: pa.key },
        plaintextKeys: input.plaintextKeys,
        file: path,
      });
      return { text: sealed.text, conflict: false };
    }
  }
  // No key for all three versions: merge the sealed text by lines, as git would.
  return mergeLines(base, ours, theirs, input.markerSize, path);
}
