import type { Identity } from 'age-encryption';
import { diff3Merge } from 'node-diff3';
import { GitSealError } from '../errors.js';
import { sealConflict } from '../format/conflict.js';
import { openWithKey, parseSealed, seal, unwrapFileDataKey, type SealedFile, type PlaintextKeyFilter } from '../format/seal.js';
import { scanToml } from '../toml/index.js';

export interface MergeInput {
  base: string;
  ours: string;
  theirs: string;
  path: string;
  markerSize?: number;
  identities: readonly Identity[];
  plaintextKeys?: PlaintextKeyFilter;
}

export interface MergeOutput {
  /** What git should store: always sealed when the inputs were (never plaintext). */
  text: string;
  conflict: boolean;
  /**
   * Why this merge cannot be done here (one line, with what to do); `text` then holds both sides
   * between conflict markers, which clean refuses to stage, so no side is taken silently.
   */
  refusal?: string;
}

/**
 * The three-way merge of recipient sets, as the merged profile has them: a recipient that either side
 * removed (relative to the base) is out, one that either side added is in. Each side's file is sealed
 * to its own profile's recipients (clean and rekey keep it so; `check` verifies it), so this is the
 * merged profile even while git has not yet written the merged `.gitseal.toml` (during a merge the
 * work tree still holds ours'), and even when that config conflicts.
 */
export function mergeRecipients(base: readonly string[], ours: readonly string[], theirs: readonly string[]): { recipients: string[]; removed: string[] } {
  const removed = base.filter((r) => !ours.includes(r) || !theirs.includes(r));
  const recipients = [...new Set([...ours, ...theirs])].filter((r) => !removed.includes(r)).sort();
  return { recipients, removed: [...new Set(removed)].sort() };
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

/** Both sides whole between conflict markers: not TOML, so clean refuses to stage it as it is. */
function bothSides(ours: string, theirs: string, markerSize = 7, path = ''): string {
  const eol = ours.includes('\r\n') ? '\r\n' : '\n';
  const end = (t: string) => (t === '' || t.endsWith('\n') ? t : t + eol);
  return `${'<'.repeat(markerSize)} ours${path ? ` (${path})` : ''}${eol}${end(ours)}${'='.repeat(markerSize)}${eol}${end(theirs)}${'>'.repeat(markerSize)} theirs${eol}`;
}

/**
 * Seal a conflicted working copy (conflict markers, not TOML) whole, as the merge driver does: under
 * ours' data key when an identity opens it, else under a fresh one for `recipients`.
 */
export async function sealConflictedCopy(plaintext: string, ours: SealedFile | null, identities: readonly Identity[], recipients: readonly string[], path: string): Promise<string> {
  const oursKey = ours && ours.meta.conflict === undefined ? await unwrapFileDataKey(ours, identities, path) : null;
  const merged = [...new Set(recipients)].sort();
  if (ours && oursKey) {
    // A removed recipient may hold ours' data key: then the conflict gets a fresh one.
    const removed = ours.meta.recipients.some((r) => !merged.includes(r));
    return sealConflict(plaintext, merged, ours.doc.eol, removed ? undefined : { dataKey: oursKey, meta: ours.meta });
  }
  if (ours) {
    // A clone without the key holds sealed sides between markers: staging them would commit an unresolved merge.
    throw new GitSealError(`${path}: is still conflicted, and this clone cannot open it to resolve it`, `ask a recipient of ${path} to merge it, or run git merge --abort`);
  }
  return sealConflict(plaintext, merged, plaintext.includes('\r\n') ? '\r\n' : '\n');
}

/**
 * Merge three versions of a sealed file. Without keys, values merge on their stable ciphertexts when
 * that takes each value from one side (a side that replaced the data key re-sealed every value, so its
 * values are never mixed with the other side's); with keys, the plaintexts merge (value by value, else
 * line by line) and the result is sealed to the merged recipients (see mergeRecipients), under a fresh
 * data key when either side removed a recipient. An unresolved conflict is sealed whole the same way:
 * the working tree shows the plaintext with conflict markers, the object store only ever sees
 * ciphertext. Without a key for all three versions, sides sealed with different data keys (or to
 * different recipients) are refused: merging them needs a key holder.
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
    const { recipients, removed } = mergeRecipients(so?.meta.recipients ?? [], sa.meta.recipients, sb.meta.recipients);
    const open = async (s: SealedFile | null, raw: string) => {
      if (!s) return raw.trim() === '' ? { plain: '', key: null } : null; // a missing base is empty
      const key = await unwrapFileDataKey(s, input.identities, path);
      return key ? { plain: openWithKey(s, key, path), key } : null;
    };
    const [po, pa, pb] = [await open(so, base), await open(sa, ours), await open(sb, theirs)];
    if (po && pa && pb && pa.key) {
      const merged = mergeValues(po.plain, pa.plain, pb.plain);
      const result = merged !== null ? { text: merged, conflict: false } : mergeLines(po.plain, pa.plain, pb.plain, input.markerSize, path);
      if (result.conflict) {
        const keep = removed.length ? undefined : { dataKey: pa.key, meta: sa.meta };
        return { text: await sealConflict(result.text, recipients, sa.doc.eol, keep), conflict: true };
      }
      if (recipients.length === 0) {
        return { text: bothSides(ours, theirs, input.markerSize, path), conflict: true, refusal: `${path}: the merge leaves this file with no recipients` };
      }
      const sealed = await seal(result.text, {
        recipients,
        identities: input.identities,
        // A removed recipient may hold ours' data key: then the result gets a fresh one.
        previous: removed.length ? undefined : { sealed: sa, dataKey: pa.key },
        plaintextKeys: input.plaintextKeys,
        file: path,
      });
      return { text: sealed.text, conflict: false };
    }
    const versions = so ? [so, sa, sb] : [sa, sb];
    const oneKey = versions.every((v) => v.meta.dataKey === sa.meta.dataKey && v.meta.recipients.join() === sa.meta.recipients.join());
    if (!oneKey) {
      return {
        text: bothSides(ours, theirs, input.markerSize, path),
        conflict: true,
        refusal:
          `${path}: both sides changed it and ${removed.length ? 'a recipient was removed' : 'its recipients or data key changed'} on one side; ` +
          `merging it needs a key that opens all three versions (recipients: ${recipients.join(', ') || 'none'})`,
      };
    }
  }
  // One data key for all three versions, or not sealed: merge the text by lines, as git would.
  return mergeLines(base, ours, theirs, input.markerSize, path);
}
