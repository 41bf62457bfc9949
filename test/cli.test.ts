import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, gitSeal, isolatedEnv, makeKey, person, read, repoWith, ROOT, tempDir, type TestKey } from './helpers.js';

afterAll(cleanupTempDirs);

const SECRET = 'hunter2-super-secret-value';

/** Every failure is one line on stderr, names what failed, exits non-zero, and shows no secret or stack. */
function expectOneLineError(r: ReturnType<typeof gitSeal>, pattern: RegExp): void {
  expect(r.status, r.stderr).not.toBe(0);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^git-seal: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toContain(SECRET);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('encrypt and decrypt', () => {
  it('stdin to stdout, --in-place, and re-sealing a sealed file reproduces it', async () => {
    const dir = tempDir();
    const env = isolatedEnv(dir);
    const key = await makeKey(dir);
    const plain = `# comment\n[db]\npassword = "${SECRET}"\r\nport = 5432`;
    const sealed = gitSeal(['encrypt', '-r', key.recipient], { env, input: plain });
    expect(sealed.status, sealed.stderr).toBe(0);
    expect(sealed.stdout).not.toContain(SECRET);
    const opened = gitSeal(['decrypt', '-i', key.file], { env, input: sealed.stdout });
    expect(opened.stdout).toBe(plain);
    const file = join(dir, 'secrets.toml');
    writeFileSync(file, sealed.stdout);
    expect(gitSeal(['encrypt', '-i', key.file, '--in-place', file], { env }).status).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(sealed.stdout);
    expect(gitSeal(['decrypt', '-i', key.file, '--in-place', file], { env }).status).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(plain);
  });

  it("a lone '-' names stdin, as a positional and as an option's value", async () => {
    const dir = tempDir();
    const env = isolatedEnv(dir);
    const key = await makeKey(dir);
    const plain = `[db]\npassword = "${SECRET}"\n`;
    const sealed = gitSeal(['encrypt', '-r', key.recipient, '-'], { env, input: plain });
    expect(sealed.status, sealed.stderr).toBe(0);
    expect(sealed.stdout).toContain('ENC[');
    const opened = gitSeal(['decrypt', '-i', key.file, '-', '-o', '-'], { env, input: sealed.stdout });
    expect(opened.stderr).toBe('');
    expect(opened.stdout).toBe(plain);
    // --in-place has no file to rewrite when the file is stdin.
    expectOneLineError(gitSeal(['decrypt', '-i', key.file, '--in-place', '-'], { env, input: sealed.stdout }), /--in-place needs a FILE/);
  });

  it("elsewhere '-' is a file of that name: textconv (as git runs it for a root file named '-') and get", () => {
    const dir = tempDir();
    writeFileSync(join(dir, '-'), 'x = "from the file"\n');
    for (const args of [['textconv', '--', '-'], ['textconv', '-'], ['get', '-', 'x']]) {
      const r = gitSeal(args, { cwd: dir, env: isolatedEnv(dir), input: 'x = "from stdin"\n' });
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/^(x = )?"?from the file"?\n$/);
    }
  });
});

describe('a file named - in a repository', () => {
  it("git diff shows the working copy of '-', not git's stdin", () => {
    const alice = person('alice');
    const dir = repoWith(alice, {});
    writeFileSync(join(dir, '.gitseal.toml'), read(dir, '.gitseal.toml').replace('files = ["**/.dlt/secrets.toml"]', 'files = ["**/.dlt/secrets.toml", "-"]'));
    writeFileSync(join(dir, '.gitattributes'), read(dir, '.gitattributes') + '/- filter=git-seal diff=git-seal merge=git-seal\n');
    writeFileSync(join(dir, '-'), 'a = "one"\n');
    alice.git(['add', '-A'], dir);
    alice.git(['commit', '-q', '-m', 'dash'], dir);
    writeFileSync(join(dir, '-'), 'a = "two"\n');
    const diff = alice.git(['diff'], dir, { input: 'injected = "from git\'s stdin"\n' });
    expect(diff).toContain('+a = "two"');
    expect(diff).not.toContain('injected');
  });

  it("set FILE KEY - takes the value from stdin", () => {
    const alice = person('alice');
    const dir = repoWith(alice);
    const r = alice.seal(['set', '.dlt/secrets.toml', 'sources.stripe.extra', '-'], { cwd: dir, input: 'piped-value\n' });
    expect(r.status, r.stderr).toBe(0);
    expect(alice.seal(['get', '.dlt/secrets.toml', 'sources.stripe.extra'], { cwd: dir }).stdout).toBe('piped-value\n');
    // Any other word there is a value typed on the command line: refused.
    expect(alice.seal(['set', '.dlt/secrets.toml', 'sources.stripe.extra', 'typed'], { cwd: dir }).status).toBe(2);
  });
});

