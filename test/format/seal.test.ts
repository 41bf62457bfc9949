import { beforeAll, describe, expect, it } from 'vitest';
import { GitSealError } from '../../src/errors.js';
import { openText, parseSealed, seal, sealText } from '../../src/format/seal.js';
import { makeKey, type TestKey } from '../helpers.js';

const SAMPLE = `# dlt secrets
[sources.stripe]
api_key = "sk_live_51HxYzSecretValue" # the live key
retries = 3

[destination.postgres.credentials]
host = "db.internal.example"
password = "hunter2-correct-horse"
port = 5432
`;

async function expectFailure(p: Promise<unknown>): Promise<GitSealError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GitSealError);
    return err as GitSealError;
  }
  throw new Error('expected a failure');
}

describe('seal and open', () => {
  let alice: TestKey;
  let bob: TestKey;
  let carol: TestKey;
  beforeAll(async () => {
    [alice, bob, carol] = await Promise.all([makeKey(), makeKey(), makeKey()]);
  });

  it('round-trips CRLF, no final newline, empty input and a BOM', async () => {
    for (const text of ['a = "x"\r\nb = 2\r\n', 'a = "x"', '', '\ufeffa = 1\n', '\n\n# only a comment', 'a = "x"\r\nb = 1']) {
      const sealed = await sealText(text, { recipients: [alice.recipient] });
      expect(await openText(sealed, [alice.parsed])).toBe(text);
    }
  });

  it('keeps CRLF line endings in the metadata of a CRLF file', async () => {
    const sealed = await sealText('a = "x"\r\n', { recipients: [alice.recipient] });
    expect(sealed.replace(/\r\n/g, '')).not.toMatch(/\n/);
  });

  it('re-sealing with the key reproduces identical bytes', async () => {
    const first = await sealText(SAMPLE, { recipients: [alice.recipient, bob.recipient] });
    const again = await sealText(first, { recipients: [bob.recipient, alice.recipient], identities: [alice.parsed] });
    expect(again).toBe(first);
    const fromPlain = await sealText(SAMPLE, { recipients: [alice.recipient, bob.recipient], identities: [bob.parsed], previous: first });
    expect(fromPlain).toBe(first);
  });

  it('a one-value change is a one-line change', async () => {
    const first = await sealText(SAMPLE, { recipients: [alice.recipient] });
    const edited = SAMPLE.replace('retries = 3', 'retries = 4');
    const second = await sealText(edited, { recipients: [alice.recipient], identities: [alice.parsed], previous: first });
    const a = first.split('\n');
    const b = second.split('\n');
    expect(b.length).toBe(a.length);
    expect(a.filter((l, i) => l !== b[i])).toHaveLength(1);
  });

  it('adding a recipient re-wraps only; removing one rotates every value', async () => {
    const first = await sealText(SAMPLE, { recipients: [alice.recipient, bob.recipient] });
    const added = await seal(first, { recipients: [alice.recipient, bob.recipient, carol.recipient], identities: [alice.parsed] });
    expect(added.rotated).toBe(false);
    const bodyOf = (t: string) => t.slice(0, parseSealed(t)!.bodyEnd);
    expect(bodyOf(added.text)).toBe(bodyOf(first));
    expect(await openText(added.text, [carol.parsed])).toBe(SAMPLE);

    const removed = await seal(added.text, { recipients: [alice.recipient, carol.recipient], identities: [alice.parsed] });
    expect(removed.rotated).toBe(true);
    const before = bodyOf(added.text).split('\n');
    const after = bodyOf(removed.text).split('\n');
    for (let i = 0; i < before.length; i++) if (before[i].includes('ENC[')) expect(after[i]).not.toBe(before[i]);
    await expectFailure(openText(removed.text, [bob.parsed]));
  });

  it('no matching identity names the recipients', async () => {
    const sealed = await sealText(SAMPLE, { recipients: [alice.recipient] });
    const err = await expectFailure(openText(sealed, [bob.parsed], 'prod.secrets.toml'));
    expect(err.message).toContain('prod.secrets.toml');
    expect(err.message).toContain(alice.recipient);
  });

  it('plaintext keys stay readable and round-trip', async () => {
    const plaintextKeys = (p: readonly unknown[]) => p[p.length - 1] === 'host' || p[p.length - 1] === 'port';
    const sealed = await sealText(SAMPLE, { recipients: [alice.recipient], plaintextKeys });
    expect(sealed).toContain('host = "db.internal.example"');
    expect(sealed).toContain('port = 5432');
    expect(sealed).not.toContain('hunter2');
    expect(await openText(sealed, [alice.parsed], 'f.toml', { plaintextKeys: () => plaintextKeys })).toBe(SAMPLE);
    // Opened without the plaintext_keys that allow them, they are values in clear: refused.
    await expect(openText(sealed, [alice.parsed], 'f.toml')).rejects.toThrow(/f\.toml: the values of 'destination\.postgres\.credentials\.host', 'destination\.postgres\.credentials\.port' are in plaintext/);
  });

  it('refuses a plaintext key whose value looks like a sealed token (it could not be opened)', async () => {
    const text = 'host = "ENC[gitseal.v1,AAAA]"\n';
    const err = await expectFailure(sealText(text, { recipients: [alice.recipient], plaintextKeys: (p) => p[0] === 'host', file: 'f.toml' }));
    expect(err.message).toMatch(/f\.toml:1:8: .*'host'/);
  });

  it('rejects unknown or mistyped metadata fields', async () => {
    const sealed = await sealText(SAMPLE, { recipients: [alice.recipient] });
    for (const bad of [
      sealed.replace('version = 1', 'version = 1\nextra = "x"'),
      sealed.replace('version = 1', 'version = 1\nfinal_newline = "no"'),
      sealed.replace('version = 1', 'version = 1\nconflict = 3'),
    ]) {
      const err = await expectFailure(openText(bad, [alice.parsed], 'f.toml'));
      expect(err.message).toMatch(/^f\.toml: /);
    }
  });

  it('refuses the reserved [gitseal] table in plaintext', async () => {
    const err = await expectFailure(sealText('[gitseal]\na = 1\n', { recipients: [alice.recipient] }));
    expect(err.message).toContain('reserved');
  });

  it('rejects an unknown format version', async () => {
    const sealed = await sealText(SAMPLE, { recipients: [alice.recipient] });
    const err = await expectFailure(openText(sealed.replace('version = 1', 'version = 2'), [alice.parsed], 'f.toml'));
    expect(err.message).toMatch(/f\.toml: .*version 2/);
    const err2 = await expectFailure(openText(sealed.replace('ENC[gitseal.v1,', 'ENC[gitseal.v9,'), [alice.parsed], 'f.toml'));
    expect(err2.message).toMatch(/version 9/);
  });
});

