import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSealError } from '../../src/errors.js';
import { dltEnvName, envNameWarning } from '../../src/api/env-naming.js';
import { maskValue } from '../../src/api/ls.js';
import { tomlLiteral } from '../../src/api/set.js';
import { parseKeyPath } from '../../src/format/keypath.js';
import { BIN, cleanupTempDirs, hasBinary, lineDiff, person, type Person, read, repoWith, sealedClone, SHORT_SECRET_STRINGS as SECRET_STRINGS } from '../helpers.js';

afterAll(cleanupTempDirs);

const FILE = '.dlt/secrets.toml';

describe('key paths, types and masks', () => {
  it('parses dotted, quoted and indexed key paths', () => {
    expect(parseKeyPath('sources.stripe.api_key')).toEqual(['sources', 'stripe', 'api_key']);
    expect(parseKeyPath('servers."db.example".password')).toEqual(['servers', 'db.example', 'password']);
    expect(parseKeyPath("a . 'b c' . d-e")).toEqual(['a', 'b c', 'd-e']);
    expect(parseKeyPath('products[1].name')).toEqual(['products', 1, 'name']);
    for (const bad of ['', 'a..b', 'a.', 'my key', 'a.b c', 'a[x]', '"unterminated', '"""x"""']) {
      expect(() => parseKeyPath(bad), bad).toThrow(GitSealError);
    }
  });

  it('names the dlt environment variable and warns when it is not a valid name', () => {
    expect(dltEnvName(['sources', 'stripe', 'api_key'])).toBe('SOURCES__STRIPE__API_KEY');
    expect(envNameWarning(['sources', 'stripe', 'api_key'])).toBeNull();
    expect(envNameWarning(['sources', 'my-api', 'key'])).toMatch(/SOURCES__MY-API__KEY.*not a valid name/);
    expect(envNameWarning(['1password', 'token'])).toMatch(/not a valid name/);
    expect(envNameWarning(['a', 'b c'])).toMatch(/not a valid name/);
  });

  it('writes typed literals and refuses invalid ones without quoting them', () => {
    expect(tomlLiteral('say "hi"\n', 'string')).toBe('"say \\"hi\\"\\n"');
    expect(tomlLiteral(' 5432 ', 'int')).toBe('5432');
    expect(tomlLiteral('3', 'float')).toBe('3.0');
    expect(tomlLiteral('1e-3', 'float')).toBe('1e-3');
    expect(tomlLiteral('true', 'bool')).toBe('true');
    expect(tomlLiteral('2026-01-02T03:04:05Z', 'datetime')).toBe('2026-01-02T03:04:05Z');
    expect(tomlLiteral('2026-01-02', 'datetime')).toBe('2026-01-02');
    expect(tomlLiteral('["raw", "staging"]', 'toml')).toBe('["raw", "staging"]');
    for (const [v, t] of [['s3cretvalue', 'int'], ['012', 'int'], ['s3cretvalue', 'bool'], ['2026-13-01', 'datetime'], ['1.5', 'int'], ['s3cretvalue', 'toml'], ['1\nb = 2', 'toml'], ['1 # c', 'toml']] as const) {
      let err: unknown;
      try {
        tomlLiteral(v, t);
      } catch (e) {
        err = e;
      }
      expect(err, `${v} as ${t}`).toBeInstanceOf(GitSealError);
      expect((err as GitSealError).oneLine).not.toContain('s3cret');
    }
  });

  it('masks short values fully and long ones after four characters', () => {
    expect(maskValue('sk_live_51HxYzStripeSecret')).toBe('sk_l…****');
    expect(maskValue('hunter2')).toBe('****');
    expect(maskValue('')).toBe('****');
    expect(maskValue('\n-----BEGIN PRIVATE KEY-----')).toBe('****');
  });
});

