import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { mergeSealedFiles } from '../git/merge.js';
import { findRepo } from '../git/repo.js';
import { loadConfigIfPresent } from '../profiles/config.js';
import { pathSettings } from '../profiles/path-settings.js';
import { writeFileAtomic } from '../git/atomic-write.js';
import { identityList, type GlobalArgs } from './common.js';

interface MergeArgs extends GlobalArgs {
  base: string;
  ours: string;
  theirs: string;
  markerSize?: number;
  path?: string;
}

/** `merge.git-seal.driver`: writes the merged (sealed) result over %A; exit 1 leaves a conflict. */
export const mergeDriverCommand: CommandModule<GlobalArgs, MergeArgs> = {
  command: 'merge-driver <base> <ours> <theirs> [markerSize] [path]',
  describe: false,
  builder: (y) =>
    y
      .positional('base', { type: 'string', demandOption: true })
      .positional('ours', { type: 'string', demandOption: true })
      .positional('theirs', { type: 'string', demandOption: true })
      .positional('markerSize', { type: 'number' })
      .positional('path', { type: 'string' }),
  handler: async (args) => {
    const path = args.path ?? args.ours;
    // Only plaintext_keys come from the config: during a merge the work tree still holds ours'
    // .gitseal.toml (git writes the merged one afterwards), so the recipients come from the three
    // sealed versions instead (see mergeRecipients).
    let plaintextKeys;
    try {
      plaintextKeys = pathSettings(loadConfigIfPresent(findRepo().root), path).plaintextKeys;
    } catch {
      /* every value sealed */
    }
    const result = await mergeSealedFiles({
      base: readFileSync(args.base, 'utf8'),
      ours: readFileSync(args.ours, 'utf8'),
      theirs: readFileSync(args.theirs, 'utf8'),
      path,
      markerSize: args.markerSize,
      identities: await identityList(args),
      plaintextKeys,
    });
    writeFileAtomic(args.ours, result.text);
    if (result.refusal) {
      process.stderr.write(`git-seal: ${result.refusal} (ask a key holder to merge it, or abort the merge)\n`);
    }
    if (result.conflict) process.exitCode = 1;
  },
};
