/**
 * SSH keys end to end, with real git, real ssh-keygen keys and the built CLI: teammates added by the
 * keys they publish (a file, stdin, a GitHub-like server on loopback), and clones whose only identity
 * is ~/.ssh/id_ed25519, unprotected or behind a passphrase typed on a real pseudo-terminal.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanupTempDirs, person, type Person, repoWith, sealedClone, SECRETS, startSeal, tempDir } from '../helpers.js';
import { runInPty } from '../pty.js';

afterAll(cleanupTempDirs);

const FILE = '.dlt/secrets.toml';
const hasSshKeygen = spawnSync('ssh-keygen', ['-?']).error === undefined;
const hasAge = spawnSync('age', ['--version']).status === 0;
if (!hasSshKeygen) console.warn('[test/e2e/ssh] SKIPPED: ssh-keygen is not on PATH; CI installs OpenSSH.');

function sshKey(file: string, type: 'ed25519' | 'rsa' | 'ecdsa', passphrase = ''): string {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  const r = spawnSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '3072'] : []), '-N', passphrase, '-C', 'x@host', '-f', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** A person with no age key: their only identity is an SSH key in ~/.ssh. */
function sshPerson(name: string, passphrase = ''): Person & { pub: string } {
  const p = person(name, { withKey: false });
  return { ...p, pub: sshKey(join(p.home, '.ssh', 'id_ed25519'), 'ed25519', passphrase) };
}

/** Run the CLI without blocking this process (the test's HTTP server must keep answering). */
const gitSealAsync = (args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }) => startSeal(args, opts).done;

function configRecipients(dir: string): string {
  return readFileSync(join(dir, '.gitseal.toml'), 'utf8');
}

