import type { CommandModule } from 'yargs';
import { GitSealError } from '../errors.js';
import { loadIdentities } from '../age/index.js';
import { childEnv, collectSecrets, runCommand, runWithFile, writeMasks } from '../api/exec.js';
import { ENV_NAMINGS, type EnvNaming } from '../profiles/exec-naming.js';
import { info, toList, type GlobalArgs } from './common.js';

export interface ExecArgs extends GlobalArgs {
  profile?: string;
  file?: string[];
  naming?: EnvNaming;
  override?: boolean;
  'as-file'?: boolean;
  command?: string[];
  /** Everything after `--`. */
  '--'?: string[];
}

/** Decrypt, hand the GitHub Actions runner its masks, run the command; returns its exit code. */
export async function runExec(args: ExecArgs): Promise<number> {
  const [cmd, ...rest] = [...(args.command ?? []), ...(args['--'] ?? [])].map(String);
  if (!cmd) throw new GitSealError('exec needs a command to run', 'git-seal exec --profile P -- CMD [ARGS...]', 2);
  const { identities } = await loadIdentities({ identityFiles: args.identity ?? [], env: process.env });
  const collected = await collectSecrets({ profile: args.profile, files: args.file, naming: args.naming, asFile: args['as-file'], identities });
  for (const w of collected.warnings) info(args, `git-seal: ${w}`);
  if (process.env.GITHUB_ACTIONS === 'true') await writeMasks(collected.masks);
  if (collected.file) return runWithFile(cmd, rest, process.env, collected.file, (w) => info(args, w));
  const { env, kept } = childEnv(process.env, collected.secrets, args.override ?? false);
  if (kept.length) info(args, `git-seal: kept ${kept.length} variable(s) already set in the environment (--override replaces them): ${kept.join(', ')}`);
  return runCommand(cmd, rest, env);
}

/**
 * Read `exec` options without yargs, whose load and parse would double the cold start of every wrapped
 * command. Only the plain forms are taken; anything else (help, `--no-…`, bundled short flags, a
 * missing `--`, bad values) returns null and goes to the full CLI, which explains usage errors.
 */
export function parseExecArgv(argv: readonly string[]): ExecArgs | null {
  const end = argv.indexOf('--');
  if (argv[0] !== 'exec' || end < 0) return null;
  const args: ExecArgs = { command: argv.slice(end + 1) };
  for (let i = 1; i < end; i++) {
    const eq = argv[i].startsWith('--') ? argv[i].indexOf('=') : -1;
    const flag = eq > 0 ? argv[i].slice(0, eq) : argv[i];
    const inline = eq > 0 ? argv[i].slice(eq + 1) : undefined;
    const value = (): string | null => {
      const v = inline ?? (i + 1 < end ? argv[++i] : undefined);
      return v === undefined || v === '' || v.startsWith('-') ? null : v;
    };
    const flagOnly = inline === undefined;
    let v: string | null = null;
    if (flag === '-p' || flag === '--profile') {
      if (args.profile !== undefined || (v = value()) === null) return null;
      args.profile = v;
    } else if (flag === '-f' || flag === '--file' || flag === '-i' || flag === '--identity') {
      if ((v = value()) === null) return null;
      const key = flag === '-f' || flag === '--file' ? 'file' : 'identity';
      args[key] = [...(args[key] ?? []), v];
    } else if (flag === '--naming' || flag === '--env-naming') {
      if (args.naming !== undefined || (v = value()) === null || !ENV_NAMINGS.includes(v as EnvNaming)) return null;
      args.naming = v as EnvNaming;
    } else if (flagOnly && (flag === '-q' || flag === '--quiet')) args.quiet = true;
    else if (flagOnly && flag === '--override') args.override = true;
    else if (flagOnly && flag === '--as-file') args['as-file'] = true;
    else if (flagOnly && flag === '--debug') args.debug = true;
    else return null;
  }
  return !args.profile === !args.file ? null : args;
}


export const execCommand: CommandModule<GlobalArgs, ExecArgs> = {
  command: 'exec [command..]',
  describe: 'Run a command with the secrets of a profile or files as environment variables (decrypted in memory)',
  builder: (y) =>
    y
      .parserConfiguration({ 'populate--': true })
      .usage('$0 exec (--profile P | --file F...) [--naming dlt|plain|streamlit] [--override] [--as-file] -- CMD [ARGS...]')
      .positional('command', { type: 'string', array: true, describe: 'the command and its arguments, after --' })
      .option('profile', { alias: 'p', type: 'string', describe: 'every tracked sealed file of this profile' })
      .option('file', { alias: 'f', type: 'string', describe: 'a sealed file (repeatable)', coerce: toList })
      .option('naming', {
        alias: 'env-naming',
        choices: ENV_NAMINGS,
        describe: "dlt: SOURCES__STRIPE__API_KEY (dlt's convention, the default); plain: SOURCES_STRIPE_API_KEY; streamlit: root-level keys under their own names, as st.secrets sets them. Default: the profile's exec.naming, else dlt",
      })
      .option('override', { type: 'boolean', describe: 'replace variables that are already set (by default they win)' })
      .option('as-file', { type: 'boolean', describe: 'instead of variables, write the decrypted file to a private temporary file (tmpfs), pass its path as {} in the arguments and in GITSEAL_SECRETS_FILE, remove it when the command ends' })
      .conflicts('profile', 'file')
      .conflicts('as-file', 'override')
      .example('$0 exec --profile prod -- python pipeline.py', 'run a dlt pipeline with the prod secrets')
      .example('$0 exec -f .streamlit/secrets.toml --naming streamlit -- streamlit run app.py', "the variables Streamlit's st.secrets would set")
      .example('$0 exec -f .dlt/prod.secrets.toml --as-file -- tool --config {}', 'a tool that only reads files'),
  handler: async (args) => {
    process.exitCode = await runExec(args);
  },
};
