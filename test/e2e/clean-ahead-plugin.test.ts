import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, gitSeal, newRepo, person, ROOT, run, tempDir } from '../helpers.js';

afterAll(cleanupTempDirs);

function pluginUser() {
  const pluginDir = join(ROOT, 'test', 'fixtures', 'plugin');
  const alice = person('alice', { withKey: false });
  const gen = run('node', [join(pluginDir, 'gitsealtest-plugin.cjs'), '--generate'], { env: alice.env });
  const recipient = /# public key: (\S+)/.exec(gen.stdout)![1];
  const identity = gen.stdout.split('\n').find((l) => l.startsWith('AGE-PLUGIN-'))!;
  const log = join(alice.home, 'sessions.log');
  // A wrapper plugin: hangs (like a key waiting for a touch) once HANG_AFTER identity sessions have run.
  const wrapDir = tempDir('gitseal-wrap-');
  const wrapper = join(wrapDir, 'age-plugin-gitsealtest');
  writeFileSync(
    wrapper,
    `#!/bin/sh\nif [ -n "$HANG_AFTER" ] && [ "$1" = "--age-plugin=identity-v1" ] && [ "$(grep -c identity-v1 "$GITSEALTEST_LOG" 2>/dev/null || echo 0)" -ge "$HANG_AFTER" ]; then export GITSEALTEST_MODE=hang; fi\nexec timeout 30 node "${join(pluginDir, 'gitsealtest-plugin.cjs')}" "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  const env = { ...alice.env, PATH: `${wrapDir}${delimiter}${alice.env.PATH ?? ''}`, GITSEAL_AGE_KEY: identity, GITSEALTEST_LOG: log };
  const sessions = () => readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('identity-v1')).length;
  return { alice, recipient, log, env, sessions };
}

describe('clean ahead with an age plugin identity', () => {
  const files = ['a/.dlt/secrets.toml', 'b/.dlt/secrets.toml'];
  function setup() {
    const u = pluginUser();
    const dir = newRepo(u.alice, 'gitseal-ahead-plugin-');
    writeFileSync(join(dir, '.gitseal.toml'), `version = 1\n[recipients]\nalice = "${u.recipient}"\n[profiles.dev]\nfiles = ["**/.dlt/secrets.toml"]\nrecipients = ["alice"]\n`);
    expect(gitSeal(['init', '--no-hook'], { cwd: dir, env: u.env }).status).toBe(0);
    for (const f of files) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), `token = "${f}-v1"\n`);
    }
    expect(run('git', ['add', '-A'], { cwd: dir, env: u.env }).status).toBe(0);
    expect(run('git', ['commit', '-q', '-m', 'secrets'], { cwd: dir, env: u.env }).status).toBe(0);
    // Both files edited; the user stages only a.
    for (const f of files) writeFileSync(join(dir, f), `token = "${f}-version-two"\n`);
    writeFileSync(u.log, '');
    return { ...u, dir };
  }

  it('git add of one file asks the plugin (a touch) only for that file', () => {
    const { env, dir, sessions } = setup();
    const r = run('git', ['add', files[0]], { cwd: dir, env });
    expect(r.status, r.stderr).toBe(0);
    expect(sessions()).toBe(1); // b25d220: 2, b was unwrapped too although git never asked for it
  });

  it('git add of one file shows the plugin prompt once', () => {
    const { env, dir } = setup();
    const r = run('git', ['add', files[0]], { cwd: dir, env: { ...env, GITSEALTEST_MODE: 'msg' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.match(/touch the simulated key/g)?.length, r.stderr).toBe(1);
  });

  it('git add of one file does not wait on a plugin session for a file git never asked for', () => {
    const { env, dir } = setup();
    const t0 = Date.now();
    const r = spawnSync('git', ['add', files[0]], { cwd: dir, env: { ...env, HANG_AFTER: '1' }, encoding: 'utf8', timeout: 15000 });
    const took = Date.now() - t0;
    expect(r.signal, `git add took ${took} ms; ${r.stderr}`).toBeNull(); // b25d220: git waited for the filter, which waited on the plugin
    expect(r.status, r.stderr).toBe(0);
  });
});
