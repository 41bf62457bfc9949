/**
 * SSH private key files (`~/.ssh/id_ed25519`, `~/.ssh/id_rsa`) as age identities.
 *
 * Loading reads only the file's unencrypted part: its public key, hence its stanza tag. The private
 * key is read (and, for a passphrase-protected file, the passphrase asked) only when a header holds a
 * stanza with that tag, so a default ~/.ssh key costs nothing to a command that does not need it. The
 * key is kept for the rest of the process: a checkout of many files asks once, and a wrong or
 * unavailable passphrase is remembered too.
 */
import type { Identity, Stanza } from 'age-encryption';
import { GitSealError } from '../errors.js';
import {
  decryptOpenSshPrivateKey,
  isOtherPemPrivateKey,
  parseOpenSshPrivateKey,
  sshPublicKeyString,
  sshTag,
  SSH_ED25519,
  type OpenSshKeyFile,
  type SshPrivateKey,
} from './openssh-key.js';
import { oncePerProcess } from './prompt.js';
import { SshEd25519Identity } from './ssh-ed25519.js';
import { SshRsaIdentity } from './ssh-rsa.js';

/** Asks the user for a passphrase; `label` names what it unlocks. */
export type AskPassphrase = (label: string) => Promise<string>;

export type SshIdentity = SshKeyFileIdentity;

const CI_HINT = 'where no one can type it (CI), give git-seal an unprotected key instead: GITSEAL_AGE_KEY set to a deploy key (git-seal keygen --deploy NAME --profile P)';

function identityOf(key: SshPrivateKey, source: string): SshEd25519Identity | SshRsaIdentity {
  if (key.type === SSH_ED25519) {
    try {
      return new SshEd25519Identity(key.seed, key.publicKey, source);
    } finally {
      key.seed.fill(0);
    }
  }
  return new SshRsaIdentity(key.jwk, key.publicKey, source);
}

export class SshKeyFileIdentity implements Identity {
  readonly type: string;
  /** The matching `ssh-ed25519 …` / `ssh-rsa …` recipient. */
  readonly recipient: string;
  readonly tag: string;
  readonly #file: OpenSshKeyFile;
  readonly #ask: AskPassphrase;
  #decrypted: Promise<Identity> | undefined;

  constructor(file: OpenSshKeyFile, ask: AskPassphrase) {
    this.#file = file;
    this.#ask = ask;
    this.type = file.publicKey.type;
    this.recipient = sshPublicKeyString(file.publicKey);
    this.tag = sshTag(file.publicKey.blob);
  }

  /** True when the private key is protected by a passphrase. */
  get encrypted(): boolean {
    return this.#file.encrypted;
  }

  async #decrypt(): Promise<Identity> {
    const { source } = this.#file;
    if (!this.#file.encrypted) return identityOf(await decryptOpenSshPrivateKey(this.#file), source);
    let passphrase: string;
    try {
      passphrase = await this.#ask(`SSH key ${source}`);
    } catch (err) {
      // The asker's own errors (no terminal, cancelled) already name the key and the way out.
      if (err instanceof GitSealError) throw err;
      throw new GitSealError(`SSH key ${source} needs a passphrase, which could not be asked (${err instanceof Error ? err.message : String(err)})`, CI_HINT);
    }
    return identityOf(await decryptOpenSshPrivateKey(this.#file, passphrase), source);
  }

  async unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
    if (this.#decrypted === undefined) {
      if (!stanzas.some((s) => s.args[0] === this.type && s.args[1] === this.tag)) return null;
      // Once per process and key, even if the identities are loaded twice.
      this.#decrypted = this.#file.encrypted ? oncePerProcess(`ssh-key ${this.recipient} ${this.#file.source}`, () => this.#decrypt()) : this.#decrypt();
    }
    return (await this.#decrypted).unwrapFileKey(stanzas);
  }
}

/**
 * The identity in an SSH private key file's text. `source` names the file in messages; `ask` is called
 * at most once, and only when the key is protected and a header holds a stanza for it.
 */
export function loadSshKeyFile(text: string, source: string, ask: AskPassphrase): SshKeyFileIdentity {
  if (isOtherPemPrivateKey(text)) {
    throw new GitSealError(
      `${source}: this private key is in the old PEM format, which git-seal does not read`,
      `convert it to OpenSSH's format (asks for the passphrase and keeps it): ssh-keygen -p -f FILE`,
    );
  }
  return new SshKeyFileIdentity(parseOpenSshPrivateKey(text, source), ask);
}
