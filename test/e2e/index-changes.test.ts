import { utimesSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, commitAll, person, PROD, PROD_PATH, repoWith, seal } from '../helpers.js';

afterAll(cleanupTempDirs);

describe('one filter process while the index changes under it', () => {
  it('cherry-picking a key rotation, then an edit, over a touched file: each clean answers for the index of its moment', () => {
    const alice = person('alice');
    const bob = person('bob');
    const repo = repoWith(alice, { [PROD_PATH]: PROD });
    const c1 = alice.git(['rev-parse', 'HEAD'], repo).trim();
    // S1: the file re-sealed under a new data key with the same plaintext (bob added, then removed).
    alice.git(['checkout', '-q', '-b', 'rotation'], repo);
    seal(alice, ['recipients', 'add', 'bob', bob.recipient, '--profile', 'prod'], repo);
    commitAll(alice, repo, 'add bob');
    seal(alice, ['recipients', 'remove', 'bob'], repo);
    commitAll(alice, repo, 'remove bob');
    alice.git(['reset', '-q', '--soft', c1], repo);
    alice.git(['commit', '-q', '-m', 'S1: rotate'], repo);
    expect(alice.git(['diff', '--name-only', c1, 'HEAD'], repo)).toContain(PROD_PATH);
    // S2: an edit of one value.
    const edited = PROD.replace(/(api_key = ")[^"]*"/, '$1edited-after-rotation"');
    expect(edited).not.toBe(PROD);
    writeFileSync(join(repo, PROD_PATH), edited);
    commitAll(alice, repo, 'S2: edit');
    const picks = alice.git(['rev-list', '--reverse', `${c1}..rotation`], repo).trim().split('\n');
    expect(picks).toHaveLength(2);

    alice.git(['checkout', '-q', '-b', 'target', c1], repo);
    const future = new Date(Date.now() + 60_000);
    utimesSync(join(repo, PROD_PATH), future, future); // stat-dirty: git cleans it before each pick
    alice.git(['cherry-pick', ...picks], repo); // with a listing of the index at the first pick, git refused: "Your local changes … would be overwritten"
    expect(alice.git(['status', '--porcelain'], repo)).toBe('');
    expect(readFileSync(join(repo, PROD_PATH), 'utf8')).toBe(edited);
    expect(alice.git(['rev-parse', 'HEAD^{tree}'], repo)).toBe(alice.git(['rev-parse', 'rotation^{tree}'], repo));
  });
});
