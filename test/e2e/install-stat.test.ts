import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, person, repoWith, SECRETS, startSeal, tempDir } from '../helpers.js';
import { stopped } from '../security/proc.js';

afterAll(cleanupTempDirs);

// install records the opened copies' stat data in the index itself, as `git update-index --refresh`
// would after running the filter on each (see src/git/index-stat.ts). An edit made meanwhile must still
// show as modified: git must never take someone's change for the checked-out plaintext.
describe('install records the stat data of what it checked out, never of an edit made meanwhile', () => {
  const alice = person('alice');
  const files = ['a/.dlt/secrets.toml', 'b/.dlt/secrets.toml', 'c/.dlt/secrets.toml'];
  const origin = repoWith(alice, Object.fromEntries(files.map((f) => [f, SECRETS])));

  function clone(): string {
    const dir = join(tempDir(), 'clone');
    alice.git(['clone', '-q', origin, dir], tempDir());
    return dir;
  }

  /** `git ls-files --debug`'s size field per path: 0 once git must compare content, the file's size once recorded. */
  function indexSizes(dir: string): Map<string, number> {
    const out = alice.git(['ls-files', '--debug'], dir);
    const sizes = new Map<string, number>();
    let path = '';
    for (const line of out.split('\n')) {
      const size = /^\s+size: (\d+)/.exec(line);
      if (size) sizes.set(path, Number(size[1]));
      else if (line && !/^\s/.test(line)) path = line;
    }
    return sizes;
  }

  it('without git running the filter again: the index holds each opened file’s size', () => {
    const dir = clone();
    const trace = join(tempDir(), 'trace');
    const r = alice.seal(['install', '--quiet'], { cwd: dir, env: { ...alice.env, GIT_TRACE: trace } });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(trace, 'utf8')).toContain('git check-attr');
    expect(readFileSync(trace, 'utf8')).not.toMatch(/update-index.*--refresh|filter-process/);
    const sizes = indexSizes(dir);
    for (const f of files) expect(sizes.get(f), f).toBe(Buffer.byteLength(SECRETS));
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  });

  it('an edit between the write and the read-back (same size) stays modified', async () => {
    const dir = clone();
    const run = startSeal(['install', '--quiet'], { cwd: dir, env: { ...alice.env, GITSEAL_TEST_STOP_AT: 'install-placed' } });
    await stopped(run);
    const edited = readFileSync(join(dir, files[1]), 'utf8').replace('sk_live_', 'sk_EDIT_');
    writeFileSync(join(dir, files[1]), edited);
    process.kill(run.pid, 'SIGCONT');
    expect((await run.done).status).toBe(0);
    expect(indexSizes(dir).get(files[1])).not.toBe(Buffer.byteLength(edited));
    expect(alice.git(['status', '--porcelain'], dir)).toBe(` M ${files[1]}\n`);
    expect(readFileSync(join(dir, files[1]), 'utf8')).toBe(edited);
  });

  it('an edit after the read-back, before the index is written (same size, same second), stays modified', async () => {
    const dir = clone();
    const run = startSeal(['install', '--quiet'], { cwd: dir, env: { ...alice.env, GITSEAL_TEST_STOP_AT: 'index-lock' } });
    await stopped(run);
    const edited = readFileSync(join(dir, files[2]), 'utf8').replace('sk_live_', 'sk_EDIT_');
    writeFileSync(join(dir, files[2]), edited);
    process.kill(run.pid, 'SIGCONT');
    expect((await run.done).status).toBe(0);
    expect(alice.git(['status', '--porcelain'], dir)).toBe(` M ${files[2]}\n`);
    expect(alice.git(['diff', '--stat'], dir)).toContain(files[2]);
  });
});
