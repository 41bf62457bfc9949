import { GitSealError } from './errors.js';
import { serveFilter } from './commands/filter-process.js';
import { reportError } from './report-error.js';

/**
 * Entry for `git-seal filter-process` exactly as git runs it: starts without yargs, since git starts it
 * for every checkout, add and status that touches a secrets file. Any other form goes to the full CLI.
 */
export async function filterProcessMain(argv: string[]): Promise<number> {
  if (argv.length !== 1 || argv[0] !== 'filter-process') return (await import('./cli.js')).main(argv);
  try {
    await serveFilter(undefined);
    return 0;
  } catch (err) {
    reportError(err, false);
    return err instanceof GitSealError ? err.exitCode : 1;
  }
}
