import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { SealFilter } from '../../src/git/filter.js';
import { CleanCache } from '../../src/git/clean-cache.js';
import { parseSealed } from '../../src/format/seal.js';
import { cleanupTempDirs, git, isolatedEnv, makeKey, tempDir, type TestKey } from '../helpers.js';

afterAll(cleanupTempDirs);

describe('SealFilter.clean', () => {
  let key: TestKey;
  let root: string;
  beforeAll(async () => {
    key = await makeKey();
    root = tempDir();
    git(['init', '-q'], { cwd: root, env: isolatedEnv(root) });
    writeFileSync(join(root, '.gitseal.toml'), `[recipients]\nme = "${key.recipient}"\n[profiles.dev]\nfiles = ["**/.dlt/secrets.toml"]\nrecipients = ["me"]\n`);
    mkdirSync(join(root, '.dlt'));
  });

  it('seals plaintext whose multi-line string contains a [gitseal] line', async () => {
    const plain = 'note = """\n[gitseal]\n"""\npassword = "leak-me-not-123"\n';
    const filter = new SealFilter(root, [key.file], () => {});
    try {
      const out = (await filter.clean('.dlt/secrets.toml', Buffer.from(plain))).toString();
      expect(out).not.toContain('leak-me-not-123');
      expect(parseSealed(out, 'x')).not.toBeNull();
    } finally {
      filter.close();
    }
  });
});

describe('the clean cache', () => {
  let key: TestKey;
  let other: TestKey;
  let root: string;
  const env = () => isolatedEnv(root);
  const plain = '[db]\npassword = "cache-me-not-42"\nport = 5432\n';

  beforeAll(async () => {
    key = await makeKey();
    other = await makeKey();
    root = tempDir();
    git(['init', '-q'], { cwd: root, env: env() });
    writeFileSync(join(root, '.gitseal.toml'), `[recipients]\nme = "${key.recipient}"\nyou = "${other.recipient}"\n[profiles.dev]\nfiles = ["**/.dlt/secrets.toml"]\nrecipients = ["me"]\n`);
    mkdirSync(join(root, '.dlt'), { recursive: true });
    // Seal and stage a blob, as `git add` would.
    const f = new SealFilter(root, [key.file], () => {});
    const sealed = await f.clean('.dlt/secrets.toml', Buffer.from(plain));
    f.close();
    writeFileSync(join(root, '.dlt/secrets.toml'), sealed);
    git(['-c', 'filter.git-seal.process=', 'add', '.dlt/secrets.toml'], { cwd: root, env: env() });
    rmSync(join(root, '.git', 'git-seal'), { recursive: true, force: true });
  });

  async function cleanWithoutKey(text: string): Promise<Buffer> {
    const f = new SealFilter(root, [], () => {});
    try {
      return await f.clean('.dlt/secrets.toml', Buffer.from(text));
    } finally {
      f.close();
    }
  }

  // Without a key, clean can still seal (to public keys) but only with a new data key: output equal to
  // the staged blob proves the cache answered.
  it('after a checkout, cleaning the unchanged plaintext reproduces the blob without a key', async () => {
    const blob = Buffer.from(git(['show', ':0:.dlt/secrets.toml'], { cwd: root, env: env() }));
    const oid = git(['rev-parse', ':0:.dlt/secrets.toml'], { cwd: root, env: env() }).trim();
    expect((await cleanWithoutKey(plain)).equals(blob)).toBe(false);
    const f = new SealFilter(root, [key.file], () => {});
    expect((await f.smudge('.dlt/secrets.toml', blob, oid)).toString()).toBe(plain);
    f.close();
    expect((await cleanWithoutKey(plain)).equals(blob)).toBe(true);
    const dataKey = (t: string) => t.slice(t.indexOf('datakey'));
    expect(dataKey((await cleanWithoutKey(plain.replace('5432', '5433'))).toString())).not.toBe(dataKey(blob.toString()));
    const cache = readFileSync(join(root, '.git', 'git-seal', 'clean-cache'), 'utf8');
    expect(cache).not.toContain('cache-me-not-42');
    expect(statSync(join(root, '.git', 'git-seal', 'cache-key')).mode & 0o777).toBe(0o600);
  });

  it('answers from the kept blob only when it matches the staged id', async () => {
    const blob = Buffer.from(git(['show', ':0:.dlt/secrets.toml'], { cwd: root, env: env() }));
    const oid = git(['rev-parse', ':0:.dlt/secrets.toml'], { cwd: root, env: env() }).trim();
    const f = new SealFilter(root, [key.file], () => {});
    expect((await f.smudge('.dlt/secrets.toml', blob, oid)).toString()).toBe(plain);
    f.close();
    const kept = join(root, '.git', 'git-seal', 'clean-blobs');
    const bytes = readFileSync(kept);
    const at = bytes.indexOf(Buffer.from('[gitseal]'), bytes.lastIndexOf(Buffer.from(oid)));
    expect(at).toBeGreaterThan(0);
    bytes[at + 1] ^= 0x20; // the kept copy no longer hashes to the staged id
    writeFileSync(kept, bytes);
    expect((await cleanWithoutKey(plain)).equals(blob)).toBe(true); // read back from git instead
  });

  it('a change of recipients in the profile is not served from the cache', async () => {
    const cfg = join(root, '.gitseal.toml');
    const before = readFileSync(cfg, 'utf8');
    const blob = Buffer.from(git(['show', ':0:.dlt/secrets.toml'], { cwd: root, env: env() }));
    expect((await cleanWithoutKey(plain)).equals(blob)).toBe(true);
    writeFileSync(cfg, before.replace('recipients = ["me"]', 'recipients = ["me", "you"]'));
    try {
      expect((await cleanWithoutKey(plain)).equals(blob)).toBe(false);
    } finally {
      writeFileSync(cfg, before);
    }
  });
});

