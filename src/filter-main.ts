import { GitSealError } from './errors.js';
import { serveFilter } from './commands/filter-process.js';
import { runTextconv } from './commands/textconv.js';
import { reportError } from './report-error.js';

/**
 * Entry of the lean filter bundle, for the forms git runs: `filter-process` (every checkout, add and
 * status that touches a secrets file) and `textconv -- FILE` (every secrets file `git diff` or `git log
 * -p` shows). Starts without yargs. Returns undefined for any other form; bin/git-seal.js then runs
 * the full CLI.
 */
export async function main(argv: string[]): Promise<number | undefined> {
  let run: () => Promise<void>;
  if (argv.length === 1 && argv[0] === 'filter-process') run = () => serveFilter(undefined);
  else if (argv.length === 3 && argv[0] === 'textconv' && argv[1] === '--') run = () => runTextconv(argv[2], undefined);
  else return undefined;
  try {
    await run();
    return 0;
  } catch (err) {
    reportError(err, false);
    return err instanceof GitSealError ? err.exitCode : 1;
  }
}
