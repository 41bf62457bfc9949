import type { CommandModule } from 'yargs';
import { SealFilter } from '../git/filter.js';
import { runFilterProcess } from '../git/filter-process.js';
import { findRepo, repoPath } from '../git/repo.js';
import { readStdin } from '../util/io.js';
import type { GlobalArgs } from './common.js';

/** `filter.git-seal.process`: one process serves every clean and smudge of a git command. */
export const filterProcessCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'filter-process',
  describe: false,
  handler: async (args) => {
    const filter = new SealFilter(findRepo().root, args.identity);
    try {
      await runFilterProcess({
        clean: (req) => filter.clean(req.pathname, req.content),
        smudge: (req) => filter.smudge(req.pathname, req.content),
      });
    } finally {
      filter.close();
    }
  },
};

interface FileArgs extends GlobalArgs {
  file: string;
}

function singleShot(kind: 'clean' | 'smudge'): CommandModule<GlobalArgs, FileArgs> {
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

/** Single-shot fallbacks for git versions or setups without the process filter. */
export const cleanCommand = singleShot('clean');
export const smudgeCommand = singleShot('smudge');
