import { existsSync, readFileSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanToml } from '../../src/toml/index.js';
import { allObjects, cleanupTempDirs, diverge, person, repoWith, sealedClone, SECRET_STRINGS, SECRETS } from '../helpers.js';

afterAll(cleanupTempDirs);

const FILE = '.dlt/secrets.toml';

function expectNoPlaintext(text: string, secrets = SECRET_STRINGS): void {
  for (const s of secrets) expect(text.includes(s), `plaintext ${s} found`).toBe(false);
}

describe("a key holder's everyday flow", () => {
  const alice = person('alice');
  const dir = repoWith(alice, { [FILE]: SECRETS });

  it('commits a sealed blob that parses as TOML, keeps the working tree as written, and status clean', () => {
    const blob = alice.git(['show', `HEAD:${FILE}`], dir);
    expectNoPlaintext(blob);
    expect(() => scanToml(blob)).not.toThrow();
    expect(blob).toContain('[destination.postgres.credentials]');
    expect(blob).toContain('# rotated 2026-01');
    expect(readFileSync(join(dir, FILE), 'utf8')).toBe(SECRETS);
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, FILE), later, later);
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
    alice.git(['checkout', '--', FILE], dir);
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  });

  it('a one-value edit shows plaintext in git diff and is a one-line sealed diff', () => {
    writeFileSync(join(dir, FILE), SECRETS.replace('retries = 3', 'retries = 5'));
    const diff = alice.git(['diff'], dir);
    expect(diff).toContain('-retries = 3');
    expect(diff).toContain('+retries = 5');
    alice.git(['commit', '-q', '-am', 'more retries'], dir);
    const raw = alice.git(['diff', '--no-textconv', 'HEAD~', 'HEAD'], dir);
    const changed = raw.split('\n').filter((l) => /^[-+][^-+]/.test(l));
    expect(changed).toHaveLength(2);
    expect(changed[0]).toMatch(/^-retries = "ENC\[/);
    expect(changed[1]).toMatch(/^\+retries = "ENC\[/);
    expect(alice.git(['log', '-p', '-1'], dir)).toContain('+retries = 5');
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  });

  it('round-trips a CRLF file unchanged', () => {
    const crlf = 'a = "one"\r\n[t]\r\nb = "two"\r\n';
    const path = '.dlt/secrets.access.toml';
    writeFileSync(join(dir, path), crlf);
    alice.git(['add', path], dir);
    alice.git(['commit', '-q', '-m', 'crlf'], dir);
    const blob = alice.git(['show', `HEAD:${path}`], dir);
    expect(blob).toContain('\r\n[gitseal]\r\n');
    expectNoPlaintext(blob, ['one', 'two']);
    unlinkSync(join(dir, path));
    alice.git(['checkout', '--', path], dir);
    expect(readFileSync(join(dir, path), 'utf8')).toBe(crlf);
  });
});

