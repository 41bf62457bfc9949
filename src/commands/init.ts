import type { CommandModule } from 'yargs';
import { GitSealError } from '../errors.js';
import { init } from '../api/init.js';
import { findRepo } from '../git/repo.js';
import { askYesNo, info, reportHook, type GlobalArgs } from './common.js';

interface InitArgs extends GlobalArgs {
  hook?: boolean;
  name?: string;
}

export const initCommand: CommandModule<GlobalArgs, InitArgs> = {
  command: 'init',
  describe: 'Set up git-seal in this repository: .gitseal.toml, .gitattributes and the local filter',
  builder: (y) =>
    y
      .option('hook', { type: 'boolean', describe: 'install (or with --no-hook, skip) the pre-commit hook running git-seal check --staged; asks on a terminal' })
      .option('name', { type: 'string', describe: 'your recipient name in .gitseal.toml (default: from git user.name)' })
      .example('$0 init --hook', 'set up and install the pre-commit hook'),
  handler: async (args) => {
    if (args.name !== undefined && !/^[A-Za-z0-9_-]+$/.test(args.name)) {
      throw new GitSealError(`--name '${args.name}' may use only letters, digits, '_' and '-'`, 'pick a simpler name');
    }
    const repo = findRepo();
    const hook = args.hook ?? (await askYesNo('Install a pre-commit hook that refuses plaintext secrets?'));
    const r = await init(repo, { identityFiles: args.identity, hook, name: args.name });
    if (r.createdKey) info(args, `No identity found: created ${r.createdKey} (back it up; your public key is ${r.recipient})`);
    info(args, r.createdConfig ? `Created .gitseal.toml with you (${r.recipient}) as recipient of every profile` : '.gitseal.toml already present: kept as is');
    info(args, r.attributesAdded.length ? `Added to .gitattributes: ${r.attributesAdded.join(', ')}` : '.gitattributes already covers the secrets files');
    info(args, `Installed the filter, diff and merge drivers (${r.install.command})`);
    reportHook(args, r.hook);
    if (r.hook === undefined) info(args, 'Tip: git-seal init --hook installs a pre-commit hook that refuses plaintext secrets');
    for (const f of r.ignored) info(args, `Warning: ${f} is ignored by .gitignore; remove that entry so it can be committed sealed`);
    info(args, 'Next: git add .gitseal.toml .gitattributes .dlt/ && git commit');
  },
};
