import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitSealError } from '../../src/errors.js';
import {
  defaultKeyFile,
  formatIdentityFile,
  generateIdentity,
  generateX25519Identity,
  loadIdentities,
  sopsDefaultKeyFiles,
  unwrapDataKey,
  wrapDataKey,
  type GeneratedIdentity,
} from '../../src/age/index.js';
import { tempDir } from './helpers.js';

function write(path: string, text: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

function keyFile(path: string, ...keys: GeneratedIdentity[]): string {
  return write(path, keys.map((k) => formatIdentityFile(k.identity, k.recipient)).join('\n'));
}

async function expectError(p: Promise<unknown>, re: RegExp, secrets: string[] = []): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GitSealError);
    expect((e as GitSealError).message).toMatch(re);
    expect((e as GitSealError).hint).toBeTruthy();
    for (const s of secrets) expect((e as GitSealError).message + (e as GitSealError).hint).not.toContain(s.slice(15, 45));
    return;
  }
  throw new Error('expected a GitSealError');
}

describe('defaultKeyFile / sopsDefaultKeyFiles', () => {
  it('uses $XDG_CONFIG_HOME when absolute, else ~/.config', () => {
    expect(defaultKeyFile({}, '/home/u')).toBe('/home/u/.config/git-seal/keys.txt');
    expect(defaultKeyFile({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/u')).toBe('/x/cfg/git-seal/keys.txt');
    expect(defaultKeyFile({ XDG_CONFIG_HOME: 'relative' }, '/home/u')).toBe('/home/u/.config/git-seal/keys.txt');
    expect(sopsDefaultKeyFiles({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/u')).toContain('/x/cfg/sops/age/keys.txt');
    expect(sopsDefaultKeyFiles({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/u')).toContain('/home/u/.config/sops/age/keys.txt');
  });
});

describe('loadIdentities', () => {
  let tmp: ReturnType<typeof tempDir>;
  let home: string;
  beforeEach(() => {
    tmp = tempDir();
    home = join(tmp.dir, 'home');
    mkdirSync(home);
  });
  afterEach(() => tmp.cleanup());

  it('finds nothing (and no error) when no source exists', async () => {
    const r = await loadIdentities({ env: {}, home });
    expect(r).toEqual({ identities: [], recipients: [], deferred: [], sources: [] });
  });

  it('loads the union of every source, in order, with public keys per source', async () => {
    const k = Array.from({ length: 9 }, () => generateX25519Identity());
    const xdg = join(tmp.dir, 'xdg');
    const cli1 = keyFile(join(tmp.dir, 'cli1.txt'), k[0]);
    const cli2 = keyFile(join(tmp.dir, 'cli2.txt'), k[1]);
    const gsFile = keyFile(join(tmp.dir, 'gs-file.txt'), k[3]);
    keyFile(join(xdg, 'git-seal', 'keys.txt'), k[4]);
    const sopsFile = keyFile(join(tmp.dir, 'sops-file.txt'), k[6]);
    keyFile(join(xdg, 'sops', 'age', 'keys.txt'), k[7]);
    keyFile(join(home, '.config', 'sops', 'age', 'keys.txt'), k[8]);
    const env = {
      XDG_CONFIG_HOME: xdg,
      GITSEAL_AGE_KEY: k[2].identity,
      GITSEAL_AGE_KEY_FILE: gsFile,
      SOPS_AGE_KEY: k[5].identity,
      SOPS_AGE_KEY_FILE: sopsFile,
    };
    const r = await loadIdentities({ identityFiles: [cli1, cli2], env, home });
    expect(r.recipients).toEqual(k.map((x) => x.recipient));
    expect(r.identities).toHaveLength(9);
    expect(r.sources.map((s) => s.source)).toEqual([
      `--identity ${cli1}`,
      `--identity ${cli2}`,
      '$GITSEAL_AGE_KEY',
      `$GITSEAL_AGE_KEY_FILE (${gsFile})`,
      join(xdg, 'git-seal', 'keys.txt'),
      '$SOPS_AGE_KEY',
      `$SOPS_AGE_KEY_FILE (${sopsFile})`,
      join(xdg, 'sops', 'age', 'keys.txt'),
      join(home, '.config', 'sops', 'age', 'keys.txt'),
    ]);
    expect(r.sources.map((s) => s.publicKeys)).toEqual(k.map((x) => [x.recipient]));
    // The doctor view carries no private material.
    const json = JSON.stringify(r.sources);
    for (const x of k) expect(json).not.toContain(x.identity);
    // Every identity actually works.
    for (const x of k) {
      const armored = await wrapDataKey(new Uint8Array(32).fill(7), [x.recipient]);
      expect(await unwrapDataKey(armored, r.identities)).toEqual(new Uint8Array(32).fill(7));
    }
  });

  it('uses ~/.config/git-seal/keys.txt without XDG_CONFIG_HOME', async () => {
    const k = generateX25519Identity();
    keyFile(join(home, '.config', 'git-seal', 'keys.txt'), k);
    const r = await loadIdentities({ env: {}, home });
    expect(r.recipients).toEqual([k.recipient]);
    expect(r.sources).toEqual([{ source: join(home, '.config', 'git-seal', 'keys.txt'), publicKeys: [k.recipient] }]);
  });

  it('deduplicates identical keys across and within sources', async () => {
    const a = generateX25519Identity();
    const b = generateX25519Identity();
    const f = keyFile(join(tmp.dir, 'a.txt'), a, a);
    keyFile(join(home, '.config', 'git-seal', 'keys.txt'), a, b);
    const r = await loadIdentities({
      identityFiles: [f, f],
      env: { GITSEAL_AGE_KEY: `${b.identity}\n${a.identity}`, SOPS_AGE_KEY: a.identity },
      home,
    });
    expect(r.recipients).toEqual([a.recipient, b.recipient]);
    expect(r.identities).toHaveLength(2);
    // The same file named twice is read once.
    expect(r.sources.filter((s) => s.source === `--identity ${f}`)).toHaveLength(1);
    expect(r.sources.find((s) => s.source === '$GITSEAL_AGE_KEY')!.publicKeys).toEqual([b.recipient, a.recipient]);
  });

  it('reads several keys from GITSEAL_AGE_KEY (whitespace-separated or a whole file) and SOPS_AGE_KEY', async () => {
    const k = [generateX25519Identity(), generateX25519Identity(), generateX25519Identity(), await generateIdentity({ pq: true })];
    const asFile = `# created: 2024-01-01T00:00:00Z\r\n# public key: ${k[2].recipient}\r\n${k[2].identity}\r\n`;
    const r = await loadIdentities({
      env: { GITSEAL_AGE_KEY: `  ${k[0].identity} \t${k[1].identity}\n`, SOPS_AGE_KEY: asFile + k[3].identity + '\n' },
      home,
    });
    expect(r.recipients).toEqual(k.map((x) => x.recipient));
    expect(r.sources).toEqual([
      { source: '$GITSEAL_AGE_KEY', publicKeys: [k[0].recipient, k[1].recipient] },
      { source: '$SOPS_AGE_KEY', publicKeys: [k[2].recipient, k[3].recipient] },
    ]);
  });

  it('treats empty env vars as unset', async () => {
    const r = await loadIdentities({ env: { GITSEAL_AGE_KEY: '', GITSEAL_AGE_KEY_FILE: '', SOPS_AGE_KEY: ' ', SOPS_AGE_KEY_FILE: '' }, home });
    expect(r.sources).toEqual([]);
  });

  it('errors on an explicitly named missing file, naming the source', async () => {
    const missing = join(tmp.dir, 'nope.txt');
    await expectError(loadIdentities({ identityFiles: [missing], env: {}, home }), new RegExp(`^--identity ${missing}: identity file not found`));
    await expectError(loadIdentities({ env: { GITSEAL_AGE_KEY_FILE: missing }, home }), /^\$GITSEAL_AGE_KEY_FILE \(.*nope\.txt\): identity file not found/);
    await expectError(loadIdentities({ env: { SOPS_AGE_KEY_FILE: missing }, home }), /^\$SOPS_AGE_KEY_FILE \(.*nope\.txt\): identity file not found/);
    await expectError(loadIdentities({ identityFiles: [tmp.dir], env: {}, home }), /is a directory/);
  });

  it.skipIf(process.getuid?.() === 0)('errors on an unreadable explicit file (skipped as root: root reads everything)', async () => {
    const f = keyFile(join(tmp.dir, 'locked.txt'), generateX25519Identity());
    chmodSync(f, 0o000);
    await expectError(loadIdentities({ identityFiles: [f], env: {}, home }), /permission denied/);
  });

  it('errors with source and line on a bad key, without echoing secrets', async () => {
    const a = generateX25519Identity();
    const broken = a.identity.slice(0, -2) + (a.identity.endsWith('QQ') ? 'PP' : 'QQ');
    await expectError(loadIdentities({ env: { GITSEAL_AGE_KEY: `${a.identity}\n${broken}` }, home }), /^\$GITSEAL_AGE_KEY, line 2: invalid age identity/, [a.identity]);
    const f = write(join(tmp.dir, 'named.txt'), `# comment\n\n${broken}\n`);
    await expectError(loadIdentities({ identityFiles: [f], env: {}, home }), new RegExp(`^--identity ${f}, line 3: invalid age identity`), [a.identity]);
    await expectError(loadIdentities({ env: { SOPS_AGE_KEY_FILE: f }, home }), /line 3: invalid age identity/, [a.identity]);
  });

  it('skips unusable identities in default key files with one warning each, keeping the usable ones', async () => {
    const mine = generateX25519Identity();
    const sopsKey = generateX25519Identity();
    const broken = mine.identity.slice(0, -2) + (mine.identity.endsWith('QQ') ? 'PP' : 'QQ');
    keyFile(join(home, '.config', 'git-seal', 'keys.txt'), mine);
    const sops = write(
      join(home, '.config', 'sops', 'age', 'keys.txt'),
      `# damaged yubikey line\nAGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQ\n${sopsKey.identity}\n${broken}\n`,
    );
    const warnings: string[] = [];
    const r = await loadIdentities({ env: {}, home, warn: (l) => warnings.push(l) });
    expect(r.recipients).toEqual([mine.recipient, sopsKey.recipient]);
    expect(warnings).toEqual([
      `git-seal: skipping an identity: ${sops}, line 2: invalid age plugin identity (bad checksum, case or plugin name)`,
      `git-seal: skipping an identity: ${sops}, line 4: invalid age identity (bad checksum, case, length or characters)`,
    ]);
    for (const w of warnings) expect(w).not.toContain(mine.identity.slice(15, 45));
    // Once per process: loading again warns no more.
    const again: string[] = [];
    await loadIdentities({ env: {}, home, warn: (l) => again.push(l) });
    expect(again).toEqual([]);
    // Named explicitly, the same file fails closed.
    await expectError(loadIdentities({ env: { SOPS_AGE_KEY_FILE: sops }, home }), /line 2: invalid age plugin identity/);
  });

  it.skipIf(process.getuid?.() === 0)('skips an unreadable default key file with a warning (skipped as root)', async () => {
    const mine = generateX25519Identity();
    const f = keyFile(join(home, '.config', 'sops', 'age', 'keys.txt'), generateX25519Identity());
    chmodSync(f, 0o000);
    keyFile(join(home, '.config', 'git-seal', 'keys.txt'), mine);
    const warnings: string[] = [];
    const r = await loadIdentities({ env: {}, home, warn: (l) => warnings.push(l) });
    expect(r.recipients).toEqual([mine.recipient]);
    expect(warnings).toEqual([`git-seal: skipping ${f}: cannot read it (EACCES)`]);
  });

  it('errors when an explicit source holds no identities', async () => {
    const f = write(join(tmp.dir, 'empty.txt'), '# nothing here\n');
    await expectError(loadIdentities({ identityFiles: [f], env: {}, home }), /no age identities found/);
    await expectError(loadIdentities({ env: { GITSEAL_AGE_KEY: '# just a comment' }, home }), /^\$GITSEAL_AGE_KEY: no age identities found/);
  });
});
