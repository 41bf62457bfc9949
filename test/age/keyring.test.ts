/**
 * The OS keyring against a real Secret Service: gnome-keyring-daemon in a private D-Bus session
 * (dbus-run-session), with `secret-tool` (libsecret) as the independent client. Everything that
 * needs the service runs inside that one session: a shell script drives the git-seal CLI and
 * secret-tool and leaves its results in files. In CI (CI=true) a Secret Service that cannot start
 * fails the test; elsewhere the test is skipped with the reason printed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cleanupTempDirs, gitSeal, hasBinary, isolatedEnv, tempDir } from '../helpers.js';

afterAll(cleanupTempDirs);

const TOOLS = ['dbus-run-session', 'gnome-keyring-daemon', 'secret-tool'];
const missing = TOOLS.filter((t) => !hasBinary(t));
const inCi = Boolean(process.env.CI);

/** Run `script` (sh) in a fresh D-Bus session with an unlocked gnome-keyring; HOME is `home`. */
function inSecretService(home: string, script: string): ReturnType<typeof spawnSync> {
  const file = join(home, 'session.sh');
  writeFileSync(
    file,
    [
      'set -eu',
      // --unlock reads the login keyring's password on stdin (creating the keyring under $HOME).
      'printf keyring-pw | gnome-keyring-daemon --unlock --components=secrets > "$HOME/gk.env"',
      script,
    ].join('\n'),
  );
  return spawnSync('dbus-run-session', ['--', 'sh', file], { env: isolatedEnv(home), encoding: 'utf8', timeout: 240_000 });
}

function serviceProblem(): string | null {
  if (missing.length) return `missing ${missing.join(', ')} (CI installs gnome-keyring, dbus, libsecret-tools)`;
  const home = tempDir('gitseal-keyring-probe-');
  const r = inSecretService(home, 'printf probe | secret-tool store --label=probe service git-seal-probe account probe\nsecret-tool lookup service git-seal-probe account probe');
  return r.status === 0 && r.stdout === 'probe' ? null : `the Secret Service did not start: ${String(r.stderr).trim().split('\n').pop()}`;
}

const problem = serviceProblem();
if (problem && !inCi) console.warn(`[test/age/keyring] SKIPPED outside CI: ${problem}`);

describe.skipIf(problem !== null && !inCi)('OS keyring (Secret Service)', () => {
  it('the Secret Service starts (required in CI)', () => {
    expect(problem).toBeNull();
  });

  it('keygen --keyring stores the identity (secret-tool reads it), refuses to overwrite, and discovery uses it', () => {
    const home = tempDir('gitseal-keyring-');
    const work = join(home, 'work');
    mkdirSync(work);
    writeFileSync(join(work, 'plain.toml'), 'password = "from-the-keyring"\n');
    const gs = `"${process.execPath}" "${BIN}"`;
    const r = inSecretService(
      home,
      `cd "${work}"
${gs} keygen --keyring > recipient.txt
secret-tool lookup service git-seal username age-identity > stored.txt
set +e; ${gs} keygen --keyring > second.out 2> second.err; echo $? > second.status; set -e
${gs} encrypt -r "$(cat recipient.txt)" plain.toml -o sealed.toml
${gs} decrypt sealed.toml > opened.toml
${gs} doctor > doctor.out 2>&1 || true
# The other direction: an identity another client stored is read by git-seal.
secret-tool clear service git-seal username age-identity
age-keygen 2>/dev/null > other.txt || ${gs} keygen -o other.txt > /dev/null
grep -v '^#' other.txt | secret-tool store --label=other service git-seal username age-identity
${gs} encrypt -r "$(grep '# public key' other.txt | cut -d' ' -f4)" plain.toml -o sealed2.toml
${gs} decrypt sealed2.toml > opened2.toml
# An identity git-seal cannot use beside a good one: skipped with a warning, like in a default key file.
secret-tool clear service git-seal username age-identity
{ echo AGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQ; grep -v '^#' other.txt; } | secret-tool store --label=mixed service git-seal username age-identity
${gs} decrypt sealed2.toml > opened3.toml 2> opened3.err`,
    );
    expect(r.status, String(r.stderr)).toBe(0);
    const read = (f: string) => readFileSync(join(work, f), 'utf8');
    const recipient = read('recipient.txt').trim();
    expect(recipient).toMatch(/^age1[0-9a-z]{58}$/);
    // The independent client sees an age identity file for that key.
    expect(read('stored.txt')).toMatch(new RegExp(`# public key: ${recipient}\\nAGE-SECRET-KEY-1[0-9A-Z]+\\n$`));
    expect(read('second.status').trim()).toBe('1');
    expect(read('second.err')).toContain('already holds an identity; refusing to overwrite it');
    expect(read('opened.toml')).toBe('password = "from-the-keyring"\n');
    expect(read('doctor.out')).toMatch(new RegExp(`OS keyring \\(git-seal/age-identity\\): ${recipient.slice(0, 8)}`));
    expect(read('opened2.toml')).toBe('password = "from-the-keyring"\n');
    expect(read('opened3.toml')).toBe('password = "from-the-keyring"\n');
    expect(read('opened3.err')).toBe('git-seal: skipping an identity: OS keyring (git-seal/age-identity), line 1: invalid age plugin identity (bad checksum, case or plugin name)\n');
    // Nothing was written to disk under HOME's config.
    expect(() => readFileSync(join(home, '.config', 'git-seal', 'keys.txt'))).toThrow();
    // Outside the session (no bus) the keyring is not consulted: the file stays closed.
    const outside = gitSeal(['decrypt', join(work, 'sealed.toml')], { env: isolatedEnv(home) });
    expect(outside.status).toBe(1);
    expect(outside.stderr).toMatch(/no identity is available/);
  }, 240_000);
});
