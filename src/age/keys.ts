/**
 * Parsing and generating age key strings. One factory for every recipient
 * type git-seal supports: native X25519 (`age1…`), post-quantum hybrid
 * (`age1pq1…`), tag recipients (`age1tag1…`, `age1tagpq1…`), age plugins
 * (`age1NAME1…`, `AGE-PLUGIN-NAME-1…`) and SSH keys (`ssh-ed25519 …`, `ssh-rsa …`).
 * Errors never contain secret key material.
 */
import { GitSealError } from '../errors.js';
import * as bech32 from './bech32.js';
import {
  HYBRID_IDENTITY_HRP,
  HYBRID_RECIPIENT_HRP,
  HybridIdentity,
  HybridRecipient,
  isHybridIdentityString,
  isHybridRecipientString,
} from './hybrid.js';
import { looksLikeSshPublicKey, parseSshPublicKey, SSH_ED25519, sshPublicKeyString } from './openssh-key.js';
import { SshEd25519Recipient } from './ssh-ed25519.js';
import type { SshIdentity } from './ssh-key-file.js';
import { SshRsaRecipient } from './ssh-rsa.js';
import {
  abbreviate,
  decodeX25519Identity,
  decodeX25519Recipient,
  generateX25519,
  X25519Identity,
  X25519Recipient,
} from './x25519.js';
import { PluginIdentity } from './plugin-identity.js';
import { PluginRecipient, pluginIdentityName, pluginRecipientName } from './plugin-recipient.js';
import { isTagRecipientString, TagRecipient } from './tag.js';

export type AgeRecipient = X25519Recipient | HybridRecipient | TagRecipient | PluginRecipient | SshEd25519Recipient | SshRsaRecipient;
export type AgeIdentity = X25519Identity | HybridIdentity | PluginIdentity | SshIdentity;
export interface GeneratedIdentity {
  /** `AGE-SECRET-KEY-1…` or `AGE-SECRET-KEY-PQ-1…` (secret). */
  identity: string;
  /** `age1…` or `age1pq1…`. */
  recipient: string;
}

function where(source: string | undefined): string {
  return source ? `${source}: ` : '';
}

function hrpOf(s: string): string | null {
  try {
    return bech32.decodeWords(s).hrp;
  } catch {
    return null;
  }
}

