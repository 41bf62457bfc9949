import type { CommandModule } from 'yargs';
import { GitSealError } from '../errors.js';
import { setValue, VALUE_TYPES, type ValueType } from '../api/set.js';
import { readStdin, decodeText } from '../util/io.js';
import { identityList, info, type GlobalArgs } from './common.js';

/** Read a line from the terminal without echoing it. */
async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new GitSealError('--prompt needs a terminal on stdin', 'pipe the value in with --stdin instead');
  stdin.setRawMode(true); // before the prompt shows, so that nothing typed after it is ever echoed
  process.stderr.write(question);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolvePrompt, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolvePrompt(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new GitSealError('cancelled', 'nothing was changed', 130));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

interface SetArgs extends GlobalArgs {
  file: string;
  key: string;
  literal?: string[];
  stdin?: boolean;
  prompt?: boolean;
  value?: string;
  type: ValueType;
}

async function readValue(args: SetArgs): Promise<string> {
  const dash = args.literal?.length === 1 && args.literal[0] === '-'; // `set FILE KEY -`: the value from stdin
  if (args.literal?.length && !dash) {
    throw new GitSealError(
      'refusing a value on the command line: it would be kept in your shell history',
      'pipe it in (--stdin), type it at a hidden prompt (--prompt), or pass --value VALUE if you accept the risk',
      2,
    );
  }
  const stdin = args.stdin || dash;
  const sources = [stdin, args.prompt, args.value !== undefined].filter(Boolean).length;
  if (sources > 1) throw new GitSealError('give the value one way: --stdin, --prompt or --value', 'pick one', 2);
  if (args.value !== undefined) {
    info(args, 'git-seal: warning: a value given with --value can end up in your shell history and is visible in the process list');
    return args.value;
  }
  if (args.prompt || (!stdin && process.stdin.isTTY)) {
    const value = await promptHidden(`Value for ${args.key} (input hidden): `);
    if (value === '') throw new GitSealError('empty value: nothing was set', "to store an empty string, use --value ''");
    return value;
  }
  // One trailing newline (from echo or a here-string) is not part of the value.
  const value = decodeText(readStdin(), '<stdin>').replace(/\r?\n$/, '');
  if (value === '') throw new GitSealError('empty value on stdin: nothing was set', "pipe the value in; to store an empty string, use --value ''");
  return value;
}

export const setCommand: CommandModule<GlobalArgs, SetArgs> = {
  command: 'set <file> <key> [literal..]',
  describe: 'Set or add one value from stdin or a hidden prompt; a sealed file stays sealed and only that line changes',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'secrets file; created (sealed for its profile) if missing' })
      .positional('key', { type: 'string', demandOption: true, describe: 'key path, e.g. sources.stripe.api_key; tables are created as needed' })
      .usage('$0 set <file> <key> [--stdin | --prompt | --value VALUE] [--type TYPE]\n\nSet or add one value; a sealed file stays sealed and only that line changes.')
      .positional('literal', { type: 'string', array: true, describe: "refused: a value typed here stays in your shell history (see --value); '-' reads stdin" })
      .option('stdin', { type: 'boolean', describe: 'read the value from stdin (one trailing newline is dropped); the default when stdin is not a terminal' })
      .option('prompt', { type: 'boolean', describe: 'ask for the value without echoing it; the default on a terminal' })
      .option('value', { type: 'string', describe: 'the value itself (warns: visible in shell history and the process list)' })
      .option('type', { alias: 't', choices: VALUE_TYPES, default: 'string' as ValueType, describe: 'write the value as this TOML type (toml: any TOML value, e.g. an array)' })
      .example('$0 set .dlt/secrets.toml sources.stripe.api_key', 'type the value at a hidden prompt')
      .example('pbpaste | $0 set .dlt/secrets.toml sources.stripe.api_key --stdin', 'take it from the clipboard')
      .example("echo 5432 | $0 set .dlt/secrets.toml destination.postgres.credentials.port --type int", 'write an integer')
      .example("echo '[\"raw\", \"staging\"]' | $0 set .dlt/secrets.toml destination.schemas --type toml", 'write an array'),
  handler: async (args) => {
    const value = await readValue(args);
    const r = await setValue(args.file, args.key, value, { identities: await identityList(args), type: args.type });
    if (r.envWarning) info(args, `git-seal: warning: ${r.envWarning}`);
    if (r.unchanged) info(args, `${args.file}: ${r.key} already has that value; nothing written`);
    else info(args, `${args.file}: ${r.added ? 'added' : 'set'} ${r.key}${r.createdFile ? ' (new file)' : ''}; written ${r.written}`);
  },
};
