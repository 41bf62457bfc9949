import { GitSealError } from './errors.js';
import { parseExecArgv, runExec } from './commands/exec.js';
import { reportError } from './report-error.js';

/**
 * Entry point of the lean `exec` bundle (see bin/git-seal.js): starts without yargs, since exec wraps
 * other commands and its cold start counts. Any form it does not parse goes to the full CLI.
 */
export async function execMain(argv: string[]): Promise<number> {
  const args = parseExecArgv(argv);
  if (!args) return (await import('./cli.js')).main(argv);
  try {
    return await runExec(args);
  } catch (err) {
    reportError(err, args.debug ?? false);
    return err instanceof GitSealError ? err.exitCode : 1;
  }
}
