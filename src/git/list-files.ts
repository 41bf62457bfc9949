import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseIndex } from './index-file.js';
import { gitBuffer } from './run.js';

export interface TreeEntry {
  path: string;
  oid: string;
  mode: string;
}

export interface IndexListing {
  /** Stage-0 entries. */
  staged: TreeEntry[];
  /** Every path in the index once, conflicted ones included. */
  paths: string[];
}

/**
 * The index's entries, as `git ls-files -s` lists them: read in process when the git dir is given and
 * index-file.ts handles the index (a git process costs 10-20 ms), else from one `git ls-files`.
 */
export function listIndex(root: string, gitDir?: string): IndexListing {
  const read = gitDir !== undefined && process.env.GIT_INDEX_FILE === undefined ? readIndex(join(gitDir, 'index')) : null;
  if (read) return read;
  const staged: TreeEntry[] = [];
  const paths = new Set<string>();
  const raw = gitBuffer(['ls-files', '-s', '-z'], { cwd: root })!.toString('utf8');
  for (const rec of raw.split('\0')) {
    const m = /^(\d+) ([0-9a-f]+) (\d)\t(.*)$/s.exec(rec);
    if (!m) continue;
    paths.add(m[4]);
    if (m[3] === '0') staged.push({ mode: m[1], oid: m[2], path: m[4] });
  }
  return { staged, paths: [...paths] };
}

function readIndex(file: string): IndexListing | null {
  let parsed;
  try {
    parsed = parseIndex(readFileSync(file));
  } catch {
    return null;
  }
  if (!parsed) return null;
  const staged: TreeEntry[] = [];
  const paths = new Set<string>();
  for (const e of parsed.entries) {
    paths.add(e.path);
    if (e.stage === 0) staged.push({ mode: e.mode.toString(8).padStart(6, '0'), oid: e.oid, path: e.path });
  }
  return { staged, paths: [...paths] };
}

/** Files of HEAD (or another tree-ish), or of the index when `treeish` is 'index'. Stage-0 entries only. */
export function listFiles(root: string, treeish: string | 'index'): TreeEntry[] {
  if (treeish === 'index') return listIndex(root).staged;
  const out: TreeEntry[] = [];
  const raw = gitBuffer(['ls-tree', '-r', '-z', '--full-tree', treeish], { cwd: root, allowFailure: true });
  if (!raw) return out;
  for (const rec of raw.toString('utf8').split('\0')) {
    const m = /^(\d+) blob ([0-9a-f]+)\t(.*)$/s.exec(rec);
    if (m) out.push({ mode: m[1], oid: m[2], path: m[3] });
  }
  return out;
}
