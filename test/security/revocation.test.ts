import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allObjectsOf, cleanupTempDirs, identitiesOf, person, type Person, repoWith, sealedClone, SECRETS, tempDir, tryOpen } from '../helpers.js';

/**
 * Issue 8, scenario 8: a merge must not undo a recipient's removal. Branch `offboard` removes bob
 * (rotating the data key) and sets a new password; `main` changes another value. Whatever brings the
 * two together (merge, rebase, cherry-pick, pull), the result must be sealed to the merged profile
 * without bob, under a data key bob never had.
 */
afterAll(cleanupTempDirs);

const FILE = '.dlt/secrets.toml';
const NEW_PASSWORD = 'rotated-after-bob-left-7781';

function ok(r: { status: number | null; stderr: string }, what: string): void {
  expect(r.status, `${what}: ${r.stderr}`).toBe(0);
}

/** Whether `who` can decrypt this sealed text. */
async function canOpen(who: Person, sealed: string): Promise<boolean> {
  return (await tryOpen(sealed, identitiesOf(who))) !== null;
}

function recipientsOf(sealed: string): string[] {
  const m = /\nrecipients = \[([^\]]*)\]/.exec(sealed);
  return [...(m?.[1] ?? '').matchAll(/"(age1[^"]+)"/g)].map((x) => x[1]).sort();
}

function dataKeyOf(sealed: string): string {
  return /datakey = """([\s\S]*?)"""/.exec(sealed)![1];
}

interface Setup {
  alice: Person;
  bob: Person;
  dir: string;
  /** The data key main's file had before the merge (bob holds it). */
  oldKey: string;
}

/** alice and bob share the dev profile; offboard removes bob and rotates; main edits another value. */
async function setup(): Promise<Setup> {
  const alice = person('alice');
  const bob = person('bob');
  const dir = repoWith(alice, { [FILE]: SECRETS });
  ok(alice.seal(['recipients', 'add', 'bob', bob.recipient, '--profile', 'dev'], { cwd: dir }), 'add bob');
  alice.git(['commit', '-q', '-am', 'add bob'], dir);
  expect(await canOpen(bob, alice.git(['show', `HEAD:${FILE}`], dir))).toBe(true);

  alice.git(['checkout', '-q', '-b', 'offboard'], dir);
  ok(alice.seal(['recipients', 'remove', 'bob'], { cwd: dir }), 'remove bob');
  ok(alice.seal(['set', FILE, 'destination.postgres.credentials.password'], { cwd: dir, input: NEW_PASSWORD }), 'set password');
  alice.git(['commit', '-q', '-am', 'offboard bob, rotate the password'], dir);
  const off = alice.git(['show', `HEAD:${FILE}`], dir);
  expect(recipientsOf(off)).toEqual([alice.recipient]);
  expect(await canOpen(bob, off)).toBe(false);

  alice.git(['checkout', '-q', 'main'], dir);
  writeFileSync(join(dir, FILE), SECRETS.replace('retries = 3', 'retries = 8'));
  alice.git(['commit', '-q', '-am', 'more retries'], dir);
  return { alice, bob, dir, oldKey: dataKeyOf(alice.git(['show', `HEAD:${FILE}`], dir)) };
}

async function expectRevoked(s: Setup, dir = s.dir): Promise<void> {
  const { alice, bob } = s;
  const blob = alice.git(['show', `HEAD:${FILE}`], dir);
  expect(recipientsOf(blob)).toEqual([alice.recipient]);
  expect(dataKeyOf(blob)).not.toBe(s.oldKey);
  expect(await canOpen(bob, blob)).toBe(false);
  // Both changes are in, and the work tree is clean.
  const work = readFileSync(join(dir, FILE), 'utf8');
  expect(work).toContain(NEW_PASSWORD);
  expect(work).toContain('retries = 8');
  expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  // The merged config no longer names bob, and `check` agrees with the file.
  expect(readFileSync(join(dir, '.gitseal.toml'), 'utf8')).not.toContain(bob.recipient);
  ok(alice.seal(['check'], { cwd: dir }), 'check');
  // Nothing in the object store that bob can open holds the new password.
  const bobKeys = identitiesOf(bob);
  for (const o of allObjectsOf(dir, alice.env)) {
    const text = o.content.toString('utf8');
    if (o.type !== 'blob' || !text.includes('[gitseal]')) continue;
    expect(await tryOpen(text, bobKeys) ?? '').not.toContain(NEW_PASSWORD);
  }
}

