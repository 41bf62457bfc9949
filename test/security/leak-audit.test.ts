import { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allObjectsOf, cleanupTempDirs, diverge, person, type Person, repoWith, seal, sealedClone, SECRET_STRINGS, SECRETS, tempDir } from '../helpers.js';

/**
 * Issue 8, Must show 2: after a full workflow (init, commit, clone, a conflicted merge with rerere,
 * stash, rebase, worktree, archive, lock, gc), no known plaintext value is anywhere git keeps data:
 * not in any object (loose or packed, reachable or not), not in any file under .git/, not in the
 * temp directory every command ran with, not in the archive.
 */
afterAll(cleanupTempDirs);

const FILE = '.dlt/secrets.toml';
const VALUES = {
  feature: 'feature-pass-AAA-1391',
  main: 'main-pass-BBB-2846',
  resolved: 'resolved-pass-CCC-5521',
  stashed: 'stash-pass-DDD-7730',
  rebased: 'rebase-pass-EEE-9034',
};
const PLAINTEXTS = [...SECRET_STRINGS, ...Object.values(VALUES)];

/** Every regular file below `dir`, with its path relative to `dir`. */
function filesUnder(dir: string): { rel: string; bytes: Buffer }[] {
  const out: { rel: string; bytes: Buffer }[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p);
      else if (st?.isFile()) out.push({ rel: relative(dir, p), bytes: readFileSync(p) });
    }
  };
  walk(dir);
  return out;
}

/** "where: value" for every known plaintext value found in `bytes`. */
function hits(where: string, bytes: Buffer): string[] {
  return PLAINTEXTS.filter((v) => bytes.includes(Buffer.from(v, 'utf8'))).map((v) => `${where}: ${v}`);
}

describe('leak audit after a full workflow', () => {
  let alice: Person;
  let origin: string;
  let work: string;
  let tmp: string;
  let archivePath: string;

  beforeAll(() => {
    alice = person('alice');
    tmp = tempDir('gitseal-audit-tmp-');
    alice.env.TMPDIR = tmp; // every git and git-seal process of the workflow
    const sh = (args: string[], dir = work, allowFail = false) => alice.git(args, dir, { allowFail });
    const edit = (from: string, to: string) => writeFileSync(join(work, FILE), readFileSync(join(work, FILE), 'utf8').replace(from, to));

    // init + commit
    origin = repoWith(alice, { [FILE]: SECRETS });
    // clone + install
    work = sealedClone(alice, origin);
    seal(alice, ['install'], work);
    sh(['config', 'rerere.enabled', 'true']);
    // a merge with a conflict, recorded by rerere, resolved and committed
    diverge(alice, work, FILE, 'feature', SECRETS.replace('pg-pass-correct-horse', VALUES.feature), SECRETS.replace('pg-pass-correct-horse', VALUES.main));
    sh(['merge', '--no-edit', 'feature'], work, true);
    expect(sh(['ls-files', '-u'])).not.toBe('');
    writeFileSync(join(work, FILE), SECRETS.replace('pg-pass-correct-horse', VALUES.resolved));
    sh(['add', FILE]);
    sh(['commit', '-q', '--no-edit']);
    expect(readdirSync(join(work, '.git', 'rr-cache')).length, 'rerere recorded the conflict').toBe(1);
    // stash (kept in refs/stash)
    edit(VALUES.resolved, VALUES.stashed);
    sh(['stash', '-q']);
    // rebase a topic branch made before the merge onto main
    sh(['checkout', '-q', '-b', 'topic', 'feature']);
    edit('retries = 3', 'retries = 4');
    writeFileSync(join(work, '.dlt/secrets.access.toml'), `token = "${VALUES.rebased}"\n`);
    sh(['add', '-A']);
    sh(['commit', '-q', '-m', 'topic']);
    sh(['rebase', '-q', 'main']);
    sh(['checkout', '-q', 'main']);
    sh(['merge', '-q', '--ff-only', 'topic']);
    // a linked worktree
    sh(['worktree', 'add', '-q', join(tempDir(), 'wt'), 'feature']);
    // an archive
    mkdirSync(join(tmp, 'out'), { recursive: true });
    archivePath = join(tmp, 'out', 'release.tar');
    sh(['archive', '--format=tar', '-o', archivePath, 'HEAD']);
    sh(['push', '-q', origin, 'main:audited']);
    // lock, then gc
    seal(alice, ['lock'], work);
    sh(['gc', '-q']);
    sh(['gc', '-q'], origin);
    expect(readFileSync(join(work, FILE), 'utf8')).toContain('[gitseal]');
  }, 240_000);

  it('no object of either repository holds a plaintext value', () => {
    const found: string[] = [];
    for (const [name, dir] of [['work', work], ['origin', origin]]) {
      const objects = allObjectsOf(dir, alice.env);
      expect(objects.length).toBeGreaterThan(20);
      for (const o of objects) found.push(...hits(`${name} ${o.type} ${o.oid}`, o.content));
    }
    expect(found).toEqual([]);
  });

  /** Known plaintext values in files under .git/ of both repositories, rr-cache/ in or out. */
  function gitDirHits(rrCache: boolean): string[] {
    const found: string[] = [];
    for (const [name, dir] of [['work', work], ['origin', origin]]) {
      const files = filesUnder(join(dir, '.git'));
      expect(files.length).toBeGreaterThan(10);
      for (const f of files) if (f.rel.startsWith('rr-cache/') === rrCache) found.push(...hits(`${name}/.git/${f.rel}`, f.bytes));
    }
    return found;
  }

  it('no file under .git/ holds a plaintext value (logs, worktrees, index, refs, packs, hooks, config)', () => {
    expect(gitDirHits(false)).toEqual([]);
  });

  // Issue 8 item 7: lock forgets rerere's records of TOML files.
  it('no rerere image under .git/rr-cache holds a plaintext value after lock', () => {
    expect(gitDirHits(true)).toEqual([]);
  });

  it('the temp directory and the archive hold no plaintext value', () => {
    const found: string[] = [];
    for (const f of filesUnder(tmp)) found.push(...hits(`$TMPDIR/${f.rel}`, f.bytes));
    expect(found).toEqual([]);
    expect(readFileSync(archivePath).includes(Buffer.from('[gitseal]'))).toBe(true);
  });
});
