/**
 * Passphrase-protected identities through the real git filter, on a real pseudo-terminal: a checkout
 * of many files asks once; without a terminal a default file is skipped with one warning and a named
 * one fails with a clear error; an unusable default key file never blocks the user's own key.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { protectIdentityText } from '../../src/age/scrypt-identity-file.js';
import { cleanupTempDirs, keyFile as keyPath, person, type Person, repoWith } from '../helpers.js';
import { runInPty } from '../pty.js';

afterAll(cleanupTempDirs);

/** scrypt at age -p's work factor, under a loaded machine: generous, never asserted on. */
const SLOW = 240_000;
const PASS = 'tr0ub4dor & 3';
const N = 20;
const files = Object.fromEntries(Array.from({ length: N }, (_, i) => [`app${i}/.dlt/secrets.toml`, `token = "secret-value-${i}"\n`]));

/** alice's repository of N sealed files, her default key then replaced by its passphrase-protected form. */
async function protectedSetup(): Promise<{ alice: Person; dir: string; plainKey: string }> {
  const alice = person('alice');
  const dir = repoWith(alice, files);
  const plainKey = readFileSync(keyPath(alice), 'utf8');
  writeFileSync(keyPath(alice), await protectIdentityText(plainKey, PASS), { mode: 0o600 });
  for (const f of Object.keys(files)) unlinkSync(join(dir, f));
  return { alice, dir, plainKey };
}

function opened(dir: string): number {
  return Object.entries(files).filter(([f, text]) => readFileSync(join(dir, f), 'utf8') === text).length;
}

function setsid(cmd: string[], cwd: string, env: NodeJS.ProcessEnv) {
  return spawnSync('setsid', ['-w', ...cmd], { cwd, env, encoding: 'utf8', input: '' });
}

describe('a passphrase-protected default identity', () => {
  it(`a checkout of ${N} files through the filter asks once, echo off, and opens them all`, async () => {
    const { alice, dir } = await protectedSetup();
    const run = runInPty(['git', 'checkout', '--', '.'], { cwd: dir, env: alice.env, answers: [PASS] });
    expect(run.timedOut).toBe(false);
    expect(run.status, run.output).toBe(0);
    expect(run.prompts).toBe(1);
    expect(run.output).toContain(`Enter passphrase for ${keyPath(alice)}: `);
    expect(run.output).not.toContain(PASS);
    expect(opened(dir)).toBe(N);
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  }, SLOW);

  it('a wrong passphrase is asked again, then the files open', async () => {
    const { alice, dir } = await protectedSetup();
    const run = runInPty(['git', 'checkout', '--', '.'], { cwd: dir, env: alice.env, answers: ['wrong', PASS] });
    expect(run.status, run.output).toBe(0);
    expect(run.prompts).toBe(2);
    expect(run.output).toContain('wrong passphrase');
    expect(opened(dir)).toBe(N);
  }, SLOW);

  it('is never asked while a plain identity opens the files (deferred)', async () => {
    const { alice, dir, plainKey } = await protectedSetup();
    const run = runInPty(['git', 'checkout', '--', '.'], { cwd: dir, env: { ...alice.env, GITSEAL_AGE_KEY: plainKey }, answers: [PASS] });
    expect(run.status, run.output).toBe(0);
    expect(run.prompts).toBe(0);
    expect(opened(dir)).toBe(N);
  }, SLOW);

  it('without a terminal: skipped with one warning, files left sealed, git succeeds', async () => {
    const { alice, dir } = await protectedSetup();
    const r = setsid(['git', 'checkout', '--', '.'], dir, alice.env);
    expect(r.status, r.stderr).toBe(0);
    const warning = `git-seal: skipping ${keyPath(alice)}: it is passphrase-protected and there is no terminal to ask on`;
    expect(r.stderr.split('\n').filter((l) => l === warning)).toHaveLength(1);
    expect(opened(dir)).toBe(0);
    expect(readFileSync(join(dir, 'app0/.dlt/secrets.toml'), 'utf8')).toContain('ENC[gitseal.v1,');
  }, SLOW);

  it('without a terminal but with the key in GITSEAL_AGE_KEY (CI): opens everything, asks nothing', async () => {
    const { alice, dir, plainKey } = await protectedSetup();
    const r = setsid(['git', 'checkout', '--', '.'], dir, { ...alice.env, GITSEAL_AGE_KEY: plainKey });
    expect(r.status, r.stderr).toBe(0);
    expect(opened(dir)).toBe(N);
  }, SLOW);

  it('named explicitly without a terminal: a clear error naming the identity and the CI way', async () => {
    const { alice, dir } = await protectedSetup();
    const env = { ...alice.env, GITSEAL_AGE_KEY_FILE: keyPath(alice) };
    const sealed = alice.git(['show', 'HEAD:app3/.dlt/secrets.toml'], dir);
    const r = spawnSync('setsid', ['-w', process.execPath, join(import.meta.dirname, '../../bin/git-seal.js'), 'decrypt'], { cwd: dir, env, input: sealed, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`$GITSEAL_AGE_KEY_FILE (${keyPath(alice)}) needs a passphrase, but there is no terminal to ask on`);
    expect(r.stderr).toContain('the secret GITSEAL_AGE_KEY');
    // Through the filter: each file is left sealed with that reason; nothing is asked.
    const co = setsid(['git', 'checkout', '--', 'app3'], dir, env);
    expect(co.stderr).toContain('app3/.dlt/secrets.toml: left sealed: ');
    expect(co.stderr).toContain('needs a passphrase, but there is no terminal to ask on');
    expect(readFileSync(join(dir, 'app3/.dlt/secrets.toml'), 'utf8')).toContain('ENC[gitseal.v1,');
  }, SLOW);
});

describe('unusable default key files never block the user\'s own key', () => {
  it('a damaged AGE-PLUGIN line in ~/.config/sops/age/keys.txt: one warning, checkout opens, git add seals', () => {
    const alice = person('alice');
    const dir = repoWith(alice, files);
    const sops = join(alice.home, '.config', 'sops', 'age', 'keys.txt');
    mkdirSync(join(sops, '..'), { recursive: true });
    writeFileSync(sops, '# yubikey\nAGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQ\n');
    for (const f of Object.keys(files)) unlinkSync(join(dir, f));
    const co = spawnSync('git', ['checkout', '--', '.'], { cwd: dir, env: alice.env, encoding: 'utf8' });
    expect(co.status, co.stderr).toBe(0);
    expect(opened(dir)).toBe(N);
    expect(co.stderr.split('\n').filter((l) => l.includes('skipping'))).toEqual([
      `git-seal: skipping an identity: ${sops}, line 2: invalid age plugin identity (bad checksum, case or plugin name)`,
    ]);
    writeFileSync(join(dir, 'app1/.dlt/secrets.toml'), 'token = "rotated-value"\n');
    const add = spawnSync('git', ['add', 'app1/.dlt/secrets.toml'], { cwd: dir, env: alice.env, encoding: 'utf8' });
    expect(add.status, add.stderr).toBe(0);
    expect(alice.git(['show', ':app1/.dlt/secrets.toml'], dir)).toContain('ENC[gitseal.v1,');
  }, SLOW);
});
