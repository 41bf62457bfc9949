import yargs, { type Argv, type CommandModule } from 'yargs';
import { GitSealError } from './errors.js';
import { reportError } from './report-error.js';
import { packageVersion } from './version.js';
import { commands } from './commands/index.js';
import { toList } from './commands/common.js';

class UsageError extends GitSealError {}

/** Marks an argument that starts with '-' but is no option (no argv string can hold a NUL). */
const LITERAL = '\0';

/**
 * yargs reads a lone `-` as an empty string (or `true`): it is marked here, so each command gets `-` as
 * given (`decrypt -` reads stdin, `--output -` writes stdout, `get - KEY` reads a file named `-`). After
 * `--`, arguments are positionals even when they start with '-' (`get -- -x.toml key`; git runs the
 * drivers that way), which yargs does not do by itself: they are marked here too. `unmarkLiterals` undoes it.
 */
function markLiterals(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') {
      if (out.includes('exec')) return [...out, ...argv.slice(i)]; // a wrapped command's own arguments
      return [...out, ...argv.slice(i + 1).map((a) => (a.startsWith('-') ? LITERAL + a : a))];
    }
    out.push(argv[i] === '-' ? LITERAL + argv[i] : argv[i]);
  }
  return out;
}

function buildCli(argv: string[]): Argv {
  return yargs(markLiterals(argv))
    .scriptName('git-seal')
    .usage('$0 <command> [options]\n\nGit-native encrypted secrets TOML files: each value sealed with age, keys and comments readable.')
    .option('identity', { alias: 'i', type: 'string', global: true, describe: 'age identity file to decrypt with (repeatable)', coerce: toList })
    .option('quiet', { alias: 'q', type: 'boolean', global: true, describe: 'print only errors and requested output' })
    .option('debug', { type: 'boolean', global: true, describe: 'show stack traces for errors' })
    .middleware(unmarkLiterals, true)
    .command(commands as CommandModule[])
    .demandCommand(1, 'Give a command; run git-seal --help to list them.')
    .recommendCommands()
    .strict()
    .completion('completion', 'Print a bash/zsh completion script (git-seal completion >> ~/.bashrc)')
    .version(packageVersion())
    .alias('h', 'help')
    .alias('V', 'version')
    .help()
    .wrap(null)
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(maskUnknownArguments(msg ?? 'invalid usage', argv), 'see git-seal --help', 2);
    });
}

function unmarkLiterals(argv: Record<string, unknown>): void {
  const unmark = (v: unknown): unknown => (typeof v === 'string' && v.startsWith(LITERAL) ? v.slice(1) : Array.isArray(v) ? v.map(unmark) : v);
  for (const k of Object.keys(argv)) argv[k] = unmark(argv[k]);
}

/**
 * yargs echoes stray arguments ("Unknown argument: hunter2"); a stray positional may well be a secret
 * typed in the wrong place, so only option names are shown.
 */
function maskUnknownArguments(msg: string, argv: readonly string[]): string {
  const m = /^(Unknown arguments?): (.*)$/s.exec(msg);
  if (!m) return msg;
  const isOption = (a: string) => argv.some((x) => x === `--${a}` || x === `-${a}` || x.startsWith(`--${a}=`));
  const shown = m[2].split(', ').map((a) => (isOption(a) ? `--${a}` : '<value not shown>'));
  return `${m[1]}: ${shown.join(', ')}`;
}

/** Run the CLI; returns the exit code instead of exiting so tests and the filter can embed it. */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    await buildCli(argv).parseAsync();
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    reportError(err, debug);
    return err instanceof GitSealError ? err.exitCode : 1;
  }
}
