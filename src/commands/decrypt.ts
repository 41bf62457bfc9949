import type { CommandModule } from 'yargs';
import { openText } from '../format/seal.js';
import { readText, writeOutput } from '../util/io.js';
import { identityList, type GlobalArgs } from './common.js';

interface Args extends GlobalArgs {
  file?: string;
  'in-place'?: boolean;
  output?: string;
}

export const decryptCommand: CommandModule<GlobalArgs, Args> = {
  command: 'decrypt [file]',
  describe: 'Open a sealed file to the exact plaintext (stdin to stdout without FILE)',
  builder: (y) =>
    y
      .positional('file', { type: 'string', describe: 'sealed file (default: stdin)' })
      .option('in-place', { alias: 'w', type: 'boolean', describe: 'rewrite FILE with its plaintext (for CI jobs that read the file)' })
      .option('output', { alias: 'o', type: 'string', describe: 'write to this file (created with mode 0600)' })
      .example('$0 decrypt .dlt/secrets.toml', 'print the plaintext')
      .example('GITSEAL_AGE_KEY=$DEPLOY_KEY $0 decrypt --in-place .dlt/prod.secrets.toml', 'CI: decrypt in place with a deploy key'),
  handler: async (args) => {
    const { text, name } = readText(args.file);
    const plaintext = await openText(text, await identityList(args), name);
    writeOutput(plaintext, { inPlace: args['in-place'], output: args.output, file: args.file, mode: 0o600 });
  },
};
