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

/** The index's entries, from one `git ls-files`. */
export function listIndex(root: string): IndexListing {
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
