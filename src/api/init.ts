import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadIdentities, unlockDeferred } from '../age/index.js';
import { createIdentityFile } from '../age/keystore.js';
import { formatBasicString } from '../toml/index.js';
import { DEFAULT_PATTERNS, ensureAttributes, secretsMatcher } from '../git/attributes.js';
import { install, installHook, type InstallResult } from '../git/install.js';
import type { Repo } from '../git/repo.js';
import { patternMatcher } from '../git/wildmatch.js';
import { gitBuffer, gitMaybe } from '../git/run.js';
import { CONFIG_FILE, loadConfig } from '../profiles/config.js';
import { writeFileAtomic } from '../util/atomic.js';

export interface InitOptions {
  identityFiles?: string[];
  /** true: install the pre-commit hook; false: don't; undefined: the caller decided not to ask. */
  hook?: boolean;
  /** Recipient name for the caller in the new config (default: from git user.name or $USER). */
  name?: string;
}

export interface InitResult {
  createdConfig: boolean;
  createdKey?: string;
  recipient: string;
  attributesAdded: string[];
  install: InstallResult;
  hook?: 'installed' | 'already' | 'foreign';
  /** Secrets files .gitignore hides from git (dlt's template ignores secrets.toml). */
  ignored: string[];
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
}

export function defaultName(root: string): string {
  const user = gitMaybe(['config', 'user.name'], { cwd: root });
  return slug(user ?? '') || slug(process.env.USER ?? '') || 'me';
}

/** The starting .gitseal.toml: dlt's and Streamlit's layouts, with the caller as the only recipient. */
export function defaultConfigText(name: string, recipient: string): string {
  const me = formatBasicString(name);
  return `# git-seal configuration: public keys only, commit this file. See docs/CONFIG.md.
version = 1

# Keys whose values stay readable, in every profile (for example "host", "port").
plaintext_keys = []

[recipients]
${name} = ${formatBasicString(recipient)}

# Every developer: dlt's default secrets file.
[profiles.dev]
files = ["**/.dlt/secrets.toml"]
recipients = [${me}]

# Read-write credentials for batch jobs: admins and the prod CI deploy key.
[profiles.prod]
files = ["**/.dlt/prod.secrets.toml", "**/.dlt/secrets.prod.toml"]
recipients = [${me}]

# Read-only credentials for notebooks and apps. "@prod" would include every prod recipient.
[profiles.access]
files = ["**/.dlt/access.secrets.toml", "**/.dlt/secrets.access.toml", "**/.streamlit/secrets.toml"]
recipients = [${me}]
`;
}

/** Secrets files present in the work tree but hidden by .gitignore. */
export function ignoredSecrets(repo: Repo, isSecrets: (p: string) => boolean): string[] {
  const out = gitBuffer(['ls-files', '--others', '--ignored', '--exclude-standard', '-z'], { cwd: repo.root, allowFailure: true });
  return (out?.toString('utf8').split('\0') ?? []).filter((p) => p && isSecrets(p));
}

/** Set a repository up: config, .gitattributes, local filter config, and optionally the pre-commit hook. */
export async function init(repo: Repo, opts: InitOptions = {}): Promise<InitResult> {
  let loaded = await loadIdentities({ identityFiles: opts.identityFiles ?? [], env: process.env });
  // A key that is only behind a passphrase, a command or the keyring is still the user's key.
  if (loaded.recipients.length === 0 && loaded.deferred.length > 0) loaded = await unlockDeferred(loaded);
  let recipient = loaded.recipients[0];
  let createdKey: string | undefined;
  if (!recipient) {
    const made = await createIdentityFile({ env: process.env });
    recipient = made.recipient;
    createdKey = made.path;
  }
  const configPath = join(repo.root, CONFIG_FILE);
  const createdConfig = !existsSync(configPath);
  if (createdConfig) writeFileAtomic(configPath, defaultConfigText(opts.name ?? defaultName(repo.root), recipient));
  const config = loadConfig(repo.root);
  const coveredByDefaults = patternMatcher(DEFAULT_PATTERNS);
  // A profile pattern that is a plain path under a default pattern needs no line of its own.
  const extra = config.profiles
    .flatMap((p) => p.patterns)
    .filter((g) => {
      const path = g.replace(/^\*\*\//, 'x/');
      return /[*?[\]\\]/.test(path) || !coveredByDefaults(path);
    });
  const patterns = [...new Set([...DEFAULT_PATTERNS, ...extra])];
  const attributesAdded = ensureAttributes(repo.root, patterns);
  const installed = await install(repo, { identityFiles: opts.identityFiles });
  const hook = opts.hook ? installHook(repo) : undefined;
  return {
    createdConfig,
    createdKey,
    recipient,
    attributesAdded,
    install: installed,
    hook,
    ignored: ignoredSecrets(repo, secretsMatcher(config)),
  };
}
