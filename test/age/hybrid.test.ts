import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateHybridIdentity, identityToRecipient as typageIdentityToRecipient, Stanza } from 'age-encryption';
import { GitSealError } from '../../src/errors.js';
import { HybridIdentity, HybridRecipient, generateX25519Identity, X25519Recipient } from '../../src/age/index.js';
import { loadTypageRecipients } from '../../src/age/typage-internal.js';
import { hex } from './helpers.js';

describe('post-quantum hybrid (typage classes behind our factory)', () => {
  it('wraps and unwraps, interoperating with typage\'s own classes', async () => {
    const t = await loadTypageRecipients();
    const identity = await generateHybridIdentity();
    const recipient = await typageIdentityToRecipient(identity);
    const fileKey = randomBytes(16);

    const ours = await new HybridRecipient(recipient).wrapFileKey(fileKey);
    expect(ours).toHaveLength(1);
    expect(ours[0].args[0]).toBe('mlkem768x25519');
    expect(hex(new t.HybridIdentity(identity).unwrapFileKey(ours)!)).toBe(hex(fileKey));

    const theirs = new t.HybridRecipient(recipient).wrapFileKey(fileKey);
    const id = new HybridIdentity(identity);
    expect(hex((await id.unwrapFileKey(theirs))!)).toBe(hex(fileKey));
    expect(await id.getRecipient()).toBe(recipient);
  });

  it('returns null for stanzas meant for others, throws GitSealError for malformed ones', async () => {
    const id = new HybridIdentity(await generateHybridIdentity());
    const other = await typageIdentityToRecipient(await generateHybridIdentity());
    const fileKey = randomBytes(16);
    expect(await id.unwrapFileKey(await new HybridRecipient(other).wrapFileKey(fileKey))).toBeNull();
    expect(await id.unwrapFileKey(new X25519Recipient(generateX25519Identity().recipient).wrapFileKey(fileKey))).toBeNull();
    expect(await id.unwrapFileKey([])).toBeNull();
    const [good] = await new HybridRecipient(other).wrapFileKey(fileKey);
    for (const bad of [
      new Stanza(['mlkem768x25519'], good.body),
      new Stanza(['mlkem768x25519', good.args[1].slice(4)], good.body),
      new Stanza(['mlkem768x25519', good.args[1]], good.body.subarray(1)),
    ]) {
      await expect(id.unwrapFileKey([bad])).rejects.toBeInstanceOf(GitSealError);
    }
  });

  it('validates key strings synchronously without echoing secrets', async () => {
    const identity = await generateHybridIdentity();
    const recipient = await typageIdentityToRecipient(identity);
    expect(() => new HybridRecipient(recipient.slice(0, -1) + (recipient.endsWith('q') ? 'p' : 'q'))).toThrow(GitSealError);
    expect(() => new HybridRecipient(recipient.toUpperCase())).toThrow(GitSealError);
    try {
      new HybridIdentity(identity.toLowerCase());
      expect.fail('should throw');
    } catch (e) {
      expect(e).toBeInstanceOf(GitSealError);
      expect(((e as Error).message + (e as GitSealError).hint).toUpperCase()).not.toContain(identity.slice(19, 50));
    }
  });
});
