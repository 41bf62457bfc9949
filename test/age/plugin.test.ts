/**
 * age plugins (C2SP age-plugin.md), client side. The test plugin (test/fixtures/plugin/
 * age-plugin-gitsealtest) is proven against the Go `age` CLI, a reference plugin client, in both
 * directions before git-seal's own round trips are trusted.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createECDH } from 'node:crypto';
import { delimiter, join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { GitSealError } from '../../src/errors.js';
import { headerStanzas, isRecipientString, parseIdentity, parseRecipient, unwrapDataKey, wrapDataKey } from '../../src/age/index.js';
import * as bech32 from '../../src/age/bech32.js';
import { findPlugin } from '../../src/age/plugin-connection.js';
import { clearPluginKeyCache, PluginIdentity, unwrapWithPlugin } from '../../src/age/plugin-identity.js';
import { PluginRecipient, wrapWithPlugin } from '../../src/age/plugin-recipient.js';
import type { PluginUI } from '../../src/age/plugin-ui.js';
import { BIN, ROOT } from '../helpers.js';
import { runInPty } from '../pty.js';
import { hasAgeCli, hex, tempDir } from './helpers.js';

const PLUGIN_DIR = join(ROOT, 'test', 'fixtures', 'plugin');
const tmp = tempDir('git-seal-plugin-');
afterAll(tmp.cleanup);

const basePath = process.env.PATH ?? '';
process.env.PATH = `${PLUGIN_DIR}${delimiter}${basePath}`;
const LOG = join(tmp.dir, 'sessions.log');

beforeEach(() => {
  writeFileSync(LOG, '');
  process.env.GITSEALTEST_LOG = LOG;
  delete process.env.GITSEALTEST_MODE;
  delete process.env.GITSEALTEST_LABELS;
  delete process.env.GITSEAL_PLUGIN_TIMEOUT;
  clearPluginKeyCache();
});

function sessions(): string[] {
  return readFileSync(LOG, 'utf8').split('\n').filter(Boolean);
}

function generate(): { identity: string; recipient: string; file: string } {
  const r = spawnSync('age-plugin-gitsealtest', ['--generate'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const recipient = /# public key: (\S+)/.exec(r.stdout)![1];
  const identity = r.stdout.split('\n').find((l) => l.startsWith('AGE-PLUGIN-'))!;
  const file = join(tmp.dir, `id-${recipient.slice(-8)}.txt`);
  writeFileSync(file, r.stdout, { mode: 0o600 });
  return { identity, recipient, file };
}

/** A UI that records what the plugin asked and answers from a script. */
function scriptedUI(answers: { secret?: string; confirm?: boolean } = {}): PluginUI & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    async message(plugin, text) {
      seen.push(`msg ${plugin}: ${text}`);
    },
    async confirm(plugin, text, yes, no) {
      seen.push(`confirm ${plugin}: ${text} [${yes}/${no}]`);
      if (answers.confirm === undefined) throw new Error('no');
      return answers.confirm;
    },
    async requestValue(plugin, text, secret) {
      seen.push(`${secret ? 'secret' : 'public'} ${plugin}: ${text}`);
      if (answers.secret === undefined) throw new Error('no');
      return answers.secret;
    },
  };
}

function expectOneLine(err: unknown, plugin = 'gitsealtest'): GitSealError {
  expect(err).toBeInstanceOf(GitSealError);
  const e = err as GitSealError;
  expect(e.message).toContain(`age-plugin-${plugin}`);
  expect(e.message.split('\n')).toHaveLength(1);
  return e;
}

