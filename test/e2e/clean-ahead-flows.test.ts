import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, openAs, person, repoWith, seal } from '../helpers.js';

afterAll(cleanupTempDirs);

const N = 40;
const file = (i: number) => `p${String(i).padStart(3, '0')}/.dlt/secrets.toml`;
const body = (i: number, v: string) => `[db]\npassword = "pw-${i}-${v}"\nport = ${5000 + i}\n`;
const armor = (t: string) => t.slice(t.indexOf('-----BEGIN AGE'));

describe('clean ahead in real git flows', () => {
  it('stash, pop, commit -a, and a recipients change in the same add: every blob is right', async () => {
    const alice = person('alice');
    const bob = person('bob');
    const files: Record<string, string> = {};
    for (let i = 0; i < N; i++) files[file(i)] = body(i, 'v1');
    const dir = repoWith(alice, files);
    const headArmor = (i: number) => armor(alice.git(['show', `HEAD:${file(i)}`], dir));
    const edit = (v: string) => { for (let i = 0; i < N; i++) writeFileSync(join(dir, file(i)), body(i, v)); };
    const check = async (rev: string, v: string, who = alice) => {
      for (let i = 0; i < N; i++) expect(await openAs(who, alice.git(['show', `${rev}:${file(i)}`], dir)), `${rev}:${file(i)}`).toBe(body(i, v));
    };
    edit('v2');
    alice.git(['stash', '-q'], dir);
    await check('stash@{0}', 'v2');
    alice.git(['stash', 'pop', '-q'], dir);
    for (let i = 0; i < N; i++) expect(readFileSync(join(dir, file(i)), 'utf8')).toBe(body(i, 'v2'));
    const before = Array.from({ length: N }, (_, i) => headArmor(i));
    alice.git(['commit', '-q', '-am', 'v2'], dir);
    await check('HEAD', 'v2');
    for (let i = 0; i < N; i++) expect(headArmor(i)).toBe(before[i]); // data key reused
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
    // bob joins the profile; the files are edited and added together with the config.
    seal(alice, ['recipients', 'add', 'bob', bob.recipient, '--profile', 'dev'], dir);
    edit('v3');
    alice.git(['add', '-A'], dir);
    await check(':0', 'v3', bob);
    expect(alice.git(['diff', '--name-only'], dir)).toBe('');
  });
});
