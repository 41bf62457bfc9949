import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { dangerousEnvName } from '../../src/api/env-guard.js';
import { GitSealError } from '../../src/errors.js';
import { envFromToml } from '../../src/api/env-naming.js';
import type { EnvNaming } from '../../src/profiles/exec-naming.js';
import { childEnv, githubMasks, type ExecSecret } from '../../src/api/exec.js';
import { parseExecArgv } from '../../src/commands/exec.js';
import { scanToml } from '../../src/toml/index.js';

const env = (text: string, naming: EnvNaming = 'dlt') => envFromToml(text, scanToml(text), { naming, file: 'secrets.toml' });
const asMap = (text: string, naming: EnvNaming = 'dlt') => Object.fromEntries(env(text, naming).map((e) => [e.name, e.value]));

const DLT = `api_key = "top"

[sources.stripe]
api_key = "sk_live_1" # comment
retries = 0x10
big = 9_007_199_254_740_993
ratio = 1_000.5
inf = -inf
verbose = true
since = 2026-01-02 03:04:05Z
day = 2026-01-02
schemas = ["raw", 'staging']
creds = { user = "u", pass = "p\\nq", port = 5432, nested = { ok = false } }
none = []
nothing = {}
multi = """
line one
line two"""

[destination.postgres.credentials]
password = "pg"

[[products]]
name = "a"
price = 1.5
[[products]]
name = "b"
`;

