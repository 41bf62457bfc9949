/**
 * Where git-seal finds the user's age identities. Every source is loaded and
 * the union is used (no precedence, no first-wins), deduplicated by public key.
 * Sources, in the order discovery tries them:
 *
 *   1. --identity FILE (repeatable)
 *   2. $GITSEAL_AGE_KEY        identities separated by whitespace, or a whole identity file's text
 *   3. $GITSEAL_AGE_KEY_FILE
 *   4. $GITSEAL_AGE_KEY_CMD    a command that prints identities (run on first need)
 *   5. the OS keyring entry written by `keygen --keyring` (read on first need)
 *   6. $XDG_CONFIG_HOME/git-seal/keys.txt, else ~/.config/git-seal/keys.txt   (default)
 *   7. $SOPS_AGE_KEY
 *   8. $SOPS_AGE_KEY_FILE
 *   9. $SOPS_AGE_KEY_CMD
 *  10. $XDG_CONFIG_HOME/sops/age/keys.txt and ~/.config/sops/age/keys.txt
 *      (and ~/Library/Application Support/sops/age/keys.txt on macOS)       (defaults)
 *  11. $SOPS_AGE_SSH_PRIVATE_KEY_FILE                                         (an OpenSSH private key)
 *  12. ~/.ssh/id_ed25519, ~/.ssh/id_rsa                                        (defaults)
 *
 * Any identity file may be passphrase-protected (`age -p`, recognised by content): it is
 * decrypted on first need, asking on the terminal once per process. Identities that need
 * such work (a passphrase, a command, the keyring) are deferred: tried after every plain
 * identity, so nothing is asked or run while a plain key opens the file.
 *
 * Any file (or variable) holding an OpenSSH private key is read as one; a passphrase-protected
 * key asks only when a file is sealed to it.
 *
 * A file named explicitly (1, 3, 8, 11) that is missing, unreadable or holds an identity
 * git-seal cannot use is an error naming its source. A default file (6, 10, 12) that is
 * missing is skipped silently; an unusable identity in one (a damaged or unknown
 * line, a passphrase-protected file with no terminal to ask on, an unreadable
 * file) is skipped with a one-line warning, so it never blocks the user's other keys.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Identity } from 'age-encryption';
import { GitSealError } from '../errors.js';
import type { DeferredIdentity } from './deferred.js';
import { parseIdentityText } from './identity-file.js';
import { keyCommandIdentity } from './key-command.js';
import { keyringAvailable, keyringIdentity, KEYRING_SOURCE } from './keyring.js';
import { parseIdentity, recipientOf, type AgeIdentity } from './keys.js';
import { isOpenSshPrivateKey, isOtherPemPrivateKey } from './openssh-key.js';
import { askPassphrase, canPrompt } from './prompt.js';
import { loadSshKeyFile, type AskPassphrase } from './ssh-key-file.js';
import { isPassphraseProtected, passphraseIdentityFile } from './scrypt-identity-file.js';
import { warnOnce } from './warn.js';

export interface IdentitySource {
  /** Human-readable origin, e.g. `--identity ./key.txt`, `$GITSEAL_AGE_KEY`, or a default file path. */
  source: string;
  /** Public keys of the identities found there, in order (may repeat keys found elsewhere). */
  publicKeys: string[];
  /** Set for a deferred source (publicKeys stay empty until unlocked): what unlocking takes. */
  deferred?: 'passphrase' | 'command' | 'keyring';
}

export interface LoadedIdentities {
  /**
   * Deduplicated identity objects, for unwrapDataKey / typage's Decrypter: the plain ones first,
   * then the deferred ones (unlocked by the first unwrap that gets to them).
   */
  identities: Identity[];
  /** Public keys of the plain identities: `recipients[i]` belongs to `identities[i]`. */
  recipients: string[];
  /** The deferred identities, also at the end of `identities`; see unlockDeferred. */
  deferred: DeferredIdentity[];
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
  /** Where skip warnings go (each at most once per process); defaults to stderr. */
  warn?: (line: string) => void;
  /** Asks the passphrase of a protected SSH key; defaults to the terminal prompt. */
  askPassphrase?: AskPassphrase;
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
function defaultSshKeyFiles(home: string = homedir()): string[] {
  return [join(home, '.ssh', 'id_ed25519'), join(home, '.ssh', 'id_rsa')];
}

type Origin =
  | { kind: 'file'; source: string; path: string; explicit: boolean }
  | { kind: 'text'; source: string; text: string }
  | { kind: 'deferred'; source: string; make: () => DeferredIdentity; deferred: 'command' | 'keyring' };

function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p;
}

