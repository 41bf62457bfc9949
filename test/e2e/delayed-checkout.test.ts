import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { X25519Identity } from '../../src/age/x25519.js';
import { SmudgeCache, smudgeInputName } from '../../src/git/smudge-cache.js';
import { cleanupTempDirs, gitSeal, newRepo, person, ROOT, run, tempDir } from '../helpers.js';

afterAll(cleanupTempDirs);

// git's delayed checkout (the filter protocol's `delay` capability, GITSEAL_FILTER_DELAY=1): smudges are
// answered "delayed", opened in batches (one unwrapFileDataKeys call each), and fetched later; one
// damaged file in the middle of a batch.
describe('delayed checkout', () => {
  it('opens every file through batches, leaves a damaged one sealed, and keeps status clean', () => {
    const alice = person('alice');
    const dir = newRepo(alice, 'gitseal-delay-');
    expect(alice.seal(['init', '--no-hook'], { cwd: dir }).status).toBe(0);
    const N = 300;
    const file = (i: number) => `p${String(i).padStart(3, '0')}/.dlt/secrets.toml`;
    const plain = (i: number) => `[db]\npassword = "delayed-secret-${i}"\nport = ${i}\n`;
    for (let i = 0; i < N; i++) {
      mkdirSync(join(dir, file(i), '..'), { recursive: true });
      writeFileSync(join(dir, file(i)), plain(i));
    }
    alice.git(['add', '-A'], dir);
    // A sealed file with one altered value passes clean unchanged: commit it damaged.
    const sealed = alice.git(['show', `:${file(100)}`], dir);
    const token = sealed.match(/password = "ENC\[gitseal\.v1,([A-Za-z0-9+/]{8})/)![1];
    const flipped = token.slice(0, 7) + (token[7] === 'A' ? 'B' : 'A');
    writeFileSync(join(dir, file(100)), sealed.replace(token, flipped));
    alice.git(['add', file(100)], dir);
    const damaged = alice.git(['show', `:${file(100)}`], dir);
    expect(damaged).toContain(flipped);
    alice.git(['commit', '-q', '-m', 'secrets'], dir);

    for (let i = 0; i < N; i++) rmSync(join(dir, file(i)));
    const trace = join(dir, '..', 'trace');
    const r = run('git', ['checkout', '--', '.'], { cwd: dir, env: { ...alice.env, GITSEAL_FILTER_DELAY: '1', GIT_TRACE_PACKET: trace } });
    expect(r.status, r.stderr).toBe(0);
    for (let i = 0; i < N; i++) {
      if (i === 100) continue;
      expect(readFileSync(join(dir, file(i)), 'utf8')).toBe(plain(i));
    }
    expect(readFileSync(join(dir, file(100)), 'utf8')).toBe(damaged);
    expect(r.stderr).toContain(`${file(100)}: left sealed`);
    expect(r.stderr).not.toContain('delayed-secret-100');
    const packets = readFileSync(trace, 'utf8');
    expect(packets).toContain('git< capability=delay');
    expect(packets.match(/git< status=delayed/g)?.length).toBe(N);
    expect(packets).toContain('git> command=list_available_blobs');
    expect(alice.git(['status', '--porcelain'], dir)).toBe('');
  });
});

/** Alice with a test age plugin identity on PATH; its plugin logs each session to `log`. */
function pluginUser() {
  const pluginDir = join(ROOT, 'test', 'fixtures', 'plugin');
  const alice = person('alice', { withKey: false });
  const gen = run('node', [join(pluginDir, 'gitsealtest-plugin.cjs'), '--generate'], { env: alice.env });
  expect(gen.status, gen.stderr).toBe(0);
  const recipient = /# public key: (\S+)/.exec(gen.stdout)![1];
  const identity = gen.stdout.split('\n').find((l) => l.startsWith('AGE-PLUGIN-'))!;
  const log = join(alice.home, 'sessions.log');
  const env = { ...alice.env, PATH: `${pluginDir}${delimiter}${alice.env.PATH ?? ''}`, GITSEAL_AGE_KEY: identity, GITSEALTEST_LOG: log };
  const sessions = () => readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('identity-v1')).length;
  return { alice, recipient, log, env, sessions };
}

