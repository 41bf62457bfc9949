import { cpSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allObjects, cleanupTempDirs, diverge, git, newRepo, person, repoWith, ROOT, run, SECRETS, tempDir } from '../helpers.js';

afterAll(cleanupTempDirs);

const FILE = '.dlt/secrets.toml';

/** git-seal's own error lines: one line each, never a stack trace. */
function expectOneLineErrors(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toContain('unexpected error');
  for (const line of stderr.split('\n').filter((l) => l.startsWith('git-seal'))) expect(line.length).toBeLessThan(400);
}

function touch(path: string): void {
  const later = new Date(Date.now() + 10_000);
  utimesSync(path, later, later);
}

describe('a .gitseal.toml git-seal cannot read (scenario 12)', () => {
  for (const [what, config] of [
    ['a newer version', 'version = 2\n[recipients]\n'],
    ['a syntax error', 'version = 1\n[recipients\n'],
  ] as const) {
    it(`with ${what}: status, diff and stash work for unchanged files; a changed one fails with one line`, () => {
      const alice = person('alice');
      const dir = repoWith(alice, { [FILE]: SECRETS, 'README.md': 'readme\n' });
      writeFileSync(join(dir, '.gitseal.toml'), config);
      alice.git(['commit', '-q', '-am', 'a teammate edits the config'], dir);
      touch(join(dir, FILE)); // stat-dirty: git must ask the filter
      expect(run('git', ['status', '--porcelain'], { cwd: dir, env: alice.env })).toMatchObject({ status: 0, stdout: '' });
      touch(join(dir, FILE));
      expect(run('git', ['diff', '--exit-code'], { cwd: dir, env: alice.env }).status).toBe(0);
      writeFileSync(join(dir, 'README.md'), 'changed\n');
      touch(join(dir, FILE));
      const stash = run('git', ['stash'], { cwd: dir, env: alice.env });
      expect(stash.status, stash.stderr).toBe(0);
      expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('readme\n');
      expect(run('git', ['stash', 'pop'], { cwd: dir, env: alice.env }).status).toBe(0);

      writeFileSync(join(dir, FILE), SECRETS.replace('retries = 3', 'retries = 4'));
      const add = run('git', ['add', FILE], { cwd: dir, env: alice.env });
      expect(add.status).toBe(128);
      const ours = add.stderr.split('\n').filter((l) => l.startsWith('git-seal'));
      expect(ours).toHaveLength(1);
      expect(ours[0]).toContain(FILE);
      expect(ours[0]).toContain('.gitseal.toml');
      expectOneLineErrors(add.stderr);
      expect(alice.git(['show', `:${FILE}`], dir)).not.toContain('retries = 4');
    });
  }
});

