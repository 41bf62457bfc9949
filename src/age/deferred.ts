/**
 * An identity whose keys are not at hand until something is done: a passphrase asked, a command
 * run, the OS keyring read. Discovery puts these after every plain identity, and unwrapping tries
 * identities in order, so the work happens only when no plain identity opened the file, and then
 * once per process (see oncePerProcess): a checkout of many files asks once.
 */
import type { Identity, Stanza } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { parseIdentityText } from './identity-file.js';
import { parseIdentity, recipientOf, type AgeIdentity } from './keys.js';
import { oncePerProcess } from './prompt.js';

export interface UnlockedIdentities {
  identities: AgeIdentity[];
  /** Public keys, same order. */
  publicKeys: string[];
}

/** Parse identity text (secret) into identities and their public keys; errors name `source` and the line. */
async function identitiesFromText(text: string, source: string): Promise<UnlockedIdentities> {
  const identities = parseIdentityText(text, source).map((s) => parseIdentity(s, source));
  if (identities.length === 0) {
    throw new GitSealError(`${source}: no age identities found`, 'it must yield AGE-SECRET-KEY-1… lines, as written by `git-seal keygen` or `age-keygen`');
  }
  return { identities, publicKeys: await Promise.all(identities.map(recipientOf)) };
}

export class DeferredIdentity implements Identity {
  /**
   * @param source   names the identity in messages, e.g. `$GITSEAL_AGE_KEY_CMD` or a file path
   * @param cacheKey identifies the underlying secret for the process-wide cache (never the secret itself)
   * @param load     produces the identity text, or null when the source turns out to hold none (an
   *                 optional source such as the keyring); runs at most once per cacheKey and process
   */
  constructor(
    readonly source: string,
    private readonly cacheKey: string,
    private readonly load: () => Promise<string | null>,
  ) {}

  /** Ask, run or read now (once per process); failures are shared by every later call too. */
  unlock(): Promise<UnlockedIdentities> {
    return oncePerProcess(this.cacheKey, async () => {
      const text = await this.load();
      return text === null ? { identities: [], publicKeys: [] } : identitiesFromText(text, this.source);
    });
  }

  async unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
    for (const id of (await this.unlock()).identities) {
      const key = await id.unwrapFileKey(stanzas);
      if (key) return key;
    }
    return null;
  }
}
