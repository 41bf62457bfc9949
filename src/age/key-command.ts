/**
 * Identities printed by a command: GITSEAL_AGE_KEY_CMD, and SOPS_AGE_KEY_CMD as SOPS 3.10 runs it.
 * The value is split into words like SOPS does (github.com/google/shlex: whitespace separates words,
 * '…' is literal, "…" and backslash escape) and run without a shell; wrap it in `sh -c '…'` for pipes.
 * Its stdin is /dev/null and its stdout a private pipe (never git's), its stderr is passed through so
 * the tool's own messages show. It runs lazily, at most once per process, with a timeout; a failure is
 * one line naming the variable, never the command's output.
 */
import { spawn } from 'node:child_process';
import { GitSealError } from '../errors.js';
import { DeferredIdentity } from './deferred.js';

/** How long a key command may take (e.g. waiting for a password manager's unlock): 2 minutes. */
const KEY_COMMAND_TIMEOUT_MS = 120_000;
const MAX_OUTPUT = 1 << 20;

/** Split a command line into words, shell-style but without expansion; null when a quote is unclosed. */
export function splitCommand(line: string): string[] | null {
  const words: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1])) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (c === '\\') {
      if (i + 1 >= line.length) return null;
      word = (word ?? '') + line[++i];
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote) return null;
  if (word !== null) words.push(word);
  return words;
}

/** Run the key command in `variable` and return its stdout (secret). */
export function runKeyCommand(variable: string, value: string, opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  const fail = (what: string, hint = `check the command in $${variable}; run it by hand to see what it prints`): GitSealError =>
    new GitSealError(`$${variable}: ${what}`, hint);
  const argv = splitCommand(value);
  if (!argv || argv.length === 0) return Promise.reject(fail(argv ? 'is empty' : 'has an unclosed quote'));
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], env: opts.env ?? process.env, shell: false });
    const chunks: Buffer[] = [];
    let size = 0;
    let failure: GitSealError | null = null;
    const timer = setTimeout(() => {
      failure = fail(`the key command did not finish within ${Math.round((opts.timeoutMs ?? KEY_COMMAND_TIMEOUT_MS) / 1000)} s and was stopped`);
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? KEY_COMMAND_TIMEOUT_MS);
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_OUTPUT) {
        failure ??= fail('the key command printed more than 1 MiB');
        child.kill('SIGKILL');
      } else {
        chunks.push(b);
      }
    });
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const out = Buffer.concat(chunks);
      if (!failure && code !== 0) failure = fail(signal ? `the key command was killed by ${signal}` : `the key command exited with status ${code}`);
      if (failure) reject(failure);
      else resolve(out.toString('utf8'));
      out.fill(0);
      for (const c of chunks) c.fill(0);
    };
    child.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      failure ??= fail(code === 'ENOENT' ? `command not found: ${argv[0]}` : `cannot run the key command (${code ?? err.message})`);
      if (child.pid === undefined) finish(null, null); // never started: no 'close' to wait for
    });
    child.on('close', finish);
  });
}

/** The identities a key command prints, run on first need. */
export function keyCommandIdentity(variable: string, value: string, env: NodeJS.ProcessEnv): DeferredIdentity {
  return new DeferredIdentity(`$${variable}`, `cmd:${variable}=${value}`, () => runKeyCommand(variable, value, { env }));
}
