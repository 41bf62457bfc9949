import type { CommandModule } from 'yargs';
import { fileContext } from '../api/secrets-file.js';
import { openText } from '../format/seal.js';
import { readText } from '../util/io.js';
import { rewriting, writeOutput } from './output.js';
import { identityList, type GlobalArgs } from './common.js';

interface Args extends GlobalArgs {
  file?: string;
  'in-place'?: boolean;
  output?: string;
  'allow-plaintext'?: boolean;
}

export const decryptCommand: CommandModule<GlobalArgs, Args> = {
  command: 'decrypt [file]',
  describe: 'Open a sealed file to the exact plaintext (stdin to stdout without FILE)',
  builder: (y) =>
    y
      .positional('file', { type: 'string', describe: 'sealed file (default: stdin)' })
      .option('in-place', { alias: 'w', type: 'boolean', describe: 'rewrite FILE with its plaintext (for CI jobs that read the file)' })
      .option('output', { alias: 'o', type: 'string', describe: 'write to this file (created with mode 0600)' })
      .option('allow-plaintext', { type: 'boolean', describe: "accept values stored in clear that the file's plaintext_keys do not list (refused by default: they were written without the key)" })
      .example('$0 decrypt .dlt/secrets.toml', 'print the plaintext')
      .example('GITSEAL_AGE_KEY=$DEPLOY_KEY $0 decrypt --in-place .dlt/prod.secrets.toml', 'CI: decrypt in place with a deploy key'),
  handler: async (args) => {
    const target = { inPlace: args['in-place'], output: args.output, file: args.file, mode: 0o600 };
    await rewriting(target, async () => {
      const { text, name, bytes } = readText(args.file === '-' ? undefined : args.file); // '-': stdin, as without FILE
      const named = args.file !== undefined && args.file !== '-';
      const plaintext = await openText(text, await identityList(args), name, {
        // stdin has no path, so no plaintext_keys: name the file, or pass --allow-plaintext.
        plaintextKeys: () => (named ? fileContext(args.file!).settings.plaintextKeys : undefined),
        allowPlaintext: args['allow-plaintext'],
      });
      writeOutput(plaintext, { ...target, expected: bytes });
    });
  },
};
