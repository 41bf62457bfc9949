/** The shared rule behind clean, check, set/edit, exec and decrypt: which values of a sealed file are in clear. */
import { beforeAll, describe, expect, it } from 'vitest';
import { GitSealError } from '../../src/errors.js';
import { openText, parseSealed, seal, unsealedValueError, unsealedValues } from '../../src/format/seal.js';
import { formatKeyPath } from '../../src/format/keypath.js';
import { mergeSealedFiles } from '../../src/git/merge.js';
import { plaintextKeyFilter } from '../../src/profiles/config.js';
import { makeKey, type TestKey } from '../helpers.js';

const PLAIN = `[db]
host = "db.internal"
port = 5432
password = "pw-unsealed-test"
schemas = ["raw", "staging"]
opts = { timeout = 5 }
`;

const keysOf = (text: string, allowed?: string[]) =>
  unsealedValues(parseSealed(text, 'f.toml')!, allowed ? plaintextKeyFilter(allowed) : undefined).map((s) => formatKeyPath(s.path));

describe('unsealedValues', () => {
  let alice: TestKey;
  let sealed: string;
  beforeAll(async () => {
    alice = await makeKey();
    sealed = (await seal(PLAIN, { recipients: [alice.recipient], plaintextKeys: plaintextKeyFilter(['port']) })).text;
  });

  it('lists nothing for a file sealed by git-seal with its plaintext_keys, and never the [gitseal] table', () => {
    expect(keysOf(sealed, ['port'])).toEqual([]);
    // Without the plaintext_keys that allowed it, port is a value in clear.
    expect(keysOf(sealed)).toEqual(['db.port']);
  });

  it('finds injected values at any depth: a replaced value, an array item, an inline table field, a new key', () => {
    const injected = sealed
      .replace(/^host = "ENC\[[^"]*"/m, 'host = "evil.example.com"')
      .replace(/schemas = \["ENC\[[^"]*"/, 'schemas = ["evil"')
      .replace(/timeout = "ENC\[[^"]*"/, 'timeout = 1')
      .replace('[db]\n', '[db]\nextra = true\n');
    expect(keysOf(injected, ['port'])).toEqual(['db.extra', 'db.host', 'db.schemas[0]', 'db.opts.timeout']);
  });

  it('a sealed merge conflict has no body values', async () => {
    const base = (await seal('[s]\nk = "base"\n', { recipients: [alice.recipient] })).text;
    const ours = (await seal('[s]\nk = "ours"\n', { recipients: [alice.recipient], previous: base, identities: [alice.parsed] })).text;
    const theirs = (await seal('[s]\nk = "theirs"\n', { recipients: [alice.recipient], previous: base, identities: [alice.parsed] })).text;
    const merged = await mergeSealedFiles({ base, ours, theirs, path: 'f.toml', identities: [alice.parsed] });
    expect(merged.conflict).toBe(true);
    expect(parseSealed(merged.text)!.meta.conflict).toBeDefined();
    expect(keysOf(merged.text)).toEqual([]);
    expect(keysOf(merged.text.replace('[gitseal]', 'k = "in-clear"\n\n[gitseal]'))).toEqual(['k']);
  });

  it('the refusal names the file and the key paths, never a value', () => {
    const injected = sealed.replace(/^password = "ENC\[[^"]*"/m, 'password = "pw-injected-secret"');
    const err = unsealedValueError('f.toml', unsealedValues(parseSealed(injected)!, plaintextKeyFilter(['port'])), 'the hint');
    expect(err.oneLine).toBe("f.toml: the value of 'db.password' is in plaintext in a sealed file, and plaintext_keys does not list it (the hint)");
  });

  it('openText refuses a value in clear unless plaintext_keys lists it or allowPlaintext is set', async () => {
    const injected = sealed.replace(/^host = "ENC\[[^"]*"/m, 'host = "evil.example.com"');
    await expect(openText(injected, [alice.parsed], 'f.toml', { plaintextKeys: () => plaintextKeyFilter(['port']) })).rejects.toThrow(
      /f\.toml: the value of 'db\.host' is in plaintext/,
    );
    await expect(openText(sealed, [alice.parsed], 'f.toml')).rejects.toThrow(/'db\.port'/);
    expect(await openText(sealed, [alice.parsed], 'f.toml', { plaintextKeys: () => plaintextKeyFilter(['port']) })).toBe(PLAIN);
    expect(await openText(injected, [alice.parsed], 'f.toml', { allowPlaintext: true })).toContain('host = "evil.example.com"');
  });

  it('a fake token that only looks sealed is no way around it: opening it fails authentication', async () => {
    const fake = sealed.replace(/^password = "ENC\[[^"]*"/m, 'password = "ENC[gitseal.v1,cHctc21hdWdnbGVk]"');
    expect(keysOf(fake, ['port'])).toEqual([]);
    const err = await openText(fake, [alice.parsed], 'f.toml', { plaintextKeys: () => plaintextKeyFilter(['port']) }).catch((e) => e);
    expect(err).toBeInstanceOf(GitSealError);
    expect((err as GitSealError).message).toMatch(/'db\.password' failed authentication/);
  });
});
