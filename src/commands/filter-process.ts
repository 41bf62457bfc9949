import type { CommandModule } from 'yargs';
import { SealFilter } from '../git/filter.js';
import { runFilterProcess } from '../git/filter-process.js';
import { findRepo } from '../git/repo.js';
import type { GlobalArgs } from './common.js';

/** Serve git's long-running filter protocol; also the lean start's whole work (filter-main.ts, no yargs). */
export async function serveFilter(identityFiles: string[] | undefined): Promise<void> {
  const repo = findRepo();
  const filter = new SealFilter(repo.root, identityFiles, undefined, repo.gitDir);
  try {
    await runFilterProcess({
      clean: (req) => filter.clean(req.pathname, req.content),
      smudge: (req) => filter.smudge(req.pathname, req.content, req.meta.blob, req.meta),
      smudgeBatch: (reqs) => filter.smudgeMany(reqs.map((r) => ({ path: r.pathname, content: r.content, blob: r.meta.blob, meta: r.meta }))),
      // Delayed checkout pays with age plugins (one session for the batch); with X25519 keys it measured
      // no gain here (docs/ARCHITECTURE.md), so it is off unless asked for.
      delay: async () => process.env.GITSEAL_FILTER_DELAY === '1' || (await filter.wantsBatches()),
      afterClean: (pathname) => filter.cleanAhead(pathname),
    });
  } finally {
    filter.close();
  }
}

/** `filter.git-seal.process`: one process serves every clean and smudge of a git command. */
export const filterProcessCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'filter-process',
  describe: false,
  handler: (args) => serveFilter(args.identity),
};
