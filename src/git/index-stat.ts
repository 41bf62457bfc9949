import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { parseIndex } from './index-file.js';

/** A working copy that holds exactly the staged blob `oid`, and its lstat taken before that was checked. */
export interface CheckedOut {
  path: string;
  oid: string;
  stat: BigIntStats;
}

/**
 * Extensions whose content does not depend on entries' stat data, nor on where each entry sits: the cache
 * tree, resolve-undo, the untracked cache, and the end-of-index and entry-offset tables (entries keep their
 * size and place here). Any other (fsmonitor's, or one this code does not know) means git updates the index.
 */
const KEPT_EXTENSIONS = new Set(['TREE', 'REUC', 'UNTR', 'EOIE', 'IEOT']);

const ASSUME_VALID = 0x8000;
const SKIP_WORKTREE = 0x4000;
const INTENT_TO_ADD = 0x2000;
const S_IFMT = 0o170000n;
const S_IFREG = 0o100000n;
const U32 = 0xffffffffn;
const GITLINK = 0o160000;

/**
 * The index bytes `data` with the stat data of the `files` that are still staged as checked out (stage 0,
 * same blob, same file type and executable bit, no assume-valid, skip-worktree or intent-to-add flag), as
 * `git update-index --refresh` records it after finding the content unchanged (gitformat-index(5): ctime,
 * mtime, dev, ino, uid, gid and size, each 32 bits). `replacedMtimeSec` is the mtime of the index `data`
 * was read from, in whole seconds (rounded down). Returns the new bytes, the paths recorded and whether
 * another entry is racily clean against that index (see below); null when no path is recorded, or for an
 * index this does not handle (see readIndexFile and KEPT_EXTENSIONS): then git refreshes it.
 */
export function withStatData(data: Buffer, files: readonly CheckedOut[], replacedMtimeSec: number): { bytes: Buffer; recorded: string[]; keepsRacy: boolean } | null {
  const index = parseIndex(data);
  if (!index || index.extensions.some((e) => !KEPT_EXTENSIONS.has(e))) return null;
  const byPath = new Map<string, (typeof index.entries)[number] | null>();
  for (const e of index.entries) byPath.set(e.path, byPath.has(e.path) || e.stage !== 0 ? null : e); // a conflict: none
  const bytes = Buffer.from(data);
  const recorded: string[] = [];
  for (const { path, oid, stat } of files) {
    const e = byPath.get(path);
    if (!e || e.oid !== oid || path.includes('\uFFFD')) continue;
    if (e.flags & ASSUME_VALID || e.extendedFlags & (SKIP_WORKTREE | INTENT_TO_ADD)) continue;
    const executable = (stat.mode & 0o100n) !== 0n;
    if ((stat.mode & S_IFMT) !== S_IFREG || (e.mode !== 0o100644 && e.mode !== 0o100755) || executable !== (e.mode === 0o100755)) continue;
    const fields = [
      stat.ctimeNs / 1_000_000_000n,
      stat.ctimeNs % 1_000_000_000n,
      stat.mtimeNs / 1_000_000_000n,
      stat.mtimeNs % 1_000_000_000n,
      stat.dev,
      stat.ino,
    ];
    fields.forEach((v, i) => bytes.writeUInt32BE(Number(v & U32), e.at + 4 * i));
    // The mode field (at 24) is the entry's and stays; then uid, gid and size.
    [stat.uid, stat.gid, stat.size].forEach((v, i) => bytes.writeUInt32BE(Number(v & U32), e.at + 28 + 4 * i));
    recorded.push(path);
  }
  if (recorded.length === 0) return null;
  // An entry whose mtime is not older than the index it replaces may have changed after its stat data was
  // taken (git's racy-git problem): only that index's time makes git compare its content. git, writing an
  // index, compares it then and gives a changed one size 0 (ce_smudge_racily_clean_entry). Here the new
  // index must keep a time no later than the replaced one's second instead, so git still compares it.
  const done = new Set(recorded);
  const keepsRacy = replacedMtimeSec !== 0 && index.entries.some((e) => !done.has(e.path) && e.mode !== GITLINK && bytes.readUInt32BE(e.at + 8) >= replacedMtimeSec);
  const body = bytes.subarray(0, bytes.length - index.hashLength);
  createHash(index.hashLength === 20 ? 'sha1' : 'sha256').update(body).digest().copy(bytes, body.length);
  return { bytes, recorded, keepsRacy };
}
