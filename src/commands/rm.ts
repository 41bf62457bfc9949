import type { CommandModule } from 'yargs';
import { removeValue } from '../api/rm.js';
import { identityList, info, type GlobalArgs } from './common.js';

interface RmArgs extends GlobalArgs {
  file: string;
  key: string;
}

export const rmCommand: CommandModule<GlobalArgs, RmArgs> = {
  command: 'rm <file> <key>',
  describe: 'Remove one value (its whole line); a sealed file stays sealed and only that line goes',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'secrets file' })
      .positional('key', { type: 'string', demandOption: true, describe: 'key path, e.g. sources.stripe.api_key' })
      .example('$0 rm .dlt/secrets.toml sources.stripe.old_key', 'remove a key'),
  handler: async (args) => {
    const r = await removeValue(args.file, args.key, await identityList(args));
    info(args, `${args.file}: removed ${r.key}; written ${r.written}`);
  },
};