/** True if `s` is a well-formed recipient git-seal can encrypt to (`age1…`, `age1pq1…`, `age1tag1…`, a plugin's `age1NAME1…`, `ssh-ed25519 …` or `ssh-rsa …`). */
export function isRecipientString(s: string): boolean {
  if (decodeX25519Recipient(s) !== null || isHybridRecipientString(s) || isTagRecipientString(s) || pluginRecipientName(s) !== null) return true;
  if (!looksLikeSshPublicKey(s)) return false;
  try {
    parseSshPublicKey(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * The form git-seal stores and compares a recipient in: SSH keys lose their comment
 * (`ssh-ed25519 AAAA… bob@laptop` → `ssh-ed25519 AAAA…`), other keys are trimmed.
 */
export function canonicalRecipient(s: string): string {
  const t = s.trim();
  if (!t.startsWith('ssh-')) return t;
  try {
    return sshPublicKeyString(parseSshPublicKey(t));
  } catch {
    return t;
  }
}

/** True if `s` is a well-formed identity git-seal can decrypt with (`AGE-SECRET-KEY-1…`, `AGE-SECRET-KEY-PQ-1…`, `AGE-PLUGIN-NAME-1…`). */
export function isIdentityString(s: string): boolean {
  return decodeX25519Identity(s) !== null || isHybridIdentityString(s) || pluginIdentityName(s) !== null;
}

/**
 * Parse a recipient (public key). `source` names where it came from (a file, a
 * profile) for the error message.
 */
export function parseRecipient(s: string, source?: string): AgeRecipient {
  const t = s.trim();
  if (decodeX25519Recipient(t) !== null) return new X25519Recipient(t);
  if (isHybridRecipientString(t)) return new HybridRecipient(t);
  if (isTagRecipientString(t)) return new TagRecipient(t);
  if (pluginRecipientName(t) !== null) return new PluginRecipient(t);
  if (looksLikeSshPublicKey(t)) {
    const key = parseSshPublicKey(t, where(source));
    return key.type === SSH_ED25519 ? new SshEd25519Recipient(key) : new SshRsaRecipient(key);
  }
  throw unsupportedRecipient(t, source);
}

function unsupportedRecipient(t: string, source: string | undefined): GitSealError {
  const at = where(source);
  const hint = 'use an age1… (X25519) or age1pq1… (post-quantum) public key, e.g. from `git-seal keygen` or `age-keygen -y KEYFILE`, or an ssh-ed25519/ssh-rsa public key';
  if (t.startsWith('-----BEGIN')) {
    return new GitSealError(`${at}a private key was given where a public recipient was expected`, 'never share it; give its public key instead, e.g. ~/.ssh/id_ed25519.pub');
  }
  if (t.toUpperCase().startsWith('AGE-SECRET-KEY-') || t.toUpperCase().startsWith('AGE-PLUGIN-')) {
    return new GitSealError(
      `${at}a secret key was given where a public recipient (age1…) was expected`,
      'never share that key; give its public key instead: `age-keygen -y KEYFILE`',
    );
  }
  if (/^AGE1/.test(t)) {
    return new GitSealError(`${at}age recipients must be lowercase`, 'write the age1… key in lowercase, exactly as age-keygen prints it');
  }
  if (t.startsWith('age1')) {
    const hrp = hrpOf(t);
    if (hrp === HYBRID_RECIPIENT_HRP || hrp === 'age' || hrp === 'age1tag' || hrp === 'age1tagpq') {
      return new GitSealError(`${at}invalid age recipient "${abbreviate(t)}" (wrong length, or not a key)`, hint);
    }
    if (hrp !== null && hrp.startsWith('age1')) {
      return new GitSealError(`${at}invalid age plugin recipient "${abbreviate(t)}" (the plugin name may use a-z, 0-9, '.', '_', '+', '-')`, hint);
    }
    return new GitSealError(`${at}invalid age recipient "${abbreviate(t)}" (bad checksum or characters)`, 'check that the whole key was copied; ' + hint);
  }
  return new GitSealError(`${at}not an age recipient: "${abbreviate(t)}"`, hint);
}

/** Parse an identity (secret key). The error never echoes the input. */
export function parseIdentity(s: string, source?: string): AgeIdentity {
  const t = s.trim();
  if (decodeX25519Identity(t) !== null) return new X25519Identity(t);
  if (isHybridIdentityString(t)) return new HybridIdentity(t);
  if (pluginIdentityName(t) !== null) return new PluginIdentity(t);
  throw unsupportedIdentity(t, source);
}

function unsupportedIdentity(t: string, source: string | undefined): GitSealError {
  const at = where(source);
  const hint = 'expected an AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1… line, as written by `git-seal keygen` or `age-keygen`';
  if (t.startsWith('-----BEGIN')) {
    return new GitSealError(`${at}SSH private keys are read from files, not from strings`, 'pass the key file: --identity ~/.ssh/id_ed25519, or GITSEAL_AGE_KEY_FILE');
  }
  if (t.startsWith('ssh-')) {
    return new GitSealError(`${at}this is an SSH public key, not a secret identity`, 'pass the private key file instead: --identity ~/.ssh/id_ed25519');
  }
  if (t.toUpperCase().startsWith('AGE-PLUGIN-')) {
    return new GitSealError(`${at}invalid age plugin identity (bad checksum, case or plugin name)`, 'copy the whole AGE-PLUGIN-… line, as printed by the plugin');
  }
  if (t.startsWith('age1')) {
    return new GitSealError(`${at}this is a public key (age1…), not a secret identity`, hint);
  }
  if (t.toUpperCase().startsWith('AGE-SECRET-KEY-')) {
    if (t !== t.toUpperCase()) {
      return new GitSealError(`${at}invalid age identity: age secret keys must be uppercase`, hint);
    }
    return new GitSealError(`${at}invalid age identity (bad checksum, length or characters)`, 'check that the whole key was copied; ' + hint);
  }
  return new GitSealError(`${at}not an age identity`, hint);
}

/**
 * `AGE-SECRET-KEY-1…` → `age1…` synchronously on node:crypto (~40 µs, vs
 * typage's async WebCrypto path). Post-quantum identities need the async
 * {@link identityToRecipient}.
 */
export function x25519IdentityToRecipient(identity: string, source?: string): string {
  const t = identity.trim();
  if (decodeX25519Identity(t) === null) {
    if (isHybridIdentityString(t)) {
      throw new GitSealError(
        `${where(source)}post-quantum identity given where an X25519 one was expected`,
        'use the async identityToRecipient() for AGE-SECRET-KEY-PQ-1… keys',
      );
    }
    throw unsupportedIdentity(t, source);
  }
  return new X25519Identity(t).recipient;
}

/**
 * The public recipient for an identity string, any supported type. X25519
 * takes the synchronous node:crypto fast path; post-quantum derives the
 * ML-KEM key pair with typage (a few ms).
 */
export async function identityToRecipient(identity: string, source?: string): Promise<string> {
  return recipientOf(parseIdentity(identity, source));
}

/** The public recipient of a parsed identity. */
export async function recipientOf(identity: AgeIdentity): Promise<string> {
  if (identity instanceof PluginIdentity) return identity.label;
  return identity instanceof HybridIdentity ? identity.getRecipient() : identity.recipient;
}

/** A new X25519 key pair, synchronously. */
export function generateX25519Identity(): GeneratedIdentity {
  return generateX25519();
}

/** A new key pair: X25519 by default, post-quantum hybrid with `pq: true`. */
export async function generateIdentity(opts: { pq?: boolean } = {}): Promise<GeneratedIdentity> {
  if (!opts.pq) return generateX25519();
  const { generateHybridIdentity } = await import('age-encryption'); // loaded only for post-quantum keys
  const identity = await generateHybridIdentity();
  if (!identity.startsWith(HYBRID_IDENTITY_HRP + '1')) throw new GitSealError('post-quantum key generation failed', 'retry; report a bug if it persists');
  return { identity, recipient: await new HybridIdentity(identity).getRecipient() };
}
