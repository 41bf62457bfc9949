/** Helpers of the index tests: git with a fixed identity, and a conflicted merge to read back. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

const ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x', GIT_CONFIG_NOSYSTEM: '1' };

/** Run git in `dir` (throws on failure) and return its stdout. */
export const gitOut = (dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Buffer =>
  execFileSync('git', args, { cwd: dir, env: { ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });

/** Leave `a.toml` (committed in `dir`) conflicted, with its three stages, and `new.toml` added with intent-to-add. */
export function conflictAndIntentToAdd(dir: string, newContent: string): void {
  gitOut(dir, ['checkout', '-q', '-b', 'other']);
  writeFileSync(join(dir, 'a.toml'), 'theirs\n');
  gitOut(dir, ['commit', '-q', '-am', 'theirs']);
  gitOut(dir, ['checkout', '-q', '-']);
  writeFileSync(join(dir, 'a.toml'), 'ours\n');
  gitOut(dir, ['commit', '-q', '-am', 'ours']);
  expect(() => gitOut(dir, ['merge', '-q', 'other'])).toThrow();
  writeFileSync(join(dir, 'new.toml'), newContent);
  gitOut(dir, ['add', '-N', 'new.toml']);
}
