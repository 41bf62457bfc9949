import { existsSync, lstatSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendLocalConfig } from '../../src/git/local-config.js';
import { cleanupTempDirs, git, isolatedEnv, tempDir } from '../helpers.js';

afterAll(cleanupTempDirs);

const TRICKY: [string, string][] = [
  ['filter.git-seal.process', `sh -c 'n=$1; [ -f "$f" ] || exit 127; exec "$n" "$f" "$@"' git-seal node "C:\\Program Files\\x" filter-process`],
  ['filter.git-seal.required', 'true'],
  ['merge.git-seal.name', ' leading space; a # and a ; trailing '],
  ['mergetool.keepbackup', 'false'],
];

function repo(): { root: string; gitDir: string; env: NodeJS.ProcessEnv } {
  const root = tempDir();
  const env = isolatedEnv(root);
  git(['init', '-q'], { cwd: root, env });
  return { root, gitDir: join(root, '.git'), env };
}

function readBack(root: string, env: NodeJS.ProcessEnv): Map<string, string> {
  return new Map(TRICKY.map(([k]) => [k, git(['config', '--local', '--get', k], { cwd: root, env }).replace(/\n$/, '')]));
}

describe('appendLocalConfig', () => {
  it('writes every entry in one go, exactly as git config --get reads them back', () => {
    const r = repo();
    const before = readFileSync(join(r.gitDir, 'config'), 'utf8');
    expect(appendLocalConfig(r, TRICKY, () => readBack(r.root, r.env), readFileSync(join(r.gitDir, 'config')))).toBe(true);
    expect(readBack(r.root, r.env)).toEqual(new Map(TRICKY));
    expect(readFileSync(join(r.gitDir, 'config'), 'utf8').startsWith(before)).toBe(true);
    expect(existsSync(join(r.gitDir, 'config.lock'))).toBe(false);
    // git can still edit it afterwards.
    git(['config', '--local', 'filter.git-seal.required', 'false'], { cwd: r.root, env: r.env });
    expect(git(['config', '--get', 'filter.git-seal.required'], { cwd: r.root, env: r.env }).trim()).toBe('false');
  });

  it('changes nothing when the config changed since the caller looked (another writer set a key)', () => {
    const r = repo();
    const looked = readFileSync(join(r.gitDir, 'config'));
    git(['config', '--local', 'filter.git-seal.required', 'true'], { cwd: r.root, env: r.env });
    const now = readFileSync(join(r.gitDir, 'config'), 'utf8');
    expect(appendLocalConfig(r, TRICKY, () => readBack(r.root, r.env), looked)).toBe(false);
    expect(readFileSync(join(r.gitDir, 'config'), 'utf8')).toBe(now);
  });

  it('changes nothing while git holds the config lock', () => {
    const r = repo();
    const before = readFileSync(join(r.gitDir, 'config'), 'utf8');
    writeFileSync(join(r.gitDir, 'config.lock'), '');
    expect(appendLocalConfig(r, TRICKY, () => readBack(r.root, r.env), readFileSync(join(r.gitDir, 'config')))).toBe(false);
    expect(readFileSync(join(r.gitDir, 'config'), 'utf8')).toBe(before);
  });

  it('puts the old file back when git reads something else', () => {
    const r = repo();
    const before = readFileSync(join(r.gitDir, 'config'), 'utf8');
    expect(appendLocalConfig(r, TRICKY, () => new Map(), readFileSync(join(r.gitDir, 'config')))).toBe(false);
    expect(readFileSync(join(r.gitDir, 'config'), 'utf8')).toBe(before);
  });

  it('keeps the bytes already in the file, and leaves a symlinked config to git', () => {
    const r = repo();
    const cfg = join(r.gitDir, 'config');
    const latin1 = Buffer.concat([readFileSync(cfg), Buffer.from('[user]\n\tname = Jos'), Buffer.from([0xe9]), Buffer.from('\n')]);
    writeFileSync(cfg, latin1);
    expect(appendLocalConfig(r, TRICKY, () => readBack(r.root, r.env), readFileSync(join(r.gitDir, 'config')))).toBe(true);
    expect(readFileSync(cfg).subarray(0, latin1.length).equals(latin1)).toBe(true);

    const s = repo();
    const target = join(tempDir(), 'shared-config');
    writeFileSync(target, readFileSync(join(s.gitDir, 'config')));
    rmSync(join(s.gitDir, 'config'));
    symlinkSync(target, join(s.gitDir, 'config'));
    expect(appendLocalConfig(s, TRICKY, () => new Map(TRICKY), readFileSync(join(s.gitDir, 'config')))).toBe(false);
    expect(lstatSync(join(s.gitDir, 'config')).isSymbolicLink()).toBe(true);
  });

  it('leaves linked worktrees and values with line breaks to git config', () => {
    const r = repo();
    git(['commit', '-q', '--allow-empty', '-m', 'x'], { cwd: r.root, env: r.env });
    const wt = join(tempDir(), 'wt');
    git(['worktree', 'add', '-q', wt], { cwd: r.root, env: r.env });
    const wtGitDir = git(['rev-parse', '--absolute-git-dir'], { cwd: wt, env: r.env }).trim();
    expect(appendLocalConfig({ root: wt, gitDir: wtGitDir }, TRICKY, () => new Map(TRICKY), Buffer.alloc(0))).toBe(false);
    expect(appendLocalConfig(r, [['merge.git-seal.name', 'two\nlines']], () => new Map([['merge.git-seal.name', 'two\nlines']]), readFileSync(join(r.gitDir, 'config')))).toBe(false);
  });
});
