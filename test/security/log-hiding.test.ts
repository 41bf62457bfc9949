import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, git, person, repoWith, sealedClone, SHORT_SECRETS as SECRETS, writeFiles } from '../helpers.js';

afterAll(cleanupTempDirs);

const FILE = '.dlt/secrets.toml';

interface Entry {
  commit: string;
  subject: string;
  author: { name: string; email: string };
  files: { path: string; changed: string[]; added: string[]; against?: string; recipientsAdded: { key: string }[]; rotated: boolean }[];
}

describe('git-seal log cannot be made to hide a change to a secrets file', () => {
  it('shows commits whose message or author holds \\x01, newlines, NULs-lookalikes and format strings', () => {
    const alice = person('alice');
    const dir = sealedClone(alice, repoWith(alice));
    const hostile = [
      'evil \x01 subject',
      '\x01',
      'first line\n\nbody with \x01 and %H %x00 %s',
      '%x01%H%x00 pretend',
      ':100644 100644 0000000000000000000000000000000000000000 0000000000000000000000000000000000000000 M',
      'tab\there and a carriage\rreturn',
    ];
    let n = 0;
    for (const msg of hostile) {
      const set = alice.seal(['set', FILE, `sources.stripe.k${n++}`], { cwd: dir, input: 'v' });
      expect(set.status, set.stderr).toBe(0);
      git(['add', '-A'], { cwd: dir, env: alice.env });
      git(['-c', 'i18n.commitEncoding=UTF-8', 'commit', '-q', '--cleanup=verbatim', '-m', msg], {
        cwd: dir,
        env: { ...alice.env, GIT_AUTHOR_NAME: 'Mallory \x01 %an', GIT_AUTHOR_EMAIL: 'm\x01@example.com' },
      });
    }
    const r = alice.seal(['log', '--json', FILE], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const entries = JSON.parse(r.stdout) as Entry[];
    const commits = git(['rev-list', 'HEAD', '--', FILE], { cwd: dir }).trim().split('\n');
    expect(entries.map((e) => e.commit)).toEqual(commits);
    expect(entries.slice(0, hostile.length).map((e) => e.files[0].added)).toEqual(hostile.map((_, i) => [`sources.stripe.k${hostile.length - 1 - i}`]));
    expect(entries[hostile.length - 1].subject).toBe('evil \x01 subject');
    // The text form keeps one line per commit: control characters in a subject cannot forge lines.
    const text = alice.seal(['log', FILE], { cwd: dir }).stdout;
    expect(text.split('\n').filter((l) => /^[0-9a-f]{10}  /.test(l))).toHaveLength(commits.length);
    expect(text).not.toContain('\x01');
  });

  it('shows a merge that undid a side branch change, and the side branch commits, even when the merge kept one side', () => {
    const alice = person('alice');
    const bob = person('bob');
    const dir = sealedClone(alice, repoWith(alice, { [FILE]: SECRETS, 'README': 'x\n' }));
    const sh = (args: string[]) => git(args, { cwd: dir, env: alice.env });
    sh(['checkout', '-q', '-b', 'share']);
    expect(alice.seal(['encrypt', '--in-place', FILE, '-r', alice.recipient, '-r', bob.recipient], { cwd: dir }).status).toBe(0);
    sh(['commit', '-q', '-am', 'share with bob']);
    sh(['checkout', '-q', 'main']);
    writeFiles(dir, { README: 'y\n' });
    sh(['commit', '-q', '-am', 'docs']);
    // An "ours" merge keeps main's file: the file is unchanged against the first parent.
    sh(['merge', '-q', '-s', 'ours', '--no-edit', 'share']);
    const r = alice.seal(['log', '--json', FILE], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const entries = JSON.parse(r.stdout) as Entry[];
    expect(entries.map((e) => e.subject)).toEqual(["Merge branch 'share'", 'share with bob', 'initial secrets']);
    const merge = entries[0].files;
    expect(merge).toHaveLength(1);
    expect(merge[0].against).toBe(sh(['rev-parse', 'share']).trim());
    expect(merge[0].rotated).toBe(true);
    const text = alice.seal(['log', FILE], { cwd: dir }).stdout;
    expect(text).toContain(`  M ${FILE} (against ${sh(['rev-parse', 'share']).trim().slice(0, 10)})`);
  });
});
