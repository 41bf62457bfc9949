/**
 * The age authors' C2SP CCTV test vectors (npm `cctv-age`), run against git-seal's own age-file and
 * data-key code, the way typage's testkit runs them:
 *   - a vector that must fail never yields a key;
 *   - a valid vector opens to exactly its payload (or is refused whole), and yields a data key only
 *     when its payload is 32 bytes.
 * typage decrypts the valid vectors only to learn each payload's length.
 */
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { armor, Decrypter } from 'age-encryption';
import { GitSealError } from '../../src/errors.js';
import { AgeFormatError, armorDecode, armorEncode, decryptAgeFile } from '../../src/age/age-file.js';
import { parseIdentity, unwrapDataKey, type AgeIdentity } from '../../src/age/index.js';

interface Vector {
  name: string;
  expect: string;
  payload: string;
  identities: string[];
  passphrases: string[];
  armored: boolean;
  file: Uint8Array;
}

const vectors: Record<string, Uint8Array> = createRequire(import.meta.url)('cctv-age');

function parseVector(name: string, raw: Uint8Array): Vector {
  const buf = Buffer.from(raw);
  const split = buf.indexOf('\n\n');
  const header = buf.subarray(0, split).toString('utf8');
  let file: Uint8Array = buf.subarray(split + 2);
  const v: Vector = { name, expect: '', payload: '', identities: [], passphrases: [], armored: false, file };
  let compressed = false;
  for (const line of header.split('\n')) {
    const [key, value] = [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)];
    if (key === 'expect') v.expect = value;
    else if (key === 'payload') v.payload = value;
    else if (key === 'identity') v.identities.push(value);
    else if (key === 'passphrase') v.passphrases.push(value);
    else if (key === 'armored') v.armored = value === 'yes';
    else if (key === 'compressed') compressed = value === 'zlib';
  }
  if (compressed) file = inflateSync(file);
  v.file = file;
  return v;
}

const all = Object.entries(vectors).map(([name, raw]) => parseVector(name, raw));

function identitiesOf(v: Vector): AgeIdentity[] {
  return v.identities.map((s) => parseIdentity(s));
}

/** What git-seal's data-key reader makes of the vector: a key, null (no match), or a GitSealError. */
async function openWithGitSeal(v: Vector): Promise<Uint8Array | null> {
  const armored = v.armored ? Buffer.from(v.file).toString('latin1') : armorEncode(v.file);
  return unwrapDataKey(armored, identitiesOf(v), { source: v.name });
}

/** The reference plaintext of a valid vector, from typage (with passphrases, which git-seal does not read). */
async function referencePlaintext(v: Vector): Promise<Uint8Array> {
  const d = new Decrypter();
  for (const id of v.identities) d.addIdentity(id);
  for (const p of v.passphrases) d.addPassphrase(p);
  return d.decrypt(v.armored ? armor.decode(Buffer.from(v.file).toString('latin1')) : v.file);
}

describe('C2SP CCTV age vectors', () => {
  it('the package holds the vectors', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(all.filter((v) => v.expect === 'success').length).toBeGreaterThan(10);
  });

  const failing = all.filter((v) => v.expect !== 'success');
  it.each(failing.map((v) => [v.name, v] as const))('%s: never yields a key', async (_name, v) => {
    // The small-file reader beneath the data-key layer refuses it (or finds no match)...
    let plaintext: Uint8Array | null = null;
    try {
      plaintext = await decryptAgeFile(v.armored ? armorDecode(Buffer.from(v.file).toString('latin1')) : v.file, identitiesOf(v));
    } catch (err) {
      // A malformed file (AgeFormatError) or a malformed stanza for one of our identities (GitSealError).
      expect(err instanceof AgeFormatError || err instanceof GitSealError).toBe(true);
    }
    expect(plaintext).toBeNull();
    // ...and so does the data-key layer, with a one-line error.
    let key: Uint8Array | null = null;
    try {
      key = await openWithGitSeal(v);
    } catch (err) {
      expect(err).toBeInstanceOf(GitSealError);
      expect((err as GitSealError).message.split('\n')).toHaveLength(1);
      return;
    }
    expect(key).toBeNull();
  });

  // No valid vector carries a 32-byte payload (they hold 0 bytes to 16 MiB), so the valid ones are read
  // through the general small-file reader beneath the data-key layer, and through the data-key layer,
  // which must refuse every payload that is not exactly a 32-byte key.
  const valid = all.filter((v) => v.expect === 'success');
  const binary = (v: Vector) => (v.armored ? armorDecode(Buffer.from(v.file).toString('latin1')) : v.file);
  it.each(valid.map((v) => [v.name, v] as const))('%s: opens to exactly the payload, or is refused whole', async (_name, v) => {
    const reference = await referencePlaintext(v);
    expect(createHash('sha256').update(reference).digest('hex')).toBe(v.payload);
    let opened: Uint8Array | null = null;
    try {
      opened = await decryptAgeFile(binary(v), identitiesOf(v));
    } catch (err) {
      // Only one STREAM chunk is read: a longer file is refused, never half-opened.
      expect(err).toBeInstanceOf(AgeFormatError);
      expect(reference.length).toBeGreaterThan(64 * 1024);
    }
    if (opened) expect(createHash('sha256').update(opened).digest('hex')).toBe(v.payload);
    else if (reference.length <= 64 * 1024) expect(v.identities).toHaveLength(0); // scrypt-only: no identity of ours applies
    // The data-key layer yields a key only when the payload is one.
    let key: Uint8Array | null = null;
    try {
      key = await openWithGitSeal(v);
    } catch (err) {
      expect(err).toBeInstanceOf(GitSealError);
    }
    if (key) expect(reference.length).toBe(32);
  });

  it('reads single-chunk valid vectors of both X25519 and the hybrid post-quantum type', async () => {
    const opened: string[] = [];
    for (const v of valid) if (await decryptAgeFile(binary(v), identitiesOf(v)).catch(() => null)) opened.push(v.name);
    expect(opened.some((n) => n.startsWith('x25519'))).toBe(true);
    expect(opened.some((n) => n.startsWith('hybrid'))).toBe(true);
  });
});
