import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, lstatSync, lutimesSync, mkdirSync, readFileSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withStatData, type CheckedOut } from '../../src/git/index-stat.js';
import { cleanupTempDirs, tempDir } from '../helpers.js';
import { conflictAndIntentToAdd, gitOut } from './index-repo.js';

afterAll(cleanupTempDirs);

const git = (dir: string, args: string[], env: NodeJS.ProcessEnv = {}): string => gitOut(dir, args, env).toString('utf8');

const NAMES = ['a.toml', 'pipelines/p1/.dlt/secrets.toml', 'pipelines/p10/.dlt/secrets.toml', 'run.sh', 'sp ace/ünï.toml'];

function repo(format: 'sha1' | 'sha256' = 'sha1'): string {
  const dir = tempDir();
  git(dir, ['init', '-q', `--object-format=${format}`]);
  for (const [i, name] of NAMES.entries()) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), `content ${i}\n`);
  }
  chmodSync(join(dir, 'run.sh'), 0o755);
  symlinkSync('a.toml', join(dir, 'link'));
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'one']);
  return dir;
}

/** Write every file again with the same content, as a checkout does: a new inode and new times. */
function rewriteAll(dir: string): void {
  for (const name of NAMES) {
    const p = join(dir, name);
    const tmp = `${p}.new`;
    writeFileSync(tmp, readFileSync(p), { mode: lstatSync(p).mode & 0o777 });
    renameSync(tmp, p);
  }
}

const staged = (dir: string): Map<string, string> =>
  new Map(git(dir, ['ls-files', '-s', '-z']).split('\0').filter(Boolean).map((r) => [r.split('\t')[1], r.split(' ')[1]]));

function checkedOut(dir: string, names = NAMES): CheckedOut[] {
  const oids = staged(dir);
  return names.map((path) => ({ path, oid: oids.get(path)!, stat: lstatSync(join(dir, path), { bigint: true }) }));
}

/** `git ls-files --debug`: every entry's ctime, mtime, dev, ino, uid, gid, size and flags. */
const debug = (dir: string, index: string): string => git(dir, ['-c', 'core.quotePath=false', 'ls-files', '-s', '--debug'], { GIT_INDEX_FILE: index });

