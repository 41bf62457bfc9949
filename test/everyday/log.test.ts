import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, git, person, type Person, read, repoWith, sealedClone, SHORT_SECRET_STRINGS as SECRET_STRINGS, writeFiles } from '../helpers.js';

afterAll(cleanupTempDirs);

const FILE = '.dlt/secrets.toml';

interface Change {
  path: string;
  status: string;
  sealed: boolean;
  added: string[];
  changed: string[];
  removed: string[];
  rotated: boolean;
  recipientsAdded: { name: string | null; key: string }[];
  recipientsRemoved: { name: string | null; key: string }[];
}
interface Entry {
  commit: string;
  author: { name: string; email: string };
  date: string;
  subject: string;
  files: Change[];
}

describe('git-seal log', () => {
  let alice: Person;
  let bob: Person;
  let dir: string;
  let day = 1;

  /** Commit everything in the sealed clone, dated one day after the previous commit. */
  function commit(message: string): void {
    const date = `2024-01-${String(++day).padStart(2, '0')}T12:00:00Z`;
    const env = { ...alice.env, GIT_AUTHOR_NAME: 'Alice', GIT_AUTHOR_EMAIL: 'alice@example.com', GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
    git(['add', '-A'], { cwd: dir, env });
    git(['commit', '-q', '-m', message], { cwd: dir, env });
  }

  function set(key: string, value: string, type = 'string'): void {
    const r = alice.seal(['set', FILE, key, '--type', type], { cwd: dir, input: value });
    expect(r.status, r.stderr).toBe(0);
  }

  beforeAll(() => {
    alice = person('alice');
    bob = person('bob');
    // Commit 1 (initial secrets) comes from repoWith; then four more, each touching different keys.
    dir = sealedClone(alice, repoWith(alice));
    set('sources.stripe.api_key', 'sk_live_second_version_000');
    commit('rotate the stripe key');
    set('sources.github.token', 'ghp_new_token');
    commit('add github');
    expect(alice.seal(['rm', FILE, 'sources.stripe.retries'], { cwd: dir }).status).toBe(0);
    commit('drop retries');
    set('destination.postgres.credentials.password', 'new-pg-password');
    set('destination.postgres.credentials.port', '6543', 'int');
    commit('move postgres');
  });

  it('reports exactly the keys each of five commits touched, with no identity available', () => {
    const nobody = person('nobody', { withKey: false });
    const r = nobody.seal(['log', '--json'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const entries = JSON.parse(r.stdout) as Entry[];
    const summary = entries.map((e) => ({ subject: e.subject, files: e.files.map((f) => ({ path: f.path, status: f.status, added: f.added, changed: f.changed, removed: f.removed, rotated: f.rotated })) }));
    const one = (status: string, added: string[], changed: string[], removed: string[]) => [{ path: FILE, status, added, changed, removed, rotated: false }];
    expect(summary).toEqual([
      { subject: 'move postgres', files: one('modified', [], ['destination.postgres.credentials.password', 'destination.postgres.credentials.port'], []) },
      { subject: 'drop retries', files: one('modified', [], [], ['sources.stripe.retries']) },
      { subject: 'add github', files: one('modified', ['sources.github.token'], [], []) },
      { subject: 'rotate the stripe key', files: one('modified', [], ['sources.stripe.api_key'], []) },
      {
        subject: 'initial secrets',
        files: one(
          'added',
          ['sources.stripe.api_key', 'sources.stripe.retries', 'destination.postgres.credentials.database', 'destination.postgres.credentials.password', 'destination.postgres.credentials.port'],
          [],
          [],
        ),
      },
    ]);
    expect(entries[0].author).toEqual({ name: 'Alice', email: 'alice@example.com' });
    expect(entries[0].date).toBe('2024-01-05T12:00:00+00:00');
    expect(entries[4].files[0].recipientsAdded).toEqual([{ name: 'alice', key: alice.recipient }]);
    for (const s of [...SECRET_STRINGS, 'sk_live_second_version_000', 'ghp_new_token', 'new-pg-password']) expect(r.stdout).not.toContain(s);
  });

  it('prints one line per commit and one per key in text form', () => {
    const nobody = person('nobody', { withKey: false });
    const r = nobody.seal(['log', FILE], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^[0-9a-f]{10}  2024-01-05 12:00  Alice <alice@example\.com>  move postgres$/);
    expect(lines.slice(1, 4)).toEqual([`  M ${FILE}`, '      ~ destination.postgres.credentials.password', '      ~ destination.postgres.credentials.port']);
    expect(r.stdout).toContain('      - sources.stripe.retries');
    expect(r.stdout).toContain('      + sources.github.token');
  });

  it('--since and --max-count limit the commits', () => {
    let entries = JSON.parse(alice.seal(['log', '--json', '--since', '2024-01-04T00:00:00Z'], { cwd: dir }).stdout) as Entry[];
    expect(entries.map((e) => e.subject)).toEqual(['move postgres', 'drop retries']);
    entries = JSON.parse(alice.seal(['log', '--json', '-n', '1'], { cwd: dir }).stdout) as Entry[];
    expect(entries.map((e) => e.subject)).toEqual(['move postgres']);
  });

  it('reports an added recipient as such, and a removal as one data key rotation rather than every key changed', () => {
    // Name bob in .gitseal.toml so the log can show his name.
    const config = read(dir, '.gitseal.toml').replace('[recipients]\n', `[recipients]\nbob = "${bob.recipient}"\n`);
    writeFiles(dir, { '.gitseal.toml': config });
    let r = alice.seal(['encrypt', '--in-place', FILE, '-r', alice.recipient, '-r', bob.recipient], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    commit('share with bob');
    r = alice.seal(['encrypt', '--in-place', FILE, '-r', alice.recipient], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    commit('unshare with bob');

    const nobody = person('nobody', { withKey: false });
    r = nobody.seal(['log', '--json', '-n', '2', FILE], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const [removal, addition] = (JSON.parse(r.stdout) as Entry[]).map((e) => e.files[0]);
    expect(addition).toMatchObject({ rotated: false, added: [], changed: [], removed: [], recipientsAdded: [{ name: 'bob', key: bob.recipient }], recipientsRemoved: [] });
    expect(removal).toMatchObject({ rotated: true, added: [], changed: [], removed: [], recipientsAdded: [], recipientsRemoved: [{ name: 'bob', key: bob.recipient }] });
    const text = nobody.seal(['log', '-n', '2', FILE], { cwd: dir }).stdout;
    expect(text).toContain('      data key rotated (recipients −bob)');
    expect(text).toContain('      recipients +bob');
  });

  it('flags a secrets file committed in plaintext', () => {
    const repo = sealedClone(alice, dir);
    writeFiles(repo, { '.dlt/access.secrets.toml': 'token = "oops"\n' });
    git(['add', '-A'], { cwd: repo, env: alice.env });
    git(['commit', '-q', '-m', 'leak'], { cwd: repo, env: alice.env });
    const r = alice.seal(['log', '-n', '1'], { cwd: repo });
    expect(r.stdout).toContain('  A .dlt/access.secrets.toml (plaintext!)');
    expect(r.stdout).toContain('      + token');
    expect(r.stdout).not.toContain('oops');
  });
});
