// exec as an attacker and a CI user would try it (issue 9): masks out of the job's output, no loader or
// interpreter variables from a secrets file, NUL values, merge conflicts, Streamlit naming, --as-file.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cleanupTempDirs, diverge, envMap, person, repoWith, tempDir } from '../helpers.js';

const DEV = '.dlt/secrets.toml';
const STREAMLIT = '.streamlit/secrets.toml';
const SECRET = 'sk_live_exec_9Zq7';
const alice = person('alice');
afterAll(cleanupTempDirs);

/** A repository whose dev file holds `extra` after an ordinary secret (sealed in git by the filter). */
function repo(extra = '', config = ''): string {
  const dir = repoWith(alice, { [DEV]: `${extra}[sources.stripe]\napi_key = "${SECRET}"\n` });
  if (config) {
    writeFileSync(join(dir, '.gitseal.toml'), readFileSync(join(dir, '.gitseal.toml'), 'utf8') + config);
    alice.git(['commit', '-q', '-am', 'exec settings'], dir);
  }
  return dir;
}

const sealIn = (dir: string, args: string[], env: NodeJS.ProcessEnv = {}) => alice.seal(args, { cwd: dir, env: { ...alice.env, ...env } });

describe('1. GitHub Actions masks stay out of the job output', () => {
  const dir = repo();
  const gha = { ...alice.env, GITHUB_ACTIONS: 'true' };

  it('`exec … > report.json` leaves the masks out of report.json; they go to stderr, before the command runs', () => {
    const report = join(tempDir(), 'report.json');
    const out = openSync(report, 'w');
    const r = spawnSync(process.execPath, [BIN, 'exec', '-p', 'dev', '--', 'sh', '-c', 'echo \'{"ok":true}\'; echo child-stderr >&2'], { cwd: dir, env: gha, stdio: ['ignore', out, 'pipe'], encoding: 'utf8' });
    closeSync(out);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(report, 'utf8')).toBe('{"ok":true}\n');
    expect(r.stderr.split('\n')).toEqual([`::add-mask::${SECRET}`, 'child-stderr', '']);
  });

  it('a pipe to the next program carries only the command output', () => {
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" exec -p dev -- echo data | cat`], { cwd: dir, env: gha, encoding: 'utf8' });
    expect(r.stdout).toBe('data\n');
    expect(r.stderr).toContain(`::add-mask::${SECRET}`);
  });

  it('refuses when stderr cannot reach the runner (a file, or 2>&1), before the command runs', () => {
    const marker = join(tempDir(), 'ran');
    for (const redirect of [`2>"${join(tempDir(), 'err.log')}"`, '2>&1 | cat']) {
      const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" exec -p dev -- touch "${marker}" ${redirect}; echo "exit=$?"`], { cwd: dir, env: gha, encoding: 'utf8' });
      expect(existsSync(marker), redirect).toBe(false);
      expect(r.stdout + r.stderr).not.toContain(SECRET);
    }
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" exec -p dev -- touch "${marker}" 2>&1 | cat`], { cwd: dir, env: gha, encoding: 'utf8' });
    expect(r.stdout).toContain('stderr is the same pipe as stdout (2>&1)');
  });
});

