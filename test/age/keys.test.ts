import { describe, expect, it } from 'vitest';
import { generateHybridIdentity, identityToRecipient as typageIdentityToRecipient } from 'age-encryption';
import { GitSealError } from '../../src/errors.js';
import {
  HybridIdentity,
  HybridRecipient,
  X25519Identity,
  X25519Recipient,
  generateIdentity,
  generateX25519Identity,
  identityToRecipient,
  isIdentityString,
  isRecipientString,
  parseIdentity,
  parseRecipient,
  recipientOf,
  x25519IdentityToRecipient,
} from '../../src/age/index.js';
import * as bech32 from '../../src/age/bech32.js';

function expectGitSealError(fn: () => unknown, pattern: RegExp, secret?: string): GitSealError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GitSealError);
    const err = e as GitSealError;
    expect(err.message).toMatch(pattern);
    expect(err.hint).toBeTruthy();
    if (secret) {
      const all = (err.message + ' ' + err.hint).toUpperCase();
      expect(all).not.toContain(secret.toUpperCase().slice(15, 45));
    }
    return err;
  }
  throw new Error('expected a GitSealError');
}

describe('parseRecipient / isRecipientString', () => {
  const x = generateX25519Identity();

  it('parses X25519 and post-quantum recipients into the right classes', async () => {
    expect(parseRecipient(x.recipient)).toBeInstanceOf(X25519Recipient);
    expect(parseRecipient(`  ${x.recipient}\n`)).toBeInstanceOf(X25519Recipient);
    const pq = await generateIdentity({ pq: true });
    expect(pq.recipient.startsWith('age1pq1')).toBe(true);
    expect(parseRecipient(pq.recipient)).toBeInstanceOf(HybridRecipient);
    expect(isRecipientString(x.recipient)).toBe(true);
    expect(isRecipientString(pq.recipient)).toBe(true);
  });

  it('gives clear errors for unsupported or broken recipients', () => {
    expectGitSealError(() => parseRecipient('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx user@host'), /malformed SSH public key/);
    expectGitSealError(() => parseRecipient('ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ'), /malformed SSH public key/);
    expectGitSealError(() => parseRecipient('ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA== x'), /ECDSA \(ecdsa-sha2-nistp256\) SSH keys cannot be used with age/);
    expectGitSealError(() => parseRecipient('sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t'), /security-key \(sk-ssh-ed25519@openssh\.com\) SSH keys cannot be used with age/);
    expectGitSealError(() => parseRecipient('-----BEGIN OPENSSH PRIVATE KEY-----'), /a private key was given/);
    expectGitSealError(() => parseRecipient(x.identity), /secret key was given/, x.identity);
    expectGitSealError(() => parseRecipient(x.recipient.toUpperCase()), /lowercase/);
    expectGitSealError(() => parseRecipient(x.recipient.slice(0, -1) + (x.recipient.endsWith('q') ? 'p' : 'q')), /invalid age recipient/);
    // Plugin recipients are served by age-plugin-NAME; a tag recipient must hold a P-256 point.
    expect(isRecipientString(bech32.encode('age1yubikey', new Uint8Array(33)))).toBe(true);
    expectGitSealError(() => parseRecipient(bech32.encode('age1tag', new Uint8Array(33))), /invalid age recipient .*not a key/);
    expectGitSealError(() => parseRecipient(bech32.encode('age1ev/il', new Uint8Array(33))), /invalid age plugin recipient/);
    expectGitSealError(() => parseRecipient(bech32.encode('age', new Uint8Array(31))), /wrong length/);
    expectGitSealError(() => parseRecipient('hello', 'profiles/prod.toml'), /^profiles\/prod\.toml: not an age recipient/);
    for (const s of ['', 'age1', 'ssh-ed25519 x', x.identity, x.recipient.toUpperCase()]) expect(isRecipientString(s)).toBe(false);
  });
});

describe('parseIdentity', () => {
  const x = generateX25519Identity();

  it('parses X25519 and post-quantum identities', async () => {
    expect(parseIdentity(x.identity)).toBeInstanceOf(X25519Identity);
    const pq = await generateHybridIdentity();
    expect(parseIdentity(pq)).toBeInstanceOf(HybridIdentity);
    expect(isIdentityString(x.identity)).toBe(true);
    expect(isIdentityString(pq)).toBe(true);
    expect(isIdentityString(x.recipient)).toBe(false);
  });

  it('gives clear errors that never echo the key', () => {
    expectGitSealError(() => parseIdentity(x.identity.toLowerCase()), /uppercase/, x.identity);
    const broken = x.identity.slice(0, 30) + (x.identity[30] === 'Q' ? 'P' : 'Q') + x.identity.slice(31);
    expectGitSealError(() => parseIdentity(broken, 'keys.txt'), /^keys\.txt: invalid age identity/, x.identity);
    expectGitSealError(() => parseIdentity(x.recipient), /public key/);
    expectGitSealError(() => parseIdentity('-----BEGIN OPENSSH PRIVATE KEY-----'), /SSH private keys are read from files/);
    expectGitSealError(() => parseIdentity('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx'), /SSH public key, not a secret identity/);
    expectGitSealError(() => parseIdentity('AGE-PLUGIN-YUBIKEY-1QQQQQQ'), /invalid age plugin identity/);
    expectGitSealError(() => parseIdentity('password123'), /not an age identity/);
  });
});

describe('identityToRecipient', () => {
  it('matches typage for X25519 (sync and async) and post-quantum (async)', async () => {
    for (let i = 0; i < 5; i++) {
      const { identity, recipient } = generateX25519Identity();
      expect(await typageIdentityToRecipient(identity)).toBe(recipient);
      expect(x25519IdentityToRecipient(identity)).toBe(recipient);
      expect(await identityToRecipient(identity)).toBe(recipient);
      expect(await recipientOf(parseIdentity(identity))).toBe(recipient);
    }
    const pq = await generateHybridIdentity();
    const expected = await typageIdentityToRecipient(pq);
    expect(await identityToRecipient(pq)).toBe(expected);
    expectGitSealError(() => x25519IdentityToRecipient(pq), /post-quantum/, pq);
  });

  it('generateIdentity returns matching pairs', async () => {
    const a = await generateIdentity();
    expect(a.identity).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
    expect(a.recipient).toMatch(/^age1[0-9a-z]{58}$/);
    expect(await typageIdentityToRecipient(a.identity)).toBe(a.recipient);
    const b = await generateIdentity({ pq: true });
    expect(b.identity).toMatch(/^AGE-SECRET-KEY-PQ-1[0-9A-Z]+$/);
    expect(await typageIdentityToRecipient(b.identity)).toBe(b.recipient);
    expect(generateX25519Identity().identity).not.toBe(generateX25519Identity().identity);
  });
});
