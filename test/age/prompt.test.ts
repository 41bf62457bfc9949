/**
 * Passphrase prompts on a real pseudo-terminal (python3's pty module): the prompt module is compiled
 * and run in a child whose controlling terminal is the pty, while its stdin and stdout are a pipe and
 * a file, as they are when git runs the filter.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, compileModule, tempDir } from '../helpers.js';
import { runInPty } from '../pty.js';

const PROGRAM = `
import { execFileSync } from 'node:child_process';
import { openSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
const m = await import(process.argv[2]);
const mode = process.argv[3];
const stty = () => execFileSync('stty', ['-g'], { stdio: [openSync('/dev/tty', 'r'), 'pipe', 'ignore'] }).toString().trim();
const out = {};
const settle = async (p) => p.then((v) => ({ ok: v }), (e) => ({ err: e.message, hint: e.hint, name: e.name, code: e.exitCode }));
if (mode === 'one') {
  out.canPrompt = m.canPrompt();
  out.before = stty();
  out.result = await settle(m.askPassphrase('~/.config/git-seal/keys.txt.age'));
  out.after = stty();
} else if (mode === 'once') {
  const ask = () => m.oncePerProcess('id', () => m.askPassphrase('id'));
  out.results = await Promise.all([ask(), ask(), ask()]);
  out.results.push(await ask());
} else if (mode === 'two') {
  out.results = await Promise.all([m.askPassphrase('first'), m.askPassphrase('second')]);
} else if (mode === 'new') {
  out.result = await settle(m.askNewPassphrase('keys.txt.age'));
} else if (mode === 'none') {
  out.canPrompt = m.canPrompt();
  out.result = await settle(m.askPassphrase('~/.config/git-seal/keys.txt.age'));
}
writeFileSync(1, JSON.stringify(out));
`;

describe('askPassphrase on a pseudo-terminal', () => {
  let moduleUrl = '';
  let program = '';
  let dir = '';
  beforeAll(() => {
    dir = tempDir('gitseal-prompt-');
    moduleUrl = compileModule('age/prompt.ts', join(dir, 'dist'));
    program = join(dir, 'program.mjs');
    writeFileSync(program, PROGRAM);
  });
  afterAll(cleanupTempDirs);

  function drive(mode: string, answers: string[]) {
    const stdout = join(dir, `${mode}-${Math.random().toString(36).slice(2)}.json`);
    const run = runInPty([process.execPath, program, moduleUrl, mode], { answers, stdin: 'decoy-from-stdin\n', stdout });
    expect(run.timedOut).toBe(false);
    expect(run.status).toBe(0);
    return { run, out: JSON.parse(readFileSync(stdout, 'utf8')) };
  }

  it('asks on the terminal with echo off, ignores stdin, leaves stdout alone and restores the terminal', () => {
    const secret = 'correct horse ünïcode battery';
    const { run, out } = drive('one', [secret]);
    expect(out.canPrompt).toBe(true);
    expect(out.result).toEqual({ ok: secret });
    expect(run.prompts).toBe(1);
    expect(run.output).toContain('Enter passphrase for ~/.config/git-seal/keys.txt.age: ');
    expect(run.output).not.toContain('correct horse');
    expect(out.after).toBe(out.before);
  });

  it('handles backspace and Ctrl-U while typing', () => {
    const { out } = drive('one', ['wrong\u0015abcx\u007fd']);
    expect(out.result).toEqual({ ok: 'abcd' });
  });

  it('Ctrl-C cancels with exit code 130 and restores the terminal', () => {
    const { out } = drive('one', ['\u0003']);
    expect(out.result).toMatchObject({ err: 'passphrase entry cancelled', code: 130 });
    expect(out.after).toBe(out.before);
  });

  for (const [name, signal] of [['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    it(`killed by ${name} while asking: the terminal gets its echo back, and the process still dies`, () => {
      const run = runInPty([process.execPath, program, moduleUrl, 'one'], { killOnPrompt: signal, stdin: '', stdout: join(dir, `killed-${name}.json`) });
      expect(run.timedOut).toBe(false);
      expect(run.prompts).toBe(1);
      expect(run.signal).toBe(signal);
      expect(run.echo).toBe(true);
    });
  }

  it('oncePerProcess: concurrent and later callers share one prompt', () => {
    const { run, out } = drive('once', ['pw', 'second-prompt-should-not-happen']);
    expect(run.prompts).toBe(1);
    expect(out.results).toEqual(['pw', 'pw', 'pw', 'pw']);
  });

  it('prompts for different identities are serialised, never interleaved', () => {
    const { run, out } = drive('two', ['one', 'two']);
    expect(run.prompts).toBe(2);
    expect(out.results).toEqual(['one', 'two']);
    expect(run.output.indexOf('passphrase for first')).toBeLessThan(run.output.indexOf('passphrase for second'));
  });

  it('askNewPassphrase asks twice and insists they match', () => {
    const same = drive('new', ['s3cret', 's3cret']);
    expect(same.run.prompts).toBe(2);
    expect(same.out.result).toEqual({ ok: 's3cret' });
    const differ = drive('new', ['s3cret', 'other']);
    expect(differ.out.result).toMatchObject({ err: 'the passphrases did not match' });
    const empty = drive('new', ['']);
    expect(empty.run.prompts).toBe(1);
    expect(empty.out.result).toMatchObject({ err: 'empty passphrase' });
  });

  it('without a controlling terminal: NoTerminalError names the identity and the CI way', () => {
    // setsid: a new session with no controlling terminal, as in CI or under a daemon.
    const r = spawnSync('setsid', ['-w', process.execPath, program, moduleUrl, 'none'], { input: 'decoy\n', encoding: 'utf8' });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.canPrompt).toBe(false);
    expect(out.result.name).toBe('NoTerminalError');
    expect(out.result.err).toBe('~/.config/git-seal/keys.txt.age needs a passphrase, but there is no terminal to ask on');
    expect(out.result.hint).toContain('GITSEAL_AGE_KEY');
  });
});
