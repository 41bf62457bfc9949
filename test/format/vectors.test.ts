/**
 * The sealed-format test vectors (test/vectors/, docs/FORMAT.md "Test vectors") against the
 * implementation, and docs/FORMAT.md against the vector files, so the spec cannot drift.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { identityToRecipient, parseIdentity, parseIdentityFile } from '../../src/age/index.js';
import { deriveValueKeys, encodePath, encryptValue } from '../../src/crypto/value.js';
import { formatKeyPath } from '../../src/format/keypath.js';
import { META_COMMENT } from '../../src/format/meta.js';
import { openSealed, openText, parseSealed, seal } from '../../src/format/seal.js';
import { scanToml } from '../../src/toml/index.js';
import { ROOT } from '../helpers.js';

const VECTORS = join(ROOT, 'test', 'vectors');
const vectorFile = (name: string) => readFileSync(join(VECTORS, name));
const plaintext = vectorFile('plaintext.toml');
const sealed = vectorFile('sealed.toml');
const identityText = vectorFile('identity.txt').toString('utf8');
const doc = readFileSync(join(ROOT, 'docs', 'FORMAT.md'), 'utf8');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The fenced block right after `<!-- marker -->` in FORMAT.md, with its final newline. */
function docBlock(marker: string): string {
  const m = new RegExp(`<!-- ${marker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(doc);
  if (!m) throw new Error(`FORMAT.md has no block marked <!-- ${marker} -->`);
  return m[1] + '\n';
}

/** The intermediates block: groups separated by blank lines, each line `name  value`. */
function documentedVectors(): { keys: Map<string, string>; values: Map<string, string>[] } {
  const groups = docBlock('vector: intermediates')
    .trim()
    .split(/\n\s*\n/)
    .map((g) => new Map(g.split('\n').map((line) => {
      const m = /^(\S+(?: key)?)\s+(.+)$/.exec(line);
      if (!m) throw new Error(`unparsable vector line: ${line}`);
      return [m[1], m[2]] as [string, string];
    })));
  return { keys: groups[0], values: groups.slice(1) };
}

const identity = parseIdentityFile(identityText, 'identity.txt')[0];
const { keys: docKeys, values: docValues } = documentedVectors();

describe('test vectors', () => {
  it('the vector files are what FORMAT.md shows', () => {
    expect(docBlock('vector: test/vectors/plaintext.toml')).toBe(plaintext.toString('utf8'));
    expect(docBlock('vector: test/vectors/sealed.toml')).toBe(sealed.toString('utf8'));
    expect(identityText).toContain(`\n${docKeys.get('identity')}\n`);
    expect(doc).toContain(META_COMMENT);
  });

  it('opening sealed.toml with identity.txt gives plaintext.toml byte for byte', async () => {
    const opened = await openText(sealed.toString('utf8'), [identity], 'sealed.toml');
    expect(Buffer.from(opened, 'utf8').equals(plaintext)).toBe(true);
  });

  it('re-sealing plaintext.toml with previous = sealed.toml reproduces sealed.toml byte for byte', async () => {
    const recipient = await identityToRecipient(docKeys.get('identity')!);
    expect(recipient).toBe(docKeys.get('recipient'));
    const again = await seal(plaintext.toString('utf8'), { recipients: [recipient], identities: [identity], previous: sealed.toString('utf8') });
    expect(again).toMatchObject({ reusedKey: true, rotated: false });
    expect(Buffer.from(again.text, 'utf8').equals(sealed)).toBe(true);
    // Re-sealing the sealed file itself is the identity too.
    const resealed = await seal(sealed.toString('utf8'), { recipients: [recipient], identities: [identity] });
    expect(resealed.text).toBe(sealed.toString('utf8'));
  });

  it('the documented data key and derived keys match', async () => {
    const parsed = parseSealed(sealed.toString('utf8'), 'sealed.toml')!;
    expect(parsed.meta.recipients).toEqual([docKeys.get('recipient')]);
    const { dataKey } = await openSealed(parsed, [parseIdentity(docKeys.get('identity')!)], 'sealed.toml');
    expect(hex(dataKey)).toBe(docKeys.get('data key'));
    const keys = deriveValueKeys(dataKey);
    expect(hex(keys.enc)).toBe(docKeys.get('K_enc'));
    expect(hex(keys.nonce)).toBe(docKeys.get('K_nonce'));

    // The HKDF info strings as FORMAT.md states them give the same keys.
    for (const [name, label] of [['K_enc', 'value key'], ['K_nonce', 'nonce key']]) {
      const info = new RegExp(`${name}\\s+= HKDF-SHA256\\(IKM = DK, salt = "", info = "([^"]+)", L = 32\\)`).exec(doc)?.[1];
      expect(info).toBe(`git-seal v1 ${label}`);
      expect(hex(new Uint8Array(hkdfSync('sha256', dataKey, new Uint8Array(0), info!, 32)))).toBe(docKeys.get(name));
    }
  });

  it('the documented intermediates of each traced value match', () => {
    expect(docValues.length).toBe(2);
    const dataKey = Buffer.from(docKeys.get('data key')!, 'hex');
    const keys = deriveValueKeys(dataKey);
    const text = plaintext.toString('utf8');
    const sealedText = sealed.toString('utf8');
    const sealedScalars = parseSealed(sealedText, 'sealed.toml')!.doc.scalars;
    for (const v of docValues) {
      const scalar = scanToml(text).scalars.find((s) => formatKeyPath(s.path) === v.get('value'));
      expect(scalar, v.get('value')).toBeDefined();
      const raw = text.slice(scalar!.start, scalar!.end);
      expect(raw).toBe(v.get('plaintext'));
      const p = encodePath(scalar!.path);
      expect(hex(p)).toBe(v.get('P'));
      const token = encryptValue(keys, scalar!.path, raw);
      expect(token).toBe(v.get('token'));
      const payload = Buffer.from(token.slice('ENC[gitseal.v1,'.length, -1), 'base64');
      expect(hex(payload.subarray(0, 24))).toBe(v.get('N'));

      // N by the formula in FORMAT.md: HMAC-SHA256(K_nonce, u32be(len P) || P || M)[0..24].
      const len = Buffer.alloc(4);
      len.writeUInt32BE(p.length);
      const n = createHmac('sha256', keys.nonce).update(len).update(p).update(Buffer.from(raw, 'utf8')).digest().subarray(0, 24);
      expect(hex(n)).toBe(v.get('N'));

      // The token sits at the same path in sealed.toml.
      const at = sealedScalars.find((s) => formatKeyPath(s.path) === v.get('value'))!;
      expect(sealedText.slice(at.start, at.end)).toBe(`"${token}"`);
    }
  });

  it('changing any documented input changes the token', () => {
    const keys = deriveValueKeys(Buffer.from(docKeys.get('data key')!, 'hex'));
    const path = ['sources', 'stripe', 'api_key'];
    const token = encryptValue(keys, path, '"demo_4f1c2b7e9a0d"');
    expect(token).toBe(docValues[0].get('token'));
    expect(encryptValue(keys, ['sources', 'stripe', 'api_key2'], '"demo_4f1c2b7e9a0d"')).not.toBe(token);
    expect(encryptValue(keys, path, "'demo_4f1c2b7e9a0d'")).not.toBe(token);
    expect(encryptValue(deriveValueKeys(new Uint8Array(32)), path, '"demo_4f1c2b7e9a0d"')).not.toBe(token);
  });
});
