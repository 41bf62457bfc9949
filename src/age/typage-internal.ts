/**
 * Access to typage's (age-encryption's) recipient classes.
 *
 * age-encryption 0.3.1 implements HybridRecipient/HybridIdentity (and its own
 * X25519Recipient/X25519Identity) in dist/recipients.js but does not export
 * them: its package.json "exports" map only exposes dist/index.js. We load that
 * sibling file by path, lazily, so that a future layout change breaks only the
 * post-quantum path (with a clear GitSealError), never X25519.
 */
import type { Stanza } from 'age-encryption';
import { GitSealError } from '../errors.js';
import { importRecipientsModule } from './typage-recipients.js';

export interface TypageRecipientsModule {
  HybridRecipient: new (s: string) => { wrapFileKey(fileKey: Uint8Array): Stanza[] };
  HybridIdentity: new (s: string) => { unwrapFileKey(stanzas: Stanza[]): Uint8Array | null };
  X25519Recipient: new (s: string) => { wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> };
  X25519Identity: new (s: string) => { unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> };
  /** Tag recipients (age1tag1…, age1tagpq1…): present in 0.3.x, checked where used. */
  TagRecipient?: new (s: string) => { wrapFileKey(fileKey: Uint8Array): Stanza[] };
  HybridTagRecipient?: new (s: string) => { wrapFileKey(fileKey: Uint8Array): Stanza[] };
}

let cached: Promise<TypageRecipientsModule> | undefined;

async function load(): Promise<TypageRecipientsModule> {
  try {
    const mod = (await importRecipientsModule()) as Partial<TypageRecipientsModule>;
    for (const name of ['HybridRecipient', 'HybridIdentity', 'X25519Recipient', 'X25519Identity'] as const) {
      if (typeof mod[name] !== 'function') throw new Error(`missing ${name}`);
    }
    return mod as TypageRecipientsModule;
  } catch {
    cached = undefined;
    throw new GitSealError(
      'post-quantum age keys are unavailable: could not load the recipient classes of the age-encryption package',
      'reinstall dependencies with `npm ci`; git-seal expects age-encryption 0.3.x',
    );
  }
}

/** typage's dist/recipients.js, loaded once. */
export function loadTypageRecipients(): Promise<TypageRecipientsModule> {
  cached ??= load();
  return cached;
}
