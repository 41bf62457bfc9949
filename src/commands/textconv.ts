import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { SealFilter } from '../git/filter.js';
import type { GlobalArgs } from './common.js';

interface TextconvArgs extends GlobalArgs {
  file: string;
}

/** `diff.git-seal.textconv`: plaintext for key holders, the sealed text for everyone else. */
export const textconvCommand: CommandModule<GlobalArgs, TextconvArgs> = {
  command: 'textconv <file>',
  describe: false,
  builder: (y) => y.positional('file', { type: 'string', demandOption: true }),
  handler: async (args) => {
    // Silent: what cannot be opened is shown as it is. textconv reads no config, so any root serves.
    const filter = new SealFilter(process.cwd(), args.identity, () => {});
    process.stdout.write(await filter.textconv(args.file, readFileSync(args.file)));
  },
};