describe('a merge cannot undo a recipient removal', { timeout: 240_000 }, () => {
  // One setup, copied for each test (a copy of the repository, .git included, behaves the same).
  let template: Setup;
  beforeAll(async () => {
    template = await setup();
  }, 240_000);
  const fresh = async (): Promise<Setup> => {
    const dir = join(tempDir('gitseal-repo-'), 'repo');
    cpSync(template.dir, dir, { recursive: true });
    return { ...template, dir };
  };

  it('git merge offboard on main', async () => {
    const s = await fresh();
    s.alice.git(['merge', '-q', '--no-edit', 'offboard'], s.dir);
    await expectRevoked(s);
  });

  it('git merge main on offboard', async () => {
    const s = await fresh();
    s.alice.git(['checkout', '-q', 'offboard'], s.dir);
    s.oldKey = dataKeyOf(s.alice.git(['show', `main:${FILE}`], s.dir));
    s.alice.git(['merge', '-q', '--no-edit', 'main'], s.dir);
    await expectRevoked(s);
  });

  it('git rebase main (offboard replayed on main)', async () => {
    const s = await fresh();
    s.alice.git(['checkout', '-q', 'offboard'], s.dir);
    s.alice.git(['rebase', '-q', 'main'], s.dir);
    await expectRevoked(s);
  });

  it('git rebase offboard (main replayed on offboard)', async () => {
    const s = await fresh();
    s.alice.git(['rebase', '-q', 'offboard'], s.dir);
    await expectRevoked(s);
  });

  it('git cherry-pick of the offboarding commit', async () => {
    const s = await fresh();
    s.alice.git(['cherry-pick', 'offboard'], s.dir);
    await expectRevoked(s);
  });

  for (const mode of ['--no-rebase', '--rebase']) {
    it(`git pull ${mode} of the offboarding branch into another clone`, async () => {
      const s = await fresh();
      const mine = sealedClone(s.alice, s.dir, '-b', 'main');
      ok(s.alice.seal(['install'], { cwd: mine }), 'install');
      s.alice.git(['pull', '-q', mode, '--no-edit', 'origin', 'offboard'], mine);
      await expectRevoked(s, mine);
    });
  }

  it('a conflict on the rotated value is sealed without bob, in the object store and after it is resolved', async () => {
    const s = await fresh();
    const { alice, bob, dir } = s;
    writeFileSync(join(dir, FILE), readFileSync(join(dir, FILE), 'utf8').replace('pg-pass-correct-horse', 'main-side-password-4410'));
    alice.git(['commit', '-q', '-am', 'main changes the password too'], dir);
    alice.git(['merge', '--no-edit', 'offboard'], dir, { allowFail: true });
    const work = readFileSync(join(dir, FILE), 'utf8');
    expect(work).toMatch(/^<<<<<<< /m);
    expect(work).toContain(NEW_PASSWORD);
    const bobKeys = identitiesOf(bob);
    for (const o of allObjectsOf(dir, alice.env)) {
      const text = o.content.toString('utf8');
      if (o.type === 'blob' && text.includes('[gitseal]')) expect((await tryOpen(text, bobKeys)) ?? '').not.toContain(NEW_PASSWORD);
    }
    writeFileSync(join(dir, FILE), SECRETS.replace('retries = 3', 'retries = 8').replace('pg-pass-correct-horse', NEW_PASSWORD));
    alice.git(['add', FILE], dir);
    alice.git(['commit', '-q', '--no-edit'], dir);
    await expectRevoked(s);
  });

  it('a clone without the key refuses to merge differently keyed versions, in one line, and stages nothing sealed to bob', async () => {
    const s = await fresh();
    const carol = person('carol');
    const clone = sealedClone(carol, s.dir, '--no-single-branch');
    ok(carol.seal(['install'], { cwd: clone }), 'install');
    const before = carol.git(['rev-parse', 'HEAD'], clone);
    const r = spawnSync('git', ['merge', '--no-edit', 'origin/offboard'], { cwd: clone, env: carol.env, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/git-seal: \.dlt\/secrets\.toml: both sides changed it and a recipient was removed on one side; merging it needs a key/);
    expect(carol.git(['rev-parse', 'HEAD'], clone)).toBe(before);
    const unmerged = carol.git(['ls-files', '-u', '--', FILE], clone);
    expect(unmerged).not.toBe('');
    // git add cannot silently take one side: the conflicted file cannot be staged as it is.
    carol.git(['add', FILE], clone, { allowFail: true });
    expect(carol.git(['ls-files', '-u', '--', FILE], clone)).not.toBe('');
    carol.git(['merge', '--abort'], clone);
  });

  it('a config conflict stops the merge, and the secrets file merged meanwhile is not sealed to bob', async () => {
    const s = await fresh();
    const { alice, bob, dir } = s;
    // main also edits the same config lines: add carol to dev.
    const carol = person('carol');
    ok(alice.seal(['recipients', 'add', 'carol', carol.recipient, '--profile', 'dev'], { cwd: dir }), 'add carol');
    alice.git(['commit', '-q', '-am', 'add carol'], dir);
    alice.git(['merge', '--no-edit', 'offboard'], dir, { allowFail: true });
    const conflicted = alice.git(["ls-files", "-u", "--", ".gitseal.toml"], dir);
    expect(conflicted).toContain('.gitseal.toml');
    expect(readFileSync(join(dir, '.gitseal.toml'), 'utf8')).toMatch(/^<<<<<<< /m);
    // The secrets file merged cleanly, sealed to alice and carol only, under a new key.
    const staged = alice.git(['show', `:0:${FILE}`], dir);
    expect(recipientsOf(staged)).toEqual([alice.recipient, carol.recipient].sort());
    expect(await canOpen(bob, staged)).toBe(false);
    expect(await canOpen(carol, staged)).toBe(true);
  });
});

describe('mergeRecipients', () => {
  it('keeps what both keep, adds what either adds, drops what either removes', async () => {
    const { mergeRecipients } = await import('../../src/git/merge.js');
    expect(mergeRecipients(['a', 'b'], ['a', 'b'], ['a'])).toEqual({ recipients: ['a'], removed: ['b'] });
    expect(mergeRecipients(['a', 'b'], ['a', 'b', 'c'], ['a'])).toEqual({ recipients: ['a', 'c'], removed: ['b'] });
    expect(mergeRecipients(['a', 'b'], ['a'], ['a', 'b', 'd'])).toEqual({ recipients: ['a', 'd'], removed: ['b'] });
    expect(mergeRecipients([], ['a'], ['b'])).toEqual({ recipients: ['a', 'b'], removed: [] });
    expect(mergeRecipients(['a'], ['a', 'c'], ['a', 'c'])).toEqual({ recipients: ['a', 'c'], removed: [] });
  });
});
