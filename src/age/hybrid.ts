/**
 * age's post-quantum hybrid recipient type (ML-KEM-768 + X25519, `age1pq1…` /
 * `AGE-SECRET-KEY-PQ-1…`, stanza `mlkem768x25519`). The cryptography is
 * typage's own HybridRecipient/HybridIdentity, used as-is; this file only
 * validates strings up front (so parse errors are synchronous GitSealErrors)
 * and loads typage's classes lazily.
 */
import type { Identity, Recipient, Stanza } from 'age-encryption';
import { GitSealError } from '../errors.js';
import * as bech32 from './bech32.js';
import { loadTypageRecipients } from './typage-internal.js';

export const HYBRID_RECIPIENT_HRP = 'age1pq';
export const HYBRID_IDENTITY_HRP = 'AGE-SECRET-KEY-PQ-';
const HYBRID_STANZA_TYPE = 'mlkem768x25519';
/** ML-KEM-768 encapsulation key (1184) + X25519 public key (32). */
const HYBRID_RECIPIENT_BYTES = 1216;

const CORRUPT_HINT = 'the encrypted file is corrupt or was tampered with; restore it from git history';

export function isHybridRecipientString(s: string): boolean {
  try {
    const { hrp, bytes } = bech32.decode(s);
    return hrp === HYBRID_RECIPIENT_HRP && bytes.length === HYBRID_RECIPIENT_BYTES;
  } catch {
    return false;
  }
}

export function isHybridIdentityString(s: string): boolean {
  try {
    const { hrp, bytes } = bech32.decode(s);
    return hrp === HYBRID_IDENTITY_HRP && bytes.length === 32;
  } catch {
    return false;
  }
}

export class HybridRecipient implements Recipient {
  readonly type = HYBRID_STANZA_TYPE;
  /** The `age1pq1…` string. */
  readonly recipient: string;
  #inner: { wrapFileKey(fileKey: Uint8Array): Stanza[] } | undefined;

  constructor(recipient: string) {
    if (!isHybridRecipientString(recipient)) {
      throw new GitSealError(
        'invalid age post-quantum recipient (expected age1pq1… with a valid checksum)',
        'copy the whole age1pq1… key, as printed by `age-keygen -pq -y` or `git-seal keygen --pq`',
      );
    }
    this.recipient = recipient;
  }

  async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
    if (this.#inner === undefined) {
      const { HybridRecipient: Inner } = await loadTypageRecipients();
      this.#inner = new Inner(this.recipient);
    }
    return this.#inner.wrapFileKey(fileKey);
  }
}

export class HybridIdentity implements Identity {
  readonly type = HYBRID_STANZA_TYPE;
  readonly #secret: string;
  #inner: { unwrapFileKey(stanzas: Stanza[]): Uint8Array | null } | undefined;
  #recipient: Promise<string> | undefined;

  constructor(identity: string) {
    if (!isHybridIdentityString(identity)) {
      throw new GitSealError(
        'invalid age post-quantum identity (expected AGE-SECRET-KEY-PQ-1… with a valid checksum)',
        'check that the key was copied whole, in uppercase, e.g. from a file written by `age-keygen -pq`',
      );
    }
    this.#secret = identity;
  }

  /** The matching `age1pq1…` public key (derives the ML-KEM key pair: ~ms). */
  getRecipient(): Promise<string> {
    this.#recipient ??= import('age-encryption').then((typage) => typage.identityToRecipient(this.#secret));
    return this.#recipient;
  }

  async unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
    if (!stanzas.some((s) => s.args[0] === HYBRID_STANZA_TYPE)) return null;
    if (this.#inner === undefined) {
      const { HybridIdentity: Inner } = await loadTypageRecipients();
      this.#inner = new Inner(this.#secret);
    }
    try {
      return this.#inner.unwrapFileKey(stanzas);
    } catch {
      // typage throws only for a malformed mlkem768x25519 stanza.
      throw new GitSealError(`malformed ${HYBRID_STANZA_TYPE} stanza in the age header`, CORRUPT_HINT);
    }
  }
}
