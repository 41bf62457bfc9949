import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import * as bech32 from '../../src/age/bech32.js';

describe('bech32', () => {
  it('accepts the BIP 173 valid test vectors', () => {
    for (const s of [
      'A12UEL5L',
      'a12uel5l',
      'an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs',
      'abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw',
      '11' + 'q'.repeat(82) + 'c8247j',
      'split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w',
      '?1ezyfcl',
    ]) {
      const { hrp, words } = bech32.decodeWords(s);
      expect(bech32.encodeWords(hrp, words)).toBe(s.toLowerCase());
    }
  });

  it('rejects the BIP 173 invalid test vectors', () => {
    for (const s of [
      '\x201nwldj5',
      '\x7f1axkwrx',
      'pzry9x0s0muk',
      '1pzry9x0s0muk',
      'x1b4n0q5v',
      'li1dgmt3',
      'de1lg7wt\xff',
      'A1G7SGD8',
      '10a06t8',
      '1qzzfhee',
      'a12UEL5L', // mixed case
      'a12uel5m', // checksum
    ]) {
      expect(() => bech32.decodeWords(s), JSON.stringify(s)).toThrow();
    }
  });

  it('round-trips bytes with no length limit (age1pq1 keys are ~2,000 chars)', () => {
    for (const n of [0, 1, 31, 32, 33, 1216]) {
      const bytes = randomBytes(n);
      const s = bech32.encode('age1pq', bytes);
      const { hrp, bytes: back } = bech32.decode(s);
      expect(hrp).toBe('age1pq');
      expect(Buffer.from(back).equals(bytes)).toBe(true);
    }
  });

  it('rejects non-zero or over-long padding when converting to bytes', () => {
    // 32 bytes -> 52 words with 4 padding bits; set one of them.
    const words = bech32.toWords(new Uint8Array(32));
    words[words.length - 1] |= 1;
    expect(() => bech32.decode(bech32.encodeWords('age', words))).toThrow(/padding/);
    // Five or more leftover bits are invalid too: 1 byte is 2 words; 3 words leave 7 bits.
    expect(bech32.decode(bech32.encodeWords('age', bech32.toWords(new Uint8Array([0xff])))).bytes).toEqual(new Uint8Array([0xff]));
    expect(() => bech32.decode(bech32.encodeWords('age', [...bech32.toWords(new Uint8Array([0xff])), 0]))).toThrow(/padding/);
  });

  it('returns the hrp in its original case', () => {
    const s = bech32.encode('AGE-SECRET-KEY-', new Uint8Array(32)).toUpperCase();
    expect(bech32.decode(s).hrp).toBe('AGE-SECRET-KEY-');
  });
});

describe('bech32 errors', () => {
  it('never quote the input, which may be a secret key', () => {
    const secret = bech32.encode('AGE-SECRET-KEY-', randomBytes(32)).toUpperCase();
    const broken = secret.slice(0, 30) + (secret[30] === 'Q' ? 'P' : 'Q') + secret.slice(31);
    for (const bad of [broken, secret.slice(0, 20) + secret.slice(20).toLowerCase(), secret.replace('1', '')]) {
      let message = '';
      try {
        bech32.decode(bad);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^bech32: /);
      expect(message.toUpperCase()).not.toContain(secret.slice(15, 40));
    }
  });
});
