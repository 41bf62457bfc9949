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
  // Fast path (the filter runs at the top of the work tree, for every git command): a .git directory.
  if (!process.env.GIT_DIR && !process.env.GIT_WORK_TREE) {
    try {
      if (statSync(join(dir, '.git')).isDirectory() && statSync(join(dir, '.git', 'HEAD')).isFile()) return { root: dir, gitDir: join(dir, '.git') };
    } catch {
      /* not the top of a work tree: ask git */
    }
  }
  const out = gitMaybe(['rev-parse', '--show-toplevel', '--absolute-git-dir'], { cwd: dir });
  if (out === null) {
    throw new GitSealError(`${path}: not inside a git repository`, 'run git init (or cd into your repository) first');
  }
  const [root, gitDir] = out.split('\n');
  if (!root) throw new GitSealError(`${path}: inside a bare repository or .git directory`, 'run git-seal from a work tree');
  return { root, gitDir };
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