describe('fresh clones', () => {
  const alice = person('alice');
  const bob = person('bob');
  const nobody = person('nobody', { withKey: false });
  const origin = repoWith(alice, { [FILE]: SECRETS });

  it('a key holder clones and installs: plaintext', () => {
    const dir = sealedClone(alice, origin);
    expect(readFileSync(join(dir, FILE), 'utf8')).toContain('ENC[gitseal.v1,');
    const r = alice.seal(['install'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, FILE), 'utf8')).toBe(SECRETS);
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  });

  it('a non-holder clones and installs: sealed, clean status, and can commit other files', () => {
    const dir = sealedClone(bob, origin);
    const r = bob.seal(['install'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(join(dir, FILE), 'utf8');
    expect(text).toBe(alice.git(['show', `HEAD:${FILE}`], origin));
    expect(bob.git(['status', '--porcelain'], dir)).toBe('');
    writeFileSync(join(dir, 'README'), 'hello\n');
    bob.git(['add', '-A'], dir);
    bob.git(['commit', '-q', '-m', 'docs'], dir);
    expect(bob.git(['status', '--porcelain'], dir)).toBe('');
  });

  it('a clone with no git-seal at all: sealed', () => {
    const dir = sealedClone(nobody, origin);
    expect(readFileSync(join(dir, FILE), 'utf8')).toBe(alice.git(['show', `HEAD:${FILE}`], origin));
    expect(nobody.git(['status', '--porcelain'], dir)).toBe('');
  });

  it('git diff shows sealed text to a non-holder', () => {
    const dir = sealedClone(bob, origin);
    bob.seal(['install'], { cwd: dir });
    const log = bob.git(['log', '-p', '-1', '--', FILE], dir);
    expect(log).toContain('ENC[gitseal.v1,');
    expectNoPlaintext(log);
  });
});

describe('merges', () => {
  const alice = person('alice');
  const base = SECRETS;
  const ours = base.replace('retries = 3', 'retries = 4');
  // The adjacent line: a plain line merge would conflict here.
  const theirs = base.replace('api_key = "sk_live_51HxYzStripeSecret"', 'api_key = "sk_live_NEWKEY123456"');
  const both = ours.replace('api_key = "sk_live_51HxYzStripeSecret"', 'api_key = "sk_live_NEWKEY123456"');

  function branches(): string {
    const dir = repoWith(alice, { [FILE]: base });
    diverge(alice, dir, FILE, 'feature', theirs, ours);
    return dir;
  }

  it('merges changes to different (adjacent) values with no conflict, in both directions', () => {
    for (const [from, into] of [['feature', 'main'], ['main', 'feature']]) {
      const dir = branches();
      alice.git(['checkout', '-q', into], dir);
      alice.git(['merge', '-q', '--no-edit', from], dir);
      expect(readFileSync(join(dir, FILE), 'utf8')).toBe(both);
      expect(alice.git(['status', '--porcelain'], dir)).toBe('');
      expectNoPlaintext(alice.git(['show', `HEAD:${FILE}`], dir));
    }
  });

  it('rebase and cherry-pick merge value by value too', () => {
    let dir = branches();
    alice.git(['checkout', '-q', 'feature'], dir);
    alice.git(['rebase', '-q', 'main'], dir);
    expect(readFileSync(join(dir, FILE), 'utf8')).toBe(both);
    dir = branches();
    alice.git(['cherry-pick', 'feature'], dir);
    expect(readFileSync(join(dir, FILE), 'utf8')).toBe(both);
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  });

  it('a non-holder merges different values on the ciphertexts alone', () => {
    const dir = branches();
    const bob = person('bob');
    const clone = sealedClone(bob, dir, '--no-single-branch');
    bob.seal(['install'], { cwd: clone });
    bob.git(['merge', '-q', '--no-edit', 'origin/feature'], clone);
    const merged = bob.git(['show', `HEAD:${FILE}`], clone);
    const expected = alice.git(['show', `HEAD:${FILE}`], dir);
    alice.git(['merge', '-q', '--no-edit', 'feature'], dir);
    expect(merged).toBe(alice.git(['show', `HEAD:${FILE}`], dir));
    expect(merged).not.toBe(expected);
  });

  it('conflicting edits of one value leave plaintext markers in the work tree and no plaintext in the object store', () => {
    for (const op of ['merge', 'rebase', 'cherry-pick']) {
      const dir = repoWith(alice, { [FILE]: base });
      diverge(alice, dir, FILE, 'feature', base.replace('pg-pass-correct-horse', 'theirs-password-1'), base.replace('pg-pass-correct-horse', 'ours-password-2'));
      if (op === 'rebase') alice.git(['checkout', '-q', 'feature'], dir);
      const args = op === 'merge' ? ['merge', '--no-edit', 'feature'] : op === 'rebase' ? ['rebase', 'main'] : ['cherry-pick', 'feature'];
      alice.git(args, dir, { allowFail: true });
      const work = readFileSync(join(dir, FILE), 'utf8');
      expect(work, op).toMatch(/^<<<<<<< /m);
      expect(work).toContain('ours-password-2');
      expect(work).toContain('theirs-password-1');
      expectNoPlaintext(allObjects(alice, dir), ['ours-password-2', 'theirs-password-1', 'pg-pass-correct-horse']);
      // Resolve, stage (seals), and finish.
      writeFileSync(join(dir, FILE), base.replace('pg-pass-correct-horse', 'resolved-password-3'));
      alice.git(['add', FILE], dir);
      const cont = op === 'merge' ? ['commit', '-q', '--no-edit'] : op === 'rebase' ? ['-c', 'core.editor=true', 'rebase', '--continue'] : ['-c', 'core.editor=true', 'cherry-pick', '--continue'];
      alice.git(cont, dir);
      const blob = alice.git(['show', `HEAD:${FILE}`], dir);
      expectNoPlaintext(blob, ['resolved-password-3', 'ours-password-2', 'theirs-password-1']);
      expect(alice.git(['status', '--porcelain'], dir)).toBe('');
      expect(readFileSync(join(dir, FILE), 'utf8')).toContain('resolved-password-3');
      expectNoPlaintext(allObjects(alice, dir), ['ours-password-2', 'theirs-password-1', 'resolved-password-3', 'pg-pass-correct-horse']);
    }
  });
});

describe('the plaintext guard', () => {
  const alice = person('alice');

  it('git add of a file that cannot be sealed fails and stages nothing', () => {
    const dir = repoWith(alice, { [FILE]: SECRETS });
    writeFileSync(join(dir, FILE), SECRETS + 'broken = "unterminated-secret-value\n');
    const r = alice.git(['add', FILE], dir, { allowFail: true });
    expect(r).toBe('');
    expect(alice.git(['diff', '--cached', '--name-only'], dir)).toBe('');
    const unprofiled = '.dlt/staging.secrets.toml';
    writeFileSync(join(dir, unprofiled), 'token = "stage-secret-123"\n');
    alice.git(['add', unprofiled], dir, { allowFail: true });
    expect(alice.git(['diff', '--cached', '--name-only'], dir)).toBe('');
    expectNoPlaintext(allObjects(alice, dir), ['unterminated-secret-value', 'stage-secret-123']);
  });

  it('check and the pre-commit hook catch plaintext committed without the filter', () => {
    const dir = repoWith(alice, { [FILE]: SECRETS }, { hook: true });
    expect(alice.seal(['check'], { cwd: dir }).status).toBe(0);
    const nobody = person('nobody', { withKey: false });
    const clone = sealedClone(nobody, dir);
    writeFileSync(join(clone, '.dlt/prod.secrets.toml'), 'password = "prod-plain-secret"\n');
    nobody.git(['add', '-A'], clone);
    nobody.git(['commit', '-q', '-m', 'oops'], clone);
    const r = nobody.seal(['check'], { cwd: clone });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('.dlt/prod.secrets.toml: committed in plaintext');
    expect(r.stderr).not.toContain('prod-plain-secret');
    // The hook refuses the same commit where it is installed.
    writeFileSync(join(dir, '.dlt/prod.secrets.toml'), 'password = "prod-plain-secret"\n');
    alice.git(['-c', `filter.git-seal.process=`, '-c', 'filter.git-seal.clean=cat', '-c', 'filter.git-seal.required=false', 'add', '.dlt/prod.secrets.toml'], dir);
    const commit = alice.git(['commit', '-q', '-m', 'oops'], dir, { allowFail: true });
    expect(commit).toBe('');
    expect(alice.git(['rev-list', '--count', 'HEAD'], dir).trim()).toBe('1');
  });
});

describe('lock and unlock', () => {
  const alice = person('alice');

  it('lock seals the working tree and removes the filter config and both caches; unlock reverses it', () => {
    const dir = repoWith(alice, { [FILE]: SECRETS });
    expect(existsSync(join(dir, '.git', 'git-seal', 'clean-cache'))).toBe(true);
    writeFileSync(join(dir, FILE), SECRETS.replace('retries = 3', 'retries = 9'));
    const refused = alice.seal(['lock'], { cwd: dir });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`${FILE}: plaintext that git could commit once locked (uncommitted changes`);
    expect(readFileSync(join(dir, FILE), 'utf8')).toContain('retries = 9');
    alice.git(['checkout', '--', FILE], dir);
    expect(existsSync(join(dir, '.git', 'git-seal', 'smudge-cache'))).toBe(true);

    const r = alice.seal(['lock'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, FILE), 'utf8')).toBe(alice.git(['show', `HEAD:${FILE}`], dir));
    expect(alice.git(['config', '--local', '--get-regexp', 'git-seal'], dir, { allowFail: true })).toBe('');
    expect(existsSync(join(dir, '.git', 'git-seal', 'clean-cache'))).toBe(false);
    expect(existsSync(join(dir, '.git', 'git-seal', 'smudge-cache'))).toBe(false);
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');

    expect(alice.seal(['unlock'], { cwd: dir }).status).toBe(0);
    expect(readFileSync(join(dir, FILE), 'utf8')).toBe(SECRETS);
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  });
});
