import { spawnSync } from 'node:child_process';
import { GitSealError } from '../errors.js';

export interface GitOptions {
  cwd: string;
  input?: string | Buffer;
  /** Return null instead of throwing when git exits non-zero. */
  allowFailure?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Run git and return its stdout as a Buffer. */
export function gitBuffer(args: string[], opts: GitOptions): Buffer | null {
  const res = spawnSync('git', args, {
    cwd: opts.cwd,
    input: opts.input,
    env: opts.env ?? process.env,
    maxBuffer: 1 << 30,
  });
  if (res.error) {
    throw new GitSealError(`cannot run git (${(res.error as NodeJS.ErrnoException).code ?? res.error.message})`, 'install git and make sure it is on PATH');
  }
  if (res.status !== 0) {
    if (opts.allowFailure) return null;
    const lines = res.stderr.toString('utf8').trim().split('\n');
    // git's error line (not the advice that follows it), without its prefix
    const error = lines.find((l) => /^(fatal|error): /.test(l))?.replace(/^(fatal|error): /, '') ?? lines.pop() ?? '';
    throw new GitSealError(`git ${args[0]} failed: ${error}`, 'fix what git reports, then run the command again');
  }
  return res.stdout;
}

/** Run git and return trimmed stdout. */
export function git(args: string[], opts: GitOptions): string {
  return (gitBuffer(args, opts) ?? Buffer.alloc(0)).toString('utf8').replace(/\n$/, '');
}

export function gitMaybe(args: string[], opts: Omit<GitOptions, 'allowFailure'>): string | null {
  const out = gitBuffer(args, { ...opts, allowFailure: true });
  return out === null ? null : out.toString('utf8').replace(/\n$/, '');
}