describe('delayed checkout with an age plugin identity', () => {
  it('a checkout of 20 sealed files starts the plugin once', () => {
    const { alice, recipient, log, env, sessions } = pluginUser();
    const dir = newRepo(alice, 'gitseal-delay-plugin-');
    writeFileSync(join(dir, '.gitseal.toml'), `version = 1\n[recipients]\nalice = "${recipient}"\n[profiles.dev]\nfiles = ["**/.dlt/secrets.toml"]\nrecipients = ["alice"]\n`);
    expect(gitSeal(['init', '--no-hook'], { cwd: dir, env }).status).toBe(0);
    const file = (i: number) => `p${i}/.dlt/secrets.toml`;
    for (let i = 0; i < 20; i++) {
      mkdirSync(join(dir, file(i), '..'), { recursive: true });
      writeFileSync(join(dir, file(i)), `token_${i} = "plugin-secret-${i}"\n`);
    }
    expect(run('git', ['add', '-A'], { cwd: dir, env }).status).toBe(0);
    expect(run('git', ['commit', '-q', '-m', 'secrets'], { cwd: dir, env }).status).toBe(0);
    for (let i = 0; i < 20; i++) rmSync(join(dir, file(i)));
    writeFileSync(log, '');
    const r = run('git', ['checkout', '--', '.'], { cwd: dir, env });
    expect(r.status, r.stderr).toBe(0);
    for (let i = 0; i < 20; i++) expect(readFileSync(join(dir, file(i)), 'utf8')).toBe(`token_${i} = "plugin-secret-${i}"\n`);
    expect(sessions()).toBe(1);
    // Nothing only the plugin opens is kept in the smudge cache, even beside a plain key (it would then open without the plugin).
    expect(existsSync(join(dir, '.git', 'git-seal', 'smudge-cache'))).toBe(false);
    const plainKey = join(alice.home, 'plain-key.txt');
    expect(run('age-keygen', ['-o', plainKey], { env }).status).toBe(0);
    for (let i = 0; i < 20; i++) rmSync(join(dir, file(i)));
    const both = run('git', ['checkout', '--', '.'], { cwd: dir, env: { ...env, GITSEAL_AGE_KEY_FILE: plainKey } });
    expect(both.status, both.stderr).toBe(0);
    expect(readFileSync(join(dir, file(4)), 'utf8')).toBe('token_4 = "plugin-secret-4"\n');
    expect(existsSync(join(dir, '.git', 'git-seal', 'smudge-cache'))).toBe(false);

    // exec --profile, rekey (recipients add) and a fresh clone's install batch the same way.
    writeFileSync(log, '');
    const ex = gitSeal(['exec', '--profile', 'dev', '--', 'node', '-e', 'process.exit(process.env.TOKEN_19 === "plugin-secret-19" ? 0 : 1)'], { cwd: dir, env });
    expect(ex.status, ex.stderr).toBe(0);
    expect(sessions()).toBe(1);
    writeFileSync(log, '');
    const bob = run('age-keygen', [], { env }).stdout.match(/public key: (\S+)/)?.[1] ?? bech32Recipient();
    const add = gitSeal(['recipients', 'add', 'bob', bob, '--profile', 'dev'], { cwd: dir, env });
    expect(add.status, add.stderr).toBe(0);
    expect(sessions()).toBe(1);
    expect(run('git', ['commit', '-q', '-am', 'bob'], { cwd: dir, env }).status).toBe(0);
    const clone = join(tempDir('gitseal-delay-clone-'), 'clone');
    expect(run('git', ['clone', '-q', dir, clone], { env }).status).toBe(0);
    writeFileSync(log, '');
    const inst = gitSeal(['install', '--no-hook'], { cwd: clone, env });
    expect(inst.status, inst.stderr).toBe(0);
    expect(readFileSync(join(clone, file(7)), 'utf8')).toBe('token_7 = "plugin-secret-7"\n');
    expect(sessions()).toBe(1);
    writeFileSync(log, '');
    const ls = gitSeal(['lock'], { cwd: clone, env });
    expect(ls.status, ls.stderr).toBe(0);
    expect(readFileSync(join(clone, file(3)), 'utf8')).not.toContain('plugin-secret-3'); // lock seals, plugin or not
    writeFileSync(log, '');
    const listed = gitSeal(['ls'], { cwd: clone, env });
    expect(listed.status, listed.stderr).toBe(0);
    expect(sessions()).toBe(1);
  });
});

describe('a checkout with an age plugin and a plain key', () => {
  it('starts the plugin once and keeps in the smudge cache only the files the plain key opens', async () => {
    const { alice, recipient: pluginRecipient, log, env: pluginEnv, sessions } = pluginUser();
    const plainKey = join(alice.home, 'plain-key.txt');
    expect(run('age-keygen', ['-o', plainKey], { env: pluginEnv }).status).toBe(0);
    const plainIdentity = readFileSync(plainKey, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
    const plainRecipient = /public key: (\S+)/.exec(readFileSync(plainKey, 'utf8'))![1];
    const env = { ...pluginEnv, GITSEAL_AGE_KEY_FILE: plainKey };
    const dir = newRepo(alice, 'gitseal-mixed-');
    writeFileSync(
      join(dir, '.gitseal.toml'),
      `version = 1\n[recipients]\nhw = "${pluginRecipient}"\nplain = "${plainRecipient}"\n[profiles.dev]\nfiles = ["**/.dlt/secrets.toml"]\nrecipients = ["hw"]\n[profiles.prod]\nfiles = ["**/.dlt/prod.secrets.toml"]\nrecipients = ["plain"]\n`,
    );
    expect(gitSeal(['init', '--no-hook'], { cwd: dir, env }).status).toBe(0);
    const files = Array.from({ length: 12 }, (_, i) => (i % 2 ? `p${i}/.dlt/prod.secrets.toml` : `p${i}/.dlt/secrets.toml`));
    files.forEach((f, i) => {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), `token_${i} = "mixed-secret-${i}"\n`);
    });
    expect(run('git', ['add', '-A'], { cwd: dir, env }).status).toBe(0);
    expect(run('git', ['commit', '-q', '-m', 'secrets'], { cwd: dir, env }).status).toBe(0);
    for (const f of files) rmSync(join(dir, f));
    writeFileSync(log, '');
    const r = run('git', ['checkout', '--', '.'], { cwd: dir, env });
    expect(r.status, r.stderr).toBe(0);
    files.forEach((f, i) => expect(readFileSync(join(dir, f), 'utf8')).toBe(`token_${i} = "mixed-secret-${i}"\n`));
    expect(sessions()).toBe(1);
    const cache = new SmudgeCache(join(dir, '.git'), async () => ({ identity: new X25519Identity(plainIdentity) }));
    await cache.load();
    for (const f of files) {
      const blob = Buffer.from(run('git', ['cat-file', 'blob', `:${f}`], { cwd: dir, env }).stdout);
      expect(cache.get(smudgeInputName(blob)) !== undefined, f).toBe(f.includes('prod.'));
    }
  });
});

/** An X25519 recipient when the age CLI is missing. */
function bech32Recipient(): string {
  return 'age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq';
}