/** A repository where git-seal is a devDependency: the package sits in node_modules/git-seal. */
function devDependencyRepo(): { alice: ReturnType<typeof person>; dir: string; bin: string } {
  const alice = person('alice');
  const dir = newRepo(alice, 'gitseal-dev-');
  const pkg = join(dir, 'node_modules', 'git-seal');
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(pkg, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'bundle'), join(pkg, 'dist', 'bundle'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\n');
  const bin = join(pkg, 'bin', 'git-seal.js');
  const init = run(process.execPath, [bin, 'init', '--no-hook'], { cwd: dir, env: alice.env });
  expect(init.status, init.stderr).toBe(0);
  mkdirSync(join(dir, '.dlt'));
  writeFileSync(join(dir, FILE), SECRETS);
  alice.git(['add', '-A'], dir);
  alice.git(['commit', '-q', '-m', 'initial'], dir);
  return { alice, dir, bin };
}

describe('git-seal installed as a devDependency (scenario 13)', () => {
  it('git worktree add checks the secrets out decrypted in the new worktree', () => {
    const { alice, dir } = devDependencyRepo();
    expect(alice.git(['config', 'filter.git-seal.process'], dir)).toContain('node_modules/git-seal/bin/git-seal.js');
    const wt = join(dir, '..', 'wt2');
    const add = run('git', ['worktree', 'add', '-q', wt], { cwd: dir, env: alice.env });
    expect(add.status, add.stderr).toBe(0);
    expectOneLineErrors(add.stderr);
    expect(readFileSync(join(wt, FILE), 'utf8')).toBe(SECRETS);
    // The linked worktree seals with the main worktree's install, from any directory.
    writeFileSync(join(wt, FILE), SECRETS.replace('retries = 3', 'retries = 7'));
    mkdirSync(join(wt, 'sub'));
    alice.git(['add', `../${FILE}`], join(wt, 'sub'));
    alice.git(['commit', '-q', '-m', 'from the worktree'], wt);
    const blob = alice.git(['show', `HEAD:${FILE}`], wt);
    expect(blob).toContain('ENC[gitseal.v1,');
    expect(blob).not.toContain('pg-pass-correct-horse');
    expect(alice.git(['diff', 'HEAD~', 'HEAD'], wt)).toContain('+retries = 7');
    expect(alice.git(['status', '--porcelain'], wt)).toBe('');
  });

  it('a missing git-seal (after git clean -fdx) gives git one line naming the fix', () => {
    const { alice, dir } = devDependencyRepo();
    alice.git(['checkout', '-q', '-b', 'other'], dir);
    writeFileSync(join(dir, FILE), SECRETS.replace('retries = 3', 'retries = 8'));
    alice.git(['commit', '-q', '-am', 'other'], dir);
    alice.git(['checkout', '-q', 'main'], dir);
    alice.git(['clean', '-q', '-fdx'], dir);
    const co = run('git', ['checkout', '-q', 'other'], { cwd: dir, env: alice.env });
    expect(co.status).not.toBe(0);
    expectOneLineErrors(co.stderr);
    const ours = co.stderr.split('\n').filter((l) => l.startsWith('git-seal'));
    expect(ours).toEqual(['git-seal: not found at node_modules/git-seal/bin/git-seal.js: run npm install (or npx git-seal install)']);
  });
});

describe('a conflicted secrets file (scenario 14)', () => {
  function conflicted() {
    const alice = person('alice');
    const dir = repoWith(alice, { [FILE]: SECRETS });
    diverge(alice, dir, FILE, 'other', SECRETS.replace('sk_live_51HxYzStripeSecret', 'sk_live_THEIRS_value'), SECRETS.replace('sk_live_51HxYzStripeSecret', 'sk_live_OURS_value'));
    expect(run('git', ['merge', 'other'], { cwd: dir, env: alice.env }).status).toBe(1);
    expect(readFileSync(join(dir, FILE), 'utf8')).toContain('<<<<<<<');
    return { alice, dir };
  }

  it('git diff --name-only --diff-filter=U and git status list it', () => {
    const { alice, dir } = conflicted();
    touch(join(dir, FILE));
    const diff = run('git', ['diff', '--name-only', '--diff-filter=U'], { cwd: dir, env: alice.env });
    expect(diff.status, diff.stderr).toBe(0);
    expect(diff.stdout).toBe(`${FILE}\n`);
    expect(diff.stderr).toBe('');
    expect(alice.git(['status', '--porcelain'], dir)).toBe(`UU ${FILE}\n`);
    for (const s of ['sk_live_THEIRS_value', 'sk_live_OURS_value', 'pg-pass-correct-horse']) expect(allObjects(alice, dir)).not.toContain(s);
  });

  it('git mergetool runs the tool and stages the result sealed', () => {
    const { alice, dir } = conflicted();
    alice.git(['config', 'mergetool.takeTheirs.cmd', 'cp "$REMOTE" "$MERGED"'], dir);
    alice.git(['config', 'mergetool.takeTheirs.trustExitCode', 'true'], dir);
    const tool = run('git', ['mergetool', '--no-prompt', '--tool=takeTheirs'], { cwd: dir, env: alice.env });
    expect(tool.status, tool.stdout + tool.stderr).toBe(0);
    expect(tool.stdout).not.toContain('No files need merging');
    expect(alice.git(['ls-files', '-u'], dir)).toBe('');
    expect(readFileSync(join(dir, FILE), 'utf8')).toBe(SECRETS.replace('sk_live_51HxYzStripeSecret', 'sk_live_THEIRS_value'));
    const staged = alice.git(['show', `:${FILE}`], dir);
    expect(staged).toContain('ENC[gitseal.v1,');
    alice.git(['commit', '-q', '--no-edit'], dir);
    // No FILE.orig backup with the conflicted plaintext is left for a later `git add -A`.
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
    for (const s of ['sk_live_THEIRS_value', 'sk_live_OURS_value', 'pg-pass-correct-horse']) expect(allObjects(alice, dir)).not.toContain(s);
  });
});

describe('odd file names and small things (scenario 16)', () => {
  const DASH = '-x/.dlt/secrets.toml';

  it('a path starting with "-" works with the merge driver, single-shot clean and get --', () => {
    const alice = person('alice');
    const dir = repoWith(alice, { [DASH]: SECRETS });
    diverge(alice, dir, DASH, 'other', SECRETS.replace('retries = 3', 'retries = 4'), SECRETS.replace('port = 5432', 'port = 6543'));
    const merge = run('git', ['merge', '-q', '--no-edit', 'other'], { cwd: dir, env: alice.env });
    expect(merge.status, merge.stderr).toBe(0);
    expect(readFileSync(join(dir, DASH), 'utf8')).toBe(SECRETS.replace('retries = 3', 'retries = 4').replace('port = 5432', 'port = 6543'));

    writeFileSync(join(dir, DASH), SECRETS.replace('retries = 3', 'retries = 5'));
    // The single-shot filter: what git runs without filter.<driver>.process.
    alice.git(['config', '--unset', 'filter.git-seal.process'], dir);
    const add = run('git', ['add', '--', DASH], { cwd: dir, env: alice.env });
    expect(add.status, add.stderr).toBe(0);
    const staged = alice.git(['show', `:${DASH}`], dir);
    expect(staged).toContain('ENC[gitseal.v1,');
    expect(staged).not.toContain('pg-pass-correct-horse');

    const get = alice.seal(['get', '--', DASH, 'destination.postgres.credentials.password'], { cwd: dir });
    expect(get.status, get.stderr).toBe(0);
    expect(get.stdout).toBe('pg-pass-correct-horse\n');
  });

  it('a path with a newline does not abort git add -A, and is sealed', () => {
    const alice = person('alice');
    const dir = repoWith(alice, { [FILE]: SECRETS });
    const odd = 'x\ny/.dlt/secrets.toml';
    mkdirSync(join(dir, 'x\ny', '.dlt'), { recursive: true });
    writeFileSync(join(dir, odd), 'token = "newline-dir-secret"\n');
    writeFileSync(join(dir, 'other.txt'), 'other\n');
    const add = run('git', ['add', '-A'], { cwd: dir, env: alice.env });
    expect(add.status, add.stderr).toBe(0);
    alice.git(['commit', '-q', '-m', 'odd'], dir);
    expect(alice.git(['show', `HEAD:${odd}`], dir)).toContain('ENC[gitseal.v1,');
    expect(allObjects(alice, dir)).not.toContain('newline-dir-secret');
    touch(join(dir, odd));
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  });

  it('the hint for a tampered value says what works, and it does', () => {
    const alice = person('alice');
    const dir = repoWith(alice, { [FILE]: 'a = "first-secret"\nb = "second-secret"\n' });
    const sealed = alice.git(['show', `HEAD:${FILE}`], dir);
    const [a, b] = [/^a = (".*")$/m.exec(sealed)![1], /^b = (".*")$/m.exec(sealed)![1]];
    const swapped = sealed.replace(`a = ${a}`, 'a = @A@').replace(`b = ${b}`, `b = ${a}`).replace('a = @A@', `a = ${b}`);
    const file = join(tempDir(), 'secrets.toml');
    writeFileSync(file, swapped);
    const get = alice.seal(['get', file, 'a']);
    expect(get.status).toBe(1);
    expectOneLineErrors(get.stderr);
    expect(get.stderr).not.toContain('re-set the value');
    // Follow the hint: drop the damaged lines, then set the values again.
    expect(get.stderr).toContain('delete the damaged line');
    writeFileSync(file, swapped.replace(/^[ab] = .*\n/gm, ''));
    for (const [k, v] of [['a', 'new-a'], ['b', 'new-b']]) {
      const set = alice.seal(['set', file, k], { input: v });
      expect(set.status, set.stderr).toBe(0);
    }
    expect(alice.seal(['get', file, 'b']).stdout).toBe('new-b\n');
  });

  it('a .gitseal.toml that is a directory is a one-line error', () => {
    const alice = person('alice');
    const dir = join(tempDir(), 'repo');
    mkdirSync(join(dir, '.gitseal.toml'), { recursive: true });
    git(['init', '-q'], { cwd: dir, env: alice.env });
    const r = alice.seal(['check'], { cwd: dir });
    expect(r.status).toBe(1);
    expectOneLineErrors(r.stderr);
    expect(r.stderr).toMatch(/^git-seal: .*\.gitseal\.toml.* is a directory/);
  });

  it('set a.b.d adds a dotted key when a.b is defined by dotted keys', () => {
    const alice = person('alice');
    const dir = repoWith(alice, { [FILE]: 'top = 1\na.b.c = "one"\n\n[t]\nx.y = "two"\n' });
    for (const [key, value] of [['a.b.d', 'three'], ['t.x.z', 'four']]) {
      const r = alice.seal(['set', FILE, key], { cwd: dir, input: value });
      expect(r.status, r.stderr).toBe(0);
    }
    expect(readFileSync(join(dir, FILE), 'utf8')).toBe('top = 1\na.b.c = "one"\na.b.d = "three"\n\n[t]\nx.y = "two"\nx.z = "four"\n');
  });
});
