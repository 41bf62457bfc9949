/**
 * Passphrase prompts on the controlling terminal.
 *
 * git owns stdin and stdout while the filter runs, so prompts never touch them:
 * the terminal is opened directly (`/dev/tty`; `CONIN$`/`CONOUT$` on Windows),
 * put in raw mode (no echo) while the passphrase is typed, and restored after.
 * Prompts are serialised, so two identities never ask at the same time.
 * Without a terminal (CI, `setsid`, a daemon) asking throws NoTerminalError,
 * which names the identity and says how to provide the key instead.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { GitSealError } from '../errors.js';

/** node:tty, loaded on first use: most runs (the filter, exec in CI) never prompt, and it costs start-up time. */
const tty = (): typeof import('node:tty') => createRequire(import.meta.url)('node:tty') as typeof import('node:tty');

/** Asking was impossible: there is no terminal. Callers may skip an optional identity on this error. */
export class NoTerminalError extends GitSealError {
  constructor(label: string) {
    super(
      `${label} needs a passphrase, but there is no terminal to ask on`,
      'in CI or scripts provide the key unprotected instead: the secret GITSEAL_AGE_KEY, a GITSEAL_AGE_KEY_FILE, or a GITSEAL_AGE_KEY_CMD that prints it',
    );
    this.name = 'NoTerminalError';
  }
}

/** Two descriptors on the terminal: the ReadStream owns (and closes) `readFd`; `writeFd` is ours. */
interface Terminal {
  readFd: number;
  writeFd: number;
}

function openTerminal(): Terminal | null {
  const win = process.platform === 'win32';
  const fds: number[] = [];
  try {
    fds.push(openSync(win ? 'CONIN$' : '/dev/tty', 'r'));
    fds.push(openSync(win ? 'CONOUT$' : '/dev/tty', 'w'));
    if (fds.every((fd) => tty().isatty(fd))) return { readFd: fds[0], writeFd: fds[1] };
  } catch {
    // ENXIO (no controlling terminal), ENOENT, EACCES: no terminal to ask on
  }
  for (const fd of fds) closeSync(fd);
  return null;
}

/** True when a passphrase could be asked: this process has a controlling terminal. */
export function canPrompt(): boolean {
  const t = openTerminal();
  if (!t) return false;
  closeSync(t.readFd);
  closeSync(t.writeFd);
  return true;
}

let queue: Promise<unknown> = Promise.resolve();

/** Run prompts one after another, never interleaved on the terminal. */
function serialised<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn, fn);
  queue = next.catch(() => undefined);
  return next;
}

const SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGINT'] as const;

function readHidden(t: Terminal, prompt: string, echo = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const input = new (tty().ReadStream)(t.readFd);
    let typed = '';
    let done = false;
    // Killed while asking (git or the user stopping the command): give the terminal its echo back first.
    const onSignal = (sig: NodeJS.Signals): void => {
      restore();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    const restore = (): void => {
      if (done) return;
      done = true;
      process.removeListener('exit', restore);
      for (const sig of SIGNALS) process.removeListener(sig, onSignal);
      try {
        input.setRawMode(false);
      } catch {
        // the terminal went away; nothing to restore
      }
      input.destroy(); // closes readFd
      try {
        writeSync(t.writeFd, '\n');
      } catch {
        // best effort: the newline only tidies the terminal
      }
      closeSync(t.writeFd);
    };
    process.on('exit', restore);
    for (const sig of SIGNALS) process.on(sig, onSignal);
    input.setRawMode(true); // before the prompt is shown, so nothing typed after it is ever echoed
    writeSync(t.writeFd, prompt);
    input.setEncoding('utf8');
    input.on('error', (err) => {
      restore();
      reject(new GitSealError(`cannot read the passphrase from the terminal (${(err as NodeJS.ErrnoException).code ?? err.message})`, 'run the command in a terminal, or provide the key another way'));
    });
    input.on('data', (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          restore();
          resolve(typed);
          return;
        }
        if (ch === '\u0003' || (ch === '\u0004' && typed === '')) {
          restore();
          reject(new GitSealError('passphrase entry cancelled', undefined, 130));
          return;
        }
        if (ch === '\u007f' || ch === '\b') {
          if (echo && typed !== '') writeSync(t.writeFd, '\b \b');
          typed = [...typed].slice(0, -1).join('');
        } else if (ch === '\u0015') typed = '';
        else if (ch >= ' ') {
          typed += ch;
          if (echo) writeSync(t.writeFd, ch);
        }
      }
    });
  });
}

/**
 * Ask for the passphrase of `label` (a path or a name the user recognises) on the terminal, echo off.
 * Throws NoTerminalError without a terminal, and GitSealError (exit code 130) on Ctrl-C.
 */
export function askPassphrase(label: string): Promise<string> {
  return serialised(async () => {
    const t = openTerminal();
    if (!t) throw new NoTerminalError(label);
    return readHidden(t, `Enter passphrase for ${label}: `);
  });
}

/**
 * Show `text` on the terminal and read one line (hidden unless `visible`), for an age plugin's
 * request-secret, request-public and confirm. Throws NoTerminalError (naming `label`) without a terminal.
 */
export function askOnTerminal(label: string, text: string, opts: { visible?: boolean } = {}): Promise<string> {
  return serialised(async () => {
    const t = openTerminal();
    if (!t) throw new NoTerminalError(label);
    return readHidden(t, `${text.trim()} `, opts.visible === true);
  });
}

/** Write a line for the user on the terminal; on stderr when there is none (never stdout, which git owns). */
export function tellUser(text: string): void {
  const t = openTerminal();
  if (!t) {
    process.stderr.write(`${text}\n`);
    return;
  }
  try {
    writeSync(t.writeFd, `${text}\n`);
  } finally {
    closeSync(t.readFd);
    closeSync(t.writeFd);
  }
}

/** Ask twice for a new, non-empty passphrase protecting `label`; the two must match. */
export function askNewPassphrase(label: string): Promise<string> {
  return serialised(async () => {
    const first = openTerminal();
    if (!first) throw new NoTerminalError(label);
    const pass = await readHidden(first, `Enter a new passphrase for ${label}: `);
    if (pass === '') throw new GitSealError('empty passphrase', 'choose a passphrase, or drop --passphrase to write an unprotected identity');
    const second = openTerminal();
    if (!second) throw new NoTerminalError(label);
    if ((await readHidden(second, 'Confirm the passphrase: ')) !== pass) {
      throw new GitSealError('the passphrases did not match', 'run the command again');
    }
    return pass;
  });
}

const onceCache = new Map<string, Promise<unknown>>();

/**
 * Run `fn` once per `key` for the life of the process; every caller shares its promise, result or
 * failure. Used so an identity asks for its passphrase (and runs its KDF) once, however many files open.
 */
export function oncePerProcess<T>(key: string, fn: () => Promise<T>): Promise<T> {
  let p = onceCache.get(key) as Promise<T> | undefined;
  if (!p) {
    p = fn();
    onceCache.set(key, p);
  }
  return p;
}
