/**
 * GITSEAL_AGE_KEY_CMD and SOPS_AGE_KEY_CMD through the real git filter: the command runs once per
 * process however many files open, only when no plain identity could open them, and its output
 * never reaches git's pipes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, keyFile, person, repoWith, tempDir } from '../helpers.js';

afterAll(cleanupTempDirs);

const N = 12;
const files = Object.fromEntries(Array.from({ length: N }, (_, i) => [`app${i}/.dlt/secrets.toml`, `token = "cmd-secret-${i}"\n`]));

function setup() {
  const alice = person('alice');
  const dir = repoWith(alice, files);
  // alice's key moves off the default location into a "password manager" only the command reads.
  const vault = join(tempDir('gitseal-vault-'), 'key.txt');
  renameSync(keyFile(alice), vault);
  const counter = join(tempDir('gitseal-count-'), 'runs');
  const cmd = `sh -c 'echo run >> "${counter}"; cat "${vault}"'`;
  for (const f of Object.keys(files)) unlinkSync(join(dir, f));
  const runs = () => (existsSync(counter) ? readFileSync(counter, 'utf8').split('\n').filter(Boolean).length : 0);
  const opened = () => Object.entries(files).filter(([f, t]) => readFileSync(join(dir, f), 'utf8') === t).length;
  return { alice, dir, vault, cmd, runs, opened };
}

describe('identity from a command', () => {
  for (const variable of ['GITSEAL_AGE_KEY_CMD', 'SOPS_AGE_KEY_CMD']) {
    it(`${variable}: a checkout of ${N} files runs the command once and opens them all`, () => {
      const { alice, dir, cmd, runs, opened } = setup();
      const co = spawnSync('git', ['checkout', '--', '.'], { cwd: dir, env: { ...alice.env, [variable]: cmd }, encoding: 'utf8' });
      expect(co.status, co.stderr).toBe(0);
      expect(opened()).toBe(N);
      expect(runs()).toBe(1);
      expect(co.stdout + co.stderr).not.toContain('AGE-SECRET-KEY');
    }, 240_000);
  }

  it('is not run when a plain identity opens the files', () => {
    const { alice, dir, vault, cmd, runs, opened } = setup();
    const env = { ...alice.env, GITSEAL_AGE_KEY_CMD: cmd, GITSEAL_AGE_KEY: readFileSync(vault, 'utf8') };
    const co = spawnSync('git', ['checkout', '--', '.'], { cwd: dir, env, encoding: 'utf8' });
    expect(co.status, co.stderr).toBe(0);
    expect(opened()).toBe(N);
    expect(runs()).toBe(0);
  }, 240_000);

  it('a failing command: files stay sealed with a one-line reason naming the variable, not the output', () => {
    const { alice, dir, vault } = setup();
    const env = { ...alice.env, GITSEAL_AGE_KEY_CMD: `sh -c 'cat "${vault}"; exit 2'` };
    const co = spawnSync('git', ['checkout', '--', 'app0'], { cwd: dir, env, encoding: 'utf8' });
    expect(co.stderr).toMatch(/^git-seal: app0\/\.dlt\/secrets\.toml: left sealed: .*\$GITSEAL_AGE_KEY_CMD: the key command exited with status 2$/m);
    expect(co.stderr).not.toContain('AGE-SECRET-KEY');
    expect(readFileSync(join(dir, 'app0/.dlt/secrets.toml'), 'utf8')).toContain('ENC[gitseal.v1,');
  }, 240_000);
});