describe('the clean cache is seeded by the first clean', () => {
  // A file's first `git add` has no earlier version. Its entry must be made then, or the next racily
  // clean `git status` re-seals the file (and whether a cache exists at all depends on timestamps).
  it('cleaning the unchanged plaintext of a newly added file reproduces its blob without a key', async () => {
    const key = await makeKey();
    const root = tempDir();
    const env = isolatedEnv(root);
    git(['init', '-q'], { cwd: root, env });
    writeFileSync(join(root, '.gitseal.toml'), `[recipients]\nme = "${key.recipient}"\n[profiles.dev]\nfiles = ["**/.dlt/secrets.toml"]\nrecipients = ["me"]\n`);
    mkdirSync(join(root, '.dlt'));
    const plain = '[db]\npassword = "first-clean-77"\n';
    const first = new SealFilter(root, [key.file], () => {});
    const sealed = await first.clean('.dlt/secrets.toml', Buffer.from(plain));
    first.close();
    writeFileSync(join(root, '.dlt/secrets.toml'), sealed);
    git(['-c', 'filter.git-seal.process=', 'add', '.dlt/secrets.toml'], { cwd: root, env });
    writeFileSync(join(root, '.dlt/secrets.toml'), plain);

    const keyless = new SealFilter(root, [], () => {});
    try {
      expect((await keyless.clean('.dlt/secrets.toml', Buffer.from(plain))).equals(sealed)).toBe(true);
    } finally {
      keyless.close();
    }
    expect(readFileSync(join(root, '.git', 'git-seal', 'clean-cache'), 'utf8')).not.toContain('first-clean-77');
  });
});

