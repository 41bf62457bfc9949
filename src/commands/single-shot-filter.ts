import type { CommandModule } from 'yargs';
import { SealFilter } from '../git/filter.js';
import { findRepo, repoPath } from '../git/repo.js';
import { readStdin } from '../util/io.js';
import type { GlobalArgs } from './common.js';

export interface FileArgs extends GlobalArgs {
  file: string;
}

/**
 * `clean <file>` or `smudge <file>`: one file from stdin through the filter, to stdout. Shared by clean.ts
 * and smudge.ts; not in common.ts, which exec's lean start imports and which must not load the filter.
 */
export function singleShotFilter(kind: 'clean' | 'smudge'): CommandModule<GlobalArgs, FileArgs> {
  return {
    command: `${kind} <file>`,
    describe: false,
    builder: (y) => y.positional('file', { type: 'string', demandOption: true }),
    handler: async (args) => {
      const repo = findRepo();
      const filter = new SealFilter(repo.root, args.identity);
      try {
        const path = repoPath(repo, args.file);
        const out = await (kind === 'clean' ? filter.clean(path, readStdin()) : filter.smudge(path, readStdin()));
        process.stdout.write(out);
      } finally {
        filter.close();
      }
    },
  };
}
