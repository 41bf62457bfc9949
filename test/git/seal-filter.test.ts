import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SealFilter } from '../../src/git/filter.js';
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
