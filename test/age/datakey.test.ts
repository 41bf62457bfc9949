import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { armor, Decrypter, Encrypter } from 'age-encryption';
import { GitSealError } from '../../src/errors.js';
import {
  X25519Identity,
  generateIdentity,
  generateX25519Identity,
  headerStanzas,
  parseIdentity,
  stanzaCount,
  unwrapDataKey,
  wrapDataKey,
} from '../../src/age/index.js';
import { hex } from './helpers.js';

function expectCorrupt(e: unknown, secrets: string[]): void {
  expect(e).toBeInstanceOf(GitSealError);
  const all = (e as GitSealError).message + ' ' + (e as GitSealError).hint;
  for (const s of secrets) expect(all.toUpperCase()).not.toContain(s.toUpperCase());
}

describe('wrapDataKey / unwrapDataKey', () => {
  const a = generateX25519Identity();
  const b = generateX25519Identity();
  const c = generateX25519Identity();

  it('round-trips for every recipient, and is a standard age file', async () => {
    const key = randomBytes(32);
    const armored = await wrapDataKey(key, [a.recipient, b.recipient]);
    expect(armored).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n[\s\S]+\n-----END AGE ENCRYPTED FILE-----\n$/);
    for (const k of [a, b]) {
      expect(hex((await unwrapDataKey(armored, [parseIdentity(k.identity)]))!)).toBe(hex(key));
    }
    // typage alone, from strings, agrees.
    const d = new Decrypter();
    d.addIdentity(b.identity);
    expect(hex(await d.decrypt(armor.decode(armored)))).toBe(hex(key));
  });

  it('returns null when no identity matches (including no identities)', async () => {
    const armored = await wrapDataKey(randomBytes(32), [a.recipient]);
    expect(await unwrapDataKey(armored, [parseIdentity(b.identity), parseIdentity(c.identity)])).toBeNull();
    expect(await unwrapDataKey(armored, [])).toBeNull();
  });

  it('finds the matching identity among several', async () => {
    const key = randomBytes(32);
    const armored = await wrapDataKey(key, [c.recipient]);
    const ids = [b, a, c].map((k) => parseIdentity(k.identity));
    expect(hex((await unwrapDataKey(armored, ids))!)).toBe(hex(key));
  });

  it('wraps to post-quantum recipient sets and refuses to mix them with classic ones', async () => {
    const pq = await generateIdentity({ pq: true });
    const pq2 = await generateIdentity({ pq: true });
    const key = randomBytes(32);
    const armored = await wrapDataKey(key, [pq.recipient, pq2.recipient]);
    expect(headerStanzas(armored).map((s) => s.type)).toEqual(['mlkem768x25519', 'mlkem768x25519']);
    expect(hex((await unwrapDataKey(armored, [parseIdentity(pq.identity)]))!)).toBe(hex(key));
    expect(hex((await unwrapDataKey(armored, [parseIdentity(pq2.identity)]))!)).toBe(hex(key));
    expect(await unwrapDataKey(armored, [parseIdentity(b.identity)])).toBeNull();
    const otherPq = await generateIdentity({ pq: true });
    expect(await unwrapDataKey(armored, [parseIdentity(otherPq.identity)])).toBeNull();
    // typage's own string path agrees.
    const d = new Decrypter();
    d.addIdentity(pq.identity);
    expect(hex(await d.decrypt(armor.decode(armored)))).toBe(hex(key));
    // Like age, a post-quantum file is not also wrapped to classic keys (that would void the protection).
    await expect(wrapDataKey(key, [pq.recipient, a.recipient])).rejects.toThrow(/cannot be mixed/);
  });

  it('counts header stanzas, one per distinct recipient', async () => {
    const armored = await wrapDataKey(randomBytes(32), [a.recipient, b.recipient, c.recipient, a.recipient]);
    expect(stanzaCount(armored)).toBe(3);
    expect(headerStanzas(armored).every((s) => s.type === 'X25519' && s.args.length === 2 && s.bodyLength === 32)).toBe(true);
    expect(stanzaCount(await wrapDataKey(randomBytes(32), [a.recipient]))).toBe(1);
  });

  it('validates its inputs', async () => {
    await expect(wrapDataKey(randomBytes(31), [a.recipient])).rejects.toThrow(GitSealError);
    await expect(wrapDataKey(randomBytes(32), [])).rejects.toThrow(/no recipients/);
    await expect(wrapDataKey(randomBytes(32), ['ssh-ed25519 AAAA'])).rejects.toThrow(/SSH/);
  });

  it('rejects an age file whose plaintext is not 32 bytes', async () => {
    for (const len of [0, 16, 31, 33, 64]) {
      const e = new Encrypter();
      e.addRecipient(a.recipient);
      const armored = armor.encode(await e.encrypt(randomBytes(len)));
      await expect(unwrapDataKey(armored, [parseIdentity(a.identity)], { source: 's.toml' })).rejects.toThrow(/^s\.toml: data key has the wrong size/);
    }
  });
});