describe('CLI errors', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let alice: TestKey;
  let bob: TestKey;
  let sealedPath: string;

  beforeAll(async () => {
    dir = tempDir();
    env = isolatedEnv(dir);
    [alice, bob] = await Promise.all([makeKey(dir), makeKey(dir)]);
    writeFileSync(join(dir, 'plain.toml'), `[db]\npassword = "${SECRET}"\nport = 5432\n`);
    sealedPath = join(dir, 'sealed.toml');
    const r = gitSeal(['encrypt', '-r', alice.recipient, join(dir, 'plain.toml'), '-o', sealedPath], { env });
    expect(r.status, r.stderr).toBe(0);
  });

  const sealed = () => readFileSync(sealedPath, 'utf8');
  const variant = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('malformed TOML names file:line:col', () => {
    const p = variant('bad.toml', `a = 1\npassword = "${SECRET}\n`);
    expectOneLineError(gitSeal(['encrypt', '-r', alice.recipient, p], { env }), /bad\.toml:2:12: /);
  });

  it('a wrong key lists the recipients; no key says how to get one', () => {
    expectOneLineError(gitSeal(['decrypt', '-i', bob.file, sealedPath], { env }), new RegExp(`sealed\\.toml: .*${alice.recipient}`));
    expectOneLineError(gitSeal(['decrypt', sealedPath], { env }), /sealed\.toml: no identity is available.*GITSEAL_AGE_KEY/);
  });

  it('a tampered value names the key path', () => {
    const text = sealed().replace(/(password = "ENC\[gitseal\.v1,)(.)/, (_, a, c) => a + (c === 'A' ? 'B' : 'A'));
    expectOneLineError(gitSeal(['decrypt', '-i', alice.file, variant('tampered.toml', text)], { env }), /tampered\.toml: the value of 'db\.password' failed authentication/);
  });

  it('a truncated file and an unknown version', () => {
    const t = sealed();
    expectOneLineError(gitSeal(['decrypt', '-i', alice.file, variant('trunc.toml', t.slice(0, t.length - 60))], { env }), /trunc\.toml:\d+:\d+: /);
    expectOneLineError(gitSeal(['decrypt', '-i', alice.file, variant('v9.toml', t.replace('version = 1', 'version = 9'))], { env }), /v9\.toml: .*version 9.*upgrade/);
  });

  it('an unreadable or missing file, a non-git directory and a missing config', () => {
    expectOneLineError(gitSeal(['decrypt', join(dir, 'nope.toml')], { env }), /nope\.toml: no such file/);
    const outside = tempDir();
    expectOneLineError(gitSeal(['check'], { cwd: outside, env }), /not inside a git repository.*git init/);
  });

  it('a secret typed as a stray argument is not echoed', () => {
    expectOneLineError(gitSeal(['decrypt', sealedPath, 'extra', SECRET], { env }), /Unknown arguments: <value not shown>/);
  });

  it('--debug adds the stack trace', () => {
    const r = gitSeal(['decrypt', '--debug', join(dir, 'nope.toml')], { env });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('--version prints the package version', () => {
    const r = gitSeal(['--version'], { env });
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });
});