describe('envFromToml', () => {
  it("follows dlt's EnvironProvider naming and value rules", () => {
    expect(asMap(DLT)).toEqual({
      API_KEY: 'top',
      SOURCES__STRIPE__API_KEY: 'sk_live_1',
      SOURCES__STRIPE__RETRIES: '16',
      SOURCES__STRIPE__BIG: '9007199254740993',
      SOURCES__STRIPE__RATIO: '1000.5',
      SOURCES__STRIPE__INF: '-inf',
      SOURCES__STRIPE__VERBOSE: 'true',
      SOURCES__STRIPE__SINCE: '2026-01-02 03:04:05Z',
      SOURCES__STRIPE__DAY: '2026-01-02',
      SOURCES__STRIPE__SCHEMAS: '["raw","staging"]',
      SOURCES__STRIPE__CREDS: '{"user":"u","pass":"p\\nq","port":5432,"nested":{"ok":false}}',
      SOURCES__STRIPE__NONE: '[]',
      SOURCES__STRIPE__NOTHING: '{}',
      SOURCES__STRIPE__MULTI: 'line one\nline two',
      DESTINATION__POSTGRES__CREDENTIALS__PASSWORD: 'pg',
      PRODUCTS: '[{"name":"a","price":1.5},{"name":"b"}]',
    });
    expect(JSON.parse(asMap(DLT).SOURCES__STRIPE__CREDS).pass).toBe('p\nq');
  });

  it('plain naming joins with one underscore', () => {
    const m = asMap(DLT, 'plain');
    expect(m.SOURCES_STRIPE_API_KEY).toBe('sk_live_1');
    expect(m.DESTINATION_POSTGRES_CREDENTIALS_PASSWORD).toBe('pg');
  });

  it('names the key when it cannot be an environment variable name', () => {
    for (const bad of ['[my-source]\nkey = "x"\n', '"a.b" = 1\n', '"ключ" = 1\n']) {
      let err: unknown;
      try {
        env(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GitSealError);
      expect((err as GitSealError).message).toMatch(/^secrets\.toml: key '.*' gives '.*', which is not a valid environment variable name$/);
      expect((err as GitSealError).message).not.toContain('"x"');
    }
  });

  it('collects the strings of composite values for masking', () => {
    const creds = env(DLT).find((e) => e.name === 'SOURCES__STRIPE__CREDS')!;
    expect(creds.strings).toEqual(['u', 'p\nq']);
    expect(creds.key).toBe('sources.stripe.creds');
  });
});

function secret(name: string, value: string, extra: Partial<ExecSecret> = {}): ExecSecret {
  return { name, value, key: name.toLowerCase(), sealed: true, strings: [value], file: 'f', ...extra };
}

describe('streamlit naming', () => {
  it("formats floats as Python's str() does, checked against python3", () => {
    const floats = ['1e3', '1000.5', '0.1', '-0.0', '1e16', '1.5e-5', '0.0001', '123456789012345678.0', '3.141592653589793', 'inf', '-inf', 'nan', '5e-324', '1.7976931348623157e308', '2.5e15'];
    const text = floats.map((f, i) => `f${i} = ${f}`).join('\n') + '\n';
    const ours = env(text, 'streamlit').map((e) => e.value);
    const py = spawnSync('python3', ['-c', 'import sys, tomllib; d = tomllib.loads(sys.stdin.read()); print("\\n".join(str(v) for v in d.values()))'], { input: text, encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    expect(ours).toEqual(py.stdout.trim().split('\n'));
  });

  it('keeps names as written and skips what Streamlit does not export', () => {
    const skipped: string[] = [];
    const out = envFromToml(DLT, scanToml(DLT), { naming: 'streamlit', file: 's.toml', skipped });
    expect(out.map((e) => [e.name, e.value])).toEqual([['api_key', 'top']]);
    expect(skipped).toEqual(['sources', 'destination', 'products']);
  });
});

describe('dangerous variable names', () => {
  it('refuses loader, interpreter, shell and search-path variables, whatever the case', () => {
    for (const n of ['LD_PRELOAD', 'ld_library_path', 'DYLD_INSERT_LIBRARIES', 'NODE_OPTIONS', 'PYTHONPATH', 'PYTHONSTARTUP', 'BASH_ENV', 'ENV', 'PATH', 'PERL5OPT', 'RUBYOPT', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'GIT_SSH_COMMAND', 'IFS', 'PS4', 'SHELLOPTS', 'GLIBC_TUNABLES', 'GCONV_PATH', 'HOSTALIASES', 'TMPDIR', 'HOME', 'SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS', 'LUA_INIT', 'PHPRC', 'GEM_PATH', 'RUBYLIB', 'CLASSPATH', 'http_proxy', 'GITSEAL_AGE_KEY_CMD', 'BASH_FUNC_ls%%', 'GITHUB_ENV', 'XDG_CONFIG_HOME']) {
      expect(dangerousEnvName(n), n).not.toBeNull();
    }
    for (const n of ['SOURCES__STRIPE__API_KEY', 'API_KEY', 'DATABASE_URL', 'GITHUB_TOKEN', 'OpenAI_key', 'PATHNAME', 'HOMEPAGE_URL']) expect(dangerousEnvName(n), n).toBeNull();
  });

  it('an allowed name passes', () => {
    expect(() => env('path = "/bin"\n')).toThrow(/key 'path' would set PATH/);
    expect(envFromToml('path = "/bin"\n', scanToml('path = "/bin"\n'), { naming: 'dlt', file: 'f', allowEnv: new Set(['PATH']) })[0]).toMatchObject({ name: 'PATH', value: '/bin' });
  });
});

describe('childEnv and githubMasks', () => {
  it('keeps variables already set unless override', () => {
    const secrets = [secret('A', 'new'), secret('B', 'b')];
    expect(childEnv({ A: 'old' }, secrets, false)).toEqual({ env: { A: 'old', B: 'b' }, kept: ['A'] });
    expect(childEnv({ A: 'old' }, secrets, true)).toEqual({ env: { A: 'new', B: 'b' }, kept: [] });
  });

  it('masks each line of sealed values, escaping workflow-command characters', () => {
    const out = githubMasks(['-----BEGIN KEY-----\r\nabc%def\n\n-----END KEY-----']);
    expect(out).toBe('::add-mask::-----BEGIN KEY-----\n::add-mask::abc%25def\n::add-mask::-----END KEY-----\n');
  });
});

describe('parseExecArgv (the lean exec path)', () => {
  it('takes the plain forms', () => {
    expect(parseExecArgv(['exec', '-p', 'prod', '--', 'env'])).toEqual({ profile: 'prod', command: ['env'] });
    expect(parseExecArgv(['exec', '-f', 's.toml', '--naming', 'streamlit', '--as-file', '--', 'cat', '{}'])).toEqual({ file: ['s.toml'], naming: 'streamlit', 'as-file': true, command: ['cat', '{}'] });
    expect(parseExecArgv(['exec', '--file=a.toml', '-f', 'b.toml', '--env-naming', 'plain', '--override', '-q', '-i', 'k.txt', '--', 'sh', '-c', 'exit 7', '--', '-x'])).toEqual({
      file: ['a.toml', 'b.toml'],
      naming: 'plain',
      override: true,
      quiet: true,
      identity: ['k.txt'],
      command: ['sh', '-c', 'exit 7', '--', '-x'],
    });
  });

  it('leaves everything else to the full CLI', () => {
    for (const argv of [
      ['exec', '--help', '--', 'env'],
      ['exec', '-p', 'prod', 'env'],
      ['exec', '-p', 'prod', '-f', 'x', '--', 'env'],
      ['exec', '--', 'env'],
      ['exec', '-p', '--', 'env'],
      ['exec', '--env-naming', 'SHOUT', '-p', 'x', '--', 'env'],
      ['exec', '--naming', 'dlt', '--naming', 'plain', '-p', 'x', '--', 'env'],
      ['exec', '-qp', 'prod', '--', 'env'],
      ['exec', '--no-override', '-p', 'prod', '--', 'env'],
      ['exec', '-p', 'a', '-p', 'b', '--', 'env'],
      ['decrypt', '--', 'x'],
    ]) {
      expect(parseExecArgv(argv), argv.join(' ')).toBeNull();
    }
  });
});
