import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, git, person, type Person, read, repoWith, run, sealedClone, writeFiles } from '../helpers.js';

afterAll(cleanupTempDirs);

interface Check {
  check: string;
  status: 'ok' | 'info' | 'problem';
  message: string;
  fix?: string;
  details?: string[];
}

function doctor(who: Person, cwd: string): { status: number | null; checks: Check[]; text: string } {
  const r = who.seal(['doctor', '--json'], { cwd });
  const text = who.seal(['doctor'], { cwd });
  expect(text.status).toBe(r.status);
  expect(r.stdout + text.stdout + text.stderr).not.toContain('AGE-SECRET-KEY');
  return { status: r.status, checks: (JSON.parse(r.stdout) as { checks: Check[] }).checks, text: text.stdout };
}

const problems = (checks: Check[]) => checks.filter((c) => c.status === 'problem');

describe('git-seal doctor', () => {
  let alice: Person;
  let origin: string;
  beforeAll(() => {
    alice = person('alice');
    origin = repoWith(alice);
    // A profile whose files the owner forgot to add to .gitattributes.
    const config = read(origin, '.gitseal.toml') + `\n[profiles.ops]\nfiles = ["ops/secrets.toml"]\nrecipients = ["alice"]\n`;
    writeFiles(origin, { '.gitseal.toml': config });
    alice.git(['commit', '-q', '-am', 'add the ops profile'], origin);
  });

  it('on a misconfigured clone reports the missing filter and the uncovered profile file, each with a fix that works', () => {
    const dir = sealedClone(alice, origin);
    writeFiles(dir, { 'ops/secrets.toml': 'token = "ops-token"\n' });
    const first = doctor(alice, dir);
    expect(first.status).toBe(1);
    const found = problems(first.checks);
    const filter = found.find((c) => c.check === 'filter');
    expect(filter?.message).toMatch(/filter is not installed/);
    expect(filter?.fix).toBe('git-seal install');
    const attributes = found.find((c) => c.check === 'attributes');
    expect(attributes?.message).toBe(".gitattributes does not cover profile 'ops' files ops/secrets.toml (ops/secrets.toml): git add would commit them unsealed");
    expect(attributes?.fix).toBe("printf '%s\\n' 'ops/secrets.toml filter=git-seal diff=git-seal merge=git-seal' >> .gitattributes && git add .gitattributes");
    // A missing hook is advice, not a problem: a clone that only ran `install` is healthy.
    const hook = first.checks.find((c) => c.check === 'hook');
    expect(hook?.status).toBe('info');
    expect(hook?.fix).toBe('git-seal init --hook');
    expect(first.text).toMatch(/^PROBLEM  the git-seal filter is not installed.*\n {11}fix: git-seal install$/m);
    expect(first.text).not.toContain('ops-token');

    // Apply every fix doctor gave, as given.
    for (const c of found) {
      const fix = c.fix!.replace(/^git-seal /, '');
      const r = fix.startsWith('printf') ? run('sh', ['-c', fix], { cwd: dir, env: alice.env }) : alice.seal(fix.split(' '), { cwd: dir });
      expect(r.status, `${c.fix}: ${r.stderr}`).toBe(0);
    }
    const after = doctor(alice, dir);
    expect(problems(after.checks)).toEqual([]);
    expect(after.status).toBe(0);
  });

  it('on a good clone reports everything as fine', () => {
    const dir = sealedClone(alice, origin);
    writeFiles(dir, { '.gitattributes': read(dir, '.gitattributes') + 'ops/secrets.toml filter=git-seal diff=git-seal merge=git-seal\n' });
    expect(alice.seal(['install'], { cwd: dir }).status).toBe(0);
    expect(alice.seal(['init', '--hook'], { cwd: dir }).status).toBe(0);
    const { status, checks, text } = doctor(alice, dir);
    expect(problems(checks)).toEqual([]);
    expect(status).toBe(0);
    const byCheck = (name: string) => checks.filter((c) => c.check === name);
    expect(byCheck('versions')[0].message).toMatch(/^git-seal \d+\.\d+\.\d+, git \d+\.\d+/);
    expect(byCheck('identities')[0].details).toEqual([expect.stringMatching(/git-seal\/keys\.txt: alice \(age1/)]);
    expect(byCheck('files')[0].message).toMatch(/^alice \(age1.*\) opens \.dlt\/secrets\.toml$/);
    expect(byCheck('filter')[0].message).toMatch(/^filter installed and working: .* \(version \d+\.\d+\.\d+\)$/);
    expect(byCheck('hook')[0].status).toBe('ok');
    expect(byCheck('worktree')[0].message).toBe('working tree: 1 secrets file(s) decrypted, 0 sealed, as expected');
    expect(text).not.toMatch(/PROBLEM/);
    // Caching textconv output would put plaintext in the object store.
    alice.git(['config', 'diff.git-seal.cachetextconv', 'true'], dir);
    const cached = doctor(alice, dir);
    expect(cached.status).toBe(1);
    const fix = problems(cached.checks).find((c) => c.check === 'filter')?.fix;
    expect(fix).toMatch(/--unset diff\.git-seal\.cachetextconv/);
    expect(run('sh', ['-c', fix!], { cwd: dir, env: alice.env }).status).toBe(0);
    expect(doctor(alice, dir).status).toBe(0);
  });

  it('finds a sealed working copy it could open, and plaintext without the filter', () => {
    const dir = sealedClone(alice, origin);
    expect(alice.seal(['install'], { cwd: dir }).status).toBe(0);
    writeFiles(dir, { '.dlt/secrets.toml': git(['show', 'HEAD:.dlt/secrets.toml'], { cwd: dir, env: alice.env }) });
    let found = problems(doctor(alice, dir).checks).filter((c) => c.check === 'worktree');
    expect(found.map((c) => [c.message, c.fix])).toEqual([
      ['.dlt/secrets.toml is sealed in the working tree although you can open it and the filter is installed', 'git-seal install (checks it out decrypted)'],
    ]);
    expect(alice.seal(['install'], { cwd: dir }).status).toBe(0);
    expect(read(dir, '.dlt/secrets.toml')).toContain('sk_live_51HxYzStripeSecret');
    expect(problems(doctor(alice, dir).checks).filter((c) => c.check === 'worktree')).toEqual([]);

    git(['config', '--local', '--remove-section', 'filter.git-seal'], { cwd: dir, env: alice.env });
    found = problems(doctor(alice, dir).checks);
    expect(found.map((c) => c.check)).toEqual(expect.arrayContaining(['filter', 'worktree']));
    expect(found.find((c) => c.check === 'worktree')?.message).toBe('.dlt/secrets.toml is plaintext in the working tree but the filter is not installed: git add would commit it unsealed');
  });

  it('without any identity says so and how to get one', () => {
    const nobody = person('nobody', { withKey: false });
    const dir = sealedClone(nobody, origin);
    const { status, checks } = doctor(nobody, dir);
    expect(status).toBe(1);
    const id = checks.find((c) => c.check === 'identities')!;
    expect(id.status).toBe('problem');
    expect(id.fix).toMatch(/^git-seal keygen/);
    expect(checks.find((c) => c.check === 'files' && c.status === 'info')?.details).toEqual([expect.stringMatching(/^\.dlt\/secrets\.toml \(sealed to alice \(age1/)]);
  });
});
