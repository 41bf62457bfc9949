import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { openSealed, parseSealed } from '../format/seal.js';
import { scanToml, TomlSyntaxError } from '../toml/index.js';
import { withFileLock, writeFileAtomic } from '../git/atomic-write.js';
import { decodeText, readBytes } from '../util/io.js';
import { fileContext, filterInstalled, resealEdited } from './secrets-file.js';

export interface EditOptions {
  identities: readonly Identity[];
  /** Shell command of the editor ($VISUAL, $EDITOR or vi); run via sh so "code --wait" works. */
  editor: string;
  /** On a terminal an invalid file reopens the editor; otherwise the edit is aborted. */
  interactive: boolean;
  /** Notes for the user (stderr); never given a value. */
  notice?: (line: string) => void;
}

/** Lines git-seal puts above the file after an invalid save; they are removed when reading it back. */
const MARK = '# git-seal: ';

function stripHeader(text: string, header: string): string {
  let out = text;
  if (header) while (out.startsWith(MARK)) out = out.slice(out.indexOf('\n') + 1 || out.length);
  return out;
}

/** What is wrong with edited plaintext, with line numbers shifted by `offset` lines; null when valid. */
function syntaxProblem(text: string, offset: number): string | null {
  try {
    scanToml(text);
    return null;
  } catch (err) {
    if (err instanceof TomlSyntaxError) return `line ${err.line + offset}, column ${err.col}: ${err.reason}`;
    throw err;
  }
}

/** A plain command and arguments (no shell syntax, no VAR=x prefix): the shell can exec it, so signals reach the editor. */
const SIMPLE_COMMAND = /^(?![A-Za-z_][A-Za-z0-9_]*=)[^;&|<>()$`\\\n]+$/;

function runEditor(editor: string, file: string, track: (child: ChildProcess | null) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const script = `${SIMPLE_COMMAND.test(editor) ? 'exec ' : ''}${editor} "$1"`;
    const child = spawn('/bin/sh', ['-c', script, 'git-seal-editor', file], { stdio: 'inherit' });
    track(child);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      track(null);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

function notSealed(file: string): GitSealError {
  const ctx = fileContext(file);
  if (ctx.repo && filterInstalled(ctx.repo)) {
    return new GitSealError(`${file}: is already plaintext in the working tree (the git-seal filter is installed in this clone)`, `edit it with your editor directly; git add seals it`);
  }
  return new GitSealError(`${file}: is not sealed`, 'edit it with your editor directly, then seal it with git-seal encrypt -r AGE1… --in-place');
}

/**
 * Decrypt a sealed file to a private temporary file, let the user edit it, then re-seal it with the same
 * data key (unchanged values keep their ciphertext). The temporary directory is removed on every exit,
 * including SIGINT and SIGTERM. The file is not locked while the editor is open: the save (under the
 * file's lock) is refused when another command changed the file meanwhile. Returns whether the file changed.
 */
export async function editFile(file: string, opts: EditOptions): Promise<{ changed: boolean }> {
  const bytes = readBytes(file);
  const text = decodeText(bytes, file);
  const sealed = parseSealed(text, file);
  if (!sealed) throw notSealed(file);
  const opened = await openSealed(sealed, opts.identities, file);
  const ctx = fileContext(file);

  const dir = mkdtempSync(join(tmpdir(), 'git-seal-')); // mode 0700
  const tmp = join(dir, basename(file));
  let editor: ChildProcess | null = null;
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals) => {
    editor?.kill('SIGTERM');
    cleanup();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    process.kill(process.pid, signal); // die of the same signal, as if not caught
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal).on('exit', cleanup);
  try {
    let header = '';
    let shown = opened.plaintext;
    for (;;) {
      writeFileAtomic(tmp, header + shown, 0o600, { tempBeside: true }); // in its private 0700 directory
      const status = await runEditor(opts.editor, tmp, (c) => (editor = c));
      if (status !== 0) {
        throw new GitSealError(
          `${file}: the editor (${opts.editor}) exited with status ${status}; nothing was changed`,
          status === 127 ? 'set $VISUAL or $EDITOR to an editor that is installed' : 'save and quit the editor normally to apply an edit',
        );
      }
      const edited = stripHeader(decodeText(readFileSync(tmp), file), header);
      // Unchanged plaintext is still re-sealed: that seals any value the file held in clear.
      const problem = syntaxProblem(edited, 0);
      if (problem === null) {
        const resealed = await resealEdited(edited, opened, ctx);
        if (resealed === text) return { changed: false };
        await withFileLock(file, async () => writeFileAtomic(file, resealed, undefined, { expected: bytes }));
        return { changed: true };
      }
      if (!opts.interactive || (header && edited === shown)) {
        throw new GitSealError(`${file}: the edited file is not valid TOML (${problem}); nothing was changed`, 'run git-seal edit again and fix it');
      }
      opts.notice?.(`git-seal: ${file}: ${problem}; reopening the editor (quit without saving to abort)`);
      header = `${MARK}${syntaxProblem(edited, 2)}\n${MARK}fix it and save, or quit without saving to abort; these two lines are removed\n`;
      shown = edited;
    }
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('exit', cleanup);
    cleanup();
  }
}
