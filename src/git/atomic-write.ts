import { closeSync, existsSync, fchmodSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { randomPooled } from '../util/random.js';
import { GitSealError } from '../errors.js';
import { acquireLock, lockPathFor, pidAlive } from '../util/lock.js';
import { stopPoint } from '../util/test-hook.js';
import { findRepo } from './repo.js';
import { gitMaybe } from './run.js';

/**
 * Every file git-seal writes goes through here: the bytes go to a private temp file (0600) that git never
 * picks up, are fsynced, and the temp file is renamed over the target. A crash at any point leaves either
 * the old file or the new one, plus at worst a temp file inside the git directory.
 *
 * Where the temp file lives, for a target in a work tree: `<git-dir>/git-seal/tmp/` (the worktree's own git
 * dir for a linked worktree). When that is on another filesystem than the target (rename would not be
 * atomic), a private directory named `.git` beside the target: git skips every entry named `.git` when it
 * lists or adds files, and refuses such paths outright. Outside any repository, beside the target.
 * Stale temp files (their writer's pid is gone) are removed on the next write there.
 */

const TEMP_SUFFIX = '.tmp';

/** Temp names (files or directories) start with the writer's pid, so a later run can tell stale ones. */
export function tempName(): string {
  return `${process.pid}-${randomPooled(6).toString('hex')}${TEMP_SUFFIX}`;
}

const swept = new Set<string>();

/** Remove temp files and directories left by writers that no longer run (SIGKILL, power loss). */
export function sweepStale(dir: string): void {
  if (swept.has(dir)) return;
  swept.add(dir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^(\d+)-[0-9a-f]+\.tmp(?:\.lock)?$/.exec(name); // .lock: git's, on a scratch index (index-lock.ts)
    if (!m || pidAlive(Number(m[1]))) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
  }
}

const gitDirs = new Map<string, string | null>();

/**
 * The git dir of the work tree holding `dir`, or null when `dir` is in none (or inside a git dir). A
 * directory without a `.git` entry belongs where its parent does (findRepo looks further up the same
 * way), so a batch of files in sibling directories costs one `stat` per new directory.
 */
export function gitDirOf(path: string): string | null {
  const dir = resolve(path); // a relative walk would end at '.', below the real parents
  let found = gitDirs.get(dir);
  if (found !== undefined) return found;
  const parent = dirname(dir);
  if (parent !== dir && !process.env.GIT_DIR && !process.env.GIT_WORK_TREE && !process.env.GIT_CEILING_DIRECTORIES && !existsSync(join(dir, '.git'))) {
    found = gitDirOf(parent);
  } else {
    try {
      found = findRepo(dir).gitDir;
    } catch {
      found = null; // not in a work tree
    }
  }
  gitDirs.set(dir, found);
  return found;
}

/** `<git-dir>/git-seal/<name>`, created 0700; null when `dir` is in no work tree. */
export function privateGitSealDir(dir: string, name: string): string | null {
  const gitDir = gitDirOf(dir);
  if (!gitDir) return null;
  const p = join(gitDir, 'git-seal', name);
  if (!made.has(p) || !existsSync(p)) {
    mkdirSync(p, { recursive: true, mode: 0o700 });
    made.add(p);
  }
  return p;
}

const made = new Set<string>();

const devices = new Map<string, number>();
/** Whether `dir` is on the filesystem of `tempDir` (whose device is asked once). */
function sameDevice(tempDir: string, dir: string): boolean {
  let dev = devices.get(tempDir);
  if (dev === undefined) devices.set(tempDir, (dev = statSync(tempDir).dev));
  return statSync(dir).dev === dev;
}

/** A directory for temp files on the same filesystem as `targetDir`, where git never picks them up. */
export function tempDirFor(targetDir: string): { dir: string; remove?: () => void } {
  const inGit = privateGitSealDir(targetDir, 'tmp');
  if (inGit === null) return { dir: targetDir };
  if (sameDevice(inGit, targetDir)) {
    sweepStale(inGit);
    return { dir: inGit };
  }
  const beside = join(targetDir, '.git');
  try {
    mkdirSync(beside, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !lstatSync(beside).isDirectory() || gitDirOf(targetDir) === null) {
      throw new GitSealError(`${targetDir}: cannot write here atomically: the git directory is on another filesystem and ${beside} is taken`, 'move the work tree to the filesystem of its git directory');
    }
  }
  sweepStale(beside);
  return {
    dir: beside,
    remove: () => {
      try {
        rmdirSync(beside); // only when empty: another writer may still use it
      } catch {
        /* in use */
      }
    },
  };
}

/**
 * The file a write to `path` lands in. A symbolic link is written through (its target is replaced, the link
 * stays), but only when that does not move the content past git-seal: a target inside a work tree must be
 * covered by the git-seal filter there. A dangling link is refused.
 */
export function resolveWriteTarget(path: string): string {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return path; // a new file
  }
  if (!st.isSymbolicLink()) return path;
  let target: string;
  try {
    target = realpathSync(path);
  } catch {
    throw new GitSealError(`${path}: is a symbolic link to a missing file`, 'create the file it points to, or replace the link with a regular file');
  }
  const dir = dirname(target);
  const gitDir = gitDirOf(dir);
  if (gitDir !== null) {
    const root = findRepo(dir).root;
    const rel = relative(root, target).split('\\').join('/');
    const filter = gitMaybe(['check-attr', 'filter', '--', rel], { cwd: root });
    if (!filter?.endsWith(': filter: git-seal')) {
      throw new GitSealError(
        `${path}: is a symbolic link to ${target}, which the git-seal filter does not cover (git would commit it in plaintext); nothing was written`,
        `cover ${rel} in .gitattributes, or replace the link with a regular file`,
      );
    }
  }
  return target;
}