describe('plugin keys', () => {
  it('recognises age1NAME1… recipients and AGE-PLUGIN-NAME-1… identities', () => {
    const k = generate();
    expect(isRecipientString(k.recipient)).toBe(true);
    expect(parseRecipient(k.recipient)).toBeInstanceOf(PluginRecipient);
    expect(parseIdentity(k.identity)).toBeInstanceOf(PluginIdentity);
    // The identity's public label names the plugin, never the identity.
    const label = (parseIdentity(k.identity) as PluginIdentity).label;
    expect(label).toMatch(/^age-plugin-gitsealtest identity [0-9a-f]{12}$/);
    expect(label).not.toContain(k.identity.slice(24, 40));
  });

  it('accepts tag recipients (age1tag1…) without any plugin binary, as p256tag stanzas', async () => {
    const point = createECDH('prime256v1');
    point.generateKeys();
    const tag = bech32.encode('age1tag', point.getPublicKey(null, 'compressed'));
    expect(isRecipientString(tag)).toBe(true);
    const armored = await wrapDataKey(randomBytes(32), [tag]);
    expect(headerStanzas(armored).map((s) => s.type)).toEqual(['p256tag']);
    expect(sessions()).toEqual([]);
  });
});

describe('finding the plugin binary', () => {
  it('never runs a hostile ./age-plugin-* from the working directory or a relative PATH entry', async () => {
    const repo = join(tmp.dir, 'hostile-repo');
    mkdirSync(join(repo, 'bin'), { recursive: true });
    const marker = join(tmp.dir, 'pwned');
    for (const f of [join(repo, 'age-plugin-evil'), join(repo, 'bin', 'age-plugin-evil')]) {
      writeFileSync(f, `#!/bin/sh\ntouch '${marker}'\n`);
      chmodSync(f, 0o755);
    }
    const recipient = bech32.encode('age1evil', randomBytes(32));
    // Through the CLI, run inside the repository, with '.', '' and 'bin' on PATH.
    const r = spawnSync(process.execPath, [BIN, 'encrypt', '--recipient', recipient], {
      cwd: repo,
      input: 'password = "hunter2"\n',
      encoding: 'utf8',
      env: { ...process.env, PATH: `.${delimiter}${delimiter}bin${delimiter}${basePath}` },
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/age-plugin-evil: not found on PATH/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    expect(existsSync(marker)).toBe(false);
    expect(findPlugin('evil', { PATH: `.${delimiter}bin` })).toBeNull();
    // The same binary in an absolute PATH directory is found.
    expect(findPlugin('evil', { PATH: join(repo, 'bin') })).toBe(join(repo, 'bin', 'age-plugin-evil'));
    expect(findPlugin('../evil', { PATH: join(repo, 'bin') })).toBeNull();
  });
});

describe.skipIf(!hasAgeCli)('the test plugin against the Go age CLI (a reference plugin client)', () => {
  it('a data key that Go age encrypts through the plugin opens in git-seal through the plugin', async () => {
    const k = generate();
    const key = randomBytes(32);
    const enc = spawnSync('age', ['-a', '-r', k.recipient], { input: key });
    expect(enc.status, enc.stderr?.toString()).toBe(0);
    expect(sessions()).toEqual(['--age-plugin=recipient-v1']);
    const opened = await unwrapDataKey(enc.stdout.toString(), [parseIdentity(k.identity)]);
    expect(hex(opened!)).toBe(hex(key));
    expect(sessions()).toEqual(['--age-plugin=recipient-v1', '--age-plugin=identity-v1']);
  });

  it('a data key that git-seal wraps through the plugin opens with Go age', async () => {
    const k = generate();
    const key = randomBytes(32);
    const armored = await wrapDataKey(key, [k.recipient]);
    expect(headerStanzas(armored).map((s) => s.type)).toEqual(['gitsealtest']);
    const file = join(tmp.dir, 'dk.age');
    writeFileSync(file, armored);
    const dec = spawnSync('age', ['-d', '-i', k.file, file]);
    expect(dec.status, dec.stderr?.toString()).toBe(0);
    expect(hex(dec.stdout)).toBe(hex(key));
  });
});

describe('one plugin session for many files', () => {
  it('unwrapping 20 data keys at once starts the plugin once', async () => {
    const k = generate();
    const keys = Array.from({ length: 20 }, () => randomBytes(32));
    const files = await Promise.all(keys.map((key) => wrapDataKey(key, [k.recipient])));
    writeFileSync(LOG, '');
    const identity = parseIdentity(k.identity);
    const opened = await Promise.all(files.map((f) => unwrapDataKey(f, [identity])));
    expect(opened.map((o) => hex(o!))).toEqual(keys.map(hex));
    expect(sessions()).toEqual(['--age-plugin=identity-v1']);
    // Opening them again asks the plugin nothing: the file keys are kept for the process.
    await Promise.all(files.map((f) => unwrapDataKey(f, [identity])));
    expect(sessions()).toHaveLength(1);
  });

  it('a file not addressed to the plugin identity is null, without failing the others', async () => {
    const mine = generate();
    const other = generate();
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const files = [await wrapDataKey(a, [mine.recipient]), await wrapDataKey(b, [other.recipient])];
    const identity = parseIdentity(mine.identity);
    const [ka, kb] = await Promise.all(files.map((f) => unwrapDataKey(f, [identity])));
    expect(hex(ka!)).toBe(hex(a));
    expect(kb).toBeNull();
  });

  it('wraps many file keys to several recipients of one plugin in one session', async () => {
    const [x, y] = [generate(), generate()];
    const fileKeys = [randomBytes(16), randomBytes(16), randomBytes(16)];
    const { stanzas } = await wrapWithPlugin('gitsealtest', [{ encoding: x.recipient, identity: false }, { encoding: y.recipient, identity: false }], fileKeys);
    expect(stanzas.map((s) => s.length)).toEqual([2, 2, 2]);
    expect(sessions()).toEqual(['--age-plugin=recipient-v1']);
    const back = await unwrapWithPlugin('gitsealtest', [y.identity], stanzas);
    expect(back.map((k) => hex(k!))).toEqual(fileKeys.map(hex));
  });
});

describe('talking to the user', () => {
  it('shows msg, asks confirm and request-secret through the UI, never on stdout', async () => {
    const k = generate();
    const fileKey = randomBytes(16);
    const { stanzas } = await wrapWithPlugin('gitsealtest', [{ encoding: k.recipient, identity: false }], [fileKey]);
    for (const [mode, answers, expected] of [
      ['msg', {}, /^msg gitsealtest: touch the simulated key$/],
      ['confirm', { confirm: true }, /^confirm gitsealtest: use the simulated key\? \[Yes\/Skip\]$/],
      ['secret', { secret: '123456' }, /^secret gitsealtest: enter the PIN of the simulated key$/],
    ] as const) {
      process.env.GITSEALTEST_MODE = mode;
      process.env.GITSEALTEST_PIN = '123456';
      const ui = scriptedUI(answers);
      const [got] = await unwrapWithPlugin('gitsealtest', [k.identity], stanzas, { ui });
      expect(hex(got!)).toBe(hex(fileKey));
      expect(ui.seen).toHaveLength(1);
      expect(ui.seen[0]).toMatch(expected);
    }
  });

  function sealedToPlugin(recipient: string, name: string): string {
    const file = join(tmp.dir, name);
    const r = spawnSync(process.execPath, [BIN, 'encrypt', '--recipient', recipient, '--output', file], { input: 'password = "hunter2"\n', encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return file;
  }

  it('without a terminal, a request for a PIN fails with one line naming the plugin and what it asked for', () => {
    const k = generate();
    const file = sealedToPlugin(k.recipient, 'no-tty.toml');
    // A new session (setsid): no controlling terminal. Node's spawnSync honours `detached`; its types omit it.
    const options = { encoding: 'utf8' as const, env: { ...process.env, GITSEALTEST_MODE: 'secret', GITSEALTEST_PIN: '123456' }, detached: true };
    const r = spawnSync(process.execPath, [BIN, 'decrypt', '-i', k.file, file], options);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain('hunter2');
    expect(r.stderr).toMatch(/age-plugin-gitsealtest: needed a secret \(PIN or passphrase\), but no terminal is available/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('on a real terminal, the PIN is asked there (not on stdin or stdout) and the file opens', () => {
    const k = generate();
    const file = sealedToPlugin(k.recipient, 'pty.toml');
    const out = join(tmp.dir, 'pty-out.toml');
    const run = runInPty([process.execPath, BIN, 'decrypt', '-i', k.file, file, '--output', out], {
      env: { ...process.env, GITSEALTEST_MODE: 'secret', GITSEALTEST_PIN: '123456' },
      answers: ['123456'],
      prompt: 'enter the PIN of the simulated key ',
      stdin: '',
    });
    expect(run.status).toBe(0);
    expect(run.prompts).toBe(1);
    expect(run.output).not.toContain('123456'); // typed hidden
    expect(readFileSync(out, 'utf8')).toBe('password = "hunter2"\n');
  });
});

describe('a failing plugin gives one line naming it, and nothing is written', () => {
  const cases: [string, RegExp][] = [
    ['crash', /age-plugin-gitsealtest: exited with status 3 .*simulated crash/],
    ['hang', /age-plugin-gitsealtest: did not answer within 1 s/],
    ['garbage', /age-plugin-gitsealtest: answered out of protocol/],
    ['error', /age-plugin-gitsealtest: .*the simulated device is unplugged/],
  ];
  it.each(cases)('%s while wrapping (git-seal encrypt)', (mode, pattern) => {
    const k = generate();
    const out = join(tmp.dir, `out-${mode}.toml`);
    const r = spawnSync(process.execPath, [BIN, 'encrypt', '--recipient', k.recipient, '--output', out], {
      input: 'password = "hunter2"\n',
      encoding: 'utf8',
      env: { ...process.env, GITSEALTEST_MODE: mode, ...(mode === 'hang' ? { GITSEAL_PLUGIN_TIMEOUT: '1' } : {}) },
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).not.toContain('hunter2');
    expect(existsSync(out)).toBe(false);
  });

  it.each([...cases, ['badkey', /age-plugin-gitsealtest: answered out of protocol \(a file key must be 16 bytes\)/] as [string, RegExp]])(
    '%s while unwrapping',
    async (mode, pattern) => {
      const k = generate();
      const armored = await wrapDataKey(randomBytes(32), [k.recipient]);
      process.env.GITSEALTEST_MODE = mode;
      if (mode === 'hang') process.env.GITSEAL_PLUGIN_TIMEOUT = '1';
      const err = await unwrapDataKey(armored, [parseIdentity(k.identity)]).catch((e) => e);
      expect(expectOneLine(err).message).toMatch(pattern);
    },
  );

  it('a missing plugin binary names the plugin and how to install it', async () => {
    const recipient = bech32.encode('age1absent', randomBytes(32));
    const err = await wrapDataKey(randomBytes(32), [recipient]).catch((e) => e);
    expect(expectOneLine(err, 'absent').message).toMatch(/not found on PATH/);
    expect((err as GitSealError).hint).toMatch(/install age-plugin-absent/);
  });
});

describe('labels', () => {
  it('a plugin declaring postquantum cannot share a file with a classic X25519 recipient', async () => {
    const k = generate();
    const { generateX25519Identity } = await import('../../src/age/index.js');
    process.env.GITSEALTEST_LABELS = 'postquantum';
    const err = await wrapDataKey(randomBytes(32), [k.recipient, generateX25519Identity().recipient]).catch((e) => e);
    expect(err).toBeInstanceOf(GitSealError);
    expect((err as GitSealError).message).toMatch(/post-quantum .* cannot be mixed/);
    // Without labels the plugin recipient and X25519 share a file, as in Go age.
    delete process.env.GITSEALTEST_LABELS;
    const ok = await wrapDataKey(randomBytes(32), [k.recipient, generateX25519Identity().recipient]);
    expect(headerStanzas(ok).map((s) => s.type).sort()).toEqual(['X25519', 'gitsealtest']);
  });
});
