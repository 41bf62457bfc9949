/**
 * age's tag recipient types: `age1tag1…` (P-256, stanza `p256tag`) and `age1tagpq1…` (ML-KEM-768 +
 * P-256, stanza `mlkem768p256tag`), the public side of hardware identities such as age-plugin-se and
 * age-plugin-yubikey's tagged keys. Encrypting to them needs no plugin: the cryptography is typage's own
 * TagRecipient/HybridTagRecipient, used as-is and loaded lazily; this file validates strings up front.
 * Decrypting needs the hardware, through its plugin (AGE-PLUGIN-… identity).
 */
import type { Recipient, Stanza } from 'age-encryption';
import { GitSealError } from '../errors.js';
import * as bech32 from './bech32.js';
import { loadTypageRecipients } from './typage-internal.js';

/** Compressed P-256 point (33), or ML-KEM-768 encapsulation key + P-256 point (1184 + 65). */
const TAG_KINDS = { age1tag: 33, age1tagpq: 1249 } as const;

export function isTagRecipientString(s: string): boolean {
  try {
    const { hrp, bytes } = bech32.decode(s);
    if (hrp === 'age1tag') return bytes.length === TAG_KINDS.age1tag && (bytes[0] === 2 || bytes[0] === 3);
    return hrp === 'age1tagpq' && bytes.length === TAG_KINDS.age1tagpq && bytes[1184] === 4;
  } catch {
    return false;
  }
}

export class TagRecipient implements Recipient {
  readonly postQuantum: boolean;
  #inner: { wrapFileKey(fileKey: Uint8Array): Stanza[] } | undefined;

  constructor(readonly recipient: string) {
    if (!isTagRecipientString(recipient)) {
      throw new GitSealError('invalid age tag recipient (expected age1tag1… or age1tagpq1… with a valid checksum)', 'copy the whole key, as printed by the plugin that made it');
    }
    this.postQuantum = recipient.startsWith('age1tagpq1');
  }

  async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
    if (this.#inner === undefined) {
      const mod = await loadTypageRecipients();
      const Inner = this.postQuantum ? mod.HybridTagRecipient : mod.TagRecipient;
      if (!Inner) throw new GitSealError('age tag recipients need age-encryption 0.3 or newer', 'reinstall dependencies with `npm ci`');
      this.#inner = new Inner(this.recipient);
    }
    return this.#inner.wrapFileKey(fileKey);
  }
}
