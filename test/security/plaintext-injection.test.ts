/**
 * A sealed file may hold a plaintext value only where the path's profile lists it in plaintext_keys.
 * Each attack below is run with real git against real temporary repositories: a clone without the
 * key (or without git-seal at all) writes a value in clear into a sealed file, and every command that
 * accepts a sealed file (clean, check --staged and the hook, set, edit, exec, decrypt, get) must refuse
 * it or seal it, never store it, print it "sealed" or hand it to a job.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allObjects, cleanupTempDirs, newRepo, person, type Person, repoWith, run, sealedClone, tempDir } from '../helpers.js';

afterAll(cleanupTempDirs);

const FILE = '.dlt/secrets.toml';
const PROD_PATH = '.dlt/prod.secrets.toml';

const SECRETS = `[sources.stripe]
api_key = "sk_live_injection_test_51Hx"
retries = 3

[destination.postgres.credentials]
password = "pg-pass-injection-horse"
host = "db.internal.example"
port = 5432
`;

/** A config where `port` legitimately stays plaintext in every profile. */
function configText(recipients: Record<string, string>, profiles: Record<string, { files: string[]; recipients: string[] }>): string {
  let text = 'version = 1\nplaintext_keys = ["port"]\n\n[recipients]\n';
  for (const [n, k] of Object.entries(recipients)) text += `${n} = "${k}"\n`;
  for (const [n, p] of Object.entries(profiles)) text += `\n[profiles.${n}]\nfiles = ${JSON.stringify(p.files)}\nrecipients = ${JSON.stringify(p.recipients)}\n`;
  return text;
}

function defaultProfiles(alice: Person): string {
  return configText({ alice: alice.recipient }, { dev: { files: ['**/.dlt/secrets.toml'], recipients: ['alice'] }, prod: { files: ['**/.dlt/prod.secrets.toml'], recipients: ['alice'] } });
}

/** alice's repository with SECRETS at `path`, under the dev and prod profiles of defaultProfiles. */
function profiledRepo(alice: Person, path: string): string {
  const origin = repoWith(alice, { [path]: SECRETS });
  writeFileSync(join(origin, '.gitseal.toml'), defaultProfiles(alice));
  alice.git(['add', '.gitseal.toml'], origin);
  alice.git(['add', '--renormalize', path], origin);
  alice.git(['commit', '-q', '-m', 'config'], origin);
  return origin;
}

/** Insert a line right after a table header of a (sealed) file. */
function injectAfter(text: string, header: string, line: string): string {
  expect(text).toContain(`${header}\n`);
  return text.replace(`${header}\n`, `${header}\n${line}\n`);
}

/** Replace the sealed value of a key by a plaintext one. */
function replaceSealed(text: string, key: string, value: string): string {
  const re = new RegExp(`^${key} = "ENC\\[[^"]*"`, 'm');
  expect(text).toMatch(re);
  return text.replace(re, `${key} = "${value}"`);
}

/** Stage a file without running the filter (what a clone without git-seal does). */
function addUnfiltered(p: Person, dir: string, path: string): void {
  p.git(['-c', 'filter.git-seal.process=', '-c', 'filter.git-seal.clean=cat', '-c', 'filter.git-seal.smudge=cat', '-c', 'filter.git-seal.required=false', 'add', path], dir);
}

/** git itself, keeping its stderr. */
function spawnGit(p: Person, cwd: string, args: string[]) {
  return run('git', args, { cwd, env: p.env });
}

function expectOneLine(stderr: string, ...parts: (string | RegExp)[]): string {
  const line = stderr.split('\n').find((l) => l.startsWith('git-seal: ')) ?? '';
  for (const p of parts) expect(line).toMatch(p);
  return line;
}

