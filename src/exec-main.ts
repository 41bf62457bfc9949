import { GitSealError } from './errors.js';
import { parseExecArgv, runExec } from './commands/exec.js';
import { reportError } from './report-error.js';

/**
 * Entry of the lean `exec` bundle (see bin/git-seal.js): starts without yargs, since exec wraps other
 * commands and its cold start counts. Returns undefined for any form it does not parse; bin/git-seal.js
 * then runs the full CLI.
 */
export async function main(argv: string[]): Promise<number | undefined> {
  const args = parseExecArgv(argv);
  if (!args) return undefined;
  try {
    return await runExec(args);
  } catch (err) {
    reportError(err, args.debug ?? false);
    return err instanceof GitSealError ? err.exitCode : 1;
  }
}
