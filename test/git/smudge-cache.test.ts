import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SealFilter } from '../../src/git/filter.js';
import { SmudgeCache, smudgeInputName } from '../../src/git/smudge-cache.js';
import { X25519Identity } from '../../src/age/x25519.js';
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

  /** The cache as its owner (or anyone else) sees it. */
  async function cacheAs(key: TestKey): Promise<SmudgeCache> {
    const cache = new SmudgeCache(join(root, '.git'), async () => ({ identity: new X25519Identity(key.identity) }));
    await cache.load();
    return cache;
  }

  it('answers the next checkout of that blob without opening it', async () => {
    await smudge([me.file]);
    expect((await cacheAs(me)).get(smudgeInputName(blob))?.plaintext.toString()).toBe(plain);
    // An entry only the cache can give: what the checkout writes comes from it.
    const owner = await cacheAs(me);
    const marked = '[db]\npassword = "from-the-cache"\n';
    owner.put(smudgeInputName(Buffer.concat([blob, Buffer.from('# marked\n')])), { plaintext: Buffer.from(marked), canonicalFor: '', inClear: [] });
    owner.save();
    expect(await smudge([me.file], Buffer.concat([blob, Buffer.from('# marked\n')]))).toBe(marked);
  });

  it('cannot be forged with the public key alone: a cache made under another key is ignored and replaced', async () => {
    await smudge([me.file]);
    rmSync(cacheFile());
    // The attacker knows me.recipient but not me's secret key; the best they can do is a cache of their own.
    const forged = await cacheAs(stranger);
    forged.put(smudgeInputName(blob), { plaintext: Buffer.from('[db]\npassword = "attacker"\n'), canonicalFor: '', inClear: [] });
    forged.save();
    expect(await smudge([me.file])).toBe(plain);
    expect((await cacheAs(me)).get(smudgeInputName(blob))?.plaintext.toString()).toBe(plain);
  });

  it('keeps a blob only when the owner key opens it by itself', async () => {
    // Sealed to the stranger only; opened with both keys loaded, the owner (me) first.
    const strangerRoot = tempDir();
    git(['init', '-q'], { cwd: strangerRoot, env: isolatedEnv(strangerRoot) });
    writeFileSync(join(strangerRoot, '.gitseal.toml'), `[recipients]\nyou = "${stranger.recipient}"\n[profiles.dev]\nfiles = ["**/.dlt/secrets.toml"]\nrecipients = ["you"]\n`);
    mkdirSync(join(strangerRoot, '.dlt'));
    const f = new SealFilter(strangerRoot, [stranger.file], () => {});
    const theirs = await f.clean(PATH, Buffer.from('[db]\npassword = "only-for-stranger"\n'));
    f.close();
    const both = new SealFilter(root, [me.file, stranger.file], () => {});
    try {
      expect((await both.smudge(PATH, theirs, 'f'.repeat(40))).toString()).toContain('only-for-stranger');
    } finally {
      both.close();
    }
    expect((await cacheAs(me)).get(smudgeInputName(theirs))).toBeUndefined();
    expect(await smudge([me.file], theirs)).toBe(theirs.toString());
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
    rmSync(cacheFile(), { force: true });
    const owner = await cacheAs(me);
    owner.put(smudgeInputName(blob), { plaintext: Buffer.from('[db]\npassword = "stale"\n'), canonicalFor: '', inClear: [] });
    owner.save();
    const bytes = readFileSync(cacheFile());
    bytes[bytes.length - 5] ^= 0x01; // inside the only record's ciphertext
    writeFileSync(cacheFile(), bytes);
    const warn: string[] = [];
    expect(await smudge([me.file], blob, warn)).toBe(plain); // opened, not served from the damaged entry
    expect(warn).toEqual([]);
    expect((await cacheAs(me)).get(smudgeInputName(blob))?.plaintext.toString()).toBe(plain); // and replaced
  });

  it('names an entry by the bytes git sent, so a blob git converted (eol=crlf) is opened as given', async () => {
    await smudge([me.file]);
    const crlf = Buffer.from(blob.toString().replace(/\n/g, '\r\n')); // what git hands smudge for eol=crlf
    const opened = await smudge([me.file], crlf);
    expect(opened).toBe(plain.replace(/\n/g, '\r\n'));
    expect(await smudge([me.file], crlf)).toBe(opened); // now from the cache, still CRLF
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

  it('is deleted by forget (git-seal lock), with killed writes\' temp files, and a process still running does not bring it back', async () => {
    await smudge([me.file]);
    const running = await cacheAs(me); // a filter that started before lock
    const temp = join(root, '.git', 'git-seal', '.smudge-cache.123-abc.tmp');
    writeFileSync(temp, 'ciphertext of a killed write');
    SmudgeCache.forget(join(root, '.git'));
    expect(() => statSync(cacheFile())).toThrow();
    expect(() => statSync(temp)).toThrow();
    running.put(smudgeInputName(Buffer.from('later')), { plaintext: Buffer.from('x = 1\n'), canonicalFor: '', inClear: [] });
    running.save();
    expect(() => statSync(cacheFile())).toThrow();
  });

  it('a filter that started before any cache existed does not write one after lock either', async () => {
    SmudgeCache.forget(join(root, '.git'));
    const running = await cacheAs(me); // nothing to load yet
    SmudgeCache.forget(join(root, '.git')); // lock runs now
    running.put(smudgeInputName(Buffer.from('later')), { plaintext: Buffer.from('x = 1\n'), canonicalFor: '', inClear: [] });
    running.save();
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
      const cache = new SmudgeCache(join(root, '.git'), async () => ({ identity: new X25519Identity(key.identity) }));
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
