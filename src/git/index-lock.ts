import { chmodSync, closeSync, copyFileSync, existsSync, fstatSync, linkSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { GitSealError } from '../errors.js';
import { privateGitSealDir, tempName } from './atomic-write.js';
import { stopPoint } from '../util/test-hook.js';
import { withStatData, type CheckedOut } from './index-stat.js';
import type { Repo } from './repo.js';
import { git } from './run.js';

/** Path of the repository's index (honours GIT_INDEX_FILE and linked worktrees). */
function indexPath(repo: Repo): string {
  // A plain clone's index is its git dir's; anything else is asked of git.
  const path =
    !process.env.GIT_INDEX_FILE && !existsSync(join(repo.gitDir, 'commondir'))
      ? join(repo.gitDir, 'index')
      : resolve(repo.root, git(['rev-parse', '--git-path', 'index'], { cwd: repo.root }));
  // git locks and replaces a symbolic link's target, not the link.
  try {
    return realpathSync(path);
  } catch {
    return path; // no index yet
  }
}

function indexLocked(lock: string): GitSealError {
  return new GitSealError(
    `Unable to create '${lock}': File exists (another git process seems to be running in this repository); nothing was changed`,
    'wait for it to finish and run this again; if no git process is running, remove that file',
  );
}

/** Fail, with git's own error, while git holds the index: before changing anything, as git would. */
export function assertIndexUnlocked(repo: Repo): void {
  const lock = `${indexPath(repo)}.lock`;
  if (existsSync(lock)) throw indexLocked(lock);
}

export interface IndexUpdate {
  mode: string;
  oid: string;
  path: string;
  /** The blob the caller expects staged now; the update of this path is skipped if it differs. */
  expect: string;
}

function stagedOids(repo: Repo, index: string, paths: string[]): Map<string, string> {
  const out = git(['ls-files', '-s', '-z', '--', ...paths], { cwd: repo.root, env: { ...process.env, GIT_INDEX_FILE: index, GIT_LITERAL_PATHSPECS: '1' } });
  const m = new Map<string, string>();
  for (const rec of out.split('\0')) {
    const r = /^\d+ ([0-9a-f]+) 0\t(.*)$/s.exec(rec);
    if (r) m.set(r[2], r[1]);
  }
  return m;
}

/**
 * Change index entries (see replaceIndex), never replacing what someone staged meanwhile: paths whose
 * staged blob is no longer `expect` are left alone and returned.
 */
export function updateIndex(repo: Repo, updates: readonly IndexUpdate[]): string[] {
  if (updates.length === 0) return [];
  const skipped = replaceIndex(repo, (before, scratch) => {
    copyFileSync(before.path, scratch);
    // The copy keeps the index's time, so git's write smudges entries racy against it as it would in place.
    utimesSync(scratch, before.mtimeSec, before.mtimeSec);
    const now = stagedOids(repo, scratch, updates.map((u) => u.path));
    const apply = updates.filter((u) => now.get(u.path) === u.expect);
    const info = apply.map((u) => `${u.mode} ${u.oid}\t${u.path}\0`).join('');
    if (info) git(['update-index', '-z', '--index-info'], { cwd: repo.root, input: info, env: { ...process.env, GIT_INDEX_FILE: scratch } });
    return updates.filter((u) => !apply.includes(u)).map((u) => u.path);
  });
  return skipped!;
}

/**
 * Record the stat data of working copies known to hold their staged blob, as `git update-index --refresh`
 * would after comparing their content, without a git process and its filter (see withStatData). Returns
 * the paths recorded, or null when this index is left to git.
 */
export function recordCheckedOut(repo: Repo, files: readonly CheckedOut[]): string[] | null {
  if (files.length === 0) return [];
  return replaceIndex(repo, (before, scratch) => {
    const patched = withStatData(before.bytes, files, before.mtimeSec);
    if (!patched) return null;
    writeFileSync(scratch, patched.bytes);
    chmodSync(scratch, before.mode & 0o7777); // the index's own mode (core.sharedRepository), whatever the umask
    if (patched.keepsRacy) {
      // Racily clean entries stay so: the new index is no newer than the replaced one's second.
      const sec = Math.min(before.mtimeSec, Math.floor(Date.now() / 1000));
      utimesSync(scratch, sec, sec);
    }
    return patched.recorded;
  });
}

/** The index as read for a replacement. */
interface ReadIndex {
  path: string;
  bytes: Buffer;
  /** Its mtime in whole seconds (rounded down, from the nanoseconds) and its mode, from the same open file. */
  mtimeSec: number;
  mode: number;
}

function readIndex(path: string): ReadIndex {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd, { bigint: true });
    return { path, bytes: readFileSync(fd), mtimeSec: Number(st.mtimeNs / 1_000_000_000n), mode: Number(st.mode) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Replace the index with git's lock protocol, never losing what someone staged meanwhile: `build` writes
 * the new index to `scratch` from the current one; it becomes index.lock in one step (link(2): fails if git
 * holds the lock), and is renamed over the index only if the index is still the one read (else it starts
 * over). index.lock exists only for that check, so a killed git-seal practically never leaves one behind.
 * A null from `build` changes nothing.
 */
function replaceIndex<T>(repo: Repo, build: (before: ReadIndex, scratch: string) => T | null): T | null {
  const index = indexPath(repo);
  const lock = `${index}.lock`;
  // On the index's filesystem, for link(2): the repository's private temp dir, where a killed run's copy is
  // swept by the next write; else (GIT_INDEX_FILE elsewhere) beside the index, under a name of its own.
  const tmp = privateGitSealDir(repo.root, 'tmp')!;
  const scratch = statSync(tmp).dev === statSync(dirname(index)).dev ? join(tmp, tempName()) : `${index}.git-seal-${tempName()}`;
  try {
    for (;;) {
      const before = readIndex(index);
      const result = build(before, scratch);
      if (result === null) return null;
      stopPoint('index-lock');
      try {
        linkSync(scratch, lock);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw indexLocked(lock);
        throw err;
      }
      if (!readFileSync(index).equals(before.bytes)) {
        unlinkSync(lock); // changed since it was read: start over from the new index
        continue;
      }
      renameSync(lock, index);
      return result;
    }
  } finally {
    rmSync(scratch, { force: true });
  }
}
