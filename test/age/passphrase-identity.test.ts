/**
 * Passphrase-protected identity files, against the reference Go age CLI: a file made by
 * `age-keygen | age -p` (armored and binary) opens git-seal files, asking once on the terminal;
 * and what git-seal writes for `keygen --passphrase` decrypts with `age -d`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isPassphraseProtected } from '../../src/age/scrypt-identity-file.js';
import { BIN, gitSeal, isolatedEnv } from '../helpers.js';
import { runInPty } from '../pty.js';
import { hasAgeCli, tempDir } from './helpers.js';

if (!hasAgeCli) console.warn('[test/age/passphrase-identity] SKIPPED: the Go `age` CLI is not on PATH (apt-get install -y age); CI installs it.');

/** scrypt at age -p's work factor, under a loaded machine: generous, never asserted on. */
const SLOW = 240_000;
const PASS = 'correct horse battery staple';

describe.skipIf(!hasAgeCli)(hasAgeCli ? 'age -p identity files (Go age interop)' : 'age -p identity files [SKIPPED: `age` not on PATH]', () => {
  const tmp = tempDir();
  afterAll(tmp.cleanup);
  const env = isolatedEnv(join(tmp.dir, 'home'));

  /** `age -p [-a] -o out in`, answering its two prompts on a pty (Go age reads them from /dev/tty). */
  function agePassphrase(input: string, out: string, armored: boolean): void {
    const run = runInPty(['age', '-p', ...(armored ? ['-a'] : []), '-o', out, input], { answers: [PASS] });
    expect(run.status, run.output).toBe(0);
    expect(run.prompts).toBe(2);
  }

  function sealFor(recipient: string, name: string): string {
    const plain = join(tmp.dir, `${name}.toml`);
    writeFileSync(plain, `[db]\npassword = "pw-${name}"\nport = 5432\n`);
    const sealed = join(tmp.dir, `${name}.sealed.toml`);
    const r = gitSeal(['encrypt', '-r', recipient, plain, '-o', sealed], { env });
    expect(r.status, r.stderr).toBe(0);
    return sealed;
  }

  for (const armored of [true, false]) {
    it(`an ${armored ? 'armored' : 'binary'} age -p identity file opens a git-seal file, asking once with echo off`, () => {
      const id = join(tmp.dir, `go-${armored}.txt`);
      gitSeal(['keygen', '-o', id], { env });
      const recipient = readFileSync(id, 'utf8').match(/# public key: (age1\S+)/)![1];
      const protectedFile = `${id}.age`;
      agePassphrase(id, protectedFile, armored);
      expect(isPassphraseProtected(readFileSync(protectedFile))).toBe(true);
      const sealed = sealFor(recipient, `f${armored}`);
      const out = join(tmp.dir, `out-${armored}.toml`);
      const run = runInPty([process.execPath, BIN, 'decrypt', '-i', protectedFile, sealed], { env, answers: [PASS], stdout: out });
      expect(run.status, run.output).toBe(0);
      expect(run.prompts).toBe(1);
      expect(run.output).not.toContain(PASS);
      expect(readFileSync(out, 'utf8')).toBe(`[db]\npassword = "pw-f${armored}"\nport = 5432\n`);
    }, SLOW);
  }

  it('a key made by age-keygen and protected by age -p, given as GITSEAL_AGE_KEY_FILE', () => {
    const id = join(tmp.dir, 'age-keygen.txt');
    expect(runInPty(['age-keygen', '-o', id]).status).toBe(0);
    const recipient = readFileSync(id, 'utf8').match(/# public key: (age1\S+)/)![1];
    agePassphrase(id, `${id}.age`, true);
    const sealed = sealFor(recipient, 'keygen');
    const out = join(tmp.dir, 'out-keygen.toml');
    const run = runInPty([process.execPath, BIN, 'decrypt', sealed], { env: { ...env, GITSEAL_AGE_KEY_FILE: `${id}.age` }, answers: [PASS], stdout: out });
    expect(run.status, run.output).toBe(0);
    expect(run.prompts).toBe(1);
    expect(readFileSync(out, 'utf8')).toContain('pw-keygen');
  }, SLOW);

  it('keygen --passphrase asks twice on the terminal and writes what age -d opens', () => {
    const file = join(tmp.dir, 'ours.txt.age');
    const stdout = join(tmp.dir, 'keygen.out');
    const run = runInPty([process.execPath, BIN, 'keygen', '--passphrase', '-o', file], { env, answers: [PASS], stdout });
    expect(run.status, run.output).toBe(0);
    expect(run.prompts).toBe(2);
    expect(run.output).not.toContain(PASS);
    const recipient = readFileSync(stdout, 'utf8').trim();
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n/);
    expect(isPassphraseProtected(readFileSync(file))).toBe(true);
    const out = join(tmp.dir, 'ours.txt');
    const dec = runInPty(['age', '-d', '-o', out, file], { answers: [PASS] });
    expect(dec.status, dec.output).toBe(0);
    expect(dec.prompts).toBe(1);
    expect(readFileSync(out, 'utf8')).toMatch(new RegExp(`^# created: .*\n# public key: ${recipient}\nAGE-SECRET-KEY-1[0-9A-Z]+\n$`));
    // Mismatched confirmation: nothing is written.
    const again = runInPty([process.execPath, BIN, 'keygen', '--passphrase', '-o', `${file}.2`], { env, answers: [PASS, 'other'] });
    expect(again.status).toBe(1);
    expect(again.output).toContain('the passphrases did not match');
    expect(() => readFileSync(`${file}.2`)).toThrow();
  }, SLOW);
});
