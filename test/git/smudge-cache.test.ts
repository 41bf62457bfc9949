import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SealFilter } from '../../src/git/filter.js';
import { SmudgeCache } from '../../src/git/smudge-cache.js';
import { cleanupTempDirs, git, isolatedEnv, makeKey, tempDir, type TestKey } from '../helpers.js';

afterAll(cleanupTempDirs);

const PATH = '.dlt/secrets.toml';
const SECRET = 'smudge-cache-secret-4471';

describe('the smudge cache', () => {
  let me: TestKey;
  let stranger: TestKey;
  let root: string;
  let blob: Buffer;
  let oid: string;
  const plain = `[db]\npassword = "${SECRET}"\nport = 5432\n`;
  const cacheFile = () => join(root, '.git', 'git-seal', 'smudge-cache');

  async function smudge(identityFiles: string[], content = blob, warn: string[] = []): Promise<string> {
    const f = new SealFilter(root, identityFiles, (l) => warn.push(l));
    try {
      return (await f.smudge(PATH, content, oid)).toString();
    } finally {
      f.close();
    }
  }

  beforeAll(async () => {
    me = await makeKey();
    stranger = await makeKey();
    root = tempDir();
    git(['init', '-q'], { cwd: root, env: isolatedEnv(root) });
    writeFileSync(join(root, '.gitseal.toml'), `[recipients]\nme = "${me.recipient}"\n[profiles.dev]\nfiles = ["**/.dlt/secrets.toml"]\nrecipients = ["me"]\nplaintext_keys = ["port"]\n`);
    mkdirSync(join(root, '.dlt'));
    const f = new SealFilter(root, [me.file], () => {});
    blob = await f.clean(PATH, Buffer.from(plain));
    f.close();
    writeFileSync(join(root, PATH), blob);
    git(['-c', 'filter.git-seal.process=', 'add', PATH], { cwd: root, env: isolatedEnv(root) });
    oid = git(['rev-parse', `:0:${PATH}`], { cwd: root, env: isolatedEnv(root) }).trim();
  });

  it('is written on the first checkout, 0600, and holds no plaintext', async () => {
    expect(await smudge([me.file])).toBe(plain);
    const bytes = readFileSync(cacheFile());
    expect(statSync(cacheFile()).mode & 0o777).toBe(0o600);
    for (const needle of [SECRET, Buffer.from(SECRET).toString('base64'), Buffer.from(SECRET).toString('hex'), oid]) {
      expect(bytes.includes(Buffer.from(needle))).toBe(false);
    }
  });

  it('answers the next checkout of that blob without opening it', async () => {
    await smudge([me.file]);
    // The same blob id with bytes that cannot be opened: only the cache can give the plaintext.
    const broken = Buffer.from(blob.toString().replace(/ENC\[gitseal\.v1,[A-Za-z0-9+/]{8}/, 'ENC[gitseal.v1,AAAAAAAA'));
    expect(await smudge([me.file], broken)).toBe(plain);
  });

  it('gives nothing to a clone whose identity is not the owner', async () => {
    await smudge([me.file]);
    const before = readFileSync(cacheFile());
    const warn: string[] = [];
    expect(await smudge([stranger.file], blob, warn)).toBe(blob.toString());
    expect(warn.join('\n')).toMatch(/no identity can open/);
    expect(await smudge([], blob)).toBe(blob.toString());
    // The stranger's own (empty) cache did not replace the owner's.
    expect(readFileSync(cacheFile()).equals(before)).toBe(true);
    expect(await smudge([me.file])).toBe(plain);
  });

  it('falls back to opening the blob when an entry was tampered with', async () => {
    await smudge([me.file]);
    const bytes = readFileSync(cacheFile());
    bytes[bytes.length - 5] ^= 0x01; // inside the last record's ciphertext
    writeFileSync(cacheFile(), bytes);
    const broken = Buffer.from(blob.toString().replace(/ENC\[gitseal\.v1,[A-Za-z0-9+/]{8}/, 'ENC[gitseal.v1,AAAAAAAA'));
    const warn: string[] = [];
    expect(await smudge([me.file], broken, warn)).toBe(broken.toString()); // not served from the damaged entry
    expect(warn.join('\n')).toMatch(/left sealed/);
    expect(await smudge([me.file])).toBe(plain);
  });

  it('still warns about a value in clear that plaintext_keys does not list', async () => {
    await smudge([me.file]);
    const cfg = join(root, '.gitseal.toml');
    const before = readFileSync(cfg, 'utf8');
    writeFileSync(cfg, before.replace('plaintext_keys = ["port"]\n', ''));
    try {
      const warn: string[] = [];
      expect(await smudge([me.file], blob, warn)).toBe(plain);
      expect(warn.join('\n')).toMatch(/'db\.port' is stored in clear/);
    } finally {
      writeFileSync(cfg, before);
    }
  });

  it('seeds the clean cache on a hit, so git status needs no key', async () => {
    await smudge([me.file]);
    for (const f of ['clean-cache', 'cache-key']) rmSync(join(root, '.git', 'git-seal', f), { force: true });
    const keyless = async () => {
      const f = new SealFilter(root, [], () => {});
      try {
        return await f.clean(PATH, Buffer.from(plain));
      } finally {
        f.close();
      }
    };
    expect((await keyless()).equals(blob)).toBe(false);
    expect(await smudge([me.file])).toBe(plain); // a cache hit
    expect((await keyless()).equals(blob)).toBe(true);
  });

  it('is deleted by forget (git-seal lock)', async () => {
    await smudge([me.file]);
    SmudgeCache.forget(join(root, '.git'));
    expect(() => statSync(cacheFile())).toThrow();
  });
});

describe('data keys in the smudge cache', () => {
  it('keeps only keys this clone unwrapped, sealed to its owner', async () => {
    const me = await makeKey();
    const stranger = await makeKey();
    const root = tempDir();
    const env = isolatedEnv(root);
    git(['init', '-q'], { cwd: root, env });
    writeFileSync(join(root, '.gitseal.toml'), `[recipients]\nme = "${me.recipient}"\n[profiles.dev]\nfiles = ["**/.dlt/secrets.toml"]\nrecipients = ["me"]\n`);
    mkdirSync(join(root, '.dlt'));
    const clean = async (text: string): Promise<string> => {
      const f = new SealFilter(root, [me.file], () => {});
      try {
        return (await f.clean(PATH, Buffer.from(text))).toString();
      } finally {
        f.close();
      }
    };
    const armorOf = (sealed: string) => /datakey = """\n([\s\S]*?)"""/.exec(sealed)![1];
    const cacheFor = async (key: TestKey) => {
      const { loadIdentities } = await import('../../src/age/index.js');
      const { identities, recipients } = await loadIdentities({ identityFiles: [key.file], env: {} });
      const cache = new SmudgeCache(join(root, '.git'), async () => ({ identities, recipient: recipients[0] }));
      await cache.load();
      return cache;
    };

    // A first seal makes the key: not kept (a clone may seal for recipients it is not among).
    const first = await clean('[db]\npassword = "dk-1"\n');
    writeFileSync(join(root, PATH), first);
    git(['-c', 'filter.git-seal.process=', 'add', PATH], { cwd: root, env });
    expect((await cacheFor(me)).dataKey(armorOf(first))).toBeUndefined();
    // A change reuses the staged version's key, which this clone unwrapped: kept, for the owner only.
    const second = await clean('[db]\npassword = "dk-2"\n');
    expect(armorOf(second)).toBe(armorOf(first));
    const kept = (await cacheFor(me)).dataKey(armorOf(first));
    expect(kept?.length).toBe(32);
    expect((await cacheFor(stranger)).dataKey(armorOf(first))).toBeUndefined();
    const bytes = readFileSync(join(root, '.git', 'git-seal', 'smudge-cache'));
    expect(bytes.includes(Buffer.from(kept!))).toBe(false);
  });
});
