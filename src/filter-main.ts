import { GitSealError } from './errors.js';
import { serveFilter } from './commands/filter-process.js';
import { reportError } from './report-error.js';

/**
 * Entry of the lean filter bundle, for `git-seal filter-process` exactly as git runs it: starts without
 * yargs, since git starts it for every checkout, add and status that touches a secrets file. Returns
 * undefined for any other form; bin/git-seal.js then runs the full CLI.
 */
export async function main(argv: string[]): Promise<number | undefined> {
  if (argv.length !== 1 || argv[0] !== 'filter-process') return undefined;
  try {
    await serveFilter(undefined);
    return 0;
  } catch (err) {
    reportError(err, false);
    return err instanceof GitSealError ? err.exitCode : 1;
  }
}
