import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readIndexFile } from '../../src/git/index-file.js';
import { listIndex } from '../../src/git/list-files.js';
import { cleanupTempDirs, tempDir } from '../helpers.js';
import { conflictAndIntentToAdd, gitOut } from './index-repo.js';

afterAll(cleanupTempDirs);

const git = (dir: string, args: string[]): Buffer => gitOut(dir, args);

/** What `git ls-files -s` says, in the reader's shape. */
function lsFiles(dir: string): { path: string; oid: string; stage: number }[] {
  return git(dir, ['ls-files', '-s', '-z'])
    .toString('utf8')
    .split('\0')
    .filter(Boolean)
    .map((rec) => {
      const m = /^\d+ ([0-9a-f]+) (\d)\t(.*)$/s.exec(rec)!;
      return { path: m[3], oid: m[1], stage: Number(m[2]) };
    });
}

/** A repository with nested, long, non-UTF-8 and shared-prefix names (v4 compresses prefixes). */
function repo(format: 'sha1' | 'sha256' = 'sha1'): string {
  const dir = tempDir();
  git(dir, ['init', '-q', `--object-format=${format}`]);
  const names = ['a.toml', 'pipelines/p1/.dlt/secrets.toml', 'pipelines/p1/.dlt/prod.secrets.toml', 'pipelines/p10/x', `deep/${'d'.repeat(120)}/f`, 'sp ace/ünï.toml'];
  for (const [i, name] of names.entries()) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), `content ${i}\n`);
  }
  writeFileSync(Buffer.concat([Buffer.from(join(dir, 'bad-')), Buffer.from([0xff]), Buffer.from('-name')]), 'x'); // not UTF-8
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'one']);
  return dir;
}

describe('readIndexFile reads the index as git ls-files lists it', () => {
  for (const version of [2, 3, 4]) {
    it(`index version ${version}`, () => {
      const dir = repo();
      git(dir, ['update-index', '--index-version', String(version)]);
      if (version >= 3) git(dir, ['update-index', '--skip-worktree', 'a.toml']); // an extended-flags entry
      expect(readFileSync(join(dir, '.git', 'index')).readUInt32BE(4)).toBe(version);
      const entries = readIndexFile(join(dir, '.git', 'index'));
      expect(entries).toHaveLength(7);
      expect(entries!.some((e) => e.path === 'bad-\uFFFD-name')).toBe(true);
      expect(entries).toEqual(lsFiles(dir));
    });
  }

  it('a SHA-256 repository', () => {
    const dir = repo('sha256');
    const entries = readIndexFile(join(dir, '.git', 'index'))!;
    expect(entries[0].oid).toHaveLength(64);
    expect(entries).toEqual(lsFiles(dir));
  });

  it('the three stages of a conflict, and intent-to-add entries', () => {
    const dir = repo();
    conflictAndIntentToAdd(dir, 'n\n');
    const entries = readIndexFile(join(dir, '.git', 'index'))!;
    expect(entries.filter((e) => e.path === 'a.toml').map((e) => e.stage)).toEqual([1, 2, 3]);
    expect(entries).toEqual(lsFiles(dir));
  });

  it('gives up (null) on what it does not handle: a split index, damage, a missing file', () => {
    const dir = repo();
    const index = join(dir, '.git', 'index');
    const good = readFileSync(index);
    for (const i of [20, good.length - 30, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[i] ^= 1;
      writeFileSync(index, bad);
      expect(readIndexFile(index), `byte ${i} flipped`).toBeNull();
    }
    writeFileSync(index, good.subarray(0, good.length - 5));
    expect(readIndexFile(index)).toBeNull();
    writeFileSync(index, good);
    git(dir, ['update-index', '--split-index']);
    expect(readIndexFile(index)).toBeNull();
    expect(readIndexFile(join(dir, 'no-such-index'))).toBeNull();
  });

  it('gives up on an extension git requires readers to understand (not A-Z first), and reads past optional ones', () => {
    const dir = repo();
    const index = join(dir, '.git', 'index');
    const good = readFileSync(index);
    /** The index with one more extension before its checksum, and the checksum made again. */
    const withExtension = (signature: string): Buffer => {
      const body = good.subarray(0, good.length - 20);
      const ext = Buffer.alloc(12);
      ext.write(signature, 0, 'latin1');
      ext.writeUInt32BE(4, 4);
      const data = Buffer.concat([body, ext]);
      return Buffer.concat([data, createHash('sha1').update(data).digest()]);
    };
    writeFileSync(index, withExtension('ZZZZ'));
    expect(readIndexFile(index)).toEqual(lsFiles(dir)); // git, too, reads past it
    for (const required of ['abcd', 'link', '1xyz', '~ext']) {
      writeFileSync(index, withExtension(required));
      expect(readIndexFile(index), required).toBeNull();
    }
  });

  it('leaves a path longer than 4096 bytes to git (version 4 could otherwise decode a small file to gigabytes)', () => {
    for (const version of [2, 4]) {
      const dir = repo();
      const oid = git(dir, ['rev-parse', 'HEAD:a.toml']).toString().trim();
      git(dir, ['update-index', '--add', '--cacheinfo', `100644,${oid},${Array(25).fill('d'.repeat(200)).join('/')}/f`]);
      git(dir, ['update-index', '--index-version', String(version)]);
      expect(readIndexFile(join(dir, '.git', 'index')), `version ${version}`).toBeNull();
      expect(lsFiles(dir)).toHaveLength(8); // git itself lists it
    }
  });
});

describe('listIndex', () => {
  it('in process, lists what git ls-files lists: modes, stages, intent-to-add, a symlink and a gitlink', () => {
    const dir = repo();
    conflictAndIntentToAdd(dir, 'n\n');
    writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(dir, 'run.sh'), 0o755);
    symlinkSync('pipelines/p10/x', join(dir, 'link.toml'));
    git(dir, ['add', 'run.sh', 'link.toml']);
    const head = git(dir, ['rev-parse', 'HEAD']).toString().trim();
    git(dir, ['update-index', '--add', '--cacheinfo', `160000,${head},vendor/sub`]);
    const gitDir = join(dir, '.git');
    const inProcess = listIndex(dir, gitDir);
    const byGit = listIndex(dir);
    expect(inProcess).toEqual(byGit);
    expect(new Set(inProcess.staged.map((e) => e.mode))).toEqual(new Set(['100644', '100755', '120000', '160000']));
    expect(inProcess.paths).toContain('a.toml'); // conflicted: listed once, not staged
    expect(inProcess.staged.some((e) => e.path === 'a.toml')).toBe(false);
    // What index-file.ts does not read (here a split index) is listed by git.
    git(dir, ['update-index', '--split-index']);
    expect(listIndex(dir, gitDir)).toEqual(byGit);
  });
});
