import type { CommandModule } from 'yargs';
import { lock } from '../git/install.js';
import { findRepo } from '../git/repo.js';
import { info, type GlobalArgs } from './common.js';

interface LockArgs extends GlobalArgs {
  force?: boolean;
}

export const lockCommand: CommandModule<GlobalArgs, LockArgs> = {
  command: 'lock',
  describe: 'Check the secrets files out sealed and remove the local filter config',
  builder: (y) => y.option('force', { type: 'boolean', describe: 'lock even if secrets files have uncommitted changes or are untracked: they are sealed in place' }),
  handler: async (args) => {
    const r = await lock(findRepo(), { force: args.force, identityFiles: args.identity });
    if (r.sealedInPlace.length) info(args, `Sealed in place (uncommitted or untracked): ${r.sealedInPlace.join(', ')}`);
    info(args, `Locked: ${r.relocked.length} file(s) sealed in the working tree; filter config removed`);
  },
};
