import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cleanupTempDirs, person, repoWith, SECRETS, startSeal, tempDir } from '../helpers.js';
import { stopped } from '../security/proc.js';

afterAll(cleanupTempDirs);

// install records the opened copies' stat data in the index itself, as `git update-index --refresh`
// would after running the filter on each (see src/git/index-stat.ts). An edit made meanwhile must still
// show as modified: git must never take someone's change for the checked-out plaintext.
describe('install records the stat data of what it checked out, never of an edit made meanwhile', () => {
  const alice = person('alice');
  const files = ['a/.dlt/secrets.toml', 'b/.dlt/secrets.toml', 'c/.dlt/secrets.toml'];
  const origin = repoWith(alice, Object.fromEntries(files.map((f) => [f, SECRETS])));

  function clone(): string {
    const dir = join(tempDir(), 'clone');
    alice.git(['clone', '-q', origin, dir], tempDir());
    return dir;
  }

  /** Run install stopped at `stopAt`, edit `file` there (same size), let it finish; returns the edited text. */
  async function editDuringInstall(dir: string, stopAt: string, file: string): Promise<string> {
    const run = startSeal(['install', '--quiet'], { cwd: dir, env: { ...alice.env, GITSEAL_TEST_STOP_AT: stopAt } });
    await stopped(run);
    const edited = readFileSync(join(dir, file), 'utf8').replace('sk_live_', 'sk_EDIT_');
    writeFileSync(join(dir, file), edited);
    process.kill(run.pid, 'SIGCONT');
    expect((await run.done).status).toBe(0);
    return edited;
  }

  /** `git ls-files --debug`'s size field per path: 0 once git must compare content, the file's size once recorded. */
  function indexSizes(dir: string): Map<string, number> {
    const out = alice.git(['ls-files', '--debug'], dir);
    const sizes = new Map<string, number>();
    let path = '';
    for (const line of out.split('\n')) {
      const size = /^\s+size: (\d+)/.exec(line);
      if (size) sizes.set(path, Number(size[1]));
      else if (line && !/^\s/.test(line)) path = line;
    }
    return sizes;
  }

  it('without git running the filter again: the index holds each opened file’s size', () => {
    const dir = clone();
    const trace = join(tempDir(), 'trace');
    const r = alice.seal(['install', '--quiet'], { cwd: dir, env: { ...alice.env, GIT_TRACE: trace } });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(trace, 'utf8')).toContain('git check-attr');
    expect(readFileSync(trace, 'utf8')).not.toMatch(/update-index.*--refresh|filter-process/);
    const sizes = indexSizes(dir);
    for (const f of files) expect(sizes.get(f), f).toBe(Buffer.byteLength(SECRETS));
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  });

  it('an edit between the write and the read-back (same size) stays modified', async () => {
    const dir = clone();
    const edited = await editDuringInstall(dir, 'install-placed', files[1]);
    expect(indexSizes(dir).get(files[1])).not.toBe(Buffer.byteLength(edited));
    expect(alice.git(['status', '--porcelain'], dir)).toBe(` M ${files[1]}\n`);
    expect(readFileSync(join(dir, files[1]), 'utf8')).toBe(edited);
  });

  it('an edit after the read-back, before the index is written (same size, same second), stays modified', async () => {
    const dir = clone();
    await editDuringInstall(dir, 'index-lock', files[2]);
    expect(alice.git(['status', '--porcelain'], dir)).toBe(` M ${files[2]}\n`);
    expect(alice.git(['diff', '--stat'], dir)).toContain(files[2]);
  });

  /** Edit `file` in place: same size, same inode, and its mtime set back to what it was. */
  function editKeepingMtime(dir: string, file: string): string {
    const p = join(dir, file);
    const { atime, mtime } = statSync(p);
    const edited = readFileSync(p, 'utf8').replace('sk_live_', 'sk_EDIT_');
    writeFileSync(p, edited);
    utimesSync(p, atime, mtime);
    return edited;
  }

  // The review's case: a path install leaves to git (here `ident`) makes a second index write. Entries the
  // first write recorded were racy against it (same second); the second write must keep them racy (git's
  // smudge of racily clean entries), or a same-size edit in that second becomes invisible once the index
  // is a second newer. core.trustctime=false leaves git only the mtime, the size and its racy check.
  it('an edit in the second the index was first written stays modified after a second index write', async () => {
    for (let attempt = 0; ; attempt++) {
      const dir = clone();
      writeFileSync(join(dir, '.git', 'info', 'attributes'), `${files[2]} ident\n`);
      alice.git(['config', 'core.trustctime', 'false'], dir);
      const run = startSeal(['install', '--quiet'], { cwd: dir, env: { ...alice.env, GITSEAL_TEST_STOP_AT: 'index-lock' } });
      await stopped(run); // the first index (the recorded stat data) is built, not yet in place
      const tmp = join(dir, '.git', 'git-seal', 'tmp');
      const firstIndex = Math.max(...readdirSync(tmp).map((f) => statSync(join(tmp, f)).mtimeMs));
      const placed = statSync(join(dir, files[0])).mtimeMs;
      if (Math.floor(placed / 1000) !== Math.floor(firstIndex / 1000)) {
        // Placed and indexed in different seconds: not the racy case. Try again.
        process.kill(run.pid, 'SIGKILL');
        await run.done;
        expect(attempt, 'placement and index write kept straddling a second').toBeLessThan(5);
        continue;
      }
      const edited = editKeepingMtime(dir, files[0]);
      while (Math.floor(Date.now() / 1000) <= Math.floor(firstIndex / 1000)) await new Promise((r) => setTimeout(r, 50));
      process.kill(run.pid, 'SIGCONT');
      await stopped(run); // the second write (git update-index for the `ident` path)
      process.kill(run.pid, 'SIGCONT');
      expect((await run.done).status).toBe(0);
      expect(alice.git(['status', '--porcelain'], dir)).toBe(` M ${files[0]}\n`);
      expect(readFileSync(join(dir, files[0]), 'utf8')).toBe(edited);
      return;
    }
  });

  it('an edit right after install, in the same second, is seen by the next install and by git', () => {
    const dir = clone();
    alice.git(['config', 'core.trustctime', 'false'], dir);
    expect(alice.seal(['install', '--quiet'], { cwd: dir }).status).toBe(0);
    const index = statSync(join(dir, '.git', 'index')).mtimeMs;
    editKeepingMtime(dir, files[1]);
    utimesSync(join(dir, files[1]), new Date(index), new Date(index)); // as if edited in the index's second
    while (Math.floor(Date.now() / 1000) <= Math.floor(index / 1000)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    // A second install rewrites the index a second later: the racy entry must stay racy (size 0).
    expect(alice.seal(['install', '--quiet'], { cwd: dir }).status).toBe(0);
    expect(alice.git(['status', '--porcelain'], dir)).toBe(` M ${files[1]}\n`);
  });

  it('keeps the index file’s mode (core.sharedRepository) whatever the umask', () => {
    const dir = clone();
    alice.git(['config', 'core.sharedRepository', 'group'], dir);
    chmodSync(join(dir, '.git', 'index'), 0o660);
    const r = spawnSync('sh', ['-c', 'umask 077 && exec "$0" "$1" install --quiet', process.execPath, BIN], { cwd: dir, env: alice.env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(join(dir, '.git', 'index')).mode & 0o777).toBe(0o660);
  });

  it('leaves a copy with CR bytes to git, which may convert line ends on the way in (text, eol=lf)', async () => {
    const crlf = join(tempDir(), 'crlf');
    alice.git(['clone', '-q', origin, crlf], tempDir());
    expect(alice.seal(['install', '--quiet'], { cwd: crlf }).status).toBe(0);
    writeFileSync(join(crlf, files[0]), SECRETS.replace(/\n/g, '\r\n'));
    alice.git(['add', files[0]], crlf);
    alice.git(['commit', '-q', '-m', 'crlf'], crlf);
    const dir = join(tempDir(), 'clone');
    alice.git(['clone', '-q', crlf, dir], tempDir());
    writeFileSync(join(dir, '.git', 'info', 'attributes'), '*.toml text eol=lf\n');
    // Held until the copies are a second older than the index to come, so git will not find them racy.
    const run = startSeal(['install', '--quiet'], { cwd: dir, env: { ...alice.env, GITSEAL_TEST_STOP_AT: 'install-placed' } });
    await stopped(run);
    const placed = statSync(join(dir, files[0])).mtimeMs;
    while (Math.floor(Date.now() / 1000) <= Math.floor(placed / 1000)) await new Promise((r) => setTimeout(r, 50));
    process.kill(run.pid, 'SIGCONT');
    expect((await run.done).status).toBe(0);
    // git's own refresh decides, as before: `git add` would store LF, so the copy counts as modified.
    expect(alice.git(['status', '--porcelain'], dir)).toBe(` M ${files[0]}\n`);
  });

  it('leaves git plumbing that trusts stat data (diff-files, diff-index, read-tree) seeing nothing modified', () => {
    const dir = clone();
    expect(alice.seal(['install', '--quiet'], { cwd: dir }).status).toBe(0);
    expect(alice.git(['diff-files', '--name-only'], dir)).toBe('');
    expect(spawnSync('git', ['diff-index', '--quiet', 'HEAD'], { cwd: dir, env: alice.env }).status).toBe(0);
    alice.git(['read-tree', '-m', '-u', 'HEAD', 'HEAD'], dir);
  });

  it('takes the replaced index’s time to the nanosecond: one at S.999999999 still makes second S racy', () => {
    const dir = clone();
    expect(alice.seal(['install', '--quiet'], { cwd: dir }).status).toBe(0);
    alice.git(['config', 'core.trustctime', 'false'], dir);
    const S = Math.floor(Date.now() / 1000) - 10;
    const plain = join(dir, '.gitattributes');
    const touch = (args: string[]) => expect(spawnSync('touch', args).status).toBe(0);
    touch(['-d', `@${S}.5`, plain]);
    alice.git(['update-index', '-q', '--refresh'], dir); // its stat data: mtime second S
    writeFileSync(plain, readFileSync(plain, 'utf8').replace(/[a-z]/, 'X')); // same size
    touch(['-d', `@${S}.5`, plain]);
    touch(['-d', `@${S}.999999999`, join(dir, '.git', 'index')]);
    // git sees it (racy: it compares the content); --no-optional-locks keeps status from writing the index.
    expect(alice.git(['--no-optional-locks', 'status', '--porcelain'], dir)).toBe(' M .gitattributes\n');
    expect(alice.seal(['install', '--quiet'], { cwd: dir }).status).toBe(0); // writes the index again
    expect(alice.git(['status', '--porcelain'], dir)).toBe(' M .gitattributes\n');
  });

  const shm = '/dev/shm';
  const otherFs = existsSync(shm) && statSync(shm).dev !== statSync(tempDir()).dev;
  it.skipIf(!otherFs)('works with GIT_INDEX_FILE on another filesystem than the git dir', () => {
    const dir = clone();
    const index = join(mkdtempSync(join(shm, 'gitseal-index-')), 'index');
    writeFileSync(index, readFileSync(join(dir, '.git', 'index')));
    const env = { ...alice.env, GIT_INDEX_FILE: index };
    try {
      const r = alice.seal(['install', '--quiet'], { cwd: dir, env });
      expect(r.status, r.stderr).toBe(0);
      expect(spawnSync('git', ['status', '--porcelain'], { cwd: dir, env, encoding: 'utf8' }).stdout).toBe('');
      expect(readFileSync(join(dir, files[0]), 'utf8')).toBe(SECRETS);
    } finally {
      rmSync(join(index, '..'), { recursive: true, force: true });
    }
  });

  it('a run killed while writing the index leaves nothing behind the next one does not sweep (a worktree of a bare repository)', async () => {
    const base = tempDir();
    alice.git(['clone', '-q', '--bare', origin, join(base, 'b.git')], base);
    alice.git(['worktree', 'add', '-q', join(base, 'wt'), 'main'], join(base, 'b.git'));
    const dir = join(base, 'wt');
    const gitDir = alice.git(['rev-parse', '--absolute-git-dir'], dir).trim();
    const run = startSeal(['install', '--quiet'], { cwd: dir, env: { ...alice.env, GITSEAL_TEST_STOP_AT: 'index-lock' } });
    await stopped(run);
    process.kill(run.pid, 'SIGKILL');
    await run.done;
    const stale = join(gitDir, 'git-seal', 'tmp', '999999-abcdef.tmp.lock'); // git's lock on a scratch index, its writer gone
    writeFileSync(stale, '');
    expect(alice.seal(['install', '--quiet'], { cwd: dir }).status).toBe(0);
    const leftovers = (d: string) => readdirSync(d).filter((f) => /\.tmp(\.lock)?$|\.lock$/.test(f));
    expect(leftovers(gitDir)).toEqual([]);
    expect(leftovers(join(gitDir, 'git-seal', 'tmp'))).toEqual([]);
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  });

  it('writes through a symbolic link at .git/index, as git does (and locks its target)', () => {
    const dir = clone();
    const target = join(tempDir(), 'index');
    renameSync(join(dir, '.git', 'index'), target);
    symlinkSync(target, join(dir, '.git', 'index'));
    expect(alice.seal(['install', '--quiet'], { cwd: dir }).status).toBe(0);
    expect(lstatSync(join(dir, '.git', 'index')).isSymbolicLink()).toBe(true);
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
    expect(alice.git(['ls-files', '--debug', files[0]], dir)).toContain(`size: ${Buffer.byteLength(SECRETS)}`);
  });
});