describe('cleaning ahead of git (git add of changed files)', () => {
  let key: TestKey;
  let root: string;
  const env = () => isolatedEnv(root);
  const files = ['a', 'b', 'c', 'd', 'e'].map((d) => `${d}/.dlt/secrets.toml`);
  const text = (name: string, v: string) => `[db]\npassword = "${name}-${v}"\nport = 5432\n`;
  let cleaned: MockInstance<(path: string) => unknown>;
  beforeEach(() => {
    cleaned = vi.spyOn(SealFilter.prototype as unknown as { cleanNow: (path: string) => unknown }, 'cleanNow');
  });
  const cleanedPaths = () => cleaned.mock.calls.map((c) => c[0]);

  beforeAll(async () => {
    key = await makeKey();
    root = tempDir();
    git(['init', '-q'], { cwd: root, env: env() });
    writeFileSync(join(root, '.gitseal.toml'), `[recipients]\nme = "${key.recipient}"\n[profiles.dev]\nfiles = ["**/.dlt/secrets.toml"]\nrecipients = ["me"]\n`);
    const f = new SealFilter(root, [key.file], () => {});
    for (const p of files) {
      mkdirSync(join(root, p, '..'), { recursive: true });
      writeFileSync(join(root, p), await f.clean(p, Buffer.from(text(p, 'v1'))));
    }
    f.close();
    git(['-c', 'filter.git-seal.process=', 'add', '.'], { cwd: root, env: env() });
    rmSync(join(root, '.git', 'git-seal'), { recursive: true, force: true });
    // A checkout opens each file: the smudge cache then holds their data keys, as after a clone's install.
    const c = new SealFilter(root, [key.file], () => {});
    for (const p of files) {
      const blobId = git(['rev-parse', `:0:${p}`], { cwd: root, env: env() }).trim();
      writeFileSync(join(root, p), await c.smudge(p, Buffer.from(git(['cat-file', 'blob', blobId], { cwd: root, env: env() })), blobId));
    }
    c.close();
  });

  afterEach(() => vi.restoreAllMocks());

  /** The plaintext of a sealed clean result. */
  async function opened(path: string, sealed: Buffer): Promise<string> {
    const f = new SealFilter(root, [key.file], () => {});
    try {
      return (await f.textconv(path, sealed)).toString();
    } finally {
      f.close();
    }
  }

  /** A filter that has just sealed files[0] and files[1], as git add does in index order. */
  async function addingInOrder(): Promise<SealFilter> {
    const f = new SealFilter(root, [key.file], () => {});
    for (const p of files.slice(0, 2)) await f.clean(p, Buffer.from(text(p, 'v2')));
    cleaned.mockClear();
    return f;
  }

  it('gives the same bytes as a clean without it, and records the clean only when git asks for those bytes', async () => {
    writeFileSync(join(root, files[2]), text(files[2], 'v2'));
    const plain = new SealFilter(root, [key.file], () => {});
    const expected = await plain.clean(files[2], Buffer.from(text(files[2], 'v2')));
    plain.close();

    const added = vi.spyOn(CleanCache.prototype, 'add');
    const f = await addingInOrder();
    added.mockClear();
    f.cleanAhead(files[1]);
    await new Promise((r) => setTimeout(r, 50));
    expect(cleanedPaths()).toEqual([files[2]]); // cleaned ahead
    expect(added).not.toHaveBeenCalled(); // and nothing recorded before git asks
    expect((await f.clean(files[2], Buffer.from(text(files[2], 'v2')))).equals(expected)).toBe(true);
    expect(cleanedPaths()).toEqual([files[2]]); // git's request took it
    expect(added).toHaveBeenCalledTimes(1);
    f.close();
  });

  it('a file changed after it was read ahead is sealed as git sends it, and the read bytes are never recorded', async () => {
    writeFileSync(join(root, files[2]), text(files[2], 'read-ahead'));
    const added = vi.spyOn(CleanCache.prototype, 'add');
    const f = await addingInOrder();
    f.cleanAhead(files[1]); // reads 'read-ahead'
    writeFileSync(join(root, files[2]), text(files[2], 'what-git-sends'));
    const out = await f.clean(files[2], Buffer.from(text(files[2], 'what-git-sends')));
    f.close();
    expect(cleanedPaths()).toEqual([files[2], files[2]]);
    expect(await opened(files[2], out)).toBe(text(files[2], 'what-git-sends'));
    const recorded = added.mock.calls.map((c) => (c[2] as Buffer).toString());
    expect(recorded).toContain(text(files[2], 'what-git-sends'));
    expect(recorded).not.toContain(text(files[2], 'read-ahead'));
  });

  it('a config change after the read ahead is honoured (the earlier result is not used)', async () => {
    const config = readFileSync(join(root, '.gitseal.toml'), 'utf8');
    writeFileSync(join(root, files[2]), text(files[2], 'v3'));
    const f = await addingInOrder();
    f.cleanAhead(files[1]);
    await new Promise((r) => setTimeout(r, 50)); // let it finish with the old config
    writeFileSync(join(root, '.gitseal.toml'), config.replace('recipients = ["me"]\n', 'recipients = ["me"]\nplaintext_keys = ["db.port"]\n'));
    try {
      const out = (await f.clean(files[2], Buffer.from(text(files[2], 'v3')))).toString();
      expect(cleanedPaths()).toEqual([files[2], files[2]]);
      expect(out).toMatch(/^port = 5432$/m); // in clear, as the new config says
      expect(out).not.toContain(`${files[2]}-v3`); // the password value stays sealed
    } finally {
      f.close();
      writeFileSync(join(root, '.gitseal.toml'), config);
    }
  });

  it('a staged version that changed after the read ahead is the one sealed against', async () => {
    writeFileSync(join(root, files[2]), text(files[2], 'v4'));
    const f = await addingInOrder();
    f.cleanAhead(files[1]);
    await new Promise((r) => setTimeout(r, 50));
    // Another data key for the staged version (as a rekey would make): the result must reuse that one.
    const other = new SealFilter(root, [key.file], () => {});
    const restaged = await other.clean('elsewhere/.dlt/secrets.toml', Buffer.from(text(files[2], 'v1')));
    other.close();
    const oid = git(['hash-object', '-w', '--stdin'], { cwd: root, env: env(), input: restaged }).trim();
    git(['update-index', '--cacheinfo', `100644,${oid},${files[2]}`], { cwd: root, env: env() });
    const dataKey = (t: string) => t.slice(t.indexOf('-----BEGIN AGE ENCRYPTED FILE-----'));
    try {
      const out = (await f.clean(files[2], Buffer.from(text(files[2], 'v4')))).toString();
      expect(cleanedPaths()).toEqual([files[2], 'elsewhere/.dlt/secrets.toml', files[2]]);
      expect(dataKey(out)).toBe(dataKey(restaged.toString()));
      expect(await opened(files[2], Buffer.from(out))).toBe(text(files[2], 'v4'));
    } finally {
      f.close();
    }
  });

  it('a request for an earlier path keeps the clean ahead, and one past it drops it', async () => {
    for (const p of files.slice(2)) writeFileSync(join(root, p), text(p, 'v5'));
    const f = await addingInOrder();
    f.cleanAhead(files[1]); // cleans c ahead
    await f.clean(files[1], Buffer.from(text(files[1], 'v2'))); // git's second clean of b: c is kept
    const c = await f.clean(files[2], Buffer.from(text(files[2], 'v5')));
    expect(cleanedPaths()).toEqual([files[2]]); // taken
    expect(await opened(files[2], c)).toBe(text(files[2], 'v5'));
    f.cleanAhead(files[2]); // cleans d ahead; git skips d (unchanged to it) and asks for e
    const e = await f.clean(files[4], Buffer.from(text(files[4], 'v5')));
    expect(await opened(files[4], e)).toBe(text(files[4], 'v5'));
    expect(cleanedPaths()).toEqual([files[2], files[3], files[4]]);
    const d = await f.clean(files[3], Buffer.from(text(files[3], 'v5'))); // dropped: cleaned again
    expect(cleanedPaths()).toEqual([files[2], files[3], files[4], files[3]]);
    expect(await opened(files[3], d)).toBe(text(files[3], 'v5'));
    f.close();
  });

  it('never waits on a FIFO, nor reads through a symbolic link, where the next file should be', async () => {
    const fifo = join(root, files[2]);
    rmSync(fifo);
    execFileSync('mkfifo', [fifo]);
    const outside = tempDir();
    mkdirSync(join(outside, '.dlt'));
    writeFileSync(join(outside, '.dlt', 'secrets.toml'), text('outside', 'x'));
    const dDir = join(root, files[3], '..', '..');
    rmSync(dDir, { recursive: true });
    symlinkSync(outside, dDir);
    // A writer that lets go after 2 s: a read that waited on the FIFO would end then (and fail the test) instead of hanging the run.
    const writer = spawn('sh', ['-c', `sleep 2 > '${fifo}'`], { stdio: 'ignore' });
    try {
      const f = await addingInOrder();
      f.cleanAhead(files[1]); // would block here on the FIFO
      await f.clean(files[2], Buffer.from(text(files[2], 'v6')));
      f.cleanAhead(files[2]); // d/ leads outside the work tree
      await new Promise((r) => setTimeout(r, 50));
      expect(cleanedPaths()).toEqual([files[2]]); // git's own request only: nothing read ahead
      f.close();
    } finally {
      writer.kill();
      rmSync(fifo);
      writeFileSync(fifo, text(files[2], 'v1'));
      rmSync(dDir);
      mkdirSync(join(dDir, '.dlt'), { recursive: true });
      writeFileSync(join(root, files[3]), text(files[3], 'v1'));
    }
  });

  it('does not read ahead when it would need to unwrap a data key (a plugin could ask for a touch)', async () => {
    rmSync(join(root, '.git', 'git-seal'), { recursive: true, force: true }); // no data keys at hand
    writeFileSync(join(root, files[2]), text(files[2], 'v7'));
    try {
      const f = await addingInOrder();
      f.cleanAhead(files[1]);
      const out = await f.clean(files[2], Buffer.from(text(files[2], 'v7')));
      expect(cleanedPaths()).toEqual([files[2], files[2]]); // the clean ahead gave up; git's request sealed it
      expect(await opened(files[2], out)).toBe(text(files[2], 'v7'));
      f.close();
    } finally {
      const c = new SealFilter(root, [key.file], () => {});
      for (const p of files) {
        const blobId = git(['rev-parse', `:0:${p}`], { cwd: root, env: env() }).trim();
        await c.smudge(p, Buffer.from(git(['cat-file', 'blob', blobId], { cwd: root, env: env() })), blobId);
      }
      c.close();
    }
  });

  it("git's second clean of the same bytes (a racily clean file) is answered without cleaning again", async () => {
    const f = await addingInOrder();
    const again = await f.clean(files[1], Buffer.from(text(files[1], 'v2')));
    expect(cleanedPaths()).toEqual([]);
    expect(await opened(files[1], again)).toBe(text(files[1], 'v2'));
    const other = await f.clean(files[1], Buffer.from(text(files[1], 'v8')));
    expect(cleanedPaths()).toEqual([files[1]]);
    expect(await opened(files[1], other)).toBe(text(files[1], 'v8'));
    f.close();
  });
});
