import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSealed } from '../../src/format/seal.js';
import { ACCESS, ACCESS_PATH, blob, changedLines, cleanupTempDirs, commitAll, openAs, person, type Person, PROD, PROD_PATH, repoWith, seal, sealedClone } from '../helpers.js';

const valueLines = (text: string) => text.split('\n').filter((l) => l.includes('"ENC[gitseal.v1,'));

describe('adding and removing a recipient', () => {
  let alice: Person;
  let bob: Person;
  let repo: string;
  let c0: string;
  let c1: string;
  let c2: string;
  let added: string;
  let removed: string;

  beforeAll(() => {
    alice = person('alice');
    bob = person('bob');
    repo = repoWith(alice, { [PROD_PATH]: PROD, [ACCESS_PATH]: ACCESS });
    c0 = alice.git(['rev-parse', 'HEAD'], repo).trim();
    added = seal(alice, ['recipients', 'add', 'bob', bob.recipient, '--profile', 'prod'], repo).stderr;
    // The re-keyed blob is staged and the plaintext working copy still matches it.
    expect(alice.git(['status', '--porcelain'], repo)).toBe(`M  ${PROD_PATH}\n M .gitseal.toml\n`);
    c1 = commitAll(alice, repo, 'add bob to prod');
    removed = seal(alice, ['recipients', 'remove', 'bob'], repo).stderr;
    expect(alice.git(['status', '--porcelain'], repo)).toBe(`M  ${PROD_PATH}\n M .gitseal.toml\n`);
    c2 = commitAll(alice, repo, 'remove bob');
  });
  afterAll(cleanupTempDirs);

  it('adding changes only the metadata lines of the sealed file', () => {
    const diff = alice.git(['diff', '--no-textconv', c0, c1, '--', PROD_PATH], repo);
    const lines = changedLines(diff);
    expect(lines).toContain(`+  "${bob.recipient}",`);
    expect(lines.filter((l) => l.includes('ENC[gitseal'))).toEqual([]);
    // Every changed line is in the [gitseal] table: a recipient or the armored data key.
    const meta = (rev: string) => blob(alice, repo, `${rev}:${PROD_PATH}`).split('\n[gitseal]\n')[1].split('\n');
    for (const l of lines) expect(meta(l.startsWith('+') ? c1 : c0)).toContain(l.slice(1));
    expect(valueLines(blob(alice, repo, `${c1}:${PROD_PATH}`))).toEqual(valueLines(blob(alice, repo, `${c0}:${PROD_PATH}`)));
    expect(added).toContain('data key re-wrapped, values unchanged');
  });

  it('files of other profiles are not touched', () => {
    expect(alice.git(['diff', '--no-textconv', '--stat', c0, c2, '--', ACCESS_PATH], repo)).toBe('');
  });

  it('Bob can open the commit he was added in', async () => {
    expect(await openAs(bob, blob(alice, repo, `${c1}:${PROD_PATH}`))).toBe(PROD);
  });

  it('removing changes every value line, and the removed key cannot open the new commit', async () => {
    const before = blob(alice, repo, `${c1}:${PROD_PATH}`);
    const after = blob(alice, repo, `${c2}:${PROD_PATH}`);
    const old = valueLines(before);
    const now = valueLines(after);
    expect(now).toHaveLength(old.length);
    expect(old.length).toBeGreaterThan(4);
    for (let i = 0; i < old.length; i++) expect(now[i]).not.toBe(old[i]);
    // Keys and comments are unchanged, only the ciphertexts.
    const shape = (t: string) => t.split('\n[gitseal]\n')[0].replace(/"ENC\[gitseal\.v1,[^\]]*\]"/g, 'V');
    expect(shape(after)).toBe(shape(before));
    expect(parseSealed(after, PROD_PATH)!.meta.recipients).toEqual([alice.recipient]);
    expect(await openAs(bob, after)).toBeNull();
    expect(await openAs(alice, after)).toBe(PROD);
  });

  it('removing reminds to rotate the values the removed key could read, by key name only', () => {
    expect(removed).toContain('new data key, every value re-encrypted');
    expect(removed).toContain('rotate them at their provider');
    expect(removed).toContain(`${PROD_PATH}: sources.stripe.api_key, sources.stripe.retries, destination.postgres.credentials.password, destination.postgres.credentials.host, destination.postgres.credentials.port, destination.postgres.credentials.schemas`);
    expect(removed).not.toContain('sk_live_prod_51Hx');
  });

  it('check is clean after each committed change', () => {
    seal(alice, ['check'], repo);
  });
});

describe('rekey and the working tree', () => {
  afterAll(cleanupTempDirs);

  it('filter installed: stages the new blob, keeps unrelated uncommitted edits in the working copy', async () => {
    const alice = person('alice');
    const bob = person('bob');
    const repo = repoWith(alice, { [PROD_PATH]: PROD });
    const edited = PROD.replace('retries = 3', 'retries = 5 # trying');
    writeFileSync(join(repo, PROD_PATH), edited);
    seal(alice, ['recipients', 'add', 'bob', bob.recipient, '--profile', 'prod'], repo);
    expect(readFileSync(join(repo, PROD_PATH), 'utf8')).toBe(edited);
    expect(alice.git(['status', '--porcelain'], repo)).toBe(`MM ${PROD_PATH}\n M .gitseal.toml\n`);
    // The staged version is the committed plaintext, now also sealed to Bob.
    expect(await openAs(bob, blob(alice, repo, `:${PROD_PATH}`))).toBe(PROD);
    // The working-copy diff is only Alice's edit.
    const diff = changedLines(alice.git(['diff', '--', PROD_PATH], repo));
    expect(diff).toEqual(['-retries = 3', '+retries = 5 # trying']);
  });

  it('files sealed on disk (no filter): rewrites and stages an unmodified file; a modified one is rewritten on disk only', async () => {
    const alice = person('alice');
    const bob = person('bob');
    const OTHER = 'other/.dlt/prod.secrets.toml';
    const origin = repoWith(alice, { [PROD_PATH]: PROD, [OTHER]: PROD });
    const dir = sealedClone(alice, origin); // no git-seal install: the files stay sealed on disk
    // Someone re-sealed OTHER by hand with a changed value: it now differs from the index.
    const changed = PROD.replace('retries = 3', 'retries = 4');
    writeFileSync(join(dir, OTHER), changed);
    seal(alice, ['encrypt', '--in-place', '-r', alice.recipient, OTHER], dir);
    expect(alice.git(['status', '--porcelain'], dir)).toBe(` M ${OTHER}\n`);

    seal(alice, ['recipients', 'add', 'bob', bob.recipient, '--profile', 'prod'], dir);
    const both = [alice.recipient, bob.recipient].sort();
    const unmodified = readFileSync(join(dir, PROD_PATH), 'utf8');
    expect(parseSealed(unmodified, PROD_PATH)!.meta.recipients).toEqual(both);
    expect(blob(alice, dir, `:${PROD_PATH}`)).toBe(unmodified);
    expect(await openAs(bob, unmodified)).toBe(PROD);

    const onDisk = readFileSync(join(dir, OTHER), 'utf8');
    expect(parseSealed(onDisk, OTHER)!.meta.recipients).toEqual(both);
    expect(await openAs(bob, onDisk)).toBe(changed);
    expect(await openAs(bob, blob(alice, dir, `:${OTHER}`))).toBe(PROD);
    expect(alice.git(['status', '--porcelain'], dir)).toBe(`M  ${PROD_PATH}\n M .gitseal.toml\nMM ${OTHER}\n`);
  });
});