describe('issue 8.1: a clone without the key adds a value to a sealed file', () => {
  let alice: Person;
  let bob: Person;
  let origin: string;
  let clone: string;
  const INJECTED = 'bob-plain-token-1234567';

  beforeAll(() => {
    alice = person('alice');
    bob = person('bob');
    origin = profiledRepo(alice, FILE);
    clone = sealedClone(bob, origin);
    const r = bob.seal(['install'], { cwd: clone });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(clone, FILE), 'utf8')).toContain('[gitseal]');
  });

  it('git add refuses the plaintext value with one line naming the file, the key path and what to do; nothing is staged', () => {
    const path = join(clone, FILE);
    const sealed = readFileSync(path, 'utf8');
    writeFileSync(path, injectAfter(sealed, '[sources.stripe]', `new_token = "${INJECTED}"`));
    const add = spawnGit(bob, clone, ['add', FILE]);
    expect(add.status).not.toBe(0);
    const line = expectOneLine(add.stderr, FILE, "'sources.stripe.new_token'", /key holder|recipient/, /git-seal set/);
    expect(line).not.toContain(INJECTED);
    expect(bob.git(['diff', '--cached', '--name-only'], clone)).toBe('');
    expect(allObjects(bob, clone)).not.toContain(INJECTED);
  });

  it('in a clone that holds the key, git add seals such a value instead', () => {
    const sealed = alice.git(['show', `HEAD:${FILE}`], origin);
    writeFileSync(join(origin, FILE), injectAfter(sealed, '[sources.stripe]', `new_token = "${INJECTED}"`));
    alice.git(['add', FILE], origin);
    const staged = alice.git(['show', `:${FILE}`], origin);
    expect(staged).toMatch(/^new_token = "ENC\[/m);
    expect(staged).toContain('port = 5432');
    expect(allObjects(alice, origin)).not.toContain(INJECTED);
    alice.git(['checkout', 'HEAD', '--', FILE], origin);
    expect(readFileSync(join(origin, FILE), 'utf8')).toBe(SECRETS);
  });

  it('the single-shot clean (no filter process) refuses it too', () => {
    const process = bob.git(['config', 'filter.git-seal.process'], clone).trim();
    bob.git(['config', '--unset', 'filter.git-seal.process'], clone);
    const add = spawnGit(bob, clone, ['add', FILE]);
    bob.git(['config', 'filter.git-seal.process', process], clone);
    expect(add.status).not.toBe(0);
    expectOneLine(add.stderr, "'sources.stripe.new_token'");
    expect(bob.git(['diff', '--cached', '--name-only'], clone)).toBe('');
    expect(allObjects(bob, clone)).not.toContain(INJECTED);
  });

  it('a value listed in plaintext_keys stays legitimately plaintext and commits', () => {
    bob.git(['checkout', '--', FILE], clone);
    const path = join(clone, FILE);
    writeFileSync(path, readFileSync(path, 'utf8').replace('port = 5432', 'port = 6543'));
    bob.git(['add', FILE], clone);
    bob.git(['commit', '-q', '-m', 'new port'], clone);
    expect(bob.git(['show', `HEAD:${FILE}`], clone)).toContain('port = 6543');
    expect(bob.seal(['check'], { cwd: clone }).status).toBe(0);
  });

  it('install says that the pre-commit hook is missing, and install --hook installs it', () => {
    const r = bob.seal(['install'], { cwd: clone });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/no pre-commit hook.*git-seal install --hook/i);
    const h = bob.seal(['install', '--hook'], { cwd: clone });
    expect(h.status, h.stderr).toBe(0);
    expect(h.stderr).toContain('Installed the pre-commit hook');
    expect(existsSync(join(clone, '.git', 'hooks', 'pre-commit'))).toBe(true);
    expect(bob.seal(['install'], { cwd: clone }).stderr).not.toMatch(/no pre-commit hook/i);
  });

  it('check --staged and the pre-commit hook refuse the same value when the filter is bypassed, saying "staged"', () => {
    const path = join(clone, FILE);
    writeFileSync(path, injectAfter(readFileSync(path, 'utf8'), '[sources.stripe]', `new_token = "${INJECTED}"`));
    addUnfiltered(bob, clone, FILE);
    const c = bob.seal(['check', '--staged'], { cwd: clone });
    expect(c.status).toBe(1);
    expect(c.stderr).toContain("'sources.stripe.new_token'");
    expect(c.stderr).toMatch(/staged/);
    expect(c.stderr).not.toMatch(/committed/);
    expect(c.stderr).not.toContain(INJECTED);
    const commit = spawnGit(bob, clone, ['commit', '-m', 'inject']);
    expect(commit.status).not.toBe(0);
    expect(commit.stderr).toContain("'sources.stripe.new_token'");
    expect(bob.git(['show', `HEAD:${FILE}`], clone)).not.toContain(INJECTED);
    bob.git(['checkout', 'HEAD', '--', FILE], clone);
  });

  it('the hook says "staged in plaintext", not "committed", for a whole plaintext file that is only staged', () => {
    writeFileSync(join(clone, PROD_PATH), 'password = "prod-plain-staged-secret"\n');
    addUnfiltered(bob, clone, PROD_PATH);
    const c = bob.seal(['check', '--staged'], { cwd: clone });
    expect(c.status).toBe(1);
    expect(c.stderr).toContain(`${PROD_PATH}: staged in plaintext`);
    expect(c.stderr).not.toMatch(/committed/);
    const commit = spawnGit(bob, clone, ['commit', '-m', 'oops']);
    expect(commit.status).not.toBe(0);
    expect(commit.stderr).toContain('staged in plaintext');
    bob.git(['rm', '-q', '-f', '--cached', PROD_PATH], clone);
  });
});

