import { inspect } from 'node:util';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Decrypter, Encrypter, Stanza, identityToRecipient as typageIdentityToRecipient, generateX25519Identity } from 'age-encryption';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { GitSealError } from '../../src/errors.js';
import {
  X25519Identity,
  X25519Recipient,
  encodeX25519Identity,
  encodeX25519Recipient,
  x25519IdentityToRecipient,
  generateX25519,
} from '../../src/age/x25519.js';
import { encodeBase64NoPad } from '../../src/age/base64.js';
import { loadTypageRecipients } from '../../src/age/typage-internal.js';
import { hex } from './helpers.js';

// RFC 7748 §6.1
const ALICE_SK = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
const ALICE_PK = Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex');
const BOB_PK = Buffer.from('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', 'hex');
const SHARED = Buffer.from('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742', 'hex');

/** Independent (noble) construction of an X25519 stanza body for a known shared secret. */
function nobleStanzaBody(fileKey: Uint8Array, shared: Uint8Array, share: Uint8Array, recipient: Uint8Array): Uint8Array {
  const salt = new Uint8Array([...share, ...recipient]);
  const key = hkdf(sha256, shared, salt, new TextEncoder().encode('age-encryption.org/v1/X25519'), 32);
  return chacha20poly1305(key, new Uint8Array(12)).encrypt(fileKey);
}

describe('X25519 known answers', () => {
  it('derives the RFC 7748 public key and matches typage', async () => {
    const identity = encodeX25519Identity(ALICE_SK);
    const id = new X25519Identity(identity);
    expect(id.recipient).toBe(encodeX25519Recipient(ALICE_PK));
    expect(x25519IdentityToRecipient(identity)).toBe(id.recipient);
    expect(await typageIdentityToRecipient(identity)).toBe(id.recipient);
  });

  it('unwraps a stanza built independently from the RFC 7748 shared secret', () => {
    const fileKey = Uint8Array.from({ length: 16 }, (_, i) => i);
    const body = nobleStanzaBody(fileKey, SHARED, BOB_PK, ALICE_PK);
    const id = new X25519Identity(encodeX25519Identity(ALICE_SK));
    const got = id.unwrapFileKey([new Stanza(['X25519', encodeBase64NoPad(BOB_PK)], body)]);
    expect(got).not.toBeNull();
    expect(hex(got!)).toBe(hex(fileKey));
  });

  it('our stanza verifies with an independent (noble) derivation', async () => {
    const id = new X25519Identity(encodeX25519Identity(ALICE_SK));
    const fileKey = randomBytes(16);
    const [s] = new X25519Recipient(id.recipient).wrapFileKey(fileKey);
    expect(s.args[0]).toBe('X25519');
    expect(s.args[1]).toMatch(/^[A-Za-z0-9+/]{43}$/);
    expect(s.body.length).toBe(32);
    // Shared secret via WebCrypto, key schedule and AEAD via noble.
    const share = Buffer.from(s.args[1], 'base64');
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), ALICE_SK]);
    const priv = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'X25519' }, false, ['deriveBits']);
    const pub = await crypto.subtle.importKey('raw', share, { name: 'X25519' }, false, []);
    const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: 'X25519', public: pub }, priv, 256));
    expect(hex(nobleStanzaBody(fileKey, shared, share, ALICE_PK))).toBe(hex(s.body));
  });
});

describe('X25519 interop with typage', () => {
  it('typage X25519Identity unwraps our stanza, and ours unwraps typage\'s', async () => {
    const t = await loadTypageRecipients();
    for (let i = 0; i < 20; i++) {
      const identity = await generateX25519Identity();
      const recipient = await typageIdentityToRecipient(identity);
      const fileKey = randomBytes(16);

      const ours = new X25519Recipient(recipient).wrapFileKey(fileKey);
      const viaTypage = await new t.X25519Identity(identity).unwrapFileKey(ours);
      expect(hex(viaTypage!)).toBe(hex(fileKey));

      const theirs = await new t.X25519Recipient(recipient).wrapFileKey(fileKey);
      const viaOurs = new X25519Identity(identity).unwrapFileKey(theirs);
      expect(hex(viaOurs!)).toBe(hex(fileKey));
    }
  });

  it('whole files: our recipient object with typage Decrypter, typage Encrypter with our identity', async () => {
    const { identity, recipient } = generateX25519();
    const e = new Encrypter();
    e.addRecipient(new X25519Recipient(recipient));
    const d = new Decrypter();
    d.addIdentity(identity);
    expect(await d.decrypt(await e.encrypt('hello'), 'text')).toBe('hello');

    const e2 = new Encrypter();
    e2.addRecipient(recipient);
    const d2 = new Decrypter();
    d2.addIdentity(new X25519Identity(identity));
    expect(await d2.decrypt(await e2.encrypt('world'), 'text')).toBe('world');
  });
});

