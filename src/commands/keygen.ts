import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { GitSealError } from '../errors.js';
import { createIdentityFile, createKeyringIdentity } from '../age/keystore.js';
import { KEYRING_SOURCE } from '../age/keyring.js';
import { askNewPassphrase } from '../age/prompt.js';
import { defaultKeyFile } from '../age/discovery.js';
import { addDeployKey } from '../api/recipients.js';
import { findRepo } from '../git/repo.js';
import { identityList, info, toList, type GlobalArgs } from './common.js';
import { reportChange } from './recipients.js';

interface Args extends GlobalArgs {
  output?: string;
  pq?: boolean;
  deploy?: string;
  profile?: string[];
  passphrase?: boolean;
  keyring?: boolean;
}

/** `--deploy NAME --profile P`: the new private key goes to stdout once and nowhere else. */
async function deployKey(args: Args): Promise<void> {
  if (args.output !== undefined) throw new GitSealError('--deploy prints the private key to stdout and never writes it to disk', 'drop --output', 2);
  const name = args.deploy!;
  const profiles = args.profile ?? [];
  const repo = findRepo();
  const made = await addDeployKey(repo, name, profiles, { pq: args.pq, identities: await identityList(args) });
  reportChange(args, made, `deploy key ${name} (${made.recipient}) added to ${profiles.join(', ')}`);
  process.stdout.write(made.identity + '\n');
  info(args, `The private key of ${name} is on stdout, shown this once and saved nowhere. Store it now as the CI secret GITSEAL_AGE_KEY:`);
  info(args, `  GitHub: git-seal keygen --deploy ${name} --profile ${profiles[0]} | gh secret set GITSEAL_AGE_KEY   (or paste it under Settings > Secrets)`);
  info(args, '  GitLab: Settings > CI/CD > Variables: GITSEAL_AGE_KEY, masked and protected');
  info(args, 'Then commit .gitseal.toml and the re-keyed files. See docs/CI.md.');
}

export const keygenCommand: CommandModule<GlobalArgs, Args> = {
  command: 'keygen',
  describe: 'Generate an age identity (age-keygen format, mode 0600); prints the public key',
  builder: (y) =>
    y
      .option('output', { alias: 'o', type: 'string', describe: 'identity file to write, or - for stdout (default: ~/.config/git-seal/keys.txt)' })
      .option('pq', { type: 'boolean', default: false, describe: 'post-quantum hybrid identity (age1pq1… recipient)' })
      .option('deploy', { type: 'string', describe: 'make a CI deploy key: add it as recipient NAME to --profile, re-key, print the private key once' })
      .option('profile', { alias: 'p', type: 'string', describe: 'with --deploy: the profile(s) the key may open (repeatable)', coerce: toList })
      .option('passphrase', { type: 'boolean', describe: 'protect the identity file with a passphrase, asked twice on the terminal (as age -p does)' })
      .option('keyring', { type: 'boolean', describe: 'store the identity in the OS keyring instead of a file' })
      .implies('deploy', 'profile')
      .conflicts('keyring', ['output', 'passphrase', 'deploy'])
      .conflicts('passphrase', 'deploy')
      .example('$0 keygen', 'create your identity in the default location')
      .example('$0 keygen --output - --pq', 'print a post-quantum identity')
      .example('$0 keygen --passphrase', 'the identity file is encrypted; the passphrase is asked once per command that needs it')
      .example('$0 keygen --keyring', 'keep the identity in the OS keyring (Keychain, Credential Manager, Secret Service)')
      .example('$0 keygen --deploy ci-prod --profile prod | gh secret set GITSEAL_AGE_KEY', 'a deploy key for the prod CI job'),
  handler: async (args) => {
    if (args.deploy !== undefined) return deployKey(args);
    if (args.keyring) {
      const stored = await createKeyringIdentity({ pq: args.pq ?? false });
      info(args, `Stored the identity in the ${KEYRING_SOURCE}`);
      process.stdout.write(stored.recipient + '\n');
      return;
    }
    const target = args.output ?? defaultKeyFile();
    if (args.passphrase && target !== '-' && existsSync(target)) {
      throw new GitSealError(`${target}: already exists; refusing to overwrite an identity`, 'choose another --output, or remove the file if you are sure it is unused');
    }
    const passphrase = args.passphrase ? await askNewPassphrase(args.output === '-' ? 'the new identity' : (args.output ?? defaultKeyFile())) : undefined;
    const made = await createIdentityFile({ output: args.output, pq: args.pq ?? false, env: process.env, passphrase });
    if (made.path) {
      info(args, `Wrote identity to ${made.path}`);
      process.stdout.write(made.recipient + '\n');
    } else {
      process.stderr.write(`Public key: ${made.recipient}\n`);
    }
  },
};
