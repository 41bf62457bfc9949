import { closeSync, openSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { GitSealError } from '../errors.js';
import type { Repo } from './repo.js';
import { git } from './run.js';

const held = new Map<string, number>();

/** Path of the repository's index (honours GIT_INDEX_FILE and linked worktrees). */
export function indexPath(repo: Repo): string {
  return resolve(repo.root, git(['rev-parse', '--git-path', 'index'], { cwd: repo.root }));
}

/**
 * Take git's own index.lock, as git does before it changes the index or rewrites tracked files: while
 * git-seal holds it, git commands that would change the index fail cleanly instead of racing with it.
 * Re-entrant within a process. Returns the release.
 */
export function holdIndexLock(repo: Repo): () => void {
  const lock = `${indexPath(repo)}.lock`;
  const count = held.get(lock) ?? 0;
  if (count === 0) {
    try {
      closeSync(openSync(lock, 'wx', 0o644));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      throw new GitSealError(
        `Unable to create '${lock}': File exists (another git process seems to be running in this repository); nothing was changed`,
        'wait for it to finish and run this again; if no git process is running, remove that file',
      );
    }
  }
  held.set(lock, count + 1);
  return () => {
    const n = held.get(lock)! - 1;
    if (n > 0) held.set(lock, n);
    else {
      held.delete(lock);
      unlinkSync(lock);
    }
  };
}