async function readIdentityFile(path: string, source: string, explicit: boolean, warn: (line: string) => void): Promise<Buffer | null> {
  try {
    return readFileSync(path); // sync: a few bytes, and no libuv thread pool to start for them
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!explicit && (code === 'ENOENT' || code === 'ENOTDIR')) return null;
    if (!explicit) {
      warnOnce(`git-seal: skipping ${source}: cannot read it (${code ?? 'unknown error'})`, warn);
      return null;
    }
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
  pushKeyCommand(origins, 'GITSEAL_AGE_KEY_CMD', env);
  if (keyringAvailable(env)) origins.push({ kind: 'deferred', source: KEYRING_SOURCE, make: keyringIdentity, deferred: 'keyring' });
  const def = defaultKeyFile(env, home);
  origins.push({ kind: 'file', source: def, path: def, explicit: false });
  const sopsKey = env.SOPS_AGE_KEY;
  if (sopsKey && sopsKey.trim() !== '') origins.push({ kind: 'text', source: '$SOPS_AGE_KEY', text: sopsKey });
  const sopsFile = env.SOPS_AGE_KEY_FILE;
  if (sopsFile && sopsFile.trim() !== '') {
    origins.push({ kind: 'file', source: `$SOPS_AGE_KEY_FILE (${sopsFile})`, path: expandHome(sopsFile, home), explicit: true });
  }
  pushKeyCommand(origins, 'SOPS_AGE_KEY_CMD', env);
  for (const f of sopsDefaultKeyFiles(env, home)) origins.push({ kind: 'file', source: f, path: f, explicit: false });
  const sopsSsh = env.SOPS_AGE_SSH_PRIVATE_KEY_FILE;
  if (sopsSsh && sopsSsh.trim() !== '') {
    origins.push({ kind: 'file', source: `$SOPS_AGE_SSH_PRIVATE_KEY_FILE (${sopsSsh})`, path: expandHome(sopsSsh, home), explicit: true });
  }
  for (const f of defaultSshKeyFiles(home)) origins.push({ kind: 'file', source: f, path: f, explicit: false });
  return origins;
}

function pushKeyCommand(origins: Origin[], variable: string, env: NodeJS.ProcessEnv): void {
  const value = env[variable];
  if (value && value.trim() !== '') {
    origins.push({ kind: 'deferred', source: `$${variable}`, make: () => keyCommandIdentity(variable, value, env), deferred: 'command' });
  }
}

/**
 * Load identities from every source (see the module comment). Missing default
 * files are skipped silently and unusable ones with a warning; explicitly named
 * ones are errors; a file read twice (e.g. `--identity` pointing at the default
 * file) counts once. Deferred sources are not unlocked here.
 */
export async function loadIdentities(opts: LoadIdentitiesOptions = {}): Promise<LoadedIdentities> {
  const env = opts.env ?? process.env;
  const home = opts.home ?? homedir();
  const warn = opts.warn ?? ((line: string) => process.stderr.write(line + '\n'));
  const result: LoadedIdentities = { identities: [], recipients: [], deferred: [], sources: [] };
  const seenPaths = new Set<string>();
  const seenKeys = new Set<string>();

  for (const origin of collectOrigins(opts, env, home)) {
    let text: string;
    if (origin.kind === 'deferred') {
      result.deferred.push(origin.make());
      result.sources.push({ source: origin.source, publicKeys: [], deferred: origin.deferred });
      continue;
    }
    if (origin.kind === 'file') {
      const abs = resolve(origin.path);
      if (seenPaths.has(abs)) continue;
      const read = await readIdentityFile(origin.path, origin.source, origin.explicit, warn);
      if (read === null) continue;
      seenPaths.add(abs);
      if (isPassphraseProtected(read)) {
        if (!origin.explicit && !canPrompt()) {
          warnOnce(`git-seal: skipping ${origin.source}: it is passphrase-protected and there is no terminal to ask on`, warn);
          continue;
        }
        result.deferred.push(passphraseIdentityFile(read, origin.source));
        result.sources.push({ source: origin.source, publicKeys: [], deferred: 'passphrase' });
        continue;
      }
      text = read.toString('utf8');
    } else {
      text = origin.text;
    }
    const optional = origin.kind === 'file' && !origin.explicit;
    let identities: AgeIdentity[];
    if (isOpenSshPrivateKey(text) || isOtherPemPrivateKey(text)) {
      try {
        identities = [loadSshKeyFile(text, origin.source, opts.askPassphrase ?? askPassphrase)];
      } catch (err) {
        // A default ~/.ssh key git-seal cannot use (old PEM format, DSA…) must not block the other keys.
        if (!(optional && err instanceof GitSealError)) throw err;
        warnOnce(`git-seal: skipping ${err.oneLine}`, warn);
        continue;
      }
    } else {
      const strings = parseIdentityText(text, origin.source, optional ? (err) => warnOnce(`git-seal: skipping an identity: ${err.message}`, warn) : undefined);
      if (strings.length === 0 && !optional) {
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
  result.identities.push(...result.deferred);
  return result;
}

/**
 * Unlock every deferred identity now (asking, running, reading as needed) and return the result
 * with only plain identities, all keys known: for commands that need the user's public keys
 * (init, doctor). A source that fails to unlock is passed to `onError` and left out; without
 * `onError` the failure is thrown.
 */
export async function unlockDeferred(loaded: LoadedIdentities, onError?: (source: string, err: GitSealError) => void): Promise<LoadedIdentities> {
  const out: LoadedIdentities = {
    identities: loaded.identities.slice(0, loaded.recipients.length),
    recipients: [...loaded.recipients],
    deferred: [],
    sources: [],
  };
  const seenKeys = new Set(out.recipients);
  for (const s of loaded.sources) {
    const d = s.deferred ? loaded.deferred.find((x) => x.source === s.source) : undefined;
    if (!d) {
      out.sources.push(s);
      continue;
    }
    try {
      const unlocked = await d.unlock();
      unlocked.identities.forEach((identity, i) => {
        const pk = unlocked.publicKeys[i];
        if (seenKeys.has(pk)) return;
        seenKeys.add(pk);
        out.identities.push(identity);
        out.recipients.push(pk);
      });
      if (unlocked.publicKeys.length) out.sources.push({ source: s.source, publicKeys: unlocked.publicKeys });
    } catch (err) {
      if (!(err instanceof GitSealError) || !onError) throw err;
      onError(s.source, err);
    }
  }
  return out;
}
