import { GitSealError } from './errors.js';

/** Print an error as git-seal's one line (a stack trace only with --debug). */
export function reportError(err: unknown, debug: boolean): void {
  if (err instanceof GitSealError) {
    process.stderr.write(`git-seal: ${err.oneLine}\n`);
  } else {
    const e = err as Error;
    process.stderr.write(`git-seal: unexpected error: ${e?.message ?? String(err)} (rerun with --debug for details and report it)\n`);
  }
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
}