describe('get, set, rm and ls on a sealed file (no filter)', () => {
  let alice: Person;
  let dir: string;
  beforeAll(() => {
    alice = person('alice');
    dir = sealedClone(alice, repoWith(alice));
  });

  it('the clone has the file sealed on disk', () => {
    expect(read(dir, FILE)).toContain('[gitseal]');
    for (const s of SECRET_STRINGS) expect(read(dir, FILE)).not.toContain(s);
  });

  it('get prints the raw string, TOML literals for other types, and JSON on request', () => {
    let r = alice.seal(['get', FILE, 'sources.stripe.api_key'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('sk_live_51HxYzStripeSecret\n');
    r = alice.seal(['get', FILE, 'destination.postgres.credentials.port', '--no-newline'], { cwd: dir });
    expect(r.stdout).toBe('5432');
    r = alice.seal(['get', FILE, 'sources.stripe.retries', '--json'], { cwd: dir });
    expect(JSON.parse(r.stdout)).toEqual({ file: FILE, key: 'sources.stripe.retries', type: 'integer', value: 3 });
  });

  it('get fails in one line for a missing key, a table, and without an identity', () => {
    let r = alice.seal(['get', FILE, 'sources.stripe.nope'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`git-seal: ${FILE}: no key 'sources.stripe.nope' (git-seal ls ${FILE} lists its keys)\n`);
    r = alice.seal(['get', FILE, 'sources.stripe'], { cwd: dir });
    expect(r.stderr).toMatch(/'sources\.stripe' is a table, not a value/);
    const nobody = person('nobody', { withKey: false });
    r = nobody.seal(['get', FILE, 'sources.stripe.api_key'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no identity is available to open it/);
  });

  it('set of an existing key changes exactly that line, and get returns the new value', () => {
    const before = read(dir, FILE);
    const r = alice.seal(['set', FILE, 'sources.stripe.api_key', '--stdin'], { cwd: dir, input: 'sk_live_NEWvalue0123456789\n' });
    expect(r.status, r.stderr).toBe(0);
    const after = read(dir, FILE);
    const d = lineDiff(before, after);
    expect(d.removed).toHaveLength(1);
    expect(d.added).toHaveLength(1);
    expect(d.removed[0]).toMatch(/^api_key = "ENC\[/);
    expect(d.added[0]).toMatch(/^api_key = "ENC\[gitseal\.v1,[^"]+\]" # rotated 2026-01$/);
    expect(after).not.toContain('sk_live_NEWvalue');
    expect(alice.seal(['get', FILE, 'sources.stripe.api_key'], { cwd: dir }).stdout).toBe('sk_live_NEWvalue0123456789\n');
  });

  it('set of a new key adds exactly one line; a new table is created as needed', () => {
    let before = read(dir, FILE);
    let r = alice.seal(['set', FILE, 'sources.stripe.webhook_secret'], { cwd: dir, input: 'whsec_abc' });
    expect(r.status, r.stderr).toBe(0);
    let d = lineDiff(before, read(dir, FILE));
    expect(d.removed).toEqual([]);
    expect(d.added).toHaveLength(1);
    expect(d.added[0]).toMatch(/^webhook_secret = "ENC\[/);

    before = read(dir, FILE);
    r = alice.seal(['set', FILE, 'sources.github.token'], { cwd: dir, input: 'ghp_tok' });
    expect(r.status, r.stderr).toBe(0);
    d = lineDiff(before, read(dir, FILE));
    expect(d.removed).toEqual([]);
    expect(d.added.filter((l) => l !== '')).toEqual(['[sources.github]', expect.stringMatching(/^token = "ENC\[/)]);
    expect(alice.seal(['get', FILE, 'sources.github.token'], { cwd: dir }).stdout).toBe('ghp_tok\n');
  });

  it('set writes typed values, and refuses an invalid one without changing the file', () => {
    const before = read(dir, FILE);
    let r = alice.seal(['set', FILE, 'destination.postgres.credentials.port', '--type', 'int'], { cwd: dir, input: 'not-a-number' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not a valid TOML int/);
    expect(r.stderr).not.toContain('not-a-number');
    expect(read(dir, FILE)).toBe(before);
    r = alice.seal(['set', FILE, 'destination.postgres.credentials.port', '--type', 'int'], { cwd: dir, input: '6543\n' });
    expect(r.status, r.stderr).toBe(0);
    expect(alice.seal(['get', FILE, 'destination.postgres.credentials.port', '--json'], { cwd: dir }).stdout).toContain('"value":6543');
    r = alice.seal(['set', FILE, 'destination.schemas', '--type', 'toml'], { cwd: dir, input: '["raw", "staging"]' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(alice.seal(['get', FILE, 'destination.schemas', '--json'], { cwd: dir }).stdout).value).toEqual(['raw', 'staging']);
    expect(alice.seal(['get', FILE, 'destination.schemas[1]'], { cwd: dir }).stdout).toBe('staging\n');
  });

  it('refuses a value on the command line, and accepts --value with a warning', () => {
    const before = read(dir, FILE);
    let r = alice.seal(['set', FILE, 'sources.stripe.api_key', 'sk_on_the_command_line'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/refusing a value on the command line/);
    expect(r.stderr).not.toContain('sk_on_the_command_line');
    expect(read(dir, FILE)).toBe(before);
    r = alice.seal(['set', FILE, 'sources.other.key', '--value', 'v4lue'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: a value given with --value/);
    expect(r.stderr).not.toContain('v4lue');
  });

  it('refuses an empty value from stdin; --value stores an empty string on purpose', () => {
    const before = read(dir, FILE);
    let r = alice.seal(['set', FILE, 'sources.other.key'], { cwd: dir, input: '\n' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/empty value on stdin: nothing was set/);
    expect(read(dir, FILE)).toBe(before);
    r = alice.seal(['set', FILE, 'sources.other.key', '--value', ''], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(alice.seal(['get', FILE, 'sources.other.key', '--json'], { cwd: dir }).stdout).toContain('"value":""');
  });

  it('warns when a key cannot become a dlt environment variable', () => {
    const r = alice.seal(['set', FILE, 'sources."my api".key'], { cwd: dir, input: 'x' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/SOURCES__MY API__KEY, which is not a valid name/);
    expect(read(dir, FILE)).toContain('[sources."my api"]');
  });

  it('rm removes exactly the line of that key', () => {
    const before = read(dir, FILE);
    const r = alice.seal(['rm', FILE, 'sources.stripe.retries'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const d = lineDiff(before, read(dir, FILE));
    expect(d.added).toEqual([]);
    expect(d.removed).toHaveLength(1);
    expect(d.removed[0]).toMatch(/^retries = "ENC\[/);
    expect(alice.seal(['rm', FILE, 'sources.stripe.retries'], { cwd: dir }).stderr).toMatch(/no key 'sources\.stripe\.retries'/);
  });

  it('ls masks values; --show reveals them; --json lists types, profile and recipient names', () => {
    let r = alice.seal(['ls', FILE], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/profile dev; sealed to alice/);
    expect(r.stdout).toMatch(/sources\.stripe\.api_key\s+string\s+sk_l…\*\*\*\*/);
    expect(r.stdout).toMatch(/destination\.postgres\.credentials\.password\s+string\s+pg-p…\*\*\*\*/);
    for (const s of ['sk_live_NEWvalue0123456789', 'pg-pass-correct-horse', 'analytics', 'whsec_abc', '6543']) expect(r.stdout).not.toContain(s);
    r = alice.seal(['ls', '--show'], { cwd: dir });
    expect(r.stdout).toContain('"pg-pass-correct-horse"');
    const listed = JSON.parse(alice.seal(['ls', '--json'], { cwd: dir }).stdout);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ path: FILE, profile: 'dev', state: 'sealed', readable: true, recipients: [{ name: 'alice', key: alice.recipient }] });
    expect(listed[0].values).toContainEqual({ key: 'destination.postgres.credentials.port', type: 'integer', value: '****' });
    expect(JSON.stringify(listed)).not.toContain('pg-pass-correct-horse');
  });

  it('ls without an identity still lists every key, with types unknown', () => {
    const nobody = person('nobody2', { withKey: false });
    const r = nobody.seal(['ls', '--json'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const [f] = JSON.parse(r.stdout);
    expect(f.readable).toBe(false);
    expect(f.values.map((v: { key: string }) => v.key)).toContain('sources.stripe.api_key');
    expect(f.values.every((v: { type: string; value: unknown }) => v.type === 'unknown' && v.value === null)).toBe(true);
    expect(nobody.seal(['ls'], { cwd: dir }).stdout).toMatch(/none of your identities can open it/);
  });
});

describe('set on a plaintext working tree and on new files', () => {
  let alice: Person;
  let dir: string;
  beforeAll(() => {
    alice = person('alice');
    dir = repoWith(alice);
  });

  it('edits the plaintext in place when the filter is installed, and git add seals it', () => {
    expect(read(dir, FILE)).toContain('sk_live_51HxYzStripeSecret');
    const r = alice.seal(['set', FILE, 'sources.stripe.api_key'], { cwd: dir, input: 'sk_live_rotated_0000000' });
    expect(r.status, r.stderr).toBe(0);
    expect(read(dir, FILE)).toContain('api_key = "sk_live_rotated_0000000" # rotated 2026-01');
    alice.git(['add', FILE], dir);
    const staged = alice.git(['show', `:${FILE}`], dir);
    expect(staged).not.toContain('sk_live_rotated');
    expect(alice.git(['diff', '--cached', '--numstat', '--no-textconv'], dir).trim()).toBe(`1\t1\t${FILE}`);
  });

  it('creates a missing file: plaintext where the filter seals it, sealed to its profile elsewhere', () => {
    let r = alice.seal(['set', '.dlt/prod.secrets.toml', 'destination.bigquery.key'], { cwd: dir, input: 'bq-secret' });
    expect(r.status, r.stderr).toBe(0);
    expect(read(dir, '.dlt/prod.secrets.toml')).toBe('[destination.bigquery]\nkey = "bq-secret"\n');
    const clone = sealedClone(alice, dir);
    r = alice.seal(['set', '.dlt/prod.secrets.toml', 'destination.bigquery.key'], { cwd: clone, input: 'bq-secret' });
    expect(r.status, r.stderr).toBe(0);
    const text = read(clone, '.dlt/prod.secrets.toml');
    expect(text).toContain('[gitseal]');
    expect(text).not.toContain('bq-secret');
    expect(alice.seal(['get', '.dlt/prod.secrets.toml', 'destination.bigquery.key'], { cwd: clone }).stdout).toBe('bq-secret\n');
    r = alice.seal(['set', 'elsewhere/secrets.toml', 'a'], { cwd: clone, input: 'x' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no profile in \.gitseal\.toml covers it/);
    expect(existsSync(join(clone, 'elsewhere/secrets.toml'))).toBe(false);
  });
});

describe.skipIf(!hasBinary('script'))('set --prompt on a terminal', () => {
  it('reads the value without echoing it', async () => {
    const alice = person('alice');
    const dir = sealedClone(alice, repoWith(alice));
    writeFileSync(join(alice.home, 'run.sh'), `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} set ${FILE} sources.stripe.api_key\n`);
    const child = spawn('script', ['-qec', `sh ${join(alice.home, 'run.sh')}`, '/dev/null'], { cwd: dir, env: alice.env });
    let out = '';
    let sent = false;
    child.stdout.on('data', (d) => {
      out += d;
      if (!sent && out.includes('(input hidden): ')) {
        sent = true;
        child.stdin.write('typed_s3cret_value\r');
      }
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(out).toMatch(/Value for sources\.stripe\.api_key \(input hidden\): /);
    expect(out).not.toContain('typed_s3cret_value');
    expect(alice.seal(['get', FILE, 'sources.stripe.api_key'], { cwd: dir }).stdout).toBe('typed_s3cret_value\n');
  });
});
