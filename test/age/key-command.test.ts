import { describe, expect, it } from 'vitest';
import { runKeyCommand, splitCommand } from '../../src/age/key-command.js';
import { GitSealError } from '../../src/errors.js';

async function failure(p: Promise<unknown>): Promise<GitSealError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GitSealError);
    return e as GitSealError;
  }
  throw new Error('expected a GitSealError');
}

describe('splitCommand (as SOPS splits SOPS_AGE_KEY_CMD, without a shell)', () => {
  it('splits words and honours quotes and backslashes', () => {
    expect(splitCommand('op read op://vault/git-seal/key')).toEqual(['op', 'read', 'op://vault/git-seal/key']);
    expect(splitCommand(`  pass   show  'age keys/me' `)).toEqual(['pass', 'show', 'age keys/me']);
    expect(splitCommand(`sh -c "cat \\"$HOME/k\\" | tr -d x"`)).toEqual(['sh', '-c', 'cat "$HOME/k" | tr -d x']);
    expect(splitCommand(`a\\ b '' "" c`)).toEqual(['a b', '', '', 'c']);
    expect(splitCommand(`it's`)).toBeNull();
    expect(splitCommand('"open')).toBeNull();
    expect(splitCommand('   ')).toEqual([]);
  });
});

describe('runKeyCommand', () => {
  it('returns stdout; no shell expands anything; stdin is empty, not inherited', async () => {
    expect(await runKeyCommand('GITSEAL_AGE_KEY_CMD', 'echo $HOME "a  b"')).toBe('$HOME a  b\n');
    expect(await runKeyCommand('GITSEAL_AGE_KEY_CMD', 'cat')).toBe('');
  });

  it('a failing command is one line naming the variable, never its output', async () => {
    const err = await failure(runKeyCommand('SOPS_AGE_KEY_CMD', `sh -c 'echo AGE-SECRET-KEY-1LEAKED; exit 3'`));
    expect(err.message).toBe('$SOPS_AGE_KEY_CMD: the key command exited with status 3');
    expect(err.message + err.hint).not.toContain('LEAKED');
    expect((await failure(runKeyCommand('GITSEAL_AGE_KEY_CMD', 'no-such-command-gitseal --x'))).message).toBe('$GITSEAL_AGE_KEY_CMD: command not found: no-such-command-gitseal');
    expect((await failure(runKeyCommand('GITSEAL_AGE_KEY_CMD', `echo 'open`))).message).toBe('$GITSEAL_AGE_KEY_CMD: has an unclosed quote');
    expect((await failure(runKeyCommand('GITSEAL_AGE_KEY_CMD', `sh -c 'kill -9 $$'`))).message).toBe('$GITSEAL_AGE_KEY_CMD: the key command was killed by SIGKILL');
  });

  it('a command that hangs is stopped at the timeout', async () => {
    const err = await failure(runKeyCommand('GITSEAL_AGE_KEY_CMD', 'sleep 600', { timeoutMs: 50 }));
    expect(err.message).toMatch(/^\$GITSEAL_AGE_KEY_CMD: the key command did not finish within \d+ s and was stopped$/);
  });
});
