import { hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hkdfSha256 } from '../../src/crypto/hkdf.js';

describe('hkdfSha256', () => {
  it('matches RFC 5869 test case 3 (empty salt and info), first 32 bytes', () => {
    const okm = hkdfSha256(Buffer.alloc(22, 0x0b), new Uint8Array(0), '');
    expect(okm.toString('hex')).toBe('8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d');
  });

  it('matches node:crypto hkdfSync for random keys, salts and the labels git-seal uses', () => {
    for (const info of ['git-seal v1 value key', 'git-seal v1 nonce key', 'header', 'payload', 'age-encryption.org/v1/X25519']) {
      for (const saltLength of [0, 16, 64, 100]) {
        const ikm = randomBytes(32);
        const salt = randomBytes(saltLength);
        expect(hkdfSha256(ikm, salt, info).equals(Buffer.from(hkdfSync('sha256', ikm, salt, info, 32)))).toBe(true);
      }
    }
  });
});
