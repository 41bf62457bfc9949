import type { Argv, CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { fetchGithubKeys, readPublishedKeys, type PublishedKeys } from '../api/published-keys.js';
import { applyChange, changeRecipients, listRecipients, planAdd, planAddKeys, planRemove, type ApplyResult } from '../api/recipients.js';
import { GitSealError } from '../errors.js';
import { findRepo } from '../git/repo.js';
import { loadConfig } from '../profiles/config.js';
import { identityList, info, toList, type GlobalArgs } from './common.js';
import { reportRekey } from './rekey.js';

interface ListArgs extends GlobalArgs {
  profile?: string;
  json?: boolean;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => '  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

const listCommand: CommandModule<GlobalArgs, ListArgs> = {
  command: ['list', 'ls'],
  describe: 'List recipients and the profiles they are in',
  builder: (y) =>
    y
      .option('profile', { alias: 'p', type: 'string', describe: "only this profile's resolved recipients" })
      .option('json', { type: 'boolean', describe: 'machine-readable output' })
      .example('$0 recipients list', 'everyone, and every profile')
      .example('$0 recipients list --profile prod --json', "prod's recipients as JSON"),
  handler: (args) => {
    const listing = listRecipients(loadConfig(findRepo().root), args.profile);
    if (args.json) {
      process.stdout.write(JSON.stringify(args.profile ? listing.profiles[0] : listing, null, 2) + '\n');
      return;
    }
    let out = '';
    if (!args.profile) {
      out += 'Recipients:\n';
      out += listing.recipients.length ? table(listing.recipients.map((r) => [r.name, r.key, r.profiles.join(', ') || '(no profile)'])) : '  (none)\n';
    }
    for (const p of listing.profiles) {
      out += `Profile ${p.name} (${p.files.join(', ')}):\n`;
      out += table(p.recipients.map((r) => [r.name, r.key, r.via ? `via @${r.via}` : '']));
    }
    process.stdout.write(out);
  },
};

interface ChangeArgs extends GlobalArgs {
  name: string;
  key?: string[];
  keysFile?: string;
  github?: string;
  profile?: string[];
  rekey?: boolean;
  json?: boolean;
}

/** Say what changed in the config, then report the re-key (or why there was none). */
export function reportChange(args: GlobalArgs & { json?: boolean }, result: ApplyResult, what: string): void {
  info(args, `Updated .gitseal.toml: ${what}`);
  if (result.changedProfiles.length === 0) info(args, 'No profile changed, so no file needs re-keying.');
  else if (!result.rekey) info(args, `Not re-keyed (--no-rekey): run git-seal rekey to apply it to the files of ${result.changedProfiles.join(', ')}.`);
  if (result.rekey) reportRekey(args, result.rekey);
  else if (args.json) process.stdout.write(JSON.stringify({ changedProfiles: result.changedProfiles }, null, 2) + '\n');
}

const changeOptions = (y: Argv<GlobalArgs>) =>
  y
    .positional('name', { type: 'string', demandOption: true, describe: 'recipient name, e.g. bob or ci-prod' })
    .option('profile', { alias: 'p', type: 'string', describe: 'profile to change (repeatable)', coerce: toList })
    .option('rekey', { type: 'boolean', default: true, describe: 're-key the affected files (--no-rekey: only edit .gitseal.toml)' })
    .option('json', { type: 'boolean', describe: 'machine-readable re-key report on stdout' });

/** The published SSH keys named by --keys-file or --github, with a note for each key skipped. */
async function publishedKeys(args: ChangeArgs): Promise<PublishedKeys> {
  const got = args.github !== undefined
    ? await fetchGithubKeys(args.github)
    : readPublishedKeys(args.keysFile === '-' ? readFileSync(0, 'utf8') : readKeysFile(args.keysFile!), args.keysFile === '-' ? 'stdin' : args.keysFile!);
  for (const s of got.skipped) info(args, `Skipped ${got.source} ${s}: age cannot use it (only ssh-ed25519 and ssh-rsa of 2048 bits or more).`);
  return got;
}

function readKeysFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new GitSealError(`${path}: cannot read the keys file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'give an authorized_keys file, or - for stdin');
  }
}

const addCommand: CommandModule<GlobalArgs, ChangeArgs> = {
  command: 'add <name> [key..]',
  describe: 'Add a recipient (to [recipients], and to each --profile) and re-key those profiles',
  builder: (y) =>
    changeOptions(y)
      .positional('key', { type: 'string', array: true, describe: 'their public key: age1…, age1pq1…, or an SSH key line (ssh-ed25519 AAAA… [comment]); optional if NAME is already known' })
      .option('keys-file', { type: 'string', nargs: 1, describe: 'add the SSH keys of an authorized_keys file (- for stdin), as NAME, NAME-2, …' })
      .option('github', { type: 'string', nargs: 1, describe: 'add the SSH keys GitHub publishes for this user (https://github.com/USER.keys), as NAME, NAME-2, …' })
      .conflicts('keys-file', 'github')
      .example('$0 recipients add bob age1… --profile access', 'give Bob the read-only secrets')
      .example('$0 recipients add bob ssh-ed25519 AAAA… --profile access', 'the same with his SSH key')
      .example('$0 recipients add bob --github bob-gh --profile access', 'his keys as published on GitHub')
      .example('$0 recipients add bob --profile prod', 'add a known recipient to another profile') as Argv<ChangeArgs>,
  handler: async (args) => {
    const profiles = args.profile ?? [];
    const key = args.key?.length ? args.key.join(' ') : undefined;
    const repo = findRepo();
    const opts = { rekey: args.rekey !== false, identities: await identityList(args) };
    if (args.keysFile === undefined && args.github === undefined) {
      const result = await changeRecipients(repo, (c) => planAdd(c, args.name, key, profiles), opts);
      reportChange(args, result, profiles.length ? `${args.name} added to ${profiles.join(', ')}` : `${args.name} added to [recipients] (in no profile yet: add --profile P)`);
      return;
    }
    if (key !== undefined) throw new GitSealError('give either a KEY or --keys-file/--github, not both', 'git-seal recipients add NAME --github USER', 2);
    const published = await publishedKeys(args);
    const before = loadConfig(repo.root);
    const change = planAddKeys(before, args.name, published.keys.map((k) => k.key), profiles);
    for (const e of change.entries) {
      const fp = published.keys.find((k) => k.key === e.key)!.fingerprint;
      info(args, `  ${e.name}: ${e.key.split(' ')[0]} ${fp}${e.added ? '' : ' (already a recipient)'}`);
    }
    info(args, 'Compare these fingerprints with the ones your teammate sees (ssh-keygen -lf ~/.ssh/id_ed25519.pub).');
    const result = await applyChange(repo, change, { ...opts, before });
    const names = change.entries.map((e) => e.name).join(', ');
    reportChange(args, result, profiles.length ? `${names} added to ${profiles.join(', ')}` : `${names} added to [recipients] (in no profile yet: add --profile P)`);
  },
};

const removeCommand: CommandModule<GlobalArgs, ChangeArgs> = {
  command: ['remove <name>', 'rm <name>'],
  describe: 'Remove a recipient from each --profile (default: from every profile and [recipients]); rotates the data keys',
  builder: (y) =>
    changeOptions(y)
      .example('$0 recipients remove bob', 'offboard Bob everywhere')
      .example('$0 recipients remove bob --profile prod', 'keep Bob in the other profiles') as Argv<ChangeArgs>,
  handler: async (args) => {
    const profiles = args.profile ?? [];
    const repo = findRepo();
    const result = await changeRecipients(repo, (c) => planRemove(c, args.name, profiles), { rekey: args.rekey !== false, identities: await identityList(args) });
    reportChange(args, result, `${args.name} removed from ${profiles.length ? profiles.join(', ') : 'every profile and [recipients]'}`);
  },
};

export const recipientsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'recipients <command>',
  describe: 'List, add and remove the people and deploy keys that can open each profile',
  builder: (y) =>
    y
      .command([listCommand, addCommand, removeCommand] as unknown as CommandModule<GlobalArgs, GlobalArgs>[])
      .demandCommand(1, 'Give a subcommand: list, add or remove.')
      .example('$0 recipients add bob age1… --profile access', 'onboard Bob'),
  handler: () => {},
};
