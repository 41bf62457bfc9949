import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allObjects, BIN, cleanupTempDirs, person, type Person, repoWith, SECRETS, startSeal, tempDir } from '../helpers.js';
import { filesContaining, stopped } from './proc.js';

afterAll(cleanupTempDirs);

const FILE = '.dlt/secrets.toml';

function get(p: Person, dir: string, key: string, file = FILE): string | null {
  const r = p.seal(['get', file, key], { cwd: dir });
  return r.status === 0 ? r.stdout.replace(/\n$/, '') : null;
}

describe('5. a write killed at its final rename leaves no plaintext git can pick up', () => {
  const alice = person('alice');

  async function killAtRename(dir: string): Promise<void> {
    const run = startSeal(['set', FILE, 'sources.stripe.api_key', '--value', 'sk_live_KILLED_WRITE_VALUE'], { cwd: dir, env: { ...alice.env, GITSEAL_TEST_STOP_AT: 'rename' } });
    await stopped(run);
    process.kill(run.pid, 'SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');
  }

  function expectNothingLeaked(dir: string, gitDir: string): void {
    expect(alice.git(['status', '--porcelain', '--untracked-files=all', '--ignored'], dir)).toBe('');
    expect(readFileSync(join(dir, FILE), 'utf8')).toBe(SECRETS); // the old file, whole
    alice.git(['add', '-A'], dir);
    alice.git(['commit', '-q', '--allow-empty', '-m', 'after the crash'], dir);
    expect(allObjects(alice, dir)).not.toContain('sk_live_KILLED_WRITE_VALUE');
    expect(filesContaining(dir, 'sk_live_KILLED_WRITE_VALUE').filter((p) => !p.startsWith(gitDir) && !p.split('/').includes('.git'))).toEqual([]);
    // The next write removes the dead writer's temp file: no plaintext stays in .git either.
    const r = alice.seal(['set', FILE, 'other', '--value', 'x'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(filesContaining(gitDir, 'sk_live_KILLED_WRITE_VALUE')).toEqual([]);
  }

  it('in a clone', async () => {
    const dir = repoWith(alice, { [FILE]: SECRETS });
    await killAtRename(dir);
    expectNothingLeaked(dir, join(dir, '.git'));
  });

  it('in a linked worktree', async () => {
    const dir = repoWith(alice, { [FILE]: SECRETS });
    const wt = join(tempDir(), 'wt');
    alice.git(['worktree', 'add', '-q', wt], dir);
    expect(readFileSync(join(wt, FILE), 'utf8')).toBe(SECRETS);
    await killAtRename(wt);
    expectNothingLeaked(wt, join(dir, '.git'));
  });

  const otherDevice = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tempDir()).dev;
  it.skipIf(!otherDevice)('in a linked worktree on another filesystem than its git dir', async () => {
    const dir = repoWith(alice, { [FILE]: SECRETS });
    const wt = join(mkdtempSync('/dev/shm/gitseal-wt-'), 'wt');
    try {
      alice.git(['worktree', 'add', '-q', wt], dir);
      await killAtRename(wt);
      // The temp file sits in a private '.git' directory beside the target, which git never lists or adds.
      expect(readdirSync(join(wt, '.dlt', '.git')).length).toBe(1);
      expectNothingLeaked(wt, join(dir, '.git'));
      expect(filesContaining(wt, 'sk_live_KILLED_WRITE_VALUE')).toEqual([]);
      expect(existsSync(join(wt, '.dlt', '.git'))).toBe(false);
    } finally {
      rmSync(join(wt, '..'), { recursive: true, force: true });
    }
  });

  it('temp files are private (0600) and keep the target mode', () => {
    const dir = repoWith(alice, { [FILE]: SECRETS });
    chmodSync(join(dir, FILE), 0o640);
    expect(alice.seal(['set', FILE, 'k', '--value', 'v'], { cwd: dir }).status).toBe(0);
    expect(statSync(join(dir, FILE)).mode & 0o777).toBe(0o640);
    expect(statSync(join(dir, '.git', 'git-seal', 'tmp')).mode & 0o777).toBe(0o700);
  });
});

describe('9. concurrent writes: each command applies its change or fails with a clear message', () => {
  const alice = person('alice');

  it('eight parallel set commands on one file lose no key', async () => {
    const dir = repoWith(alice, { [FILE]: SECRETS });
    const keys = Array.from({ length: 8 }, (_, i) => `parallel.k${i}`);
    const runs = keys.map((k, i) => startSeal(['set', FILE, k, '--value', `value-${i}`], { cwd: dir, env: alice.env }));
    const results = await Promise.all(runs.map((r) => r.done));
    for (const [i, r] of results.entries()) {
      if (r.status === 0) expect(get(alice, dir, keys[i])).toBe(`value-${i}`);
      else expect(r.stderr).toMatch(/^git-seal: .*another git-seal command \(pid \d+\) is changing it; nothing was written/m);
    }
    expect(results.filter((r) => r.status === 0).length).toBeGreaterThan(0);
    expect(get(alice, dir, 'sources.stripe.api_key')).toBe('sk_live_51HxYzStripeSecret');
  });

  it('a lock held by a live command makes a set fail clearly (no wait with GITSEAL_LOCK_TIMEOUT=0)', async () => {
    const dir = repoWith(alice, { [FILE]: SECRETS });
    const holder = startSeal(['set', FILE, 'held', '--value', 'by-holder'], { cwd: dir, env: { ...alice.env, GITSEAL_TEST_STOP_AT: 'rename' } });
    await stopped(holder);
    const r = alice.seal(['set', FILE, 'second', '--value', 'value'], { cwd: dir, env: { ...alice.env, GITSEAL_LOCK_TIMEOUT: '0' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^git-seal: ${FILE.replace('.', '\\.')}: another git-seal command \\(pid ${holder.pid}\\) is changing it; nothing was written \\(wait for it`, 'm'));
    process.kill(holder.pid, 'SIGCONT');
    expect((await holder.done).status).toBe(0);
    expect(get(alice, dir, 'held')).toBe('by-holder');
    expect(get(alice, dir, 'second')).toBe(null);
  });

  it('a lock left by a killed command is stale and broken', async () => {
    const dir = repoWith(alice, { [FILE]: SECRETS });
    const holder = startSeal(['set', FILE, 'lost', '--value', 'x'], { cwd: dir, env: { ...alice.env, GITSEAL_TEST_STOP_AT: 'rename' } });
    await stopped(holder);
    process.kill(holder.pid, 'SIGKILL');
    await holder.done;
    const r = alice.seal(['set', FILE, 'after', '--value', 'y'], { cwd: dir, env: { ...alice.env, GITSEAL_LOCK_TIMEOUT: '0' } });
    expect(r.status, r.stderr).toBe(0);
    expect(get(alice, dir, 'after')).toBe('y');
  });

  it('a set made while edit is open is not overwritten: edit refuses to save', () => {
    const dir = repoWith(alice, { [FILE]: SECRETS });
    expect(alice.seal(['lock'], { cwd: dir }).status).toBe(0); // sealed on disk: what edit works on
    const editor = join(tempDir(), 'editor.sh');
    writeFileSync(editor, `#!/bin/sh\n"${process.execPath}" "${BIN}" set "${join(dir, FILE)}" during.edit --value from-set || exit 3\nsed -i 's/retries = 3/retries = 9/' "$1"\n`);
    chmodSync(editor, 0o755);
    const r = alice.seal(['edit', FILE], { cwd: dir, env: { ...alice.env, EDITOR: editor, VISUAL: editor } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^git-seal: \.dlt\/secrets\.toml: changed on disk while .*nothing was written/m);
    expect(get(alice, dir, 'during.edit')).toBe('from-set');
    expect(get(alice, dir, 'sources.stripe.retries')).toBe('3');
  });

  it('a recipients add during a git add keeps the freshly staged blob', async () => {
    const bob = person('bob');
    const dir = repoWith(alice, { [FILE]: SECRETS });
    const rekey = startSeal(['recipients', 'add', 'bob', bob.recipient, '--profile', 'dev'], { cwd: dir, env: { ...alice.env, GITSEAL_TEST_STOP_AT: 'stage' } });
    await stopped(rekey);
    writeFileSync(join(dir, FILE), SECRETS.replace('pg-pass-correct-horse', 'pg-pass-STAGED-DURING-REKEY'));
    alice.git(['add', FILE], dir);
    process.kill(rekey.pid, 'SIGCONT');
    const r = await rekey.done;
    const staged = alice.git(['show', `:${FILE}`], dir);
    const opened = alice.seal(['decrypt'], { cwd: dir, input: staged });
    expect(opened.stdout).toContain('pg-pass-STAGED-DURING-REKEY');
    if (r.status === 0) expect(staged).toContain(bob.recipient);
    else expect(r.stderr).toMatch(/\.dlt\/secrets\.toml: .*staged again while .*git-seal rekey/);
  });
});

describe('11. symlinked secrets files are written through, or refused', () => {
  const alice = person('alice');

  function linked(): string {
    const dir = repoWith(alice, { '.dlt/prod.secrets.toml': SECRETS });
    symlinkSync('prod.secrets.toml', join(dir, FILE));
    return dir;
  }

  it('set and rm write the target and keep the link', () => {
    const dir = linked();
    expect(alice.seal(['set', FILE, 'via.link', '--value', 'linked-value'], { cwd: dir }).status).toBe(0);
    expect(lstatSync(join(dir, FILE)).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, FILE))).toBe('prod.secrets.toml');
    expect(get(alice, dir, 'via.link', '.dlt/prod.secrets.toml')).toBe('linked-value');
    const r = alice.seal(['rm', FILE, 'sources.stripe.retries'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(lstatSync(join(dir, FILE)).isSymbolicLink()).toBe(true);
    expect(get(alice, dir, 'sources.stripe.retries', '.dlt/prod.secrets.toml')).toBe(null);
  });

  it('decrypt --in-place writes the target and keeps the link', () => {
    const dir = linked();
    const locked = alice.seal(['lock'], { cwd: dir });
    expect(locked.status, locked.stderr).toBe(0);
    const r = alice.seal(['decrypt', '--in-place', FILE], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(lstatSync(join(dir, FILE)).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, '.dlt/prod.secrets.toml'), 'utf8')).toBe(SECRETS);
  });

  it('a link to a file git would commit in plaintext is refused, changing nothing', () => {
    const dir = repoWith(alice, { 'config/plain.toml': 'a = 1\n' });
    mkdirSync(join(dir, '.dlt'), { recursive: true });
    symlinkSync('../config/plain.toml', join(dir, FILE));
    const r = alice.seal(['set', FILE, 'token', '--value', 'sk_live_NOT_IN_PLAINTEXT'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^git-seal: \.dlt\/secrets\.toml: is a symbolic link to .*config\/plain\.toml, which the git-seal filter does not cover/m);
    expect(readFileSync(join(dir, 'config/plain.toml'), 'utf8')).toBe('a = 1\n');
    expect(existsSync(join(dir, FILE)) && lstatSync(join(dir, FILE)).isSymbolicLink()).toBe(true);
  });
});
