import { execFileSync } from 'node:child_process';
import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gitDirOf } from '../../src/git/atomic-write.js';
import { cleanupTempDirs, tempDir } from '../helpers.js';

afterAll(cleanupTempDirs);

// gitDirOf decides where a write's temp file and its lock go: the same file must always get the same
// answer, from any working directory, or two writers would not exclude each other.
describe('gitDirOf', () => {
  const nest = realpathSync(tempDir());
  execFileSync('git', ['init', '-q', nest]);
  mkdirSync(join(nest, 'p', 'q', '.dlt'), { recursive: true });
  execFileSync('git', ['init', '-q', join(nest, 'p', 'i')]); // a repository nested in the outer one

  it('answers for a relative path as for the absolute one, from inside a nested repository', () => {
    const cwd = process.cwd();
    process.chdir(join(nest, 'p', 'i'));
    try {
      expect(gitDirOf('../q/.dlt')).toBe(join(nest, '.git'));
      expect(gitDirOf('.')).toBe(join(nest, 'p', 'i', '.git'));
    } finally {
      process.chdir(cwd);
    }
    expect(gitDirOf(join(nest, 'p', 'q', '.dlt'))).toBe(join(nest, '.git'));
    expect(gitDirOf(join(nest, 'p', 'i', 'sub'))).toBe(join(nest, 'p', 'i', '.git'));
  });

  it('a directory inside the git dir belongs to its work tree, as findRepo says', () => {
    expect(gitDirOf(join(nest, '.git', 'git-seal', 'tmp'))).toBe(join(nest, '.git'));
  });
});