describe('tampering', () => {
  let alice: TestKey;
  let sealed: string;
  beforeAll(async () => {
    alice = await makeKey();
    sealed = await sealText(SAMPLE, { recipients: [alice.recipient] });
  });

  const secrets = ['sk_live_51HxYzSecretValue', 'hunter2-correct-horse', 'db.internal.example'];

  async function expectTamperError(text: string, keyPath?: string): Promise<void> {
    const err = await expectFailure(openText(text, [alice.parsed], 'secrets.toml'));
    for (const s of secrets) expect(err.oneLine).not.toContain(s);
    if (keyPath) expect(err.message).toContain(`'${keyPath}'`);
  }

  it('detects a flipped character anywhere in any value ciphertext', async () => {
    const tokens = [...sealed.matchAll(/"ENC\[gitseal\.v1,([A-Za-z0-9+/=]+)\]"/g)];
    expect(tokens.length).toBe(5);
    for (const m of tokens) {
      const start = m.index! + '"ENC[gitseal.v1,'.length;
      for (let i = 0; i < m[1].length; i++) {
        const c = sealed[start + i];
        const flipped = c === 'A' ? 'B' : c === '=' ? 'A' : 'A';
        if (flipped === c) continue;
        await expectTamperError(sealed.slice(0, start + i) + flipped + sealed.slice(start + i + 1));
      }
    }
  });

  it('detects swapped ciphertexts and a value moved to another key', async () => {
    const line = (k: string) => sealed.split('\n').find((l) => l.startsWith(`${k} =`))!;
    const tok = (k: string) => /"ENC\[[^\]]+\]"/.exec(line(k))![0];
    const swapped = sealed.replace(tok('password'), '@@').replace(tok('host'), tok('password')).replace('@@', tok('host'));
    await expectTamperError(swapped, 'destination.postgres.credentials.host');
    const moved = sealed.replace(line('api_key'), `api_key = ${tok('password')}`);
    await expectTamperError(moved, 'sources.stripe.api_key');
  });

  it('detects a corrupted or truncated data key', async () => {
    const armorLine = sealed.split('\n').find((l) => /^[A-Za-z0-9+/]{60,}$/.test(l))!;
    const bad = sealed.replace(armorLine, armorLine.slice(0, 10) + (armorLine[10] === 'x' ? 'y' : 'x') + armorLine.slice(11));
    await expectTamperError(bad);
    await expectFailure(openText(sealed.slice(0, sealed.length - 40), [alice.parsed], 'secrets.toml'));
  });
});

describe('sameSet (the one recipient-set comparison)', () => {
  it('compares sets, not lengths', async () => {
    const { sameSet } = await import('../../src/format/meta.js');
    expect(sameSet(['a', 'b'], ['b', 'a'])).toBe(true);
    expect(sameSet(['a', 'a'], ['a'])).toBe(true);
    expect(sameSet(['a', 'a'], ['a', 'b'])).toBe(false); // the old rekey helper said true
    expect(sameSet(['a'], ['a', 'b'])).toBe(false);
  });
});