describe('X25519Identity.unwrapFileKey', () => {
  const me = generateX25519();
  const other = generateX25519();
  const fileKey = randomBytes(16);

  it('returns null, not throwing, for stanzas meant for someone else or of other types', () => {
    const id = new X25519Identity(me.identity);
    const forOther = new X25519Recipient(other.recipient).wrapFileKey(fileKey);
    expect(id.unwrapFileKey(forOther)).toBeNull();
    expect(id.unwrapFileKey([])).toBeNull();
    expect(id.unwrapFileKey([new Stanza(['scrypt', 'abc', '18'], new Uint8Array(32))])).toBeNull();
    expect(id.unwrapFileKey([new Stanza(['mlkem768x25519', 'AAAA'], new Uint8Array(32))])).toBeNull();
  });

  it('finds its stanza among several', () => {
    const id = new X25519Identity(me.identity);
    const stanzas = [
      ...new X25519Recipient(other.recipient).wrapFileKey(fileKey),
      new Stanza(['example.com/foo'], new Uint8Array(5)),
      ...new X25519Recipient(me.recipient).wrapFileKey(fileKey),
    ];
    expect(hex(id.unwrapFileKey(stanzas)!)).toBe(hex(fileKey));
  });

  it('throws GitSealError on malformed X25519 stanzas', () => {
    const id = new X25519Identity(me.identity);
    const [good] = new X25519Recipient(me.recipient).wrapFileKey(fileKey);
    const bad = [
      new Stanza(['X25519'], good.body),
      new Stanza(['X25519', good.args[1], 'extra'], good.body),
      new Stanza(['X25519', good.args[1] + '='], good.body),
      new Stanza(['X25519', good.args[1].slice(0, -1)], good.body),
      new Stanza(['X25519', good.args[1]], good.body.subarray(0, 31)),
      new Stanza(['X25519', good.args[1]], new Uint8Array([...good.body, 0])),
    ];
    for (const s of bad) expect(() => id.unwrapFileKey([s])).toThrow(GitSealError);
  });

  it('rejects non-canonical base64 in the share', () => {
    const id = new X25519Identity(me.identity);
    const [good] = new X25519Recipient(me.recipient).wrapFileKey(fileKey);
    // 43 chars encode 258 bits: the last char carries 2 padding bits that must be zero.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = alphabet.indexOf(good.args[1].slice(-1));
    const tweaked = good.args[1].slice(0, -1) + alphabet[last | 1];
    expect(tweaked).not.toBe(good.args[1]);
    expect(() => id.unwrapFileKey([new Stanza(['X25519', tweaked], good.body)])).toThrow(GitSealError);
  });

  it('rejects low-order ephemeral shares (all-zero shared secret)', () => {
    const id = new X25519Identity(me.identity);
    const lowOrder = [
      new Uint8Array(32),
      Uint8Array.from([1, ...new Array(31).fill(0)]),
      Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex'),
    ];
    for (const p of lowOrder) {
      const s = new Stanza(['X25519', encodeBase64NoPad(p)], new Uint8Array(32));
      expect(() => id.unwrapFileKey([s])).toThrow(/low-order/);
    }
  });

  it('refuses to wrap to a low-order recipient', () => {
    const r = new X25519Recipient(encodeX25519Recipient(new Uint8Array(32)));
    expect(() => r.wrapFileKey(fileKey)).toThrow(GitSealError);
  });

  it('keeps private material out of inspect/JSON', () => {
    const id = new X25519Identity(me.identity);
    const dump = inspect(id, { showHidden: true, depth: 5 }) + JSON.stringify(id);
    expect(dump).not.toContain(me.identity);
    expect(dump).not.toContain(me.identity.toLowerCase());
    expect(dump).toContain(me.recipient);
  });

  it('rejects malformed identity and recipient strings without echoing them', () => {
    const lower = me.identity.toLowerCase();
    for (const s of [lower, me.identity.slice(0, -1) + (me.identity.endsWith('Q') ? 'P' : 'Q'), me.identity + 'Q', '']) {
      try {
        new X25519Identity(s);
        expect.fail('should throw');
      } catch (e) {
        expect(e).toBeInstanceOf(GitSealError);
        const err = e as GitSealError;
        expect(err.message + err.hint).not.toContain(me.identity.slice(16, 40));
        expect((err.message + err.hint).toLowerCase()).not.toContain(lower.slice(16, 40));
      }
    }
    expect(() => new X25519Recipient(me.recipient.toUpperCase())).toThrow(GitSealError);
    expect(() => new X25519Recipient(me.identity)).toThrow(GitSealError);
    try {
      new X25519Recipient(me.identity);
    } catch (e) {
      expect((e as Error).message).not.toContain(me.identity.slice(16, 40));
    }
  });
});
