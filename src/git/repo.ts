import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { GitSealError } from '../errors.js';
import { git, gitMaybe } from './run.js';

export interface Repo {
  /** Absolute path of the work tree's top level. */
  root: string;
  /** Absolute path of the git directory. */
  gitDir: string;
}

/** The repository containing `path` (a file or directory); a one-line error outside any repository. */
export function findRepo(path = process.cwd()): Repo {
  let dir = resolve(path);
  try {
    if (!statSync(dir).isDirectory()) dir = dirname(dir);
  } catch {
    dir = dirname(dir);
  }
  const found = findRepoFast(dir);
  if (found) return found;
  const out = gitMaybe(['rev-parse', '--show-toplevel', '--absolute-git-dir'], { cwd: dir });
  if (out === null) {
    throw new GitSealError(`${path}: not inside a git repository`, 'run git init (or cd into your repository) first');
  }
  const [root, gitDir] = out.split('\n');
  if (!root) throw new GitSealError(`${path}: inside a bare repository or .git directory`, 'run git-seal from a work tree');
  return { root, gitDir };
}

/**
 * Find the work tree without spawning git (the filter and exec start often): the nearest parent with a
 * `.git` directory that we own. Anything unusual (GIT_DIR, a `.git` file of a worktree or submodule,
 * another owner, ceiling directories) is left to `git rev-parse`.
 */
function findRepoFast(dir: string): Repo | null {
  if (process.env.GIT_DIR || process.env.GIT_WORK_TREE || process.env.GIT_CEILING_DIRECTORIES) return null;
  for (let d = dir; ; d = dirname(d)) {
    try {
      const st = statSync(join(d, '.git'));
      if (!st.isDirectory() || st.uid !== process.getuid?.() || !statSync(join(d, '.git', 'HEAD')).isFile()) return null;
      return { root: d, gitDir: join(d, '.git') };
    } catch {
      /* no .git here: look further up */
    }
    if (dirname(d) === d) return null;
  }
}

/** Path of `file` relative to the repository root, with forward slashes (as git and .gitattributes use). */
export function repoPath(repo: Repo, file: string): string {
  const abs = isAbsolute(file) ? file : resolve(process.cwd(), file);
  const rel = relative(repo.root, abs).split('\\').join('/');
  if (rel.startsWith('../') || rel === '..') throw new GitSealError(`${file}: outside the repository at ${repo.root}`, 'name a file inside the repository');
  return rel;
}

export function hasHead(repo: Repo): boolean {
  return gitMaybe(['rev-parse', '--verify', '-q', 'HEAD'], { cwd: repo.root }) !== null;
}

export function gitVersion(): string {
  return git(['--version'], { cwd: process.cwd() }).replace(/^git version /, '');
}
