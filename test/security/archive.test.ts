import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, person, repoWith, SECRET_STRINGS, SECRETS, tempDir } from '../helpers.js';

/** Issue 8, scenario 6: `git archive` in a key holder's clone must carry the sealed form. */
afterAll(cleanupTempDirs);

const FILE = '.dlt/secrets.toml';

function archive(dir: string, env: NodeJS.ProcessEnv, args: string[]): Buffer {
  const r = spawnSync('git', ['archive', ...args], { cwd: dir, env, maxBuffer: 1 << 28 });
  expect(r.status, r.stderr.toString()).toBe(0);
  return r.stdout;
}

function expectSealedIn(bytes: Buffer, sealedBlob: string): void {
  const text = bytes.toString('latin1');
  for (const s of SECRET_STRINGS) expect(text.includes(s), `plaintext ${s} in the archive`).toBe(false);
  expect(text.includes(Buffer.from(sealedBlob, 'utf8').toString('latin1')), 'the sealed blob is in the archive byte for byte').toBe(true);
}

describe('git archive', () => {
  const alice = person('alice');
  const dir = repoWith(alice, { [FILE]: SECRETS, 'README.md': 'hello\n' });
  alice.git(['tag', 'v1'], dir);
  const blob = alice.git(['show', `HEAD:${FILE}`], dir);

  it('the key holder has the plaintext checked out', () => {
    expect(readFileSync(join(dir, FILE), 'utf8')).toBe(SECRETS);
  });

  it('tar, tar.gz and zip archives of HEAD, a tag, a commit id and a tree hold the sealed file', () => {
    const commit = alice.git(['rev-parse', 'HEAD'], dir).trim();
    expectSealedIn(archive(dir, alice.env, ['--format=tar', 'HEAD']), blob);
    expectSealedIn(archive(dir, alice.env, ['--format=tar', '--prefix=release/', 'v1']), blob);
    expectSealedIn(archive(dir, alice.env, ['--format=tar', commit]), blob);
    expectSealedIn(archive(dir, alice.env, ['--format=tar', 'HEAD^{tree}']), blob);
    expectSealedIn(gunzipSync(archive(dir, alice.env, ['--format=tar.gz', 'HEAD'])), blob);
    // -0 stores zip entries uncompressed, so the scan sees their bytes.
    expectSealedIn(archive(dir, alice.env, ['--format=zip', '-0', 'HEAD']), blob);
    expectSealedIn(archive(dir, alice.env, ['--format=zip', '-0', 'v1', FILE]), blob);
    const out = join(tempDir(), 'release.zip');
    archive(dir, alice.env, ['--format=zip', '-0', '-o', out, 'HEAD']);
    expectSealedIn(readFileSync(out), blob);
  });

  it('stays sealed while another git command holds the index lock, and through --remote', () => {
    writeFileSync(join(dir, '.git', 'index.lock'), '');
    try {
      expectSealedIn(archive(dir, alice.env, ['--format=tar', 'HEAD']), blob);
    } finally {
      rmSync(join(dir, '.git', 'index.lock'));
    }
    expectSealedIn(archive(dir, alice.env, ['--format=tar', `--remote=${dir}`, 'HEAD']), blob);
  });

  it('checkouts with a tree (branch switch, reset, worktree add) still decrypt', () => {
    alice.git(['checkout', '-q', '-b', 'other'], dir);
    writeFileSync(join(dir, FILE), SECRETS.replace('retries = 3', 'retries = 4'));
    alice.git(['commit', '-q', '-am', 'other'], dir);
    alice.git(['checkout', '-q', 'main'], dir);
    expect(readFileSync(join(dir, FILE), 'utf8')).toBe(SECRETS);
    alice.git(['reset', '-q', '--hard', 'other'], dir);
    expect(readFileSync(join(dir, FILE), 'utf8')).toContain('retries = 4');
    alice.git(['reset', '-q', '--hard', 'v1'], dir);
    const wt = join(tempDir(), 'wt');
    alice.git(['worktree', 'add', '-q', wt, 'other'], dir);
    expect(readFileSync(join(wt, FILE), 'utf8')).toContain('retries = 4');
    expectSealedIn(archive(wt, alice.env, ['--format=tar', 'HEAD']), alice.git(['show', `other:${FILE}`], dir));
    expect(existsSync(join(dir, '.git', 'index.lock'))).toBe(false);
  });

  it('git-seal.archive=plaintext opts one archive in to plaintext', () => {
    const r = spawnSync('git', ['-c', 'git-seal.archive=plaintext', 'archive', '--format=tar', 'HEAD'], { cwd: dir, env: alice.env, maxBuffer: 1 << 28 });
    expect(r.status).toBe(0);
    expect(r.stdout.toString('utf8')).toContain(SECRETS);
  });
});
