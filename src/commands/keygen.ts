import type { CommandModule } from 'yargs';
import { createIdentityFile } from '../age/keystore.js';
import { info, type GlobalArgs } from './common.js';

interface Args extends GlobalArgs {
  output?: string;
  pq?: boolean;
}

export const keygenCommand: CommandModule<GlobalArgs, Args> = {
  command: 'keygen',
  describe: 'Generate an age identity (age-keygen format, mode 0600); prints the public key',
  builder: (y) =>
    y
      .option('output', { alias: 'o', type: 'string', describe: 'identity file to write, or - for stdout (default: ~/.config/git-seal/keys.txt)' })
      .option('pq', { type: 'boolean', default: false, describe: 'post-quantum hybrid identity (age1pq1… recipient)' })
      .example('$0 keygen', 'create your identity in the default location')
      .example('$0 keygen --output - --pq', 'print a post-quantum identity, e.g. for a deploy key'),
  handler: async (args) => {
    const made = await createIdentityFile({ output: args.output, pq: args.pq ?? false, env: process.env });
    if (made.path) {
      info(args, `Wrote identity to ${made.path}`);
      process.stdout.write(made.recipient + '\n');
    } else {
      process.stderr.write(`Public key: ${made.recipient}\n`);
    }
  },
};
