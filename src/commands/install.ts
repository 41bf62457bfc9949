import type { CommandModule } from 'yargs';
import { hookState, install, installHook } from '../git/install.js';
import { findRepo } from '../git/repo.js';
import { askYesNo, info, reportHook, type GlobalArgs } from './common.js';

interface InstallArgs extends GlobalArgs {
  hook?: boolean;
}

function installLike(name: string, describe: string): CommandModule<GlobalArgs, InstallArgs> {
  return {
    command: name,
    describe,
    builder: (y) => y.option('hook', { type: 'boolean', describe: 'install (or with --no-hook, skip) the pre-commit hook running git-seal check --staged; asks on a terminal when it is missing' }),
    handler: async (args) => {
      const repo = findRepo();
      const r = await install(repo, { identityFiles: args.identity });
      info(args, `Installed the git-seal filter for this clone (${r.command}); ${r.refreshed.length} sealed file(s) checked out again`);
      if (r.skippedModified.length) info(args, `Left alone (uncommitted changes): ${r.skippedModified.join(', ')}`);
      if (args.hook === false) return;
      const state = hookState(repo);
      if (args.hook || (state === 'missing' && (await askYesNo('Install a pre-commit hook that refuses plaintext secrets?')))) reportHook(args, installHook(repo));
      else if (state === 'missing') info(args, `No pre-commit hook: nothing stops a plaintext commit if the filter is ever bypassed (git-seal ${name} --hook installs one)`);
      else if (state === 'foreign') info(args, 'The pre-commit hook does not run git-seal check --staged: add that line to it');
    },
  };
}

export const installCommand = installLike('install', "Configure this clone's filter, diff and merge drivers and decrypt the working tree");
export const unlockCommand = installLike('unlock', 'Same as install');