describe('3. loader and interpreter variables never come from a secrets file', () => {
  it.each([
    ['ld_preload = "/tmp/evil.so"\n', 'ld_preload', 'LD_PRELOAD', 'the dynamic loader reads it'],
    ['node_options = "--require /tmp/evil.js"\n', 'node_options', 'NODE_OPTIONS', 'interpreters read it'],
    ['bash_env = "/tmp/evil.sh"\n', 'bash_env', 'BASH_ENV', 'shells read it'],
    ['https_proxy = "http://evil.example:3128"\n', 'https_proxy', 'HTTPS_PROXY', 'it changes TLS trust or routes traffic'],
    ['[git]\nssh_command = "sh /tmp/evil"\n', 'git.ssh_command', 'GIT__SSH_COMMAND', 'git reads it'],
  ])('%s is refused, naming the file and key, and the command never runs', (line, key, name, why) => {
    const dir = repo(line);
    const marker = join(tempDir(), 'ran');
    const r = sealIn(dir, ['exec', '-p', 'dev', '--', 'touch', marker]);
    expect(r.status).toBe(1);
    expect(existsSync(marker)).toBe(false);
    expect(r.stderr).toContain(`git-seal: ${DEV}: key '${key}' would set ${name}, and ${why}: exec never takes such variables from a secrets file`);
    expect(r.stderr).toContain(`[profiles.dev.exec] allow_env = ["${name}"]`);
    expect(r.stderr).not.toMatch(/evil/);
  });

  it('also with streamlit naming, whatever the case of the key', () => {
    const dir = repo('Ld_Preload = "/tmp/evil.so"\n');
    const r = sealIn(dir, ['exec', '-p', 'dev', '--naming', 'streamlit', '--', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("key 'Ld_Preload' would set Ld_Preload, and the dynamic loader reads it");
  });

  it('a name the profile allows in [profiles.dev.exec] allow_env is exported', () => {
    const dir = repo('path = "/opt/tools/bin:/usr/bin:/bin"\n', '\n[profiles.dev.exec]\nallow_env = ["PATH"]\n');
    const r = sealIn(dir, ['exec', '-p', 'dev', '--override', '--', '/usr/bin/env']);
    expect(r.status, r.stderr).toBe(0);
    expect(envMap(r.stdout).PATH).toBe('/opt/tools/bin:/usr/bin:/bin');
  });

  it('a bad exec setting in the config is a one-line error', () => {
    const dir = repo('', '\n[profiles.dev.exec]\nallow = ["PATH"]\n');
    const r = sealIn(dir, ['exec', '-p', 'dev', '--', 'true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('profiles.dev.exec.allow is not a setting (naming, allow_env)');
  });
});

describe('4. smaller ones', () => {
  it('a value holding NUL names the key instead of blaming the command', () => {
    const dir = repo('token = "ab\\u0000cd"\n');
    const r = sealIn(dir, ['exec', '-p', 'dev', '--', 'true']);
    expect(r.stderr).not.toContain('check the command');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`git-seal: ${DEV}: key 'token' holds a NUL character, which an environment variable cannot carry`);
  });

  it('during a merge conflict exec --profile and --file say the file is conflicted', () => {
    const dir = repo();
    diverge(alice, dir, DEV, 'feature', `[sources.stripe]\napi_key = "theirs-key-1"\n`, `[sources.stripe]\napi_key = "ours-key-2"\n`);
    alice.git(['merge', '--no-edit', 'feature'], dir, { allowFail: true });
    expect(alice.git(['ls-files', '-u'], dir)).not.toBe('');
    for (const how of [['-p', 'dev'], ['-f', DEV]]) {
      const r = sealIn(dir, ['exec', ...how, '--', 'env']);
      expect(r.status, how.join(' ')).toBe(1);
      expect(r.stderr).toContain(`git-seal: ${DEV}: has an unresolved merge conflict, so exec cannot tell which secrets to use`);
      expect(r.stderr).toContain(`then git add ${DEV}`);
      expect(r.stdout).toBe('');
    }
  });
});

describe('5. naming conventions', () => {
  const app = `OpenAI_key = "sk-openai-1"\ndb_port = 5432\nratio = 1e3\ndebug = true\nwhitelist = ["sally", "bob"]\n\n[database]\nuser = "streamlit-user"\n`;
  const dir = repoWith(alice, { [STREAMLIT]: app });

  it('streamlit naming exports root-level strings and numbers under their own names, as st.secrets does', () => {
    const r = sealIn(dir, ['exec', '-f', STREAMLIT, '--naming', 'streamlit', '--', 'env']);
    expect(r.status, r.stderr).toBe(0);
    const env = envMap(r.stdout);
    expect(env).toMatchObject({ OpenAI_key: 'sk-openai-1', db_port: '5432', ratio: '1000.0' });
    for (const absent of ['OPENAI_KEY', 'debug', 'whitelist', 'database', 'DATABASE__USER']) expect(env[absent], absent).toBeUndefined();
    expect(r.stderr).toContain('not exported: debug, whitelist, database');
  });

  it('the default stays dlt; a profile can choose streamlit in .gitseal.toml, and --naming wins over it', () => {
    expect(envMap(sealIn(dir, ['exec', '-f', STREAMLIT, '--', 'env']).stdout).OPENAI_KEY).toBe('sk-openai-1');
    writeFileSync(join(dir, '.gitseal.toml'), readFileSync(join(dir, '.gitseal.toml'), 'utf8') + '\n[profiles.access.exec]\nnaming = "streamlit"\n');
    expect(envMap(sealIn(dir, ['exec', '-p', 'access', '--', 'env']).stdout).OpenAI_key).toBe('sk-openai-1');
    expect(envMap(sealIn(dir, ['exec', '-f', STREAMLIT, '--', 'env']).stdout).OpenAI_key).toBe('sk-openai-1');
    const dlt = envMap(sealIn(dir, ['exec', '-f', STREAMLIT, '--naming', 'dlt', '--', 'env']).stdout);
    expect(dlt.DATABASE__USER).toBe('streamlit-user');
    expect(dlt.OpenAI_key).toBeUndefined();
  });
});

describe('6. exec --as-file', () => {
  const plain = `[sources.stripe]\napi_key = "${SECRET}"\n`;
  const dir = repo();

  it('hands the command a private file ({} and GITSEAL_SECRETS_FILE) and removes it when the command ends', () => {
    const r = sealIn(dir, ['exec', '-p', 'dev', '--as-file', '--', 'sh', '-c', 'cat "$1"; echo "$GITSEAL_SECRETS_FILE"; stat -c "%a" "$1" "$(dirname "$1")"', 'sh', '{}']);
    expect(r.status, r.stderr).toBe(0);
    const [path, fileMode, dirMode] = r.stdout.slice(plain.length).trim().split('\n');
    expect(r.stdout.slice(0, plain.length)).toBe(plain);
    expect(path).toMatch(/^\/dev\/shm\/git-seal-[^/]+\/secrets\.toml$/);
    expect([fileMode, dirMode]).toEqual(['600', '700']);
    expect(existsSync(join(path, '..'))).toBe(false);
  });

  it('exports no variables, and a profile with several files needs --file', () => {
    const r = sealIn(dir, ['exec', '-p', 'dev', '--as-file', '--', 'env']);
    expect(envMap(r.stdout).SOURCES__STRIPE__API_KEY).toBeUndefined();
    const other = repo();
    mkdirSync(join(other, 'sub', '.dlt'), { recursive: true });
    writeFileSync(join(other, 'sub', DEV), 'x = "y"\n');
    alice.git(['add', '-A'], other);
    const two = sealIn(other, ['exec', '-p', 'dev', '--as-file', '--', 'true']);
    expect(two.status).toBe(1);
    expect(two.stderr).toContain("exec --as-file hands the command one file, and profile 'dev' has 2");
  });

  it.each([
    ['SIGINT', 2],
    ['SIGTERM', 15],
    ['SIGHUP', 1],
  ] as const)('removes the file on %s, forwarded to the command', async (sig, num) => {
    const child = spawn(process.execPath, [BIN, 'exec', '-p', 'dev', '--as-file', '--', 'sh', '-c', 'echo "ready $1"; exec cat', 'sh', '{}'], { cwd: dir, env: alice.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const path = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.once('exit', (code) => reject(new Error(`exec ended (${code}) before the command was ready`)));
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^ready (.*)\n/.exec(out);
        if (m) resolve(m[1]);
      });
    });
    expect(readFileSync(path, 'utf8')).toBe(plain);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill(sig);
    expect(await exited).toBe(128 + num);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(join(path, '..'))).toBe(false);
  });
});
