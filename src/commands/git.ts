import { createInterface } from 'node:readline/promises';
import type { CommandModule } from 'yargs';
import { GitSealError } from '../errors.js';
import { init } from '../api/init.js';
import { check } from '../api/check.js';
import { hookState, install, installHook, lock } from '../git/install.js';
import { findRepo } from '../git/repo.js';
import { info, type GlobalArgs } from './common.js';

async function askYesNo(question: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

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

interface InstallArgs extends GlobalArgs {
  hook?: boolean;
}

function reportHook(args: GlobalArgs, state: 'installed' | 'already' | 'foreign' | undefined): void {
  if (state === 'installed') info(args, 'Installed the pre-commit hook');
  if (state === 'foreign') info(args, 'A pre-commit hook already exists: add `git-seal check --staged` to it yourself');
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

interface CheckArgs extends GlobalArgs {
  staged?: boolean;
  json?: boolean;
  paths?: string[];
}

export const checkCommand: CommandModule<GlobalArgs, CheckArgs> = {
  command: 'check [paths..]',
  describe: 'CI / pre-commit gate: fail if a secrets file is committed (or staged) unsealed, unparsable, uncovered or mis-keyed',
  builder: (y) =>
    y
      .positional('paths', { type: 'string', array: true, describe: 'limit to these repository paths' })
      .option('staged', { type: 'boolean', describe: 'check the index instead of HEAD (pre-commit)' })
      .option('json', { type: 'boolean', describe: 'machine-readable output' })
      .example('$0 check', 'in CI: inspect every secrets file in HEAD')
      .example('$0 check --staged', 'in a pre-commit hook'),
  handler: async (args) => {
    const report = await check(findRepo(), { staged: args.staged, paths: args.paths });
    if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else {
      for (const p of report.problems) process.stderr.write(`git-seal: ${p.path}: ${p.problem} (fix: ${p.fix})\n`);
      if (!report.problems.length) info(args, `ok: ${report.checked.length} secrets file(s) sealed and covered`);
    }
    if (report.problems.length) process.exitCode = 1;
  },
};
