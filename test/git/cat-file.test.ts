import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSealError } from '../../src/errors.js';
import { CatFileBatch } from '../../src/git/cat-file.js';
import { compileModule } from '../helpers.js';

let work: string;
let repo: string;
let env: NodeJS.ProcessEnv;
const committed = new Map<string, Buffer>();
const staged = new Map<string, Buffer>();

function git(args: string[], cwd = repo): string {
  const r = spawnSync('git', args, { cwd, env, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'git-seal-catfile-'));
  repo = join(work, 'repo');
  mkdirSync(repo);
  mkdirSync(join(work, 'home'));
  env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  Object.assign(env, {
    HOME: join(work, 'home'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: join(work, 'home/gitconfig'),
    GIT_CEILING_DIRECTORIES: work,
  });
  writeFileSync(join(work, 'home/gitconfig'), '[user]\n\tname = T\n\temail = t@example.invalid\n[core]\n\tautocrlf = false\n');
  git(['init', '-q']);

  committed.set('a.txt', Buffer.from('v1\n'));
  committed.set('dir/with space/ünï.toml', Buffer.from('x = "ü"\n'));
  committed.set('empty', Buffer.alloc(0));
  committed.set('binary.bin', Buffer.concat([randomBytes(1024 * 1024), Buffer.from('\n\nmissing\n')]));
  for (let i = 0; i < 100; i++) committed.set(`many/f${i}.txt`, Buffer.from(`file ${i}\n`.repeat(i)));
  for (const [p, c] of committed) {
    mkdirSync(dirname(join(repo, p)), { recursive: true });
    writeFileSync(join(repo, p), c);
  }
  git(['add', '-A']);
  git(['commit', '-q', '-m', 'one']);
  // Stage a newer version of a.txt and a new file: index differs from HEAD.
  staged.set('a.txt', Buffer.from('v2 staged\n'));
  staged.set('new.txt', Buffer.from('only in the index\n'));
  for (const [p, c] of staged) writeFileSync(join(repo, p), c);
  git(['add', 'a.txt', 'new.txt']);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('CatFileBatch', () => {
  it('reads index and HEAD versions, and null for missing objects', async () => {
    const cat = new CatFileBatch({ cwd: repo, env });
    try {
      expect((await cat.read('HEAD:a.txt'))?.toString()).toBe('v1\n');
      expect((await cat.read(':0:a.txt'))?.toString()).toBe('v2 staged\n');
      expect((await cat.read(':a.txt'))?.toString()).toBe('v2 staged\n');
      expect((await cat.read(':0:new.txt'))?.toString()).toBe('only in the index\n');
      expect(await cat.read('HEAD:new.txt')).toBeNull();
      expect(await cat.read(':0:nope.txt')).toBeNull();
      expect(await cat.read('HEAD:nope/deeper.txt')).toBeNull();
      expect(await cat.read('0000000000000000000000000000000000000001')).toBeNull();
      expect((await cat.read('HEAD:empty'))?.length).toBe(0);
      expect((await cat.read('HEAD:dir/with space/ünï.toml'))?.toString()).toBe('x = "ü"\n');
      const bin = await cat.read('HEAD:binary.bin');
      expect(bin?.equals(committed.get('binary.bin')!)).toBe(true);

      const oid = git(['rev-parse', 'HEAD:a.txt']).trim();
      const obj = await cat.readObject(oid);
      expect(obj).toEqual({ oid, type: 'blob', content: Buffer.from('v1\n') });
      expect((await cat.readObject('HEAD'))?.type).toBe('commit');
      // still usable after all of that
      expect((await cat.read('HEAD:a.txt'))?.toString()).toBe('v1\n');
    } finally {
      await cat.close();
    }
  });

  it('answers 100+ concurrent reads, each with its own object, using one child', async () => {
    const cat = new CatFileBatch({ cwd: repo, env });
    try {
      const specs: { spec: string; want: Buffer | null }[] = [];
      for (let i = 0; i < 100; i++) {
        specs.push({ spec: `HEAD:many/f${i}.txt`, want: committed.get(`many/f${i}.txt`)! });
        if (i % 10 === 0) specs.push({ spec: `HEAD:many/missing${i}.txt`, want: null });
        if (i % 25 === 0) specs.push({ spec: 'HEAD:binary.bin', want: committed.get('binary.bin')! });
      }
      specs.push({ spec: ':0:a.txt', want: staged.get('a.txt')! });
      const results = await Promise.all(specs.map((s) => cat.read(s.spec)));
      results.forEach((got, i) => {
        const { spec, want } = specs[i];
        if (want === null) expect(got, spec).toBeNull();
        else expect(got?.equals(want), spec).toBe(true);
      });
      // a second wave after the first drained reuses the same child
      const again = await Promise.all([cat.read('HEAD:many/f7.txt'), cat.read(':0:new.txt')]);
      expect(again.map((b) => b?.toString())).toEqual([committed.get('many/f7.txt')!.toString(), 'only in the index\n']);
    } finally {
      await cat.close();
    }
  });

  it('spawns lazily, once, and close() ends the child after pending answers', async () => {
    const cat = new CatFileBatch({ cwd: repo, env });
    const inner = cat as unknown as { child: { pid: number } | null };
    expect(inner.child).toBeNull();
    const p1 = cat.read('HEAD:a.txt');
    const pid = inner.child?.pid;
    expect(pid).toBeGreaterThan(0);
    const p2 = cat.read(':0:a.txt');
    expect(inner.child?.pid).toBe(pid);
    const closing = cat.close(); // requested before the answers arrive: they must still come back
    expect((await p1)?.toString()).toBe('v1\n');
    expect((await p2)?.toString()).toBe('v2 staged\n');
    await closing;
    await expect(cat.read('HEAD:a.txt')).rejects.toBeInstanceOf(GitSealError);
    await cat.close(); // idempotent
  });

  it('honours gitDir', async () => {
    const cat = new CatFileBatch({ cwd: work, gitDir: join(repo, '.git'), env });
    try {
      expect((await cat.read('HEAD:a.txt'))?.toString()).toBe('v1\n');
    } finally {
      await cat.close();
    }
  });

  it('fails with a GitSealError outside a repository, for every pending and later read', async () => {
    const outside = join(work, 'not-a-repo');
    mkdirSync(outside, { recursive: true });
    const cat = new CatFileBatch({ cwd: outside, env });
    const results = await Promise.allSettled([cat.read('HEAD:a.txt'), cat.read(':0:a.txt')]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason;
      expect(err).toBeInstanceOf(GitSealError);
      expect(err.message).toMatch(/not a git repository/i);
    }
    await expect(cat.read('HEAD:a.txt')).rejects.toBeInstanceOf(GitSealError);
    await cat.close();
  });

  it('fails with a GitSealError when git cannot be run', async () => {
    const cat = new CatFileBatch({ cwd: repo, env, git: join(work, 'no-such-git') });
    await expect(cat.read('HEAD:a.txt')).rejects.toThrow(/git executable not found/);
    await cat.close();
  });

  it('refuses object names that would break the line protocol', async () => {
    const cat = new CatFileBatch({ cwd: repo, env });
    try {
      await expect(cat.read('HEAD:a\nb')).rejects.toBeInstanceOf(GitSealError);
      expect((await cat.read('HEAD:a.txt'))?.toString()).toBe('v1\n');
    } finally {
      await cat.close();
    }
  });

  it('does not keep the Node process alive when idle and never closed', () => {
    const moduleUrl = compileModule('git/cat-file.ts', join(work, 'dist'));
    const script = `
      const { CatFileBatch } = await import(${JSON.stringify(moduleUrl)});
      const cat = new CatFileBatch();
      const b = await cat.read('HEAD:a.txt');
      process.stdout.write(String(b));
      // Awaiting close() of an idle reader must finish (it once stranded the caller's promise).
      const again = new CatFileBatch();
      await again.read('HEAD:a.txt');
      await again.close();
      process.stdout.write('closed');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repo, env, encoding: 'utf8', timeout: 10_000 });
    expect(r.error).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('v1\nclosed');
  });
});
