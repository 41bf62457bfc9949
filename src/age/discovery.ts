/**
 * Where git-seal finds the user's age identities. Every source is loaded and
 * the union is used (no precedence, no first-wins), deduplicated by public key:
 *
 *   1. --identity FILE (repeatable)
 *   2. $GITSEAL_AGE_KEY        identities separated by whitespace, or a whole identity file's text
 *   3. $GITSEAL_AGE_KEY_FILE
 *   4. $XDG_CONFIG_HOME/git-seal/keys.txt, else ~/.config/git-seal/keys.txt   (default; skipped if missing)
 *   5. $SOPS_AGE_KEY
 *   6. $SOPS_AGE_KEY_FILE
 *   7. $XDG_CONFIG_HOME/sops/age/keys.txt and ~/.config/sops/age/keys.txt
 *      (and ~/Library/Application Support/sops/age/keys.txt on macOS)       (defaults; skipped if missing)
 *   8. $SOPS_AGE_SSH_PRIVATE_KEY_FILE                                         (an OpenSSH private key)
 *   9. ~/.ssh/id_ed25519, ~/.ssh/id_rsa                                        (defaults; skipped if missing,
 *                                                                               or with a warning if unusable)
 *
 * A file named explicitly (1, 3, 6, 8) that is missing or unreadable is an error
 * naming its source. Any file (or variable) holding an OpenSSH private key is
 * read as one; a passphrase-protected key asks only when a file is sealed to it.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { parseIdentityText } from './identity-file.js';
import { parseIdentity, recipientOf, type AgeIdentity } from './keys.js';
import { isOpenSshPrivateKey, isOtherPemPrivateKey } from './openssh-key.js';
import { askPassphrase } from './prompt.js';
import { loadSshKeyFile, type AskPassphrase } from './ssh-key-file.js';

export interface IdentitySource {
  /** Human-readable origin, e.g. `--identity ./key.txt`, `$GITSEAL_AGE_KEY`, or a default file path. */
  source: string;
  /** Public keys of the identities found there, in order (may repeat keys found elsewhere). */
  publicKeys: string[];
}

export interface LoadedIdentities {
  /** Deduplicated identity objects, for unwrapDataKey / typage's Decrypter. */
  identities: Identity[];
  /** Their public keys, same order as `identities`. */
  recipients: string[];
  /** Every source that was present, in load order. No private material. */
  sources: IdentitySource[];
}

export interface LoadIdentitiesOptions {
  /** `--identity FILE` paths, in command-line order. */
  identityFiles?: string[];
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Defaults to os.homedir(). */
  home?: string;
  /** Asks the passphrase of a protected SSH key; defaults to the terminal prompt. */
  askPassphrase?: AskPassphrase;
  /** Receives one-line warnings (an unusable default SSH key is skipped); defaults to stderr. */
  warn?: (message: string) => void;
}

function configHome(env: NodeJS.ProcessEnv, home: string): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  return xdg && isAbsolute(xdg) ? xdg : join(home, '.config');
}

/** git-seal's default identity file: `$XDG_CONFIG_HOME/git-seal/keys.txt`, else `~/.config/git-seal/keys.txt`. */
export function defaultKeyFile(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  return join(configHome(env, home), 'git-seal', 'keys.txt');
}

/** SOPS's default age key file locations (all are tried). */
export function sopsDefaultKeyFiles(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string[] {
  const files = [join(configHome(env, home), 'sops', 'age', 'keys.txt'), join(home, '.config', 'sops', 'age', 'keys.txt')];
  if (process.platform === 'darwin') files.push(join(home, 'Library', 'Application Support', 'sops', 'age', 'keys.txt'));
  return [...new Set(files)];
}

/** The SSH private keys tried by default, as SOPS and ssh do. */
export function defaultSshKeyFiles(home: string = homedir()): string[] {
  return [join(home, '.ssh', 'id_ed25519'), join(home, '.ssh', 'id_rsa')];
}

type Origin =
  | { kind: 'file'; source: string; path: string; explicit: boolean; sshDefault?: boolean }
  | { kind: 'text'; source: string; text: string };

function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p;
}

async function readIdentityFileText(path: string, source: string, explicit: boolean): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!explicit && (code === 'ENOENT' || code === 'ENOTDIR')) return null;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return fail(`${source}: identity file not found`, 'check the path, or create a key with `git-seal keygen`');
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return fail(`${source}: identity file is not readable (permission denied)`, 'fix its permissions, e.g. `chmod 600` as its owner');
    }
    if (code === 'EISDIR') {
      return fail(`${source}: is a directory, not an identity file`, 'point it at the keys.txt file itself');
    }
    return fail(`${source}: cannot read identity file (${code ?? 'unknown error'})`, 'check the path and its permissions');
  }
}