describe('tampering', () => {
  const a = generateX25519Identity();
  const other = generateX25519Identity();

  /** Replace the base64 character at `i` in the armor body with a different valid one. */
  function flipChar(armored: string, i: number): string {
    const ch = armored[i];
    const repl = ch === 'A' ? 'B' : 'A';
    return armored.slice(0, i) + repl + armored.slice(i + 1);
  }

  function bodyPositions(armored: string): number[] {
    const start = armored.indexOf('\n') + 1;
    const end = armored.lastIndexOf('-----END');
    const out: number[] = [];
    for (let i = start; i < end; i++) if (/[A-Za-z0-9+/]/.test(armored[i])) out.push(i);
    return out;
  }

  it('a flipped byte in the MAC or payload gives GitSealError, not null, with no key material', async () => {
    const key = randomBytes(32);
    const armored = await wrapDataKey(key, [a.recipient]);
    const id = parseIdentity(a.identity);
    const raw = armor.decode(armored);
    const macLine = Buffer.from(raw).indexOf('\n---') + 1;
    const headerEnd = Buffer.from(raw).indexOf('\n', macLine) + 1;
    // Flip bytes inside the MAC, the nonce and the encrypted payload.
    for (const off of [macLine + 5, macLine + 20, headerEnd, headerEnd + 10, headerEnd + 16, raw.length - 1]) {
      const t = Uint8Array.from(raw);
      t[off] ^= 0x01;
      try {
        await unwrapDataKey(armor.encode(t), [id], { source: 'secrets/prod.toml' });
        expect.fail(`offset ${off}: should throw`);
      } catch (e) {
        expectCorrupt(e, [a.identity, key.toString('hex'), key.toString('base64')]);
        expect((e as GitSealError).message).toMatch(/^secrets\/prod\.toml: data key/);
      }
    }
  });

  it('every single-character change in the armor is an error or "not a recipient", never a wrong key or a crash', async () => {
    const key = randomBytes(32);
    const armored = await wrapDataKey(key, [a.recipient, other.recipient]);
    const id = parseIdentity(a.identity);
    let errors = 0;
    let nulls = 0;
    for (const i of bodyPositions(armored)) {
      const t = flipChar(armored, i);
      if (t === armored) continue;
      let got: Uint8Array | null;
      try {
        got = await unwrapDataKey(t, [id]);
      } catch (e) {
        expectCorrupt(e, [a.identity, key.toString('hex')]);
        errors++;
        continue;
      }
      // Only a change to our own (anonymous) stanza can look like "not for me".
      expect(got).toBeNull();
      nulls++;
    }
    expect(errors).toBeGreaterThan(350);
    expect(nulls).toBeLessThan(40);
  });

  it('structural damage to the armor is a GitSealError', async () => {
    const armored = await wrapDataKey(randomBytes(32), [a.recipient]);
    const id = parseIdentity(a.identity);
    const lines = armored.split('\n');
    const damaged = [
      '',
      'not age at all',
      armored.replace('BEGIN AGE', 'BEGIN AGX'),
      armored.replace('-----END AGE ENCRYPTED FILE-----', ''),
      [lines[0], lines[1].slice(1), ...lines.slice(2)].join('\n'),
      [lines[0], ...lines.slice(2)].join('\n'),
      armored.replace(lines[1], lines[1].slice(0, 10) + '*' + lines[1].slice(11)),
    ];
    for (const t of damaged) {
      await expect(unwrapDataKey(t, [id])).rejects.toBeInstanceOf(GitSealError);
      if (t !== '' && t !== 'not age at all') expect(() => stanzaCount(t)).toThrow(GitSealError);
    }
    // CRLF and surrounding whitespace are fine.
    expect(await unwrapDataKey(`\n  ${armored.replaceAll('\n', '\r\n')}  \n`, [id])).not.toBeNull();
  });

  it('a recipients list tampered after wrapping is detectable by stanza count', async () => {
    const armored = await wrapDataKey(randomBytes(32), [a.recipient]);
    const claimed = [a.recipient, other.recipient]; // someone added a recipient without re-wrapping
    expect(stanzaCount(armored)).not.toBe(claimed.length);
  });

  it('an identity that hits a malformed stanza reports it as a GitSealError', async () => {
    const armored = await wrapDataKey(randomBytes(32), [a.recipient]);
    const raw = Buffer.from(armor.decode(armored)).toString('latin1');
    // Replace the share with a low-order point (all zeroes), keeping the header well-formed.
    const evil = raw.replace(/^-> X25519 [A-Za-z0-9+/]{43}$/m, '-> X25519 ' + 'A'.repeat(43));
    expect(evil).not.toBe(raw);
    await expect(unwrapDataKey(armor.encode(Buffer.from(evil, 'latin1')), [new X25519Identity(a.identity)])).rejects.toThrow(/low-order/);
  });
});