describe.skipIf(!hasSshKeygen)('SSH keys end to end', () => {
  it('a profile with an ssh-ed25519 recipient opens on a clone whose only identity is ~/.ssh/id_ed25519', () => {
    const alice = person('alice');
    const carol = sshPerson('carol');
    const origin = repoWith(alice, { [FILE]: SECRETS });
    const ecdsa = sshKey(join(tempDir(), 'ec'), 'ecdsa');
    // Carol's authorized_keys-style lines, on stdin: her ed25519 key and an ECDSA key age cannot use.
    const add = alice.seal(['recipients', 'add', 'carol', '--keys-file', '-', '--profile', 'dev'], { cwd: origin, input: `${carol.pub}\n${ecdsa}\n` });
    expect(add.status, add.stderr).toBe(0);
    expect(add.stderr).toContain('Skipped stdin line 2: ECDSA (ecdsa-sha2-nistp256) key');
    expect(add.stderr).toMatch(/carol: ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}/);
    const [type, b64] = carol.pub.split(' ');
    expect(configRecipients(origin)).toContain(`carol = "${type} ${b64}"\n`);
    alice.git(['commit', '-q', '-am', 'add carol'], origin);
    expect(alice.git(['show', `HEAD:${FILE}`], origin)).toContain(`"${type} ${b64}"`);

    const dir = sealedClone(carol, origin);
    const r = carol.seal(['install'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, FILE), 'utf8')).toBe(SECRETS);
    expect(carol.git(['status', '--porcelain'], dir)).toBe('');
    // Carol edits and commits with her SSH key alone; Alice still opens the result.
    writeFileSync(join(dir, FILE), SECRETS.replace('retries = 3', 'retries = 7'));
    carol.git(['commit', '-q', '-am', 'more retries'], dir);
    carol.git(['push', '-q', origin, 'HEAD:carol'], dir);
    const opened = alice.seal(['decrypt'], { cwd: origin, input: alice.git(['show', `carol:${FILE}`], origin) });
    expect(opened.status, opened.stderr).toBe(0);
    expect(opened.stdout).toContain('retries = 7');
  });

  it.skipIf(!hasAge)('encrypt -r "ssh-ed25519 … comment": Go age opens the data key with the SSH private key, and so does decrypt', () => {
    const frank = sshPerson('frank');
    const alice = person('alice');
    const keyFile = join(frank.home, '.ssh', 'id_ed25519');
    const sealed = alice.seal(['encrypt', '-r', frank.pub, '-r', alice.recipient], { input: SECRETS, cwd: tempDir() });
    expect(sealed.status, sealed.stderr).toBe(0);
    const [type, b64] = frank.pub.split(' ');
    expect(sealed.stdout).toContain(`  "${type} ${b64}",\n`);
    const armored = /datakey = """\n([\s\S]*?)"""/.exec(sealed.stdout)![1];
    const age = spawnSync('age', ['-d', '-i', keyFile], { input: armored });
    expect(age.status, age.stderr?.toString()).toBe(0);
    expect(age.stdout.length).toBe(32);
    const opened = frank.seal(['decrypt'], { input: sealed.stdout, cwd: tempDir() });
    expect(opened.status, opened.stderr).toBe(0);
    expect(opened.stdout).toBe(SECRETS);
  });

  it('recipients add NAME KEY takes an SSH key line, quoted or not; ECDSA is refused by name', () => {
    const alice = person('alice');
    const origin = repoWith(alice, { [FILE]: SECRETS });
    const rsa = sshKey(join(tempDir(), 'rsa'), 'rsa');
    const r = alice.seal(['recipients', 'add', 'dan', ...rsa.split(' '), '--profile', 'dev', '--no-rekey'], { cwd: origin });
    expect(r.status, r.stderr).toBe(0);
    expect(configRecipients(origin)).toContain(`dan = "${rsa.split(' ').slice(0, 2).join(' ')}"\n`);
    const ec = sshKey(join(tempDir(), 'ec'), 'ecdsa');
    const bad = alice.seal(['recipients', 'add', 'erin', ec], { cwd: origin });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^git-seal: recipient 'erin': ECDSA \(ecdsa-sha2-nistp256\) SSH keys cannot be used with age/);
  });

  describe('recipients add --github against a server on loopback', () => {
    let server: Server;
    let base = '';
    const dave = { ed: '', rsa: '' };
    beforeAll(async () => {
      dave.ed = sshKey(join(tempDir(), 'dave-ed'), 'ed25519').split(' ').slice(0, 2).join(' ');
      dave.rsa = sshKey(join(tempDir(), 'dave-rsa'), 'rsa').split(' ').slice(0, 2).join(' ');
      const ec = sshKey(join(tempDir(), 'dave-ec'), 'ecdsa').split(' ').slice(0, 2).join(' ');
      // What github.com/USER.keys serves: one key per line, no comments.
      const keys: Record<string, string> = { '/dave.keys': `${dave.ed}\n${ec}\n${dave.rsa}\n`, '/nokeys.keys': '' };
      server = createServer((req, res) => {
        const body = keys[req.url ?? ''];
        res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/plain' }).end(body ?? 'Not Found');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('adds every usable key as NAME, NAME-2, notes the skipped one, and is idempotent', async () => {
      const alice = person('alice');
      const origin = repoWith(alice, { [FILE]: SECRETS });
      const env = { ...alice.env, GITSEAL_GITHUB_URL: base };
      const r = await gitSealAsync(['recipients', 'add', 'dave', '--github', 'dave', '--profile', 'dev'], { cwd: origin, env });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`Skipped ${base}/dave.keys line 2: ECDSA (ecdsa-sha2-nistp256) key`);
      const config = configRecipients(origin);
      expect(config).toContain(`dave = "${dave.ed}"\n`);
      expect(config).toContain(`dave-2 = "${dave.rsa}"\n`);
      expect(config).toMatch(/recipients = \["alice", "dave", "dave-2"\]/);
      const again = await gitSealAsync(['recipients', 'add', 'dave', '--github', 'dave', '--profile', 'dev'], { cwd: origin, env });
      expect(again.status, again.stderr).toBe(0);
      expect(again.stderr).toContain('(already a recipient)');
      expect(configRecipients(origin)).toBe(config);
    });

    it('refuses an unknown user, a user with no keys, and plain http off loopback, changing nothing', async () => {
      const alice = person('alice');
      const origin = repoWith(alice, { [FILE]: SECRETS });
      const before = configRecipients(origin);
      const missing = await gitSealAsync(['recipients', 'add', 'x', '--github', 'nobody-here'], { cwd: origin, env: { ...alice.env, GITSEAL_GITHUB_URL: base } });
      expect(missing.stderr).toMatch(/^git-seal: GitHub user 'nobody-here' not found/);
      const none = await gitSealAsync(['recipients', 'add', 'x', '--github', 'nokeys'], { cwd: origin, env: { ...alice.env, GITSEAL_GITHUB_URL: base } });
      expect(none.stderr).toMatch(/nokeys\.keys: no ssh-ed25519 or ssh-rsa key/);
      const http = await gitSealAsync(['recipients', 'add', 'x', '--github', 'dave'], { cwd: origin, env: { ...alice.env, GITSEAL_GITHUB_URL: 'http://example.com' } });
      expect(http.stderr).toMatch(/refusing to fetch keys over http/);
      for (const r of [missing, none, http]) expect(r.status).toBe(1);
      expect(configRecipients(origin)).toBe(before);
    });
  });

  describe('a passphrase-protected ~/.ssh/id_ed25519', () => {
    const files = ['a/.dlt/secrets.toml', 'b/.dlt/secrets.toml', 'c/.dlt/secrets.toml', 'd/.dlt/secrets.toml'];
    let origin = '';
    let erin: Person & { pub: string };
    /** A sealed file as committed (Alice's work tree holds plaintext). */
    const sealedCopy = (): string => {
      const path = join(tempDir(), 'sealed.toml');
      writeFileSync(path, erin.git(['show', `HEAD:${files[0]}`], origin));
      return path;
    };
    beforeAll(() => {
      const alice = person('alice');
      erin = sshPerson('erin', 'erin passphrase');
      origin = repoWith(alice, Object.fromEntries(files.map((f) => [f, SECRETS])));
      const add = alice.seal(['recipients', 'add', 'erin', erin.pub, '--profile', 'dev'], { cwd: origin });
      expect(add.status, add.stderr).toBe(0);
      alice.git(['commit', '-q', '-am', 'add erin'], origin);
    });

    it('a checkout of many files asks once, on the terminal', () => {
      const dir = sealedClone(erin, origin, '--no-checkout');
      const inst = erin.seal(['install'], { cwd: dir });
      expect(inst.status, inst.stderr).toBe(0);
      const run = runInPty(['git', 'checkout', '-q', 'main'], { cwd: dir, env: erin.env, answers: ['erin passphrase'] });
      expect(run.timedOut).toBe(false);
      expect(run.status, run.output).toBe(0);
      expect(run.prompts).toBe(1);
      expect(run.output).toContain(`Enter passphrase for SSH key ${join(erin.home, '.ssh', 'id_ed25519')}: `);
      expect(run.output).not.toContain('erin passphrase');
      for (const f of files) expect(readFileSync(join(dir, f), 'utf8')).toBe(SECRETS);
    });

    it('git-seal decrypt asks on the terminal, never reads the passphrase from stdin', () => {
      const sealed = sealedCopy();
      const out = join(tempDir(), 'out.toml');
      const run = runInPty([process.execPath, BIN, 'decrypt', sealed, '-o', out], { cwd: origin, env: erin.env, answers: ['erin passphrase'], stdin: 'erin passphrase\n' });
      expect(run.status, run.output).toBe(0);
      expect(run.prompts).toBe(1);
      expect(readFileSync(out, 'utf8')).toBe(SECRETS);
    });

    it('a wrong passphrase fails closed, naming the key', () => {
      const run = runInPty([process.execPath, BIN, 'decrypt', sealedCopy()], { cwd: origin, env: erin.env, answers: ['not it'] });
      expect(run.status).toBe(1);
      expect(run.output).toContain('wrong passphrase for this SSH key');
      expect(run.output).not.toContain('sk_live_');
    });

    it('without a terminal the error names the key and the CI way', () => {
      const r = spawnSync('setsid', ['-w', process.execPath, BIN, 'decrypt', sealedCopy()], { cwd: origin, env: erin.env, encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`SSH key ${join(erin.home, '.ssh', 'id_ed25519')} needs a passphrase, but there is no terminal to ask on`);
      expect(r.stderr).toContain('GITSEAL_AGE_KEY');
      expect(r.stdout).not.toContain('sk_live_');
    });
  });
});