function warnOnStderr(message: string): void {
  process.stderr.write(`git-seal: warning: ${message}\n`);
}

function fail(message: string, hint: string): never {
  throw new GitSealError(message, hint);
}

function collectOrigins(opts: LoadIdentitiesOptions, env: NodeJS.ProcessEnv, home: string): Origin[] {
  const origins: Origin[] = [];
  for (const f of opts.identityFiles ?? []) {
    origins.push({ kind: 'file', source: `--identity ${f}`, path: expandHome(f, home), explicit: true });
  }
  const key = env.GITSEAL_AGE_KEY;
  if (key && key.trim() !== '') origins.push({ kind: 'text', source: '$GITSEAL_AGE_KEY', text: key });
  const keyFile = env.GITSEAL_AGE_KEY_FILE;
  if (keyFile && keyFile.trim() !== '') {
    origins.push({ kind: 'file', source: `$GITSEAL_AGE_KEY_FILE (${keyFile})`, path: expandHome(keyFile, home), explicit: true });
  }
  const def = defaultKeyFile(env, home);
  origins.push({ kind: 'file', source: def, path: def, explicit: false });
  const sopsKey = env.SOPS_AGE_KEY;
  if (sopsKey && sopsKey.trim() !== '') origins.push({ kind: 'text', source: '$SOPS_AGE_KEY', text: sopsKey });
  const sopsFile = env.SOPS_AGE_KEY_FILE;
  if (sopsFile && sopsFile.trim() !== '') {
    origins.push({ kind: 'file', source: `$SOPS_AGE_KEY_FILE (${sopsFile})`, path: expandHome(sopsFile, home), explicit: true });
  }
  for (const f of sopsDefaultKeyFiles(env, home)) origins.push({ kind: 'file', source: f, path: f, explicit: false });
  const sopsSsh = env.SOPS_AGE_SSH_PRIVATE_KEY_FILE;
  if (sopsSsh && sopsSsh.trim() !== '') {
    origins.push({ kind: 'file', source: `$SOPS_AGE_SSH_PRIVATE_KEY_FILE (${sopsSsh})`, path: expandHome(sopsSsh, home), explicit: true });
  }
  for (const f of defaultSshKeyFiles(home)) origins.push({ kind: 'file', source: f, path: f, explicit: false, sshDefault: true });
  return origins;
}

/**
 * Load identities from every source (see the module comment). Missing default
 * files are skipped silently; explicitly named ones are errors; a file read
 * twice (e.g. `--identity` pointing at the default file) counts once.
 */
export async function loadIdentities(opts: LoadIdentitiesOptions = {}): Promise<LoadedIdentities> {
  const env = opts.env ?? process.env;
  const home = opts.home ?? homedir();
  const result: LoadedIdentities = { identities: [], recipients: [], sources: [] };
  const seenPaths = new Set<string>();
  const seenKeys = new Set<string>();

  for (const origin of collectOrigins(opts, env, home)) {
    let text: string;
    if (origin.kind === 'file') {
      const abs = resolve(origin.path);
      if (seenPaths.has(abs)) continue;
      const read = await readIdentityFileText(origin.path, origin.source, origin.explicit);
      if (read === null) continue;
      seenPaths.add(abs);
      text = read;
    } else {
      text = origin.text;
    }
    let identities: AgeIdentity[];
    if (isOpenSshPrivateKey(text) || isOtherPemPrivateKey(text)) {
      try {
        identities = [loadSshKeyFile(text, origin.source, opts.askPassphrase ?? askPassphrase)];
      } catch (err) {
        // A default ~/.ssh key git-seal cannot use (old PEM format, DSA…) must not block the other keys.
        if (!(origin.kind === 'file' && origin.sshDefault && err instanceof GitSealError)) throw err;
        (opts.warn ?? warnOnStderr)(`skipping ${err.oneLine}`);
        continue;
      }
    } else {
      const strings = parseIdentityText(text, origin.source);
      if (strings.length === 0 && (origin.kind === 'text' || origin.explicit)) {
        throw new GitSealError(`${origin.source}: no age identities found`, 'it must contain AGE-SECRET-KEY-1… lines, as written by `git-seal keygen` or `age-keygen`');
      }
      identities = strings.map((s) => parseIdentity(s, origin.source));
    }
    const publicKeys: string[] = [];
    for (const identity of identities) {
      const pk = await recipientOf(identity);
      publicKeys.push(pk);
      if (seenKeys.has(pk)) continue;
      seenKeys.add(pk);
      result.identities.push(identity);
      result.recipients.push(pk);
    }
    result.sources.push({ source: origin.source, publicKeys });
  }
  return result;
}
