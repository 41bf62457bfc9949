import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

export interface PtyRun {
  status: number | null;
  signal: number | null;
  /** How many times the prompt appeared on the terminal (each one was answered). */
  prompts: number;
  /** Everything written to the terminal. */
  output: string;
  timedOut: boolean;
  /** Whether the terminal echoes input once the command has ended (null if unknown). */
  echo: boolean | null;
}

export interface PtyOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Typed, one per prompt (the last one repeats), each followed by Enter. */
  answers?: string[];
  /** Regex source that marks a prompt on the terminal. */
  prompt?: string;
  /** Fed to the child's stdin through a pipe (default: stdin is the terminal). */
  stdin?: string;
  /** File that receives the child's stdout (default: stdout is the terminal). */
  stdout?: string;
  /** Send this signal (a number, e.g. 15) at the first prompt instead of answering. */
  killOnPrompt?: number;
}

/** Run argv with a real pseudo-terminal as its controlling terminal (python3's pty module), answering prompts. */
export function runInPty(argv: string[], opts: PtyOptions = {}): PtyRun {
  const spec = {
    argv,
    cwd: opts.cwd ?? null,
    answers: opts.answers ?? [],
    prompt: opts.prompt ?? '(?:Enter|Confirm)[^\\r\\n]*passphrase[^\\r\\n]*: ',
    stdin: opts.stdin ?? null,
    stdout: opts.stdout ?? null,
    killOnPrompt: opts.killOnPrompt ?? null,
    timeout: 200,
  };
  const r = spawnSync('python3', [join(ROOT, 'test', 'fixtures', 'pty-drive.py'), JSON.stringify(spec)], {
    env: opts.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`pty driver failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as PtyRun;
}