export interface AtomicWriteOptions {
  /**
   * The bytes the caller read before computing `data` (null: the file did not exist). The write is refused,
   * changing nothing, when the file no longer holds them: someone else wrote it in the meantime.
   */
  expected?: Buffer | null;
  /** Put the temp file beside the target (for files inside the git dir, which git never adds). */
  tempBeside?: boolean;
}

function currentBytes(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Refuse when `path` no longer holds what the caller read. */
export function assertUnchanged(path: string, expected: Buffer | null, shown = path): void {
  const now = currentBytes(path);
  if (now === null && expected === null) return;
  if (now !== null && expected !== null && now.equals(expected)) return;
  throw new GitSealError(`${shown}: changed on disk while git-seal was updating it; nothing was written`, 'run the command again (its change was not applied)');
}

/**
 * Write a file atomically (see above). The target keeps its permission bits if it exists; otherwise `mode`
 * applies (default 0644; plaintext writers pass 0600).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode?: number, opts: AtomicWriteOptions = {}): void {
  const target = resolveWriteTarget(path);
  let fileMode = mode ?? 0o644;
  try {
    fileMode = statSync(target).mode & 0o7777;
  } catch {
    /* new file */
  }
  const temp = opts.tempBeside ? { dir: dirname(target) } : tempDirFor(dirname(target));
  const tmp = join(temp.dir, temp.dir === dirname(target) ? `.${basename(target)}.${tempName()}` : tempName());
  const fd = openSync(tmp, 'wx', 0o600);
  let renamed = false;
  try {
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fchmodSync(fd, fileMode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (opts.expected !== undefined) assertUnchanged(target, opts.expected, path);
    stopPoint('rename');
    renameSync(tmp, target);
    renamed = true;
  } finally {
    if (!renamed) {
      try {
        unlinkSync(tmp);
      } catch {
        /* already gone */
      }
    }
    temp.remove?.();
  }
}

/** Lock `path` (its symlink target) against other git-seal writers; returns the release. */
export function lockForWrite(path: string): () => void {
  const target = resolveWriteTarget(path);
  return acquireLock(lockPathFor(target, privateGitSealDir(dirname(target), 'locks')), path);
}

/** Run a read-modify-write of `path` under its lock. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const release = lockForWrite(path);
  try {
    return await fn();
  } finally {
    release();
  }
}