describe('withStatData records stat data exactly as git update-index --refresh does', () => {
  for (const [version, format] of [[2, 'sha1'], [3, 'sha1'], [4, 'sha1'], [2, 'sha256']] as const) {
    it(`index version ${version}, ${format}, with a cache tree and an untracked cache`, () => {
      const dir = repo(format);
      git(dir, ['update-index', '--index-version', String(version), '--untracked-cache']);
      git(dir, ['status', '--porcelain']); // fills the untracked cache
      const index = join(dir, '.git', 'index');
      rewriteAll(dir);
      const before = readFileSync(index);
      const patched = withStatData(before, checkedOut(dir), 0);
      expect(patched).not.toBeNull();
      expect(patched!.recorded.sort()).toEqual([...NAMES].sort());
      const ours = join(dir, '.git', 'ours');
      writeFileSync(ours, patched!.bytes);
      expect(debug(dir, ours)).not.toBe(debug(dir, index)); // the old stat data
      git(dir, ['update-index', '-q', '--refresh']);
      expect(debug(dir, ours)).toBe(debug(dir, index));
      // git reads it (checksum, extensions) and finds nothing to refresh.
      expect(git(dir, ['status', '--porcelain'], { GIT_INDEX_FILE: ours })).toBe('');
      expect(readFileSync(ours).subarray(0, 12)).toEqual(before.subarray(0, 12));
    });
  }

  it('records only entries still staged as checked out, with a matching file type and mode', () => {
    const dir = repo();
    git(dir, ['update-index', '--index-version', '3']);
    rewriteAll(dir);
    const files = checkedOut(dir);
    files[0] = { ...files[0], oid: '0'.repeat(40) }; // a.toml: another blob staged meanwhile
    git(dir, ['update-index', '--assume-unchanged', 'pipelines/p1/.dlt/secrets.toml']);
    git(dir, ['update-index', '--skip-worktree', 'pipelines/p10/.dlt/secrets.toml']);
    chmodSync(join(dir, 'run.sh'), 0o644); // no longer executable
    files[3] = { ...files[3], stat: lstatSync(join(dir, 'run.sh'), { bigint: true }) };
    const link = { path: 'link', oid: staged(dir).get('link')!, stat: lstatSync(join(dir, 'link'), { bigint: true }) };
    const patched = withStatData(readFileSync(join(dir, '.git', 'index')), [...files, link], 0);
    expect(patched!.recorded).toEqual(['sp ace/ünï.toml']);
  });

  it('leaves conflicted paths and intent-to-add entries alone', () => {
    const dir = repo();
    conflictAndIntentToAdd(dir, '');
    const oids = staged(dir);
    const files = ['a.toml', 'new.toml'].map((path) => ({ path, oid: oids.get(path)!, stat: lstatSync(join(dir, path), { bigint: true }) }));
    expect(withStatData(readFileSync(join(dir, '.git', 'index')), files, 0)).toBeNull(); // nothing to record: nothing written
  });

  it('gives up (null) on an index it does not handle: a split index, an extension it does not know', () => {
    const dir = repo();
    const index = join(dir, '.git', 'index');
    rewriteAll(dir);
    const good = readFileSync(index);
    // An optional extension git ignores ("ZZZZ"), such as fsmonitor's, may depend on stat data.
    const body = good.subarray(0, good.length - 20);
    const ext = Buffer.concat([Buffer.from('ZZZZ'), Buffer.from([0, 0, 0, 4]), Buffer.from('data')]);
    const withExt = Buffer.concat([body, ext]);
    const extIndex = Buffer.concat([withExt, createHash('sha1').update(withExt).digest()]);
    writeFileSync(join(dir, '.git', 'ext-index'), extIndex);
    expect(git(dir, ['ls-files'], { GIT_INDEX_FILE: join(dir, '.git', 'ext-index') })).toContain('a.toml'); // valid for git
    expect(withStatData(extIndex, checkedOut(dir), 0)).toBeNull();
    copyFileSync(index, join(dir, '.git', 'saved'));
    git(dir, ['update-index', '--split-index']);
    expect(withStatData(readFileSync(index), checkedOut(dir), 0)).toBeNull();
  });

  it('says when an entry it does not record is racy against the replaced index, and leaves its stat data', () => {
    const dir = repo();
    const index = join(dir, '.git', 'index');
    rewriteAll(dir);
    // a.toml: stat data newer than the index (racy); run.sh and link: older (not racy); the rest recorded.
    const now = Date.now() / 1000;
    utimesSync(join(dir, 'a.toml'), now + 5, now + 5);
    utimesSync(join(dir, 'run.sh'), now - 5, now - 5);
    lutimesSync(join(dir, 'link'), now - 5, now - 5);
    git(dir, ['update-index', '-q', '--refresh']);
    const indexTime = Math.floor(lstatSync(index).mtimeMs / 1000);
    const recorded = checkedOut(dir, NAMES.filter((n) => n !== 'a.toml' && n !== 'run.sh'));
    const patched = withStatData(readFileSync(index), recorded, indexTime)!;
    expect(patched.keepsRacy).toBe(true);
    writeFileSync(join(dir, '.git', 'ours'), patched.bytes);
    const before = sizes(debug(dir, index));
    const after = sizes(debug(dir, join(dir, '.git', 'ours')));
    for (const name of ['a.toml', 'run.sh', 'link']) expect(after.get(name), name).toBe(before.get(name));
    for (const f of recorded) expect(after.get(f.path), f.path).toBe(Number(f.stat.size));
    // Without a.toml among the others, nothing is racy; a replaced index without a time counts none.
    expect(withStatData(readFileSync(index), checkedOut(dir, NAMES.filter((n) => n !== 'run.sh')), indexTime)!.keepsRacy).toBe(false);
    expect(withStatData(readFileSync(index), recorded, 0)!.keepsRacy).toBe(false);
  });
});

/** The size field of each entry in `git ls-files -s --debug` output. */
function sizes(out: string): Map<string, number> {
  const m = new Map<string, number>();
  let path = '';
  for (const line of out.split('\n')) {
    const size = /^\s+size: (\d+)/.exec(line);
    if (size) m.set(path, Number(size[1]));
    else if (line && !/^\s/.test(line)) path = line.split('\t')[1];
  }
  return m;
}
