import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filesContaining } from './proc.js';
import { allObjects, cleanupTempDirs, diverge, person, repoWith, SECRETS } from '../helpers.js';

afterAll(cleanupTempDirs);

const FILE = '.dlt/secrets.toml';
const sealed = (text: string) => text.includes('ENC[gitseal.v1,');

describe('10. install, unlock and lock never delete a file before its replacement is in place', () => {
  const alice = person('alice');

  it('install with .git/index.lock present: files stay, the message is git\'s error', () => {
    const dir = repoWith(alice, { [FILE]: SECRETS });
    expect(alice.seal(['lock'], { cwd: dir }).status).toBe(0);
    const sealedText = readFileSync(join(dir, FILE), 'utf8');
    writeFileSync(join(dir, '.git', 'index.lock'), '');
    for (const cmd of ['install', 'unlock']) {
      const r = alice.seal([cmd], { cwd: dir });
      expect(existsSync(join(dir, FILE)), `${cmd} deleted ${FILE}`).toBe(true);
      expect(readFileSync(join(dir, FILE), 'utf8')).toBe(sealedText);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^git-seal: .*Unable to create '.*index\.lock': File exists/m);
    }
  });

  it('lock with .git/index.lock present: files stay plaintext, the filter stays installed', () => {
    const dir = repoWith(alice, { [FILE]: SECRETS });
    writeFileSync(join(dir, '.git', 'index.lock'), '');
    const r = alice.seal(['lock'], { cwd: dir });
    expect(existsSync(join(dir, FILE)), `lock deleted ${FILE}`).toBe(true);
    expect(readFileSync(join(dir, FILE), 'utf8')).toBe(SECRETS);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^git-seal: .*Unable to create '.*index\.lock': File exists/m);
    expect(alice.git(['config', '--local', 'filter.git-seal.process'], dir)).not.toBe('');
  });
});

describe('7. lock leaves no plaintext git could commit or that sits in .git/', () => {
  const alice = person('alice');

  it('refuses an untracked plaintext secrets file, naming it; --force seals it in place', () => {
    const dir = repoWith(alice, { [FILE]: SECRETS });
    writeFileSync(join(dir, '.dlt/prod.secrets.toml'), 'token = "sk_live_UNTRACKED_PLAINTEXT"\n');
    const r = alice.seal(['lock'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^git-seal: .*\.dlt\/prod\.secrets\.toml.*--force/m);
    expect(alice.git(['config', '--local', 'filter.git-seal.process'], dir)).not.toBe(''); // nothing changed
    const f = alice.seal(['lock', '--force'], { cwd: dir });
    expect(f.status, f.stderr).toBe(0);
    expect(sealed(readFileSync(join(dir, '.dlt/prod.secrets.toml'), 'utf8'))).toBe(true);
    alice.git(['add', '-A'], dir);
    alice.git(['commit', '-q', '-m', 'after lock'], dir);
    expect(allObjects(alice, dir)).not.toContain('sk_live_UNTRACKED_PLAINTEXT');
  });

  it('lock --force seals modified files in place, so a later commit -a stores no plaintext', () => {
    const dir = repoWith(alice, { [FILE]: SECRETS });
    writeFileSync(join(dir, FILE), SECRETS.replace('pg-pass-correct-horse', 'pg-pass-MODIFIED-BEFORE-LOCK'));
    expect(alice.seal(['lock'], { cwd: dir }).status).toBe(1);
    const r = alice.seal(['lock', '--force'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, FILE), 'utf8')).not.toContain('pg-pass-MODIFIED-BEFORE-LOCK');
    alice.git(['commit', '-q', '-am', 'commit -a after lock --force'], dir);
    expect(allObjects(alice, dir)).not.toContain('pg-pass-MODIFIED-BEFORE-LOCK');
    // the change is kept: sealed, it opens to the edited value
    expect(alice.seal(['get', FILE, 'destination.postgres.credentials.password'], { cwd: dir }).stdout.trim()).toBe('pg-pass-MODIFIED-BEFORE-LOCK');
  });

  it('removes rerere images and the commit -v diff of secrets files from .git', () => {
    const dir = repoWith(alice, { [FILE]: SECRETS, 'notes.txt': 'a\n' });
    alice.git(['config', 'rerere.enabled', 'true'], dir);
    diverge(alice, dir, FILE, 'other', SECRETS.replace('pg-pass-correct-horse', 'pg-pass-THEIRS-RERERE'), SECRETS.replace('pg-pass-correct-horse', 'pg-pass-OURS-RERERE'));
    alice.git(['merge', 'other'], dir, { allowFail: true });
    expect(readFileSync(join(dir, FILE), 'utf8')).toContain('<<<<<<<');
    writeFileSync(join(dir, FILE), SECRETS.replace('pg-pass-correct-horse', 'pg-pass-RESOLVED-RERERE'));
    alice.git(['add', FILE], dir);
    const editor = `sh -c 'sed -i "1s/.*/merged/" "$1"' -`;
    alice.git(['-c', `core.editor=${editor}`, 'commit', '-q', '-v'], dir);
    const gitDir = join(dir, '.git');
    // what rerere and commit -v leave behind in an unlocked clone
    expect(filesContaining(join(gitDir, 'rr-cache'), 'pg-pass-RESOLVED-RERERE').length).toBeGreaterThan(0);
    expect(readFileSync(join(gitDir, 'COMMIT_EDITMSG'), 'utf8')).toContain('pg-pass-RESOLVED-RERERE');
    const r = alice.seal(['lock'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    for (const v of ['pg-pass-THEIRS-RERERE', 'pg-pass-OURS-RERERE', 'pg-pass-RESOLVED-RERERE', 'pg-pass-correct-horse']) {
      expect(filesContaining(gitDir, v), v).toEqual([]);
    }
    expect(readFileSync(join(gitDir, 'COMMIT_EDITMSG'), 'utf8')).toMatch(/^merged\n/);
    expect(existsSync(join(gitDir, 'rr-cache'))).toBe(true); // other recorded resolutions are kept
  });
});
