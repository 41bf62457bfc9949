import type { CommandModule } from 'yargs';
import { SealFilter } from '../git/filter.js';
import { readBytes } from '../util/io.js';
import type { GlobalArgs } from './common.js';

interface TextconvArgs extends GlobalArgs {
  file: string;
}

/** Print `file` as `git diff` shows it: plaintext for key holders, the sealed text for everyone else. */
export async function runTextconv(file: string, identityFiles: string[] | undefined): Promise<void> {
  // Silent: what cannot be opened is shown as it is. textconv reads no config, so any root serves.
  const filter = new SealFilter(process.cwd(), identityFiles, () => {});
  process.stdout.write(await filter.textconv(file, readBytes(file)));
}

/** `diff.git-seal.textconv`; git runs it as `textconv -- FILE`, which the lean filter start serves (filter-main.ts). */
export const textconvCommand: CommandModule<GlobalArgs, TextconvArgs> = {
  command: 'textconv <file>',
  describe: false,
  builder: (y) => y.positional('file', { type: 'string', demandOption: true }),
  handler: (args) => runTextconv(args.file, args.identity),
};