describe('issue 8.2: set and edit seal a plaintext value of a sealed-on-disk file', () => {
  let alice: Person;
  let dir: string;
  const INJECTED = 'injected-plain-value-777';
  const NEW = 'alice-new-secret-456';

  beforeAll(() => {
    alice = person('alice');
    const origin = repoWith(alice, { [FILE]: SECRETS });
    writeFileSync(join(origin, '.gitseal.toml'), defaultProfiles(alice));
    alice.git(['add', '.gitseal.toml'], origin);
    alice.git(['add', '--renormalize', FILE], origin);
    alice.git(['commit', '-q', '-m', 'config'], origin);
    // Scenario 1's state: a sealed file on disk with a value in clear (a clone without the filter).
    dir = sealedClone(alice, origin);
  });

  function inject(): void {
    const path = join(dir, FILE);
    writeFileSync(path, injectAfter(readFileSync(path, 'utf8'), '[sources.stripe]', `new_token = "${INJECTED}"`));
  }

  it('set of another key leaves no plaintext value in the file (port, in plaintext_keys, stays readable)', () => {
    inject();
    const r = alice.seal(['set', FILE, 'sources.stripe.other', '--value', NEW], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('written sealed');
    const text = readFileSync(join(dir, FILE), 'utf8');
    expect(text).not.toContain(INJECTED);
    expect(text).not.toContain(NEW);
    expect(text).toMatch(/^new_token = "ENC\[/m);
    expect(text).toContain('port = 5432');
    expect(alice.seal(['get', FILE, 'sources.stripe.new_token'], { cwd: dir }).stdout).toBe(`${INJECTED}\n`);
    expect(alice.seal(['get', FILE, 'sources.stripe.other'], { cwd: dir }).stdout).toBe(`${NEW}\n`);
  });

  it('set of the plaintext key itself seals the new value', () => {
    alice.git(['checkout', '--', FILE], dir);
    inject();
    const r = alice.seal(['set', FILE, 'sources.stripe.new_token', '--value', NEW], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(join(dir, FILE), 'utf8');
    expect(text).not.toContain(NEW);
    expect(text).not.toContain(INJECTED);
  });

  it('edit seals it, even when the edit leaves the plaintext unchanged', () => {
    const tools = tempDir('gitseal-editors-');
    for (const [name, body] of [['retries.sh', `sed -i 's/^retries = 3$/retries = 4/' "$1"`], ['noop.sh', 'true']]) {
      alice.git(['checkout', '--', FILE], dir);
      inject();
      const editor = join(tools, name);
      writeFileSync(editor, `#!/bin/sh\n${body}\n`);
      chmodSync(editor, 0o755);
      const r = alice.seal(['edit', FILE], { cwd: dir, env: { ...alice.env, EDITOR: editor, VISUAL: '' } });
      expect(r.status, r.stderr).toBe(0);
      const text = readFileSync(join(dir, FILE), 'utf8');
      expect(text, name).not.toContain(INJECTED);
      expect(text).toContain('port = 5432');
      expect(alice.seal(['get', FILE, 'sources.stripe.new_token'], { cwd: dir }).stdout).toBe(`${INJECTED}\n`);
    }
  });
});

describe('issue 8.4: .gitseal.toml matched by a profile glob is never sealed', () => {
  it('stays plaintext in git, git never runs the filter on it, and a clone without the key works', () => {
    const alice = person('alice');
    const dir = newRepo(alice);
    const config = configText({ alice: alice.recipient }, { all: { files: ['**/*.toml'], recipients: ['alice'] } });
    writeFileSync(join(dir, '.gitseal.toml'), config);
    const init = alice.seal(['init', '--no-hook'], { cwd: dir });
    expect(init.status, init.stderr).toBe(0);
    mkdirSync(join(dir, 'config'));
    writeFileSync(join(dir, 'config/app.toml'), 'token = "app-secret-token-99"\n');
    alice.git(['add', '-A'], dir);
    alice.git(['commit', '-q', '-m', 'all toml sealed'], dir);
    expect(alice.git(['show', 'HEAD:.gitseal.toml'], dir)).toBe(config);
    expect(alice.git(['show', 'HEAD:config/app.toml'], dir)).toContain('[gitseal]');
    expect(alice.git(['check-attr', 'filter', 'diff', 'merge', '--', '.gitseal.toml'], dir)).toBe(
      '.gitseal.toml: filter: unspecified\n.gitseal.toml: diff: unspecified\n.gitseal.toml: merge: unspecified\n',
    );
    expect(alice.seal(['check'], { cwd: dir }).status).toBe(0);
    // Running init again (a new glob appended) keeps the exclusion in force.
    writeFileSync(join(dir, '.gitseal.toml'), config.replace('files = ["**/*.toml"]', 'files = ["**/*.toml", "conf/*.toml"]'));
    expect(alice.seal(['init', '--no-hook'], { cwd: dir }).status).toBe(0);
    expect(alice.git(['check-attr', 'filter', '--', '.gitseal.toml'], dir)).toBe('.gitseal.toml: filter: unspecified\n');
    alice.git(['checkout', '--', '.gitseal.toml'], dir);
    alice.git(['add', '-A'], dir);
    alice.git(['commit', '-q', '-m', 'attributes'], dir);

    const bob = person('bob');
    const clone = sealedClone(bob, dir);
    const r = bob.seal(['install'], { cwd: clone });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(clone, '.gitseal.toml'), 'utf8')).toBe(config);
    expect(bob.git(['status', '--porcelain'], clone)).toBe('');
    expect(bob.seal(['check'], { cwd: clone }).status).toBe(0);
  });

  it('even a filter line a user wrote for it leaves it as it is', () => {
    const alice = person('alice');
    const dir = repoWith(alice, {});
    writeFileSync(join(dir, '.gitattributes'), readFileSync(join(dir, '.gitattributes'), 'utf8') + '.gitseal.toml filter=git-seal diff=git-seal merge=git-seal\n');
    writeFileSync(join(dir, '.gitseal.toml'), defaultProfiles(alice).replace('"**/.dlt/secrets.toml"', '"**/.dlt/secrets.toml", ".gitseal.toml"'));
    alice.git(['add', '-A'], dir);
    alice.git(['commit', '-q', '-m', 'config'], dir);
    expect(alice.git(['show', 'HEAD:.gitseal.toml'], dir)).not.toContain('[gitseal]');
  });
});

describe('issue 9.2: injected plaintext in a committed sealed file', () => {
  let alice: Person;
  let ciEnv: NodeJS.ProcessEnv;
  let ci: Person;
  let attacked: string;
  let honest: string;
  let origin: string;
  const EVIL = 'evil.example.com';

  beforeAll(() => {
    alice = person('alice');
    origin = profiledRepo(alice, PROD_PATH);
    const r = alice.seal(['keygen', '--deploy', 'ci-prod', '--profile', 'prod'], { cwd: origin });
    expect(r.status, r.stderr).toBe(0);
    alice.git(['add', '-A'], origin);
    alice.git(['commit', '-q', '-m', 'deploy key'], origin);
    ci = person('ci', { withKey: false });
    ciEnv = { ...ci.env, GITSEAL_AGE_KEY: r.stdout.trim() };
    honest = sealedClone(ci, origin);
    // The attacker: push access, no key, no git-seal.
    const mallory = person('mallory', { withKey: false });
    const work = sealedClone(mallory, origin);
    const path = join(work, PROD_PATH);
    writeFileSync(path, replaceSealed(readFileSync(path, 'utf8'), 'host', EVIL));
    mallory.git(['commit', '-q', '-am', 'tune host'], work);
    attacked = sealedClone(ci, work);
  });

  it("a key holder who pulls the commit is warned on checkout, before git add would seal the value as theirs", () => {
    const pull = spawnGit(alice, alice.home, ['-C', origin, 'pull', '-q', '--no-rebase', attacked, 'main']);
    expect(pull.status, pull.stderr).toBe(0);
    expectOneLine(pull.stderr, PROD_PATH, "'destination.postgres.credentials.host'", /in clear/);
    expect(pull.stderr).not.toContain(EVIL);
    expect(readFileSync(join(origin, PROD_PATH), 'utf8')).toContain(`host = "${EVIL}"`);
  });

  it('exec runs with the honest file: port, in plaintext_keys, is accepted', () => {
    const r = ci.seal(['exec', '--profile', 'prod', '--', 'sh', '-c', 'echo "$DESTINATION__POSTGRES__CREDENTIALS__HOST:$DESTINATION__POSTGRES__CREDENTIALS__PORT"'], { cwd: honest, env: ciEnv });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('db.internal.example:5432\n');
  });

  it('exec refuses the injected host, names the file and key path, and never starts the command', () => {
    for (const sel of [['--profile', 'prod'], ['--file', PROD_PATH]]) {
      const marker = join(tempDir(), 'ran');
      const r = ci.seal(['exec', ...sel, '--', 'sh', '-c', `touch ${marker}; echo "$DESTINATION__POSTGRES__CREDENTIALS__HOST"`], { cwd: attacked, env: ciEnv });
      expect(r.status, sel.join(' ')).toBe(1);
      expect(existsSync(marker)).toBe(false);
      expect(r.stdout).toBe('');
      const line = expectOneLine(r.stderr, PROD_PATH, "'destination.postgres.credentials.host'", /plaintext/);
      expect(line).not.toContain(EVIL);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('decrypt refuses it unless told --allow-plaintext', () => {
    const r = ci.seal(['decrypt', PROD_PATH], { cwd: attacked, env: ciEnv });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expectOneLine(r.stderr, PROD_PATH, "'destination.postgres.credentials.host'", /--allow-plaintext/);
    const stdin = ci.seal(['decrypt'], { cwd: attacked, env: ciEnv, input: readFileSync(join(attacked, PROD_PATH)) });
    expect(stdin.status).toBe(1);
    const ok = ci.seal(['decrypt', '--allow-plaintext', PROD_PATH], { cwd: attacked, env: ciEnv });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`host = "${EVIL}"`);
    const honestRun = ci.seal(['decrypt', PROD_PATH], { cwd: honest, env: ciEnv });
    expect(honestRun.status, honestRun.stderr).toBe(0);
    expect(honestRun.stdout).toBe(SECRETS);
  });

  it('get refuses the injected value, and check flags the commit', () => {
    const r = ci.seal(['get', PROD_PATH, 'destination.postgres.credentials.host'], { cwd: attacked, env: ciEnv });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expectOneLine(r.stderr, "'destination.postgres.credentials.host'");
    expect(ci.seal(['get', PROD_PATH, 'destination.postgres.credentials.password'], { cwd: attacked, env: ciEnv }).stdout).toBe('pg-pass-injection-horse\n');
    const c = ci.seal(['check'], { cwd: attacked, env: ciEnv });
    expect(c.status).toBe(1);
    expect(c.stderr).toMatch(/committed with plaintext values .*'destination\.postgres\.credentials\.host'/);
  });
});
